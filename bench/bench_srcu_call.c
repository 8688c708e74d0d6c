/* SPDX-License-Identifier: MIT OR GPL-2.0-only */
/* srcu_rs through its exported functions (SRCU_RS_NO_INLINE). */
#define SRCU_RS_NO_INLINE
#include <srcu_rs.h>

void srcu_call_pairs(struct srcu_rs *s, long n)
{
	for (long i = 0; i < n; i++) {
		int idx = srcu_rs_read_lock(s);
		srcu_rs_read_unlock(s, idx);
	}
}
