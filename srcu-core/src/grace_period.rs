// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! The grace-period engine: a step-driven state machine (srcutree.c's `srcu_advance_state()`).
//!
//! ```text
//!          needed > seq            inactive idx quiescent       (new) inactive idx quiescent
//!   IDLE --------------> SCAN1 ----------------------------> SCAN2 -------------------------> IDLE
//!      seq_start (+1, mb)  |   E, flip srcu_idx, D, state=2    mb, seq_end (next multiple of 4)
//!                          | both indexes quiescent (idle fast path, 64-bit)          ^
//!                          +----------------------------------------------------------+
//!                            no flip; mb, seq_end
//! ```
//!
//! SCAN1 scans both indexes at once ([`scan_both`]: the unlock sums of both, one A, the lock
//! sums of both). If both are quiescent the grace period ends there, without a flip: one heavy
//! barrier per idle grace period (see the crate docs, "The idle fast path", for why that is
//! sound and why it is gated to 64-bit `usize`). Otherwise the inactive index's answer is
//! SCAN1's and the engine flips as srcutree.c does.
//!
//! [`Srcu::step`] advances as far as it can *without waiting*: it takes the grace-period lock,
//! scans, changes state, and returns a [`Next`] that tells the driver whether and when to call
//! again. Whoever drives it — a kernel work item, a userspace thread, a test, or an updater in
//! `synchronize` — sleeps or relaxes outside the lock. Any number of drivers may call `step`
//! concurrently; the lock serialises state changes only.
//!
//! Requests are lock-free ([`Srcu::request`]): a wrap-safe "raise to at least" on
//! `gp_seq_needed`, so `call` and `start_poll` may run in hardirq context.

use crate::domain::{Srcu, DRIVER};
use crate::platform::{Fault, Platform};
use crate::scans::{readers_done, scan_both};
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

/// Whether SCAN1 ends an idle grace period without a flip (the idle fast path). Only where a
/// reader index's lock − unlock difference cannot wrap within one scan: without a flip, new
/// readers keep using the index being scanned, each adding at most one to the difference
/// between its unlock sum and its lock sum; 2^64 of them in one scan is out of reach, 2^32 is
/// not (see the crate docs).
const IDLE_FAST_PATH: bool = usize::BITS >= 64;

/// Sequence start, after the sequence advertises the grace period and before its scans. Pairs
/// with the barrier before a cookie snapshot (store buffering): an updater whose snapshot saw
/// the old, idle sequence has its earlier stores ordered before the scans' loads. Not needed for
/// safety: the scans that decide are ordered after the advertisement by their own A, and an
/// unlock sum read early can only be smaller (a retry). Kept as in `rcu_seq_start()`; light
/// ([`Platform::smp_mb`]) everywhere.
#[inline(always)]
fn barrier_seq_start<P: Platform>(p: &P) {
    p.smp_mb();
}

/// E: before the flip, after the scan that found the inactive index quiescent. Pairs with B and
/// C in srcutree.c's comments. **Not needed for safety**, and not for the reason srcutree.c
/// gives (a control dependency from the scan's sums to the flip, which neither C11/Rust nor loom
/// models): the same scan's A is a full barrier earlier in this thread, between the updater's
/// unpublishing stores and the flip, so a reader whose `read_lock` reads the new `srcu_idx`
/// (message passing: A, flip ‖ load of `srcu_idx`, B) runs its critical section after the
/// unpublishing and need not be waited for; and a reader counted as unlocked by that scan
/// cannot have read the new index (its unlock would then follow A). On an asymmetric platform
/// B is a compiler barrier; there the membarrier of that A forces a full barrier on the reader,
/// which is either before its load of `srcu_idx` (it sees the unpublishing) or after it (it
/// cannot see the flip, which follows the membarrier). Light ([`Platform::smp_mb`]); the loom
/// models pass with it and every other updater-only barrier dropped on an asymmetric platform.
#[inline(always)]
fn barrier_e<P: Platform>(p: &P) {
    p.smp_mb();
}

/// D: after the flip. Pairs with C: if a later scan misses a reader's unlock increment, that
/// task's next `read_lock` sees the flip. **Overflow only**: it bounds how many `read_lock`s can
/// still use the index being drained (srcutree.c's Nt + Nc in
/// `srcu_readers_active_idx_check()`), which keeps the counters' lock − unlock difference far
/// from wrapping; not needed for safety. The next scan's A gives the same bound ("both this
/// memory barrier and the one in srcu_readers_active_idx_check() provide the guarantee"); on an
/// asymmetric platform only that A reaches the readers, so D is light ([`Platform::smp_mb`])
/// and the bound is A's.
#[inline(always)]
fn barrier_d<P: Platform>(p: &P) {
    p.smp_mb();
}

