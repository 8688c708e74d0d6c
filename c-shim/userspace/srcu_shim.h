/* SPDX-License-Identifier: MIT OR GPL-2.0-only */
/*
 * srcu-rs userspace shim: the parts of the C library's platform that are better written in C.
 *
 *  - the reader's fast-half increment: a restartable-sequence (rseq) critical section that
 *    adds one to the current CPU's per-CPU-op half, committed by one instruction, and aborted
 *    by the kernel on preemption, migration or signal delivery (the caller then takes the
 *    atomic half) -- libside's split-counter shape;
 *  - membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) registration and use, for the asymmetric
 *    reader/updater barriers;
 *  - the current CPU number (rseq cpu_id_start, else sched_getcpu()).
 *
 * Every function here is async-signal-safe except srcu_shim_init(). This header is the input
 * of bindgen (ffi/src/shim_bindings.rs is generated from it and committed).
 */
#ifndef SRCU_SHIM_H
#define SRCU_SHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* srcu_shim_init() flags. */
#define SRCU_SHIM_DISABLE_RSEQ 0x1u       /* never use rseq: every reader takes the atomic half */
#define SRCU_SHIM_DISABLE_MEMBARRIER 0x2u /* never use membarrier: full fences on both sides */
#define SRCU_SHIM_BROKEN_PERCPU 0x4u      /* TEST ONLY: plain load/add/store without rseq */

/* What srcu_shim_init() found (bit set = in use). */
#define SRCU_SHIM_HAVE_RSEQ 0x1u
#define SRCU_SHIM_HAVE_MEMBARRIER 0x2u

/*
 * Probe rseq (glibc >= 2.35 registers it for every thread) and register this process for
 * MEMBARRIER_CMD_PRIVATE_EXPEDITED. Call once, before any reader runs, with no reader active;
 * later calls return the first call's result and ignore their flags. Returns the HAVE bits.
 */
unsigned int srcu_shim_init(unsigned int flags);

/* The HAVE bits of the first srcu_shim_init() (0 before it). */
unsigned int srcu_shim_features(void);

/* log2 of the bytes between two CPUs' words for srcu_shim_percpu_inc(). */
#define SRCU_SHIM_CPU_SHIFT 7u

/*
 * Add one to the word at `word + (cpu << SRCU_SHIM_CPU_SHIFT)`, where `cpu` is the calling
 * thread's current CPU, inside an rseq critical section. The caller guarantees that this is a
 * valid word for every possible CPU. Returns 0 if the word was incremented, non-zero if nothing
 * was changed and the caller must count in the atomic half instead: rseq is not available to
 * this thread, or the critical section was aborted (preemption, migration or a signal landed in
 * it). Async-signal-safe; never sets errno.
 */
int srcu_shim_percpu_inc(void *word);

/* The calling thread's current CPU (a hint: the thread may migrate at once). Never fails:
 * returns 0 if no CPU number can be had. Async-signal-safe; preserves errno. */
unsigned int srcu_shim_current_cpu(void);

/* The heavy barrier: membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED). Returns 0 on success,
 * -1 if membarrier is not in use (the caller must then use a full fence). Preserves errno. */
int srcu_shim_membarrier(void);

/* Number of rseq fast-path attempts that fell back to the atomic half (statistics, racy). */
unsigned long srcu_shim_fallbacks(void);

/*
 * How many index-free readers (srcu_rs_read_enter()) of `domain` with index `idx` the calling
 * thread holds (its reader stack; for the fork child handler).
 */
unsigned int srcu_shim_readers_held(const void *domain, int idx);

#ifdef __cplusplus
}
#endif

#endif /* SRCU_SHIM_H */
