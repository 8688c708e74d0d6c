/* SPDX-License-Identifier: MIT OR GPL-2.0-only */
/*
 * The exported srcu_rs_read_lock()/srcu_rs_read_unlock() (for FFI, function pointers and
 * programs built with SRCU_RS_NO_INLINE): thin wrappers of the header's static-inline reader,
 * so an out-of-line reader is one call plus the inline code.
 */
#define SRCU_RS_NO_INLINE
#include <srcu_rs.h>
#include <srcu_rs/static.h>

int srcu_rs_read_lock(struct srcu_rs *s)
{
	return srcu_rs_read_lock_inline(s);
}

int srcu_rs_read_unlock(struct srcu_rs *s, int idx)
{
	return srcu_rs_read_unlock_inline(s, idx);
}