/// Sequence end, after the scans and before the sequence publishes the end. Pairs with the
/// barrier `poll_state` executes after a `true` answer. Not needed for safety: the last scan's
/// A already orders every counted unlock (and, through C, its critical section) before the
/// sequence store. Kept as in `rcu_seq_end()`; light ([`Platform::smp_mb`]) everywhere.
#[inline(always)]
fn barrier_seq_end<P: Platform>(p: &P) {
    p.smp_mb();
}

/// Raise `word` to at least `s` (wrap-safe), lock-free, keeping its [`DRIVER`] bit. Returns
/// whether it changed.
fn raise_to(word: &AtomicUsize, s: usize) -> bool {
    let s = s & !DRIVER;
    let mut cur = read_once(word);
    loop {
        if seq::ulong_cmp_ge(cur & !DRIVER, s) {
            return false;
        }
        let new = s | (cur & DRIVER);
        match word.compare_exchange_weak(cur, new, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return true,
            Err(now) => cur = now,
        }
    }
}

/// Before waking `gp_wait` sleepers: orders the grace-period end (or the driver's release)
/// before the event count's increment. Pairs with the barrier after a sleeper's
/// [`Platform::gp_wait_token`] (message passing): a sleeper whose token already counts this
/// wake sees the end (or the release) in its checks. Progress only: without it a sleeper may
/// sleep through its own grace period's end (never a grace period too short).
#[inline(always)]
fn barrier_before_wake<P: Platform>(p: &P) {
    p.smp_mb();
}

impl Srcu {
    /// Ask for the grace period that ends at cookie `s` (and, if `expedited`, for it to be
    /// expedited), then [`Platform::kick`] the engine if this raised the request.
    ///
    /// Lock-free and wait-free in practice (a CAS loop that only fails under concurrent raises);
    /// callable from hardirq context.
    pub fn request<P: Platform>(&self, p: &P, s: usize, expedited: bool) {
        if self.raise(s, expedited) {
            p.kick(expedited);
        }
    }

    /// Raise the request (and the expedited one) to `s`; whether either grew.
    pub(crate) fn raise(&self, s: usize, expedited: bool) -> bool {
        let raised = raise_to(&self.gp_seq_needed, s);
        let raised_exp = expedited && raise_to(&self.gp_seq_needed_exp, s);
        raised || raised_exp
    }

    /// Advance the engine as far as possible without waiting (`srcu_advance_state()`), taking
    /// the grace-period lock for the duration of the state changes only. Updater context.
    ///
    /// Calls [`Platform::gp_ended`] (outside the lock) if it ended a grace period.
    ///
    /// Calls [`Platform::gp_wake`] too (after a full barrier) on a single-driver platform.
    pub fn step<P: Platform>(&self, p: &P) -> StepReport {
        let report = p.with_gp_lock(|| self.advance_locked(p, Advance::Run));
        if report.ended > 0 {
            p.gp_ended();
            self.wake_gp_waiters(p);
        }
        report
    }

    /// Wake every [`Platform::gp_wait`] sleeper, on a single-driver platform: after a grace
    /// period ended, or when a driver stops while requests are pending.
    pub(crate) fn wake_gp_waiters<P: Platform>(&self, p: &P) {
        if p.single_driver() {
            barrier_before_wake(p);
            p.gp_wake();
        }
    }

    /// Become the driver if there is none (set [`DRIVER`]). Updater context.
    pub(crate) fn claim_driver(&self) -> bool {
        let mut cur = read_once(&self.gp_seq_needed);
        loop {
            if cur & DRIVER != 0 {
                return false;
            }
            let claimed = cur | DRIVER;
            let word = &self.gp_seq_needed;
            match word.compare_exchange_weak(cur, claimed, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return true,
                Err(now) => cur = now,
            }
        }
    }

    /// Stop driving (clear [`DRIVER`]), then re-check: if a request the engine has not
    /// completed was raised — by a caller that found this driver and went to sleep — wake the
    /// sleepers so that one of them drives. The clear and the requester's raise and claim are
    /// read-modify-writes of one word: either the requester's claim saw the bit clear (it
    /// drives itself) or this clear read its raised request (and wakes it). A stale `gp_seq`
    /// here can only make the re-check wake for nothing.
    pub(crate) fn release_driver<P: Platform>(&self, p: &P) {
        let was = self.gp_seq_needed.fetch_and(!DRIVER, Ordering::Relaxed);
        if p.fault() == Fault::SkipDriverRecheck {
            return;
        }
        if seq::ulong_cmp_lt(read_once(&self.gp_seq), was & !DRIVER) {
            self.wake_gp_waiters(p);
        }
    }

