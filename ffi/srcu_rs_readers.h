/* SPDX-License-Identifier: MIT OR GPL-2.0-only */
/* Readers (static inline unless SRCU_RS_NO_INLINE, see the top of this file), port helpers. */

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Enter a read-side critical section of `s`. Returns the index (0 or 1) to pass to
 * `srcu_rs_read_unlock()`; cannot fail for a live domain (-EINVAL for NULL). No registration;
 * nests; the unlock may run on another thread; async-signal-safe.
 */
int srcu_rs_read_lock(struct srcu_rs *s);

/**
 * Leave the read-side critical section whose `srcu_rs_read_lock()` returned `idx`. Returns 0;
 * cannot fail for a live domain and an index that lock returned (-EINVAL for NULL or an index
 * other than 0 and 1: nothing is counted then). An unlock that matches no lock is undefined
 * (it cannot be detected). Async-signal-safe.
 */
int srcu_rs_read_unlock(struct srcu_rs *s, int idx);

/**
 * Index-free readers (liburcu's rcu_read_lock()/rcu_read_unlock() shape): enter a read-side
 * critical section of `s` and keep its index on the calling thread's stack of readers.
 * Returns 0; -EINVAL for NULL; -ENOSPC (nothing entered) when the thread already holds 32
 * index-free readers. Nests, across domains too; async-signal-safe. The matching
 * srcu_rs_read_exit() must run on the same thread, in LIFO order.
 */
int srcu_rs_read_enter(struct srcu_rs *s);

/**
 * Leave the calling thread's innermost index-free reader, which must be of `s`. Returns 0;
 * -EINVAL (nothing done) for NULL or if the innermost index-free reader is not of `s`.
 * Async-signal-safe.
 */
int srcu_rs_read_exit(struct srcu_rs *s);

/**
 * For debugging checks (rcu_read_ongoing(), srcu_read_lock_held()): whether the calling thread
 * is inside a reader of `s`, at any nesting depth. Index-free readers (srcu_rs_read_enter())
 * are always seen. Index-returning readers (srcu_rs_read_lock()) are seen only when the
 * program is built with SRCU_RS_DEBUG_HELD defined before this header is included: then
 * srcu_rs_read_lock()/srcu_rs_read_unlock() also count the thread's readers per domain (a
 * debugging cost; without the macro the reader is unchanged and counts nothing), each unlock
 * must run on the locking thread (liburcu's rule), and readers taken through the exported
 * functions ((srcu_rs_read_lock)(s), function pointers) or in code built without the macro are
 * not counted. Past 8 domains held at once on a thread it answers true for every domain
 * (never a false "not held"). False for NULL. Async-signal-safe.
 */
bool srcu_rs_read_held(struct srcu_rs *s);

/**
 * Create a domain before main() runs: SRCU_RS_DEFINE(name) defines `struct srcu_rs *name`,
 * created by a constructor of priority 101, so it is ready in constructors of default priority
 * and in main(); prefix with `static` for a file-local domain. It is never destroyed. If it
 * cannot be created (out of memory) the program prints a message and aborts, as no caller
 * could handle the error.
 */
#define SRCU_RS_DEFINE(name)                                                                   \
	struct srcu_rs *name;                                                                  \
	__attribute__((constructor(101))) static void srcu_rs_define_##name(void)              \
	{                                                                                      \
		srcu_rs_create_or_abort(&(name));                                              \
	}                                                                                      \
	extern struct srcu_rs *name /* same linkage as above; takes the caller's semicolon */

#ifdef __cplusplus
}
#endif

#ifndef SRCU_RS_NO_INLINE
#include "srcu_rs/static.h"
/* Function-like: (srcu_rs_read_lock)(s) and &srcu_rs_read_lock still name the library's. */
#define srcu_rs_read_lock(s) srcu_rs_read_lock_inline(s)
#define srcu_rs_read_unlock(s, idx) srcu_rs_read_unlock_inline(s, idx)
#define srcu_rs_read_enter(s) srcu_rs_read_enter_inline(s)
#define srcu_rs_read_exit(s) srcu_rs_read_exit_inline(s)
#endif

#ifdef SRCU_RS_DEBUG_HELD
/* Index-returning readers counted for srcu_rs_read_held() (see there). */
#include "srcu_rs/static.h"
#undef srcu_rs_read_lock
#undef srcu_rs_read_unlock
#define srcu_rs_read_lock(s) srcu_rs_read_lock_debug_held(s)
#define srcu_rs_read_unlock(s, idx) srcu_rs_read_unlock_debug_held(s, idx)
#endif

#endif /* SRCU_RS_H */
