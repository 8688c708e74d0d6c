/* SPDX-License-Identifier: MIT OR GPL-2.0-only */
/* srcu-rs userspace shim: rseq fast-half increment, membarrier, CPU number. See srcu_shim.h. */
#define _GNU_SOURCE
#include "srcu_shim.h"
#include "srcu_rseq.h"

#include <errno.h>
#include <linux/membarrier.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Set once by srcu_shim_init(); read by every reader (one load, one predictable branch). */
static unsigned int shim_mode;     /* SHIM_MODE_* */
static unsigned int shim_features; /* SRCU_SHIM_HAVE_* */
static int shim_initialised;
static unsigned long shim_fallbacks;

enum { SHIM_MODE_ATOMIC = 0, SHIM_MODE_RSEQ = 1, SHIM_MODE_BROKEN = 2 };

static int sys_membarrier(int cmd, unsigned int flags)
{
	return (int)syscall(__NR_membarrier, cmd, flags, 0);
}

static int rseq_registered(void)
{
#if SRCU_RSEQ_SUPPORTED
	if (__rseq_size < 20) /* registration failed or disabled (glibc.pthread.rseq=0) */
		return 0;
	/* cpu_id is RSEQ_CPU_ID_UNINITIALIZED (-1) or REGISTRATION_FAILED (-2) when unusable. */
	return (int32_t)__atomic_load_n(&srcu_rseq_area()->cpu_id, __ATOMIC_RELAXED) >= 0;
#else
	return 0;
#endif
}

unsigned int srcu_shim_init(unsigned int flags)
{
	unsigned int have = 0;
	int cmds;

	if (__atomic_load_n(&shim_initialised, __ATOMIC_ACQUIRE))
		return shim_features;
	if (!(flags & SRCU_SHIM_DISABLE_RSEQ) && rseq_registered())
		have |= SRCU_SHIM_HAVE_RSEQ;
	if (!(flags & SRCU_SHIM_DISABLE_MEMBARRIER)) {
		cmds = sys_membarrier(MEMBARRIER_CMD_QUERY, 0);
		if (cmds >= 0 && (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
		    (cmds & MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) &&
		    sys_membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0) == 0)
			have |= SRCU_SHIM_HAVE_MEMBARRIER;
	}
	if (flags & SRCU_SHIM_BROKEN_PERCPU)
		shim_mode = SHIM_MODE_BROKEN;
	else
		shim_mode = (have & SRCU_SHIM_HAVE_RSEQ) ? SHIM_MODE_RSEQ : SHIM_MODE_ATOMIC;
	shim_features = have;
	__atomic_store_n(&shim_initialised, 1, __ATOMIC_RELEASE);
	return have;
}

unsigned int srcu_shim_features(void)
{
	if (!__atomic_load_n(&shim_initialised, __ATOMIC_ACQUIRE))
		return 0;
	return shim_features;
}

unsigned int srcu_shim_current_cpu(void)
{
	int saved = errno;
	int cpu;

#if SRCU_RSEQ_SUPPORTED
	if (shim_mode == SHIM_MODE_RSEQ) {
		cpu = (int32_t)__atomic_load_n(&srcu_rseq_area()->cpu_id, __ATOMIC_RELAXED);
		if (cpu >= 0)
			return (unsigned int)cpu;
	}
#endif
	cpu = sched_getcpu();
	errno = saved;
	return cpu < 0 ? 0u : (unsigned int)cpu;
}

/*
 * TEST ONLY (SRCU_RS_FAULT=4 in a fault-injection build): the increment a single-flavor SRCU
 * would use without rseq -- load, add, store on the current CPU's per-CPU-op half, with a
 * window in between. A signal handler's reader, or another thread preempting this one on the
 * same CPU, that lands in the window loses a count: the tests must catch this.
 */
static int broken_percpu_inc(void *word)
{
	unsigned int cpu = srcu_shim_current_cpu();
	volatile unsigned long *p;
	unsigned long v;
	int i;

	p = (volatile unsigned long *)((char *)word + ((size_t)cpu << SRCU_SHIM_CPU_SHIFT));
	v = *p;
	for (i = 0; i < 50; i++)
		__asm__ __volatile__("pause" ::: "memory");
	*p = v + 1;
	return 0;
}

_Static_assert(SRCU_SHIM_CPU_SHIFT == SRCU_RSEQ_CPU_SHIFT, "one CPU stride");

int srcu_shim_percpu_inc(void *word)
{
	if (__builtin_expect(shim_mode == SHIM_MODE_RSEQ, 1)) {
		if (__builtin_expect(srcu_rseq_percpu_inc((char *)word) == 0, 1))
			return 0;
	} else if (shim_mode == SHIM_MODE_BROKEN) {
		return broken_percpu_inc(word);
	}
	__atomic_fetch_add(&shim_fallbacks, 1, __ATOMIC_RELAXED);
	return 1;
}

int srcu_shim_membarrier(void)
{
	int saved, ret;

	if (!(shim_features & SRCU_SHIM_HAVE_MEMBARRIER))
		return -1;
	saved = errno;
	ret = sys_membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0);
	errno = saved;
	return ret == 0 ? 0 : -1;
}

unsigned long srcu_shim_fallbacks(void)
{
	return __atomic_load_n(&shim_fallbacks, __ATOMIC_RELAXED);
}
