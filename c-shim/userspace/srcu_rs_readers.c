/* SPDX-License-Identifier: MIT OR GPL-2.0-only */
/*
 * The exported readers (for FFI, function pointers and programs built with SRCU_RS_NO_INLINE):
 * thin wrappers of the header's static-inline reader, so an out-of-line reader is one call plus
 * the inline code; and the index-free readers' per-thread stack.
 */
#define SRCU_RS_NO_INLINE
#include <srcu_rs.h>
#include <srcu_rs/static.h>

#include "srcu_shim.h"

int srcu_rs_read_lock(struct srcu_rs *s)
{
	return srcu_rs_read_lock_inline(s);
}

int srcu_rs_read_unlock(struct srcu_rs *s, int idx)
{
	return srcu_rs_read_unlock_inline(s, idx);
}

__thread struct srcu_rs_layout_v3_stack srcu_rs_layout_v3_stack
	__attribute__((tls_model("initial-exec")));

int srcu_rs_read_enter(struct srcu_rs *s)
{
	return srcu_rs_read_enter_inline(s);
}

int srcu_rs_read_exit(struct srcu_rs *s)
{
	return srcu_rs_read_exit_inline(s);
}

/* SRCU_RS_DEBUG_HELD programs' counts of index-returning readers (static.h). */
__thread struct srcu_rs_layout_v3_held srcu_rs_layout_v3_held
	__attribute__((tls_model("initial-exec")));

bool srcu_rs_read_held(struct srcu_rs *s)
{
	const struct srcu_rs_layout_v3_stack *st = &srcu_rs_layout_v3_stack;
	const struct srcu_rs_layout_v3_held *h = &srcu_rs_layout_v3_held;
	unsigned int d = __atomic_load_n(&st->depth, __ATOMIC_RELAXED);
	unsigned int i;

	if (!s)
		return false;
	if (d > SRCU_RS_LAYOUT_V3_STACK_DEPTH)
		d = SRCU_RS_LAYOUT_V3_STACK_DEPTH;
	while (d--)
		if (__atomic_load_n(&st->e[d].s, __ATOMIC_RELAXED) == s)
			return true;
	for (i = 0; i < SRCU_RS_LAYOUT_V3_HELD_SLOTS; i++)
		if (__atomic_load_n(&h->e[i].s, __ATOMIC_RELAXED) == s &&
		    __atomic_load_n(&h->e[i].n, __ATOMIC_RELAXED) != 0)
			return true;
	return __atomic_load_n(&h->overflow, __ATOMIC_RELAXED) != 0;
}

unsigned int srcu_shim_readers_held(const void *domain, int idx)
{
	const struct srcu_rs_layout_v3_stack *st = &srcu_rs_layout_v3_stack;
	unsigned int d = st->depth, n = 0;

	if (d > SRCU_RS_LAYOUT_V3_STACK_DEPTH)
		d = SRCU_RS_LAYOUT_V3_STACK_DEPTH;
	while (d--)
		if ((const void *)st->e[d].s == domain && st->e[d].idx == idx)
			n++;
	return n;
}
