/* SPDX-License-Identifier: MIT OR GPL-2.0-only */
/*
 * The rseq per-CPU increment, as a static inline function shared by the shim (srcu_shim.c) and
 * the optional inline reader fast path of include/srcu_rs.h.
 *
 * Protocol (librseq's rseq_addv on x86-64, with glibc's registration and signature):
 *
 *     cpu = rseq->cpu_id_start                     (always a valid CPU number once registered)
 *     ptr = base + cpu * stride + offset
 *   1:  rseq->rseq_cs = &descriptor                (arms the critical section [1, 2))
 *       if (rseq->cpu_id != cpu) goto abort        (not registered: cpu_id is -1 or -2)
 *       addq $1, (ptr)                             (the commit: one instruction)
 *   2:  return 0
 *   abort: (kernel jumps here if the thread was preempted, migrated or got a signal in [1, 2))
 *       return 1                                   (caller counts in the atomic half)
 *
 * Why this is async-signal-safe: a signal delivered while the thread is in [1, 2) makes the
 * kernel move the thread's instruction pointer to `abort` before running the handler, so the
 * interrupted increment is either complete (the commit ran) or never happens; the handler's own
 * reader does its own increment. The per-CPU-op half of CPU n is therefore only ever written by
 * a committed critical section that ran on CPU n without interruption, which is the
 * `this_cpu_inc()` contract srcu-core asks of Platform::percpu_inc.
 */
#ifndef SRCU_RSEQ_H
#define SRCU_RSEQ_H

#include <stddef.h>
#include <stdint.h>

#if defined(__x86_64__) && defined(__GNUC__) && defined(__linux__)
#define SRCU_RSEQ_SUPPORTED 1

/* glibc's rseq ABI (>= 2.35): offset of the thread's struct rseq from the thread pointer. */
extern const ptrdiff_t __rseq_offset;
extern const unsigned int __rseq_size;

/* The part of struct rseq the fast path uses (the kernel ABI, include/uapi/linux/rseq.h). */
struct srcu_rseq_abi {
	uint32_t cpu_id_start;
	uint32_t cpu_id;
	uint64_t rseq_cs;
	uint32_t flags;
} __attribute__((aligned(32)));

#define SRCU_RSEQ_SIG 0x53053053 /* glibc's RSEQ_SIG for x86 */

static inline struct srcu_rseq_abi *srcu_rseq_area(void)
{
	return (struct srcu_rseq_abi *)((char *)__builtin_thread_pointer() + __rseq_offset);
}

/* 0: incremented; 1: nothing done, use the atomic half. */
static inline __attribute__((always_inline)) int
srcu_rseq_percpu_inc(void *base, size_t stride, size_t nr_cpus, size_t offset)
{
	struct srcu_rseq_abi *rs = srcu_rseq_area();
	uint32_t cpu = __atomic_load_n(&rs->cpu_id_start, __ATOMIC_RELAXED);
	char *ptr;

	if (__builtin_expect(cpu >= nr_cpus, 0))
		return 1;
	ptr = (char *)base + (size_t)cpu * stride + offset;
	__asm__ __volatile__ goto(
		".pushsection __rseq_cs, \"aw\"\n\t"
		".balign 32\n\t"
		"3:\n\t"
		".long 0x0, 0x0\n\t"
		".quad 1f, (2f - 1f), 4f\n\t"
		".popsection\n\t"
		".pushsection __rseq_cs_ptr_array, \"aw\"\n\t"
		".quad 3b\n\t"
		".popsection\n\t"
		"leaq 3b(%%rip), %%rax\n\t"
		"movq %%rax, %[rseq_cs]\n\t"
		"1:\n\t"
		"cmpl %[cpu], %[cpu_id]\n\t"
		"jnz %l[abort]\n\t"
		"addq $1, (%[ptr])\n\t"
		"2:\n\t"
		".pushsection __rseq_failure, \"ax\"\n\t"
		".long 0x53053053\n\t"
		"4:\n\t"
		"jmp %l[abort]\n\t"
		".popsection\n\t"
		: /* no outputs: asm goto */
		: [rseq_cs] "m"(rs->rseq_cs), [cpu] "r"(cpu), [cpu_id] "m"(rs->cpu_id), [ptr] "r"(ptr)
		: "memory", "cc", "rax"
		: abort);
	return 0;
abort:
	return 1;
}
#else
#define SRCU_RSEQ_SUPPORTED 0
static inline int srcu_rseq_percpu_inc(void *base, size_t stride, size_t nr_cpus, size_t offset)
{
	(void)base; (void)stride; (void)nr_cpus; (void)offset;
	return 1;
}
#endif

#endif /* SRCU_RSEQ_H */
