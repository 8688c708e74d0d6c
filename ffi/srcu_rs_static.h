/* SPDX-License-Identifier: MIT OR GPL-2.0-only */
/*
 * The static-inline reader.
 *
 * srcu_rs_read_lock_inline()/srcu_rs_read_unlock_inline() are what srcu_rs_read_lock() and
 * srcu_rs_read_unlock() expand to unless SRCU_RS_NO_INLINE is defined, and what the library's
 * exported functions of those names run. They are srcu-core's reader (ffi/src/layout.rs shows
 * the correspondence): with rseq and membarrier in use, an rseq increment of this CPU's
 * counter and a compiler barrier; otherwise, or when the rseq section aborts, a call into the
 * library. Same results and error returns as the library functions, freely mixed with them,
 * async-signal-safe.
 *
 * Layout version 3: the _Static_asserts below check this struct against the constants above;
 * the library checks its own struct against the same constants when it is built, and inline
 * code references srcu_rs_layout_v3_*, so it cannot link against a library of another layout.
 */
#ifdef __cplusplus
#define SRCU_RS_STATIC_ASSERT static_assert
#else
#define SRCU_RS_STATIC_ASSERT _Static_assert
#endif

/* The reader-visible part of struct srcu_rs, layout version 3. */
struct srcu_rs_layout_v3 {
	unsigned long srcu_idx;      /* bit 0: the index new readers use */
	unsigned long private_gp[5]; /* grace-period state: not for readers */
	char *fast_counters;         /* per-CPU counters if the inline fast path is usable, or NULL */
};

SRCU_RS_STATIC_ASSERT(SRCU_RS_LAYOUT_VERSION == 3, "srcu_rs static reader: unknown layout version");
SRCU_RS_STATIC_ASSERT(sizeof(unsigned long) == sizeof(size_t) && sizeof(void *) == sizeof(size_t),
		      "srcu_rs static reader: LP64 only");
SRCU_RS_STATIC_ASSERT(offsetof(struct srcu_rs_layout_v3, fast_counters) ==
			      SRCU_RS_LAYOUT_V3_FAST_COUNTERS,
		      "srcu_rs layout v3: fast_counters");
SRCU_RS_STATIC_ASSERT(SRCU_RS_LAYOUT_V3_CPU_SHIFT == SRCU_RSEQ_CPU_SHIFT,
		      "srcu_rs layout v3: CPU stride");

#ifdef SRCU_RS_TEST_UNTRIMMED
/*
 * Test only (ffi/tests/check-inline-reader.sh): the untrimmed reader's separate barriers, after
 * which it reloaded and re-tested its flags.
 */
#define SRCU_RS_TEST_RELOAD(l, fast)                                          \
	do {                                                                  \
		__asm__ __volatile__("" ::: "memory");                        \
		(fast) = __atomic_load_n(&(l)->fast_counters, __ATOMIC_RELAXED); \
		if (__builtin_expect(!(fast), 0))                             \
			(void)srcu_rs_layout_v3_describe(0, 0); /* a call */  \
	} while (0)
#else
#define SRCU_RS_TEST_RELOAD(l, fast) do { } while (0)
#endif

/* The word of counter slot `slot` (Counter::slot order) of CPU 0; CPU n's is n << CPU_SHIFT on. */
#define SRCU_RS_LAYOUT_V3_SLOT(fast, slot) \
	((fast) + SRCU_RS_LAYOUT_V3_PERCPU_HALF + (size_t)(slot) * sizeof(unsigned long))

/* srcu_rs_read_lock(), inline. */
static inline __attribute__((always_inline)) int srcu_rs_read_lock_inline(struct srcu_rs *s)
{
	const struct srcu_rs_layout_v3 *l = (const struct srcu_rs_layout_v3 *)(const void *)s;
	unsigned long idx;
	char *fast;

	if (__builtin_expect(!s, 0))
		return -EINVAL;
	fast = l->fast_counters; /* constant for the domain's life */
	if (__builtin_expect(!fast, 0))
		return srcu_rs_layout_v3_read_lock_slow(s);
	idx = __atomic_load_n(&l->srcu_idx, __ATOMIC_RELAXED) & 1;
	SRCU_RS_TEST_RELOAD(l, fast);
	/* lock[idx]; the asm's "memory" clobber is barrier B (membarrier() upgrades it). */
	if (__builtin_expect(srcu_rseq_percpu_inc(SRCU_RS_LAYOUT_V3_SLOT(fast, idx)) != 0, 0))
		srcu_rs_layout_v3_count_atomic(s, (int)idx);
	SRCU_RS_TEST_RELOAD(l, fast);
	return (int)idx;
}

