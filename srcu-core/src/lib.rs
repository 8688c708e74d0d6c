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
//! * `platform` — what the algorithm needs from its world, its tunables, the broken variants:
//!   [`Platform`], [`DelayPolicy`], [`Fault`];
//! * `seq` — the grace-period sequence number, wrap-safe comparisons: [`GP_SEQ_INITIAL`];
//! * `sync` — the atomics the state is made of (`core`'s, or loom's);
//! * `domain` — the per-domain state and its wait-free snapshots: [`Srcu`], [`SRCU_WORDS`];
//! * `readers` — `read_lock`, `read_unlock` in every context, barriers B and C: [`ReaderIndex`];
//! * `scans` — sums of both counter halves over the CPUs, "is this index (are both indexes)
//!   quiescent", barrier A;
//! * `grace_period` — the state machine IDLE → SCAN1 → SCAN2, the idle fast path, the flip
//!   (barriers E, D), the sequence barriers, requests, the delay policy: [`GpState`], [`Next`],
//!   [`StepReport`];
//! * `polling` — `get_state`, `start_poll`, `poll_state`, their barriers: [`Cookie`];
//! * `updaters` — `synchronize`, `synchronize_expedited`: snapshot, request, then drive or
//!   sleep while another caller drives (one driver per grace period);
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
//!  updater:  snap cookie -> request -> step ...            |
//!  engine:   IDLE --start--> SCAN1: sum(unlock[0,1]) =A= sum(lock[0,1])
//!            (seq+1, mb)       both equal ----------------------------------> end (idle fast path)
//!                              unlock[1] == lock[1]        | SCAN2: wait until
//!                              (stragglers that read idx 1 | sum(unlock[0]) =A= sum(lock[0])
//!                               before the last flip)  E flip D  (every reader that read idx 0,
//!                                                          |      i.e. every pre-existing one)
//!                                                          |      --end--> IDLE (mb, seq+2..)
//!  reader on idx 0:  --lock[0]++ =B= ......... critical section ......... =C= unlock[0]++--|
//!  reader that read idx 1 long ago and only now increments lock[1]: caught by SCAN1 -+
//! ```
//!
//! A reader that finds `lock == unlock` on an index after the flip away from it can no longer
//! hold anything the updater unpublished before the grace period started. Two scans are needed
//! because a reader may read `srcu_idx`, be delayed arbitrarily, and increment the index that
//! is *active again* by the time it runs: SCAN1 waits for such stragglers on the currently
//! inactive index before the flip makes that index active-and-scanned-next-time.
//!
//! ## The idle fast path (64-bit `usize`)
//!
//! SCAN1 sums the unlocks of **both** indexes, issues one A, then sums the locks of both. If
//! both indexes match, the grace period ends there, without a flip and without SCAN2: one
//! heavy barrier per idle grace period. If only the inactive index matches, that is SCAN1's
//! answer and the engine flips as srcutree.c does (the extra sums cost loads, no barrier).
//!
//! Why it is sound. Take any reader R that may hold something unpublished before the grace
//! period (its critical section could see the old pointer), and the fast path's scan:
//!
//! 1. *A counted unlock implies a counted lock* (C with A): R's lock increment precedes its C
//!    and its unlock increment, the unlock sums precede A, the lock sums follow it.
//! 2. *An uncounted lock is a new reader* (B with A, store buffering): if the lock sums miss
//!    R's lock increment, R's B orders its critical section after that increment, A orders the
//!    lock sums after the updater's unpublishing stores, so R's critical section sees them.
//! 3. *A straggler's stale index only chooses which counter it uses*: R may have read
//!    `srcu_idx` long before, but whichever index it increments, both are summed.
//!
//! So for each index the lock sum minus the unlock sum is exactly the number of readers
//! counted as locked and not as unlocked — counted unlocks cancel counted locks one for one
//! (1), and there is no uncounted lock with a counted unlock (1 again). Equality on both means
//! every reader counted as locked (every pre-existing reader, by 2) has unlocked, with its
//! critical section ordered before the updater's accesses after the grace period (C with A).
//!
//! Why it is gated to 64-bit `usize`. That difference is computed modulo `usize::MAX + 1`.
//! Without a flip, new readers keep using the scanned index while the scan runs, and each
//! `read_lock`/`read_unlock` pair between the unlock sum and the lock sum adds one to the
//! difference (its lock is counted, its unlock is not): a false "equal" needs that to happen
//! exactly a multiple of 2^BITS times within one scan. With 64 bits that is centuries of
//! back-to-back readers; with 32 bits it is seconds of a preempted updater. The flip is what
//! bounds the difference on the slow path (see "Counter overflow and nesting"), so 32-bit
//! builds keep the flip on every grace period. The kernel's architectures here (x86-64,
//! powerpc64le) and the C library's 64-bit targets all take the fast path.
//!
//! It needs no cooperation from the flip: a fast-path grace period leaves `srcu_idx` as it
//! was, and a later slow-path grace period's argument does not depend on how many flips came
//! before. [`Fault::FastPathActiveOnly`] is the fast path that looks at the active index only;
//! loom model 8 (two readers: one keeps the active index busy so a grace period flips, the
//! other straggles onto the now-inactive index) catches it.
//!
//! ## One driver per grace period
//!
//! On a platform whose [`Platform::single_driver`] is `true` (the C library and the kernel),
//! concurrent `synchronize` callers do not all drive the engine: scans per grace period stay
//! O(CPUs) whatever the number of callers.
//!
//! * **Who drives**: the first caller that, after requesting its cookie, finds no driver. The
//!   driver flag is bit 0 of `gp_seq_needed` (requests are cookies, whose state bits are zero),
//!   so the request (a raise), the claim and the release are read-modify-writes of one word.
//!   The driver steps the engine until *its own* cookie completes, then stops: its latency is
//!   its own grace period's, however many callers keep arriving.
//! * **How later callers hand off**: a caller that finds a driver sleeps in
//!   [`Platform::gp_wait`] until a grace period ends or the driver stops, then re-polls its own
//!   cookie and, if it has not completed and nobody drives, drives itself. Each caller still
//!   returns only when its own cookie polls complete — a grace period that began after its
//!   call (`rcu_seq_snap()` rules); sharing a grace period never shortens anyone's.
//! * **Wake-ups**: every path that ends a grace period ([`Srcu::step`], whoever calls it —
//!   a driver, the C library's callback thread — and `cleanup`) calls [`Platform::gp_wake`]
//!   after a full barrier. `cleanup` calls `gp_ended` too; the kernel shim stops the domain's
//!   work before calling it, so nothing is scheduled on a domain about to be freed.
//! * **The race**: a caller that requests, finds the driver and sleeps, against the driver that
//!   stops because its own cookie completed. The driver's release reads the word it clears; if
//!   a request beyond the sequence is there, it wakes the sleepers so one of them drives. Since
//!   the requester's raise and claim and the driver's release are RMWs of one location,
//!   coherence orders them: either the claim comes after the release (and succeeds: the
//!   requester drives), or the release comes after the raise (and sees it). No store-buffering
//!   pair of barriers is needed for that; what remains is the eventcount's message passing (a
//!   sleeper reads the wait token, then checks; a waker changes the state, then advances the
//!   count, each with a full barrier), so a wake after the token cannot be slept through.
//!   [`Fault::SkipDriverRecheck`] drops the re-check: loom model 9 and a unit test catch the
//!   sleeper it leaves asleep.
//! * **The wait/wake primitive** is the platform's: an event count that sleepers wait on
//!   (`futex()` in the C library; in the tests a condition variable, or a polled count in
//!   loom). With the default (`single_driver` `false`) every caller drives the engine itself
//!   and the three methods are never called.
//! * **No kick**: a `synchronize` caller's request does not [`Platform::kick`] a single-driver
//!   platform. The caller drives, or sleeps on a driver whose release wakes it if its request
//!   is still pending, so nobody else needs to run the engine for it; a kicked work item or
//!   callback thread would only scan beside the driver. `call` and `start_poll` still kick:
//!   nobody waits for them.
//!
//! ## Auto-expedite (`srcu_might_be_idle()`)
//!
//! `synchronize` asks for an expedited grace period (fewer, shorter delays; the same scans)
//! when the domain looks idle: no grace period in progress or requested, and the last one
//! ended at least [`DelayPolicy::exp_holdoff_ns`] ago on the platform's
//! [`Platform::clock_ns`] (25 µs by default, Tree SRCU's `exp_holdoff`). A lone caller on a
//! quiet domain then pays for one scan; a stream of back-to-back callers is held off and keeps
//! the normal delays. It is a heuristic read without the lock: a wrong answer only changes
//! delays, never what a caller waits for. Platforms without a clock never auto-expedite.
//!
//! ## Memory barriers and their pairings (srcutree.c's letters)
//!
//! Every barrier is a full barrier (`smp_mb()`, `fence(SeqCst)`): [`Platform::reader_mb`] for B
//! and C, [`Platform::heavy_mb`] for A, [`Platform::smp_mb`] for all the others (D, E, the
//! sequence and cookie barriers). A platform may make the reader's pair a compiler barrier only
//! if its heavy barrier is `membarrier()`, which forces a full barrier on every CPU running a
//! reader (liburcu's asymmetric scheme; the C library does this). **In the kernel every one of
//! them is `smp_mb()`**: the kernel glue implements only `smp_mb`, so `reader_mb` and
//! `heavy_mb` take their defaults, and which barrier is heavy changes nothing there. Each
//! barrier is a small function of its own (`barrier_a`, `barrier_b`, ...), so that mutation
//! testing can drop each one alone; each function's doc names its pairing.
//!
//! | barrier | where | pairs with | needed for | heavy (asymmetric) |
//! |---|---|---|---|---|
//! | **A** | every scan, between its unlock sums and its lock sums | B (SB), C | safety | yes |
//! | **B** | `read_lock`, after the lock increment | A | safety | reader side |
//! | **C** | `read_unlock`, before the unlock increment | A | safety | reader side |
//! | **E** | before the flip | (B, C in srcutree.c) | nothing: SCAN1's A | no |
//! | **D** | after the flip | C | overflow bound only (so is the next A) | no |
//! | sequence start | after `gp_seq` advertises the GP | snapshot's | nothing: the A's | no |
//! | sequence end | before `gp_seq` publishes the end | poll's | nothing: the last A | no |
//! | before a snapshot | `get_state` | sequence start, A | safety (argued) | no |
//! | after a snapshot | `get_state` | — | kept as in `rcu_seq_snap()` | no |
//! | after a `true` poll | `poll_state` | sequence end, A | safety (argued) | no |
//!
//! "Heavy (asymmetric)": the one barrier that is heavy on an asymmetric platform; the readers'
//! B and C are then compiler barriers. SB: store buffering.
//!
//! * **A** (`scans`): a counted unlock implies a counted lock (pairs with C), and a reader
//!   whose lock the scan misses sees the updater's earlier stores (pairs with B, store
//!   buffering). On an asymmetric platform A is the membarrier that makes B and C full
//!   barriers; weakened to the reader's barrier it is gone. Sound on an asymmetric platform
//!   because **every scan — SCAN1 with the fast path, SCAN2, cleanup's — has a heavy A between
//!   its unlock sums and its lock sums**, and nothing else the readers rely on.
//! * **B** and **C** (`readers`): the critical section cannot start before the lock increment
//!   is visible, and is finished, stores included, before a scan can count the unlock.
//! * **E** (`grace_period`, before the flip): srcutree.c calls its E redundant because the flip
//!   is reached only through a control dependency on the scan's sums — an argument neither
//!   C11/Rust nor loom can use. The one that holds here: SCAN1's A is a full barrier earlier in
//!   the same thread, between the updater's unpublishing stores and the flip, so a reader whose
//!   `read_lock` reads the new `srcu_idx` (message passing through `srcu_idx`: A, flip ‖ load of
//!   `srcu_idx`, B) sees the unpublishing and need not be waited for; and a reader that SCAN1
//!   counted as unlocked cannot have read the new index (its unlock would follow A). On an
//!   asymmetric platform, where B is a compiler barrier, the membarrier of that A puts a full
//!   barrier into the reader either before its load of `srcu_idx` (it sees the unpublishing) or
//!   after it (it cannot see the flip, which follows the membarrier).
//! * **D** (`grace_period`, after the flip): if a later scan misses a reader's unlock increment,
//!   that task's next `read_lock` sees the flip — which bounds how many readers can still use
//!   the drained index (counter wrap, below). The next scan's A gives the same bound, and on an
//!   asymmetric platform only that A reaches the readers.
//! * **Sequence start and end** (`grace_period`): the scans that decide are ordered after the
//!   advertisement and before the end by their A already; an early unlock sum can only be
//!   smaller, which costs a retry, never safety.
//! * **The cookie barriers** (`polling`): before a snapshot, the caller's unpublishing stores
//!   are ordered before the load of the sequence (store buffering with the scans); after a
//!   `true` from `poll_state`, the caller's later accesses are ordered after the end of the
//!   grace period even when another thread ended it. Both rest on the argument, as in the
//!   kernel, and on the order test that pins them; the barrier after a snapshot only keeps the
//!   snapshot from bleeding into what the caller does next.
//!
//! **What the models show.** loom explores no load buffering, so a read-only critical section
//! cannot show that C is needed: a late load in the critical section would have to read a
//! store made after the unlock. A critical section that *stores* can: the updater's load after
//! the grace period must see the store ([`Srcu::synchronize`]'s guarantee), and without C a
//! scan can count the unlock while the store is not yet visible. The loom model of a reader
//! that stores `x` and loads `y` against an updater that stores `y`, synchronizes and loads `x`
//! passes and fails without C. The asymmetric models (reader barriers as compiler barriers, the
//! heavy barrier as a modelled membarrier handshake, the light ones as fences in the updater
//! alone) pass, fail without A, and still pass with **every light updater barrier dropped** —
//! E, D, sequence start and end, the cookie barriers — which is the check that only A need be
//! heavy (for one updater; the two-updater model runs on the symmetric platform).
//!
//! ## Mutation testing
//!
//! `scripts/mutants.sh` runs cargo-mutants over this crate (on demand). Every mutant of the
//! kinds below is caught by this crate's own tests; "order test" is the unit test
//! `barriers_and_counter_reads_come_in_the_documented_order`, which records every barrier (by
//! kind), counter increment and counter read of readers, a grace period, polling and cleanup.
//!
//! * any barrier function's body removed (A, B, C, D, E, sequence start and end, the three
//!   cookie barriers) → the order test; A, B and C also → the loom models on their own
//!   (`scripts/mutants.sh loom`): A → `old_reader_is_not_cancelled_by_a_new_one` and three
//!   more, B → seven models, C → only
//!   `critical_section_stores_are_seen_after_the_grace_period`;
//!   D and E → no loom model (they are not needed for safety, and the models agree);
//! * A weakened to the reader's barrier → the order test (it expects `heavy_mb`) and, on an
//!   asymmetric platform, loom `broken_asymmetric_no_barrier_a_is_caught`;
//! * the default `reader_mb` or `heavy_mb` emptied →
//!   `default_reader_and_heavy_barriers_are_full_barriers`;
//! * task readers sent to the atomic half (`in_nmi() && ..` → `||`) →
//!   `task_readers_touch_only_the_percpu_half_and_nmi_readers_only_the_atomic_half`, the order
//!   test;
//! * `readers_active` / `cleanup` ignoring index 1 →
//!   `cleanup_refuses_while_a_reader_holds_index_1`;
//! * SCAN1 scanning the active instead of the inactive index, or the fast path ignoring either
//!   index → `a_straggler_on_the_inactive_index_holds_scan1`, the order test;
//! * the fast path returning after one grace period when another is requested →
//!   `one_step_runs_every_grace_period_requested_from_the_fast_path`;
//! * cleanup's bounded finishing loop unbounded (`&&` → `||`) →
//!   `cleanup_refuses_a_reader_that_arrives_while_it_finishes_the_grace_period`;
//! * a normal request expedited, the delay policy's comparisons, shift and clamp →
//!   `requests_kick_once_and_only_expedited_ones_expedite`; a field of the platform's
//!   [`DelayPolicy`] ignored → `the_platforms_delay_policy_sets_every_delay`;
//! * `wait_for` spinning on the engine without relaxing or sleeping →
//!   `synchronize_relaxes_or_sleeps_while_readers_hold_it`;
//! * `gp_ended` called for a step that ended nothing →
//!   `a_step_that_ends_no_grace_period_reports_none`;
//! * one step ending only one of two requested grace periods →
//!   `one_step_runs_every_grace_period_requested`, which also kills `same_state` → `true`;
//! * `Fault::from_raw` arms deleted → `faults_round_trip_through_their_numbers`;
//! * the wrap-safe comparisons at their boundary → `wrap_safe_comparisons`.
//!
//! Equivalent mutants, each with its argument:
//!
//! * `Counter::slot`'s `|` → `^`, and the SCAN2 state's `(s & !STATE_MASK) | 2` → `^`:
//!   the operands have no bit in common, so `|` and `^` are the same function.
//! * cleanup's `tries < 16` → `<= 16`: one more bounded attempt to finish a grace period that
//!   needs at most two scans once no reader is active; the refusal is the same.
//! * `Platform::cpu_possible`'s default → `true`: the default *is* `true`; likewise
//!   `Platform::delay_policy`'s default → `Default::default()`, which *is*
//!   `DelayPolicy::DEFAULT`.
//! * the delay clamp `if us > max { max }` → `>=`: at equality both branches give the same
//!   value.
//! * the loom build's `new_atomic` → `Default::default()`: not compiled in the unit-test build;
//!   under loom it starts every word at 0 instead of [`GP_SEQ_INITIAL`], as valid a start for
//!   the models (the unit test `grace_periods_cross_the_sequence_wrap` checks the real one).
//! * `locks == unlocks` → `!=` in the `Fault::LocksBeforeUnlocks` branches of `readers_done`
//!   and `scan_both`: fault-injection code, unreachable on production platforms; the broken
//!   variant stays broken (the loom model still catches it).
//! * the mutants of `scan1`'s 32-bit branch (`!IDLE_FAST_PATH`: SCAN1 on the inactive index
//!   alone, srcutree.c's): unreachable where the tests run (64-bit); it is the SCAN1 these
//!   tests covered before the fast path existed.
//!
//! E, D and the sequence barriers are safety-equivalent (see above): only the order test, which
//! pins srcutree.c's placement, catches their removal; the loom models pass without E and
//! without D (`scripts/mutants.sh loom 'replace barrier_(e|d) with'`: both mutants missed).
//! The mutants that make a grace period never end (most of `seq`'s) leave a single-threaded
//! `synchronize` spinning: cargo-mutants reports them as timeouts, which it counts as caught
//! (threaded tests fail after a bounded wait instead).
//!
//! ## Counter overflow and nesting
//!
//! Counters are `usize` and compared for equality after wrapping sums, exactly as srcutree.c.
//! A false "equal" needs the lock − unlock difference of the scanned index to wrap: a multiple
//! of 2^BITS lock increments between one scan's unlock sum and its lock sum. On the slow path
//! the scanned index is one the flip moved readers away from, and such increments can only come
//! from readers that read `srcu_idx` before the flip: the flip, then D or the next scan's A, make
//! every task's next-but-one `read_lock` see the new index, which bounds them by the number of
//! tasks plus CPUs times their nesting depth (srcutree.c's Nt + Nc, in
//! `srcu_readers_active_idx_check()`). Nesting thousands deep is therefore fine. The idle fast
//! path scans the *active* index too, which no flip protects; that is why it exists only with
//! 64-bit counters (see "The idle fast path").
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
pub use platform::{DelayPolicy, Fault, Platform};
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