    /// The state machine proper; caller holds the grace-period lock.
    pub(crate) fn advance_locked<P: Platform>(&self, p: &P, how: Advance) -> StepReport {
        let mut ended: usize = 0;
        loop {
            let s = read_once(&self.gp_seq);
            match GpState::of(s) {
                GpState::Idle => {
                    let needed = self.needed();
                    if how == Advance::FinishCurrent || seq::ulong_cmp_ge(s, needed) {
                        return StepReport { next: Next::Idle, ended };
                    }
                    self.gp_start(p, s);
                }
                GpState::Scan1 => {
                    let active = read_once(&self.srcu_idx) & 1;
                    let (idle, inactive_done) = self.scan1(p, active);
                    if idle {
                        // The idle fast path: no reader on either index, no flip needed.
                        self.gp_end(p, s);
                        ended = ended.wrapping_add(1);
                        if how == Advance::FinishCurrent {
                            return StepReport { next: Next::Idle, ended };
                        }
                        continue;
                    }
                    if !inactive_done {
                        return StepReport { next: self.retry_delay(p, s), ended };
                    }
                    self.flip(p);
                    write_once(&self.gp_seq, (s & !seq::STATE_MASK) | GpState::Scan2 as usize);
                    write_once(&self.scan_retries, 0);
                }
                GpState::Scan2 => {
                    // Every reader of the index that was active until the flip.
                    let idx = 1 ^ (read_once(&self.srcu_idx) & 1);
                    if p.fault() != Fault::SkipSecondScan && !readers_done(p, idx) {
                        return StepReport { next: self.retry_delay(p, s), ended };
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

    /// SCAN1's scan while the reader index is `active`: whether the grace period may end here
    /// (both indexes quiescent, 64-bit only) and whether the inactive index is quiescent
    /// (stragglers: readers that read `srcu_idx` before the previous flip and incremented the
    /// then-active, now-inactive index). One barrier A either way.
    fn scan1<P: Platform>(&self, p: &P, active: usize) -> (bool, bool) {
        let skip = p.fault() == Fault::SkipFirstScan;
        if !IDLE_FAST_PATH {
            return (false, skip || readers_done(p, 1 ^ active));
        }
        let q = scan_both(p);
        let inactive_done = skip || q.done(1 ^ active);
        let ignore_inactive = p.fault() == Fault::FastPathActiveOnly;
        (q.done(active) && (inactive_done || ignore_inactive), inactive_done)
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
        if let Some(t) = p.clock_ns() {
            // Truncated on 32-bit: the heuristic compares with wrapping arithmetic.
            write_once(&self.last_gp_end, t as usize);
        }
    }

    /// The platform's [`DelayPolicy`](crate::DelayPolicy) applied to this phase
    /// (`srcu_get_delay()`): expedited phases retry a few times without delay, then back off
    /// exponentially; normal phases sleep sooner.
    fn retry_delay<P: Platform>(&self, p: &P, s: usize) -> Next {
        let policy = p.delay_policy();
        let retries = read_once(&self.scan_retries);
        write_once(&self.scan_retries, retries.wrapping_add(1));
        let exp = read_once(&self.gp_seq_needed_exp);
        let expedited = seq::ulong_cmp_ge(exp, seq::end_of_current(s));
        let (nodelay, first) = if expedited {
            (policy.expedited_nodelay_scans, policy.expedited_first_sleep_us)
        } else {
            (policy.normal_nodelay_scans, policy.normal_first_sleep_us)
        };
        if retries < nodelay {
            return Next::RetryNow;
        }
        let shift = retries.wrapping_sub(nodelay);
        let max = policy.max_sleep_us;
        // In 64 bits: a first sleep of up to u32::MAX shifted by up to 9 cannot overflow.
        let us = if shift >= 10 { u64::from(max) } else { u64::from(first) << shift };
        Next::RetryAfter(if us > u64::from(max) { max } else { us as u32 })
    }

    /// The current [`GpState`].
    pub fn gp_state(&self) -> GpState {
        GpState::of(read_once(&self.gp_seq))
    }
}
