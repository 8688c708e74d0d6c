// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! The grace-period engine: a step-driven state machine (srcutree.c's `srcu_advance_state()`).
//!
//! ```text
//!            needed > seq                 inactive idx quiescent          (new) inactive idx quiescent
//!   IDLE ───────────────────► SCAN1 ───────────────────────────► SCAN2 ───────────────────────────► IDLE
//!         seq_start (+1, mb)        E, flip srcu_idx, D, state=2        mb, seq_end (next multiple of 4)
//! ```
//!
//! [`Srcu::step`] advances as far as it can *without waiting*: it takes the grace-period lock,
//! scans, changes state, and returns a [`Next`] that tells the driver whether and when to call
//! again. Whoever drives it — a kernel work item, a userspace thread, a test, or an updater in
//! `synchronize` — sleeps or relaxes outside the lock. Any number of drivers may call `step`
//! concurrently; the lock serialises state changes only.
//!
//! Requests are lock-free ([`Srcu::request`]): a wrap-safe "raise to at least" on
//! `gp_seq_needed`, so `call` and `start_poll` may run in hardirq context.

use crate::domain::Srcu;
use crate::platform::{Fault, Platform};
use crate::scans::readers_done;
use crate::seq;
use crate::sync::{read_once, write_once, AtomicUsize, Ordering};

/// The state held in the low bits of the grace-period sequence (`SRCU_STATE_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
pub enum GpState {
    /// No grace period in progress (`SRCU_STATE_IDLE`).
    Idle = 0,
    /// Waiting for stragglers on the inactive index, before the flip (`SRCU_STATE_SCAN1`).
    Scan1 = 1,
    /// Waiting for every reader on the index that was active before the flip (`SRCU_STATE_SCAN2`).
    Scan2 = 2,
}

impl GpState {
    /// The state encoded in sequence value `s` (3 is never written and reads as SCAN2).
    #[inline(always)]
    pub const fn of(s: usize) -> GpState {
        match seq::state(s) {
            0 => GpState::Idle,
            1 => GpState::Scan1,
            _ => GpState::Scan2,
        }
    }
}

/// What the driver of the engine should do after a [`Srcu::step`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// No grace period is needed: do not call again until a new request (a `kick`).
    Idle,
    /// Readers still hold the scanned index; call again after only relaxing (expedited, early
    /// in the phase).
    RetryNow,
    /// Readers still hold the scanned index; sleep about this many microseconds, then call
    /// again. Readers may sleep, so spinning on them could starve them.
    RetryAfter(u32),
}

/// The outcome of one [`Srcu::step`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StepReport {
    /// What to do next.
    pub next: Next,
    /// How many grace periods this step ended.
    pub ended: usize,
}

/// How far [`Srcu::advance_locked`] may go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Advance {
    /// Start grace periods as requested and run them.
    Run,
    /// Only finish a grace period already in progress (cleanup).
    FinishCurrent,
}

/// Scans without delay at the start of each expedited phase (`srcu_max_nodelay_phase`, small
/// because readers may sleep and this machine may have two CPUs).
const EXPEDITED_NODELAY_SCANS: usize = 8;
/// First sleep of an expedited phase that outlived its no-delay scans, in microseconds.
const EXPEDITED_FIRST_SLEEP_US: u32 = 20;
/// Scans without delay at the start of a normal phase (short readers usually finish).
const NORMAL_NODELAY_SCANS: usize = 1;
/// First sleep of a normal phase, in microseconds.
const NORMAL_FIRST_SLEEP_US: u32 = 100;
/// The longest sleep between scans, in microseconds (about a jiffy at HZ=100).
const MAX_SLEEP_US: u32 = 10_000;

/// Sequence start, after the sequence advertises the grace period and before its scans. Pairs
/// with the barrier before a cookie snapshot (store buffering): an updater whose snapshot saw
/// the old, idle sequence has its earlier stores ordered before the scans' loads. Redundant for
/// safety: the scans that matter are ordered after the advertisement by A and E anyway, and an
/// unlock sum read early can only be smaller (a retry). Kept as in `rcu_seq_start()`.
#[inline(always)]
fn barrier_seq_start<P: Platform>(p: &P) {
    p.smp_mb();
}

/// E: before the flip, after the scan that found the inactive index quiescent. Pairs with B and
/// C: a reader that uses the new index was not counted by that scan. Redundant, as srcutree.c
/// says of its E: the flip is reached only through a control dependency on that scan's sums.
#[inline(always)]
fn barrier_e<P: Platform>(p: &P) {
    p.heavy_mb();
}

/// D: after the flip. Pairs with C: if a later scan misses a reader's unlock increment, that
/// task's next `read_lock` sees the flip. Bounds how many readers can use the index being
/// drained (counter wrap); not needed for safety, and redundant with the next scan's A
/// (srcutree.c: "both this memory barrier and the one in srcu_readers_active_idx_check()
/// provide the guarantee").
#[inline(always)]
fn barrier_d<P: Platform>(p: &P) {
    p.heavy_mb();
}

/// Sequence end, after the scans and before the sequence publishes the end. Pairs with the
/// barrier `poll_state` executes after a `true` answer. Redundant for safety: the last scan's
/// A already orders every counted unlock (and, through C, its critical section) before the
/// sequence store. Kept as in `rcu_seq_end()`.
#[inline(always)]
fn barrier_seq_end<P: Platform>(p: &P) {
    p.smp_mb();
}

