/* SPDX-License-Identifier: MIT OR GPL-2.0-only */
/* srcu_rs with the default header: srcu_rs_read_lock/unlock are the static-inline reader. */
#include <srcu_rs.h>

#include "chase.h"

void srcu_inline_pairs(struct srcu_rs *s, long n)
{
	for (long i = 0; i < n; i++) {
		int idx = srcu_rs_read_lock(s);
		srcu_rs_read_unlock(s, idx);
	}
}

long srcu_inline_chase(struct srcu_rs *s, long n)
{
	long sum = 0;
	for (long i = 0; i < n; i++) {
		int idx = srcu_rs_read_lock(s);
		sum += chase();
		srcu_rs_read_unlock(s, idx);
	}
	return sum;
}
