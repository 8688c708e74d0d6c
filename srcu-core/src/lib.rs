// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! # srcu-core — NMI-safe sleepable RCU with one reader API
//!
//! This crate is the whole srcu-rs algorithm and nothing else. The C library (`ffi/`) and the
//! Linux patch series (`patches/`) are thin mappings of [`Platform`] onto their worlds; a
//! newcomer reading this crate reads everything that decides correctness.
//!
//! It is Linux 6.12 Tree SRCU's algorithm (kernel/rcu/srcutree.c) without the tree, with one
//! change taken from Mathieu Desnoyers' proposal (LKML, Nov 2022) and libside's RCU: every
//! per-CPU reader counter ([`Counter`]) is split in two halves.
//!
//! * the **per-CPU-op half** is incremented by readers outside NMI with the platform's cheapest
//!   irq-safe per-CPU increment (`this_cpu_inc()`); on architectures without NMI-safe per-CPU
//!   operations that increment is *load, add, store* with interrupts disabled, so an NMI landing
//!   between the load and the store would lose an update;
//! * the **atomic half** is incremented only in NMI context, with one atomic read-modify-write.
//!
//! The reader never chooses: [`Platform::in_nmi`] does. The grace period sums both halves.
//! So NMI safety costs nothing outside NMI and there is no separate `_nmisafe` API: task,
//! softirq, hardirq and NMI readers all call [`Srcu::read_lock`] / [`Srcu::read_unlock`].
//!
//! ## Where each part of the algorithm lives
//!
//! The modules are private; everything a platform or a caller needs is re-exported here, at one
//! path each. Listed from the ground up: each module uses only modules above it in this list.
//!
//! * `counters` — the four logical per-CPU counters, their slot numbers: [`Counter`],
//!   [`CounterKind`];
//! * `platform` — what the algorithm needs from its world, the broken variants: [`Platform`],
//!   [`Fault`];
//! * `seq` — the grace-period sequence number, wrap-safe comparisons: [`GP_SEQ_INITIAL`];
//! * `sync` — the atomics the state is made of (`core`'s, or loom's);
//! * `domain` — the per-domain state and its wait-free snapshots: [`Srcu`], [`SRCU_WORDS`];
//! * `readers` — `read_lock`, `read_unlock` in every context, barriers B and C: [`ReaderIndex`];
//! * `scans` — sums of both counter halves over the CPUs, "is this index quiescent", barrier A;
//! * `grace_period` — the state machine IDLE → SCAN1 → SCAN2, the flip (barriers E, D), the
//!   sequence barriers, requests, the delay policy: [`GpState`], [`Next`], [`StepReport`];
//! * `polling` — `get_state`, `start_poll`, `poll_state`, their barriers: [`Cookie`];
//! * `updaters` — `synchronize`, `synchronize_expedited`: snapshot, request, drive, wait;
//! * `callbacks` — `call`, ready-callback invocation, `barrier`: [`CallbackList`];
//! * `cleanup` — teardown: finish the grace period in flight, free or refuse: [`CleanupError`].
//!
//! Every operation is a method of [`Srcu`], defined in the module of its part.
//!
//! ## A grace period
//!
//! ```text
//!  srcu_idx:        0 (readers increment counters[0])      |  1 (readers increment counters[1])
//!                                                          |
//!  updater:  snap cookie ─► request ─► step ...            |
//!  engine:   IDLE ──start──► SCAN1: wait until             | SCAN2: wait until
//!            (seq+1, mb)     sum(unlock[1]) ═A═ sum(lock[1])│ sum(unlock[0]) ═A═ sum(lock[0])
//!                            (stragglers that read idx 1   | (every reader that read idx 0,
//!                             before the last flip)     E flip D   i.e. every pre-existing one)
//!                                                          |      ──end──► IDLE (mb, seq+2..)
//!  reader on idx 0:  ──lock[0]++ ═B═ ......... critical section ......... ═C═ unlock[0]++──┤
//!  reader that read idx 1 long ago and only now increments lock[1]: caught by SCAN1 ─┘
//! ```
//!
//! A reader that finds `lock == unlock` on an index after the flip away from it can no longer
//! hold anything the updater unpublished before the grace period started. Two scans are needed
//! because a reader may read `srcu_idx`, be delayed arbitrarily, and increment the index that
//! is *active again* by the time it runs: SCAN1 waits for such stragglers on the currently
//! inactive index before the flip makes that index active-and-scanned-next-time.
//!
//! ## Memory barriers and their pairings (srcutree.c's letters)
//!
//! Every barrier is a full barrier (`smp_mb()`, `fence(SeqCst)`): [`Platform::reader_mb`] for B
//! and C, [`Platform::heavy_mb`] for A, D and E, [`Platform::smp_mb`] for the rest. A platform may
//! make the reader's pair a compiler barrier only if its heavy barrier is `membarrier()`, which
//! forces a full barrier on every CPU running a reader (liburcu's asymmetric scheme).
//!
//! * **A** (grace period, between summing unlocks and summing locks,
//!   `scans`): if an unlock increment is counted, the matching lock increment is
//!   counted too. Pairs with **C**. It also pairs with **B** as a store-buffering pair: a reader
//!   whose critical section reads data the updater wrote before `synchronize` either has its lock
//!   increment seen by the scan, or sees the new data.
//! * **B** (reader, after the lock increment, `readers`): keeps the critical section from
//!   leaking before the increment. Pairs with A and with E.
//! * **C** (reader, before the unlock increment, `readers`): keeps the critical section from
//!   leaking after the increment. Pairs with A, D and E.
//! * **D** (grace period, after the flip of `srcu_idx`): if a scan misses a reader's unlock,
//!   that task's next `read_lock` sees the new index. Pairs with C.
//! * **E** (grace period, before the flip): orders the scan that found the inactive index
//!   quiescent before the flip, so a reader that uses the new index cannot have been counted by
//!   the earlier scan. Pairs with B and C.
//! * **Sequence barriers** (`grace_period`): `start` is followed by a full barrier (the scans
//!   are ordered after the sequence advertises the grace period); `end` is preceded by one (the
//!   scans are ordered before anyone can see the grace period completed). Cookie snapshots and a `true`
//!   from `poll_state` are surrounded by full barriers (`polling`) — they pair with the start
//!   and end barriers, as in the kernel's `rcu_seq_snap()` and `poll_state_synchronize_srcu()`.
//!
//! **What the models cannot show.** loom does not explore load-buffering executions, so no
//! model shows barrier C is necessary. The argument: without C, the unlock increment could
//! become visible before a load inside the critical section is satisfied (load buffering). A
//! scan could then count that unlock — and, through A, the lock — conclude the reader is done,
//! end the grace period, and let the updater free the object that the late load then reads.
//! C orders every critical-section access before the unlock increment, so a counted unlock
//! implies a finished critical section. Weakly ordered CPUs (arm64, POWER) do reorder a load
//! after a later store; x86 does not, which is why only review, not a test, guards C.
//!
//! ## Counter overflow and nesting
//!
//! Counters are `usize` and compared for equality after wrapping sums, exactly as srcutree.c.
//! A false "equal" needs about `usize::MAX / 2` increments by readers that read a stale index
//! between one scan's unlock sum and its lock sum, which the two-scan structure bounds by the
//! number of tasks times their nesting depth (srcutree.c's comment in
//! `srcu_readers_active_idx_check()`). Nesting thousands deep is therefore fine.
//!
//! ## Kernel-linkable
//!
//! `#![no_std]`, `#![forbid(unsafe_code)]`, no allocation, no panics outside tests (no
//! slice indexing, no unwrap, no arithmetic that can overflow-check), no floats, no
//! `core::fmt`, no 128-bit division and no large aggregate copies. CI compiles it with the
//! kernel's code-generation flags and rejects any object with a foreign undefined symbol, a
//! GOT relocation or an SSE/x87 instruction.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
// Kernel-linkable: no panic path can exist outside tests (checked by `cargo clippy`; the
// kernel-flags object check rejects any that slips through as an undefined core symbol).
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::unreachable,
        clippy::todo,
        clippy::unimplemented,
        clippy::float_arithmetic,
        clippy::arithmetic_side_effects,
    )
)]

mod callbacks;
mod cleanup;
mod counters;
mod domain;
mod grace_period;
mod platform;
mod polling;
mod readers;
mod scans;
mod seq;
mod sync;
mod updaters;

pub use callbacks::CallbackList;
pub use cleanup::CleanupError;
pub use counters::{Counter, CounterKind};
pub use domain::{Srcu, SRCU_WORDS};
pub use grace_period::{GpState, Next, StepReport};
pub use platform::{Fault, Platform};
pub use polling::Cookie;
pub use readers::ReaderIndex;
pub use seq::INITIAL as GP_SEQ_INITIAL;

#[cfg(test)]
extern crate self as srcu_core;
#[cfg(test)]
#[path = "../tests/support/mod.rs"]
mod support;
#[cfg(test)]
mod tests;