/// Raise `word` to at least `s` (wrap-safe), lock-free. Returns whether it changed.
fn raise_to(word: &AtomicUsize, s: usize) -> bool {
    let mut cur = read_once(word);
    loop {
        if seq::ulong_cmp_ge(cur, s) {
            return false;
        }
        match word.compare_exchange_weak(cur, s, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return true,
            Err(now) => cur = now,
        }
    }
}

impl Srcu {
    /// Ask for the grace period that ends at cookie `s` (and, if `expedited`, for it to be
    /// expedited), then [`Platform::kick`] the engine if this raised the request.
    ///
    /// Lock-free and wait-free in practice (a CAS loop that only fails under concurrent raises);
    /// callable from hardirq context.
    pub fn request<P: Platform>(&self, p: &P, s: usize, expedited: bool) {
        let raised = raise_to(&self.gp_seq_needed, s);
        let raised_exp = expedited && raise_to(&self.gp_seq_needed_exp, s);
        if raised || raised_exp {
            p.kick(expedited);
        }
    }

    /// Advance the engine as far as possible without waiting (`srcu_advance_state()`), taking
    /// the grace-period lock for the duration of the state changes only. Updater context.
    ///
    /// Calls [`Platform::gp_ended`] (outside the lock) if it ended a grace period.
    pub fn step<P: Platform>(&self, p: &P) -> StepReport {
        let report = p.with_gp_lock(|| self.advance_locked(p, Advance::Run));
        if report.ended > 0 {
            p.gp_ended();
        }
        report
    }

    /// The state machine proper; caller holds the grace-period lock.
    pub(crate) fn advance_locked<P: Platform>(&self, p: &P, how: Advance) -> StepReport {
        let mut ended: usize = 0;
        loop {
            let s = read_once(&self.gp_seq);
            match GpState::of(s) {
                GpState::Idle => {
                    let needed = read_once(&self.gp_seq_needed);
                    if how == Advance::FinishCurrent || seq::ulong_cmp_ge(s, needed) {
                        return StepReport { next: Next::Idle, ended };
                    }
                    self.gp_start(p, s);
                }
                GpState::Scan1 => {
                    // Stragglers: readers that read srcu_idx before the previous flip and
                    // incremented the then-active, now-inactive index.
                    let idx = 1 ^ (read_once(&self.srcu_idx) & 1);
                    if p.fault() != Fault::SkipFirstScan && !readers_done(p, idx) {
                        return StepReport { next: self.retry_delay(s), ended };
                    }
                    self.flip(p);
                    write_once(&self.gp_seq, (s & !seq::STATE_MASK) | GpState::Scan2 as usize);
                    write_once(&self.scan_retries, 0);
                }
                GpState::Scan2 => {
                    // Every reader of the index that was active until the flip.
                    let idx = 1 ^ (read_once(&self.srcu_idx) & 1);
                    if p.fault() != Fault::SkipSecondScan && !readers_done(p, idx) {
                        return StepReport { next: self.retry_delay(s), ended };
                    }
                    self.gp_end(p, s);
                    ended = ended.wrapping_add(1);
                    if how == Advance::FinishCurrent {
                        return StepReport { next: Next::Idle, ended };
                    }
                }
            }
        }
    }

    /// `srcu_gp_start()` + `rcu_seq_start()`: advertise the grace period, then scan.
    fn gp_start<P: Platform>(&self, p: &P, s: usize) {
        write_once(&self.scan_retries, 0);
        write_once(&self.gp_seq, s.wrapping_add(1));
        barrier_seq_start(p);
    }

    /// `srcu_flip()`: E, advance `srcu_idx`, D.
    fn flip<P: Platform>(&self, p: &P) {
        barrier_e(p);
        write_once(&self.srcu_idx, read_once(&self.srcu_idx).wrapping_add(1));
        barrier_d(p);
    }

    /// `srcu_gp_end()` + `rcu_seq_end()`: publish the end after the scans.
    fn gp_end<P: Platform>(&self, p: &P, s: usize) {
        barrier_seq_end(p);
        write_once(&self.gp_seq, seq::end_of_current(s));
        write_once(&self.scan_retries, 0);
    }

    /// The delay policy (`srcu_get_delay()`): expedited phases scan a few times without delay,
    /// then back off exponentially; normal phases sleep sooner.
    fn retry_delay(&self, s: usize) -> Next {
        let retries = read_once(&self.scan_retries);
        write_once(&self.scan_retries, retries.wrapping_add(1));
        let expedited = seq::ulong_cmp_ge(read_once(&self.gp_seq_needed_exp), seq::end_of_current(s));
        let (nodelay, first) = if expedited {
            (EXPEDITED_NODELAY_SCANS, EXPEDITED_FIRST_SLEEP_US)
        } else {
            (NORMAL_NODELAY_SCANS, NORMAL_FIRST_SLEEP_US)
        };
        if retries < nodelay {
            return Next::RetryNow;
        }
        let shift = retries.wrapping_sub(nodelay);
        let us = if shift >= 10 { MAX_SLEEP_US } else { first << shift };
        Next::RetryAfter(if us > MAX_SLEEP_US { MAX_SLEEP_US } else { us })
    }

    /// The current [`GpState`].
    pub fn gp_state(&self) -> GpState {
        GpState::of(read_once(&self.gp_seq))
    }
}