/* srcu_rs_read_unlock(), inline. */
static inline __attribute__((always_inline)) int srcu_rs_read_unlock_inline(struct srcu_rs *s, int idx)
{
	const struct srcu_rs_layout_v3 *l = (const struct srcu_rs_layout_v3 *)(const void *)s;
	char *fast;

	if (__builtin_expect(!s || (unsigned int)idx > 1, 0))
		return -EINVAL;
	fast = l->fast_counters;
	if (__builtin_expect(!fast, 0))
		return srcu_rs_layout_v3_read_unlock_slow(s, idx);
	SRCU_RS_TEST_RELOAD(l, fast);
	/* unlock[idx]; the asm's "memory" clobber is barrier C, before the increment. */
	if (__builtin_expect(srcu_rseq_percpu_inc(SRCU_RS_LAYOUT_V3_SLOT(fast + 2 * sizeof(unsigned long),
									 (unsigned int)idx)) != 0,
			     0))
		srcu_rs_layout_v3_count_atomic(s, 2 + idx);
	return 0;
}

/*
 * The index-free readers' per-thread stack of (domain, index) pairs (defined in the library,
 * c-shim/userspace/srcu_rs_readers.c). Signal-safe by order: enter reserves its slot before
 * filling it and exit releases it after unlocking, so a handler's reader always uses a slot
 * above the interrupted one.
 */
#define SRCU_RS_LAYOUT_V3_STACK_DEPTH 32

struct srcu_rs_layout_v3_stack {
	unsigned int depth;
	struct {
		struct srcu_rs *s;
		int idx;
	} e[SRCU_RS_LAYOUT_V3_STACK_DEPTH];
};

#ifdef __cplusplus
extern "C" {
#endif
extern __thread struct srcu_rs_layout_v3_stack srcu_rs_layout_v3_stack
	__attribute__((tls_model("initial-exec")));
#ifdef __cplusplus
}
#endif

/* srcu_rs_read_enter(), inline. */
static inline __attribute__((always_inline)) int srcu_rs_read_enter_inline(struct srcu_rs *s)
{
	struct srcu_rs_layout_v3_stack *st = &srcu_rs_layout_v3_stack;
	unsigned int d = st->depth;
	int idx;

	if (__builtin_expect(!s, 0))
		return -EINVAL;
	if (__builtin_expect(d >= SRCU_RS_LAYOUT_V3_STACK_DEPTH, 0))
		return -ENOSPC;
	st->depth = d + 1; /* reserve e[d] before using it */
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	idx = srcu_rs_read_lock_inline(s);
	st->e[d].s = s;
	st->e[d].idx = idx;
	return 0;
}

/* srcu_rs_read_exit(), inline. */
static inline __attribute__((always_inline)) int srcu_rs_read_exit_inline(struct srcu_rs *s)
{
	struct srcu_rs_layout_v3_stack *st = &srcu_rs_layout_v3_stack;
	unsigned int d = st->depth;
	int ret;

	if (__builtin_expect(!s || d == 0 || d > SRCU_RS_LAYOUT_V3_STACK_DEPTH || st->e[d - 1].s != s, 0))
		return -EINVAL;
	ret = srcu_rs_read_unlock_inline(s, st->e[d - 1].idx);
	st->e[d - 1].s = 0;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	st->depth = d - 1; /* release e[d - 1] after using it */
	return ret;
}

/*
 * SRCU_RS_DEBUG_HELD: the calling thread's index-returning readers, counted per domain, so that
 * srcu_rs_read_held() sees them too (as liburcu's rcu_read_ongoing() and the kernel's
 * srcu_read_lock_held() are debugging aids). Only a program that defines SRCU_RS_DEBUG_HELD
 * before including srcu_rs.h counts; the default reader above is untouched by it.
 *
 * A per-thread table of (domain, count) slots, defined in the library. Signal-safe without
 * masking: a handler's readers are balanced by the time it returns, so the interrupted code
 * finds every count as it left it; a slot is claimed by compare-and-swap only while its count
 * is 0, and a lock re-checks the slot's domain after incrementing (a handler may have
 * re-claimed the slot, count 0, in between) and retries if it changed. When every slot holds a
 * count, further readers go to `overflow`, and srcu_rs_read_held() answers true for every
 * domain while it is non-zero (never a false "not held").
 */
#define SRCU_RS_LAYOUT_V3_HELD_SLOTS 8

