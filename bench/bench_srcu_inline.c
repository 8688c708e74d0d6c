/* SPDX-License-Identifier: MIT OR GPL-2.0-only */
/* srcu_rs with the header's inline reader fast path, when the header has one. */
#define SRCU_RS_INLINE
#include <srcu_rs.h>

int srcu_inline_available(void)
{
#ifdef SRCU_RS_HAVE_INLINE
	return 1;
#else
	return 0;
#endif
}

void srcu_inline_pairs(struct srcu_rs *s, long n)
{
	for (long i = 0; i < n; i++) {
#ifdef SRCU_RS_HAVE_INLINE
		int idx = srcu_rs_read_lock_inline(s);
		srcu_rs_read_unlock_inline(s, idx);
#else
		int idx = srcu_rs_read_lock(s);
		srcu_rs_read_unlock(s, idx);
#endif
	}
}
