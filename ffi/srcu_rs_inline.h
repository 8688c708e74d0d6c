/* SPDX-License-Identifier: MIT OR GPL-2.0-only */
/*
 * Optional inline reader fast path (liburcu's _LGPL_SOURCE model): define SRCU_RS_INLINE
 * before including this header to get srcu_rs_read_lock_inline()/srcu_rs_read_unlock_inline(),
 * which read the published reader layout below directly instead of calling the library.
 * They implement srcu-core's reader protocol exactly (srcu-core/src/readers.rs), have the same
 * results and error returns as srcu_rs_read_lock()/srcu_rs_read_unlock(), and may be mixed
 * freely with them (lock with one, unlock with the other). Async-signal-safe.
 *
 * The layout is versioned (SRCU_RS_LAYOUT_VERSION): the _Static_asserts below check this
 * header's view against the numbers the library was built with, and code compiled against
 * layout v1 references srcu_rs_layout_v1_count_slow, so it cannot link against a library
 * with another layout. Available on x86-64 Linux with GCC or Clang and glibc >= 2.35 (rseq);
 * elsewhere SRCU_RS_HAVE_INLINE stays undefined and the *_inline names call the library.
 */
#if defined(SRCU_RS_INLINE) && !defined(SRCU_RS_INLINE_H)
#define SRCU_RS_INLINE_H

@SRCU_RSEQ_H@

#ifdef __cplusplus
extern "C" {
#endif

#if SRCU_RSEQ_SUPPORTED && defined(__GLIBC__) && \
	(__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 35))
#define SRCU_RS_HAVE_INLINE 1

#ifdef __cplusplus
#define SRCU_RS_STATIC_ASSERT static_assert
#else
#define SRCU_RS_STATIC_ASSERT _Static_assert
#endif

/* The reader-visible part of struct srcu_rs, layout version 1. */
struct srcu_rs_layout_v1 {
	unsigned long srcu_idx;      /* bit 0: the index new readers use */
	unsigned long private_gp[4]; /* grace-period state: not for readers */
	void *counters;              /* nr_cpus elements of SRCU_RS_LAYOUT_V1_CPU_STRIDE bytes */
	size_t nr_cpus;
	unsigned long reader_flags;  /* SRCU_RS_LAYOUT_V1_READER_* */
};

SRCU_RS_STATIC_ASSERT(SRCU_RS_LAYOUT_VERSION == 1, "srcu_rs inline fast path: unknown layout version");
SRCU_RS_STATIC_ASSERT(sizeof(unsigned long) == sizeof(size_t) && sizeof(void *) == sizeof(size_t),
	       "srcu_rs inline fast path: LP64 only");
SRCU_RS_STATIC_ASSERT(offsetof(struct srcu_rs_layout_v1, counters) == SRCU_RS_LAYOUT_V1_COUNTERS,
	       "srcu_rs layout v1: counters");
SRCU_RS_STATIC_ASSERT(offsetof(struct srcu_rs_layout_v1, nr_cpus) == SRCU_RS_LAYOUT_V1_NR_CPUS,
	       "srcu_rs layout v1: nr_cpus");
SRCU_RS_STATIC_ASSERT(offsetof(struct srcu_rs_layout_v1, reader_flags) == SRCU_RS_LAYOUT_V1_READER_FLAGS,
	       "srcu_rs layout v1: reader_flags");

static inline __attribute__((always_inline)) void
srcu_rs_layout_v1_count(struct srcu_rs *s, unsigned long flags, int slot)
{
	const struct srcu_rs_layout_v1 *l = (const struct srcu_rs_layout_v1 *)(const void *)s;

	if (__builtin_expect(!(flags & SRCU_RS_LAYOUT_V1_READER_RSEQ), 0) ||
	    __builtin_expect(srcu_rseq_percpu_inc(l->counters, SRCU_RS_LAYOUT_V1_CPU_STRIDE, l->nr_cpus,
						  SRCU_RS_LAYOUT_V1_PERCPU_HALF +
							  (size_t)slot * sizeof(unsigned long)) != 0,
			     0))
		srcu_rs_layout_v1_count_slow(s, slot);
}

static inline __attribute__((always_inline)) void srcu_rs_layout_v1_reader_mb(unsigned long flags)
{
	if (__builtin_expect(!!(flags & SRCU_RS_LAYOUT_V1_READER_MEMBARRIER), 1))
		__asm__ __volatile__("" ::: "memory"); /* the updater's membarrier() upgrades it */
	else
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* srcu_rs_read_lock(), inline. */
static inline __attribute__((always_inline)) int srcu_rs_read_lock_inline(struct srcu_rs *s)
{
	const struct srcu_rs_layout_v1 *l = (const struct srcu_rs_layout_v1 *)(const void *)s;
	unsigned long flags;
	int idx;

	if (__builtin_expect(!s, 0))
		return -EINVAL;
	flags = l->reader_flags; /* constant for the domain's life */
	idx = (int)(__atomic_load_n(&l->srcu_idx, __ATOMIC_RELAXED) & 1);
	srcu_rs_layout_v1_count(s, flags, idx); /* lock[idx] */
	srcu_rs_layout_v1_reader_mb(flags);     /* B */
	return idx;
}

/* srcu_rs_read_unlock(), inline. */
static inline __attribute__((always_inline)) int srcu_rs_read_unlock_inline(struct srcu_rs *s, int idx)
{
	const struct srcu_rs_layout_v1 *l = (const struct srcu_rs_layout_v1 *)(const void *)s;
	unsigned long flags;

	if (__builtin_expect(!s || (unsigned int)idx > 1, 0))
		return -EINVAL;
	flags = l->reader_flags;
	srcu_rs_layout_v1_reader_mb(flags);            /* C */
	srcu_rs_layout_v1_count(s, flags, 2 + idx);    /* unlock[idx] */
	return 0;
}
#else
#define srcu_rs_read_lock_inline srcu_rs_read_lock
#define srcu_rs_read_unlock_inline srcu_rs_read_unlock
#endif

#ifdef __cplusplus
}
#endif
#endif /* SRCU_RS_INLINE */