struct srcu_rs_layout_v3_held {
	unsigned long overflow; /* readers counted in no slot */
	struct {
		struct srcu_rs *s;
		unsigned long n; /* index-returning readers of s held by this thread */
	} e[SRCU_RS_LAYOUT_V3_HELD_SLOTS];
};

#ifdef __cplusplus
extern "C" {
#endif
extern __thread struct srcu_rs_layout_v3_held srcu_rs_layout_v3_held
	__attribute__((tls_model("initial-exec")));
#ifdef __cplusplus
}
#endif

#ifdef SRCU_RS_DEBUG_HELD
#ifdef SRCU_RS_NO_INLINE
#define SRCU_RS_DEBUG_HELD_LOCK(s) (srcu_rs_read_lock)(s)
#define SRCU_RS_DEBUG_HELD_UNLOCK(s, idx) (srcu_rs_read_unlock)(s, idx)
#else
#define SRCU_RS_DEBUG_HELD_LOCK(s) srcu_rs_read_lock_inline(s)
#define SRCU_RS_DEBUG_HELD_UNLOCK(s, idx) srcu_rs_read_unlock_inline(s, idx)
#endif

/* Count one more reader of s on this thread. */
static inline void srcu_rs_debug_held_inc(struct srcu_rs *s)
{
	struct srcu_rs_layout_v3_held *h = &srcu_rs_layout_v3_held;
	unsigned int i;

	for (;;) {
		for (i = 0; i < SRCU_RS_LAYOUT_V3_HELD_SLOTS; i++)
			if (__atomic_load_n(&h->e[i].s, __ATOMIC_RELAXED) == s)
				goto found;
		for (i = 0; i < SRCU_RS_LAYOUT_V3_HELD_SLOTS; i++) {
			struct srcu_rs *old = __atomic_load_n(&h->e[i].s, __ATOMIC_RELAXED);

			if (__atomic_load_n(&h->e[i].n, __ATOMIC_RELAXED) == 0 &&
			    __atomic_compare_exchange_n(&h->e[i].s, &old, s, 0, __ATOMIC_RELAXED,
							__ATOMIC_RELAXED))
				goto found;
		}
		__atomic_fetch_add(&h->overflow, 1, __ATOMIC_RELAXED);
		return;
found:
#ifdef SRCU_RS_TEST_HELD_UNNESTED
		/* Test only (the C suite's "held" test must fail): a flag, not a count. */
		__atomic_store_n(&h->e[i].n, 1, __ATOMIC_RELAXED);
#else
		__atomic_fetch_add(&h->e[i].n, 1, __ATOMIC_RELAXED);
#endif
		if (__atomic_load_n(&h->e[i].s, __ATOMIC_RELAXED) == s)
			return;
		__atomic_fetch_sub(&h->e[i].n, 1, __ATOMIC_RELAXED); /* re-claimed meanwhile */
	}
}

/* Count one reader of s less on this thread (one that srcu_rs_debug_held_inc() counted). */
static inline void srcu_rs_debug_held_dec(struct srcu_rs *s)
{
	struct srcu_rs_layout_v3_held *h = &srcu_rs_layout_v3_held;
	unsigned int i;

	for (i = 0; i < SRCU_RS_LAYOUT_V3_HELD_SLOTS; i++)
		if (__atomic_load_n(&h->e[i].s, __ATOMIC_RELAXED) == s &&
		    __atomic_load_n(&h->e[i].n, __ATOMIC_RELAXED) != 0) {
			__atomic_fetch_sub(&h->e[i].n, 1, __ATOMIC_RELAXED);
			return;
		}
	if (__atomic_load_n(&h->overflow, __ATOMIC_RELAXED) != 0)
		__atomic_fetch_sub(&h->overflow, 1, __ATOMIC_RELAXED);
}

/* srcu_rs_read_lock() under SRCU_RS_DEBUG_HELD: the reader, then count it. */
static inline int srcu_rs_read_lock_debug_held(struct srcu_rs *s)
{
	int idx = SRCU_RS_DEBUG_HELD_LOCK(s);

	if (idx >= 0)
		srcu_rs_debug_held_inc(s);
	return idx;
}

/* srcu_rs_read_unlock() under SRCU_RS_DEBUG_HELD: uncount, then the unlock. */
static inline int srcu_rs_read_unlock_debug_held(struct srcu_rs *s, int idx)
{
	if (s && (unsigned int)idx <= 1)
		srcu_rs_debug_held_dec(s);
	return SRCU_RS_DEBUG_HELD_UNLOCK(s, idx);
}
#endif /* SRCU_RS_DEBUG_HELD */
