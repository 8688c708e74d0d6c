/* SPDX-License-Identifier: MIT OR GPL-2.0-only */
/*
 * The rseq per-CPU increment, as a static inline function shared by the shim (srcu_shim.c) and
 * the static-inline reader of include/srcu_rs/static.h (pasted in there by the build).
 *
 * Protocol (librseq's rseq_addv on x86-64, with glibc's registration and signature; the
 * thread's struct rseq is addressed %fs-relative at glibc's __rseq_offset):
 *
 *       rseq->rseq_cs = &descriptor                (arms the critical section [1, 2))
 *   1:  off = (long)rseq->cpu_id << SRCU_RSEQ_CPU_SHIFT  (cpu_id: -1 or -2 if this thread
 *       if (off < 0) goto abort                             is not registered)
 *       addq $1, word[off]                         (the commit: one instruction)
 *   2:  return 0
 *   abort: (kernel jumps here if the thread was preempted, migrated or got a signal in [1, 2))
 *       return 1                                   (caller counts in the atomic half)
 *
 * The CPU number is read inside the armed section, so it stays the thread's CPU until the
 * commit (a migration aborts the section); no compare with cpu_id_start is needed. The caller
 * guarantees that word[cpu << SRCU_RSEQ_CPU_SHIFT] is valid for every possible CPU (the
 * library disables rseq when it cannot count the possible CPUs).
 *
 * Why this is async-signal-safe: a signal delivered while the thread is in [1, 2) makes the
 * kernel move the thread's instruction pointer to `abort` before running the handler, so the
 * interrupted increment is either complete (the commit ran) or never happens; the handler's own
 * reader does its own increment. The per-CPU-op half of CPU n is therefore only ever written by
 * a committed critical section that ran on CPU n without interruption, which is the
 * `this_cpu_inc()` contract srcu-core asks of Platform::percpu_inc.
 *
 * The asm has a "memory" clobber: it is also a compiler barrier (the reader's barriers B and C
 * when membarrier() is the updater's heavy barrier).
 */
#ifndef SRCU_RSEQ_H
#define SRCU_RSEQ_H

#include <stddef.h>
#include <stdint.h>

/* log2 of the bytes between two CPUs' words. */
#define SRCU_RSEQ_CPU_SHIFT 7

#if defined(__x86_64__) && defined(__GNUC__) && defined(__linux__) && defined(__GLIBC__) && \
	(__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 35))
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

/* __rseq_offset: one PC-relative load in an executable built by GCC (a copy relocation). */
static inline __attribute__((always_inline)) ptrdiff_t srcu_rseq_offset(void)
{
#ifdef SRCU_RS_TEST_UNTRIMMED /* test only: the untrimmed reader's reload through the GOT */
	ptrdiff_t off;

	__asm__ __volatile__("movq __rseq_offset@GOTPCREL(%%rip), %0\n\t"
			     "movq (%0), %0"
			     : "=r"(off) : : "memory");
	return off;
#else
	return __rseq_offset;
#endif
}

/* 0: incremented word[cpu << SRCU_RSEQ_CPU_SHIFT]; 1: nothing done, use the atomic half. */
static inline __attribute__((always_inline)) int srcu_rseq_percpu_inc(char *word)
{
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
		"movq %%rax, %%fs:8(%[rseq])\n\t"  /* rseq->rseq_cs = &descriptor */
		"1:\n\t"
		"movslq %%fs:4(%[rseq]), %%rax\n\t" /* rseq->cpu_id, sign-extended */
		"shlq $7, %%rax\n\t"               /* cpu << SRCU_RSEQ_CPU_SHIFT: negative stays negative */
		"js %l[abort]\n\t"
		"addq $1, (%[word], %%rax)\n\t"
		"2:\n\t"
		".pushsection __rseq_failure, \"ax\"\n\t"
		".long 0x53053053\n\t"             /* SRCU_RSEQ_SIG */
		"4:\n\t"
		"jmp %l[abort]\n\t"
		".popsection\n\t"
		: /* no outputs: asm goto */
		: [rseq] "r"(srcu_rseq_offset()), [word] "r"(word)
		: "memory", "cc", "rax"
		: abort);
	return 0;
abort:
	return 1;
}
#else
#define SRCU_RSEQ_SUPPORTED 0
static inline int srcu_rseq_percpu_inc(char *word)
{
	(void)word;
	return 1;
}
#endif

#endif /* SRCU_RSEQ_H */
