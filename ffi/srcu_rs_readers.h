/* SPDX-License-Identifier: MIT OR GPL-2.0-only */
/* The readers (trailer of include/srcu_rs.h, pasted in by ffi/build.rs). */

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

#ifdef __cplusplus
}
#endif

#ifndef SRCU_RS_NO_INLINE
#include "srcu_rs/static.h"
/* Function-like: (srcu_rs_read_lock)(s) and &srcu_rs_read_lock still name the library's. */
#define srcu_rs_read_lock(s) srcu_rs_read_lock_inline(s)
#define srcu_rs_read_unlock(s, idx) srcu_rs_read_unlock_inline(s, idx)
#endif

#endif /* SRCU_RS_H */
