/* SPDX-License-Identifier: MIT OR GPL-2.0-only */
/* liburcu memb with its inline read-side fast path (_LGPL_SOURCE). */
#define _LGPL_SOURCE
#include <urcu/urcu-memb.h>

#include "chase.h"

void urcu_inline_pairs(long n)
{
	for (long i = 0; i < n; i++) {
		urcu_memb_read_lock();
		urcu_memb_read_unlock();
	}
}

long urcu_inline_chase(long n)
{
	long sum = 0;
	for (long i = 0; i < n; i++) {
		urcu_memb_read_lock();
		sum += chase();
		urcu_memb_read_unlock();
	}
	return sum;
}
