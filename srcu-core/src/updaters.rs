// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! `synchronize` and `synchronize_expedited`: snapshot, request, then drive or sleep.
//!
//! Any number of updaters may call these at once with no lock of their own. Each takes a cookie
//! (so only a grace period that *begins after the call* satisfies it) and requests it;
//! concurrent callers ask for the same grace period and share it (`needed` is a maximum, not a
//! queue). Then:
//!
//! * on a platform without a single driver ([`Platform::single_driver`] `false`, the default)
//!   each caller drives the engine itself until its cookie polls
//!   complete, sleeping or relaxing outside the grace-period lock as the engine asks;
//! * on a single-driver platform the first caller that finds no driver drives until its own
//!   cookie completes; the others sleep in [`Platform::gp_wait`] until a grace period ends or
//!   the driver hands off, then re-check, and drive if the driver has gone (see the crate docs,
//!   "One driver per grace period").

use crate::domain::Srcu;
use crate::grace_period::Next;
use crate::platform::Platform;
use crate::polling::Cookie;
use crate::seq;
use crate::sync::read_once;

/// After reading the wait token: orders that load before the checks that decide whether to
/// sleep (the cookie's poll, the driver claim). Pairs with the barrier before a wake (message
/// passing): if the token already counts a wake, the checks see what the waker did before it.
/// Progress only, like the wake's barrier.
#[inline(always)]
fn barrier_after_wait_token<P: Platform>(p: &P) {
    p.smp_mb();
}

/// The idle probe's barriers, as srcutree.c's two in `srcu_might_be_idle()`: the first orders
/// the load of `gp_seq` before that of `gp_seq_needed` (a request seen implies the `gp_seq` it
/// was made against, or an older one), the second orders both before the re-read of `gp_seq`.
/// They pair with nothing and only make the heuristic's answer likelier to be right; safety
/// never depends on it (an expedited request changes delays only).
#[inline(always)]
fn barrier_idle_probe<P: Platform>(p: &P) {
    p.smp_mb();
}

impl Srcu {
    /// Wait for a full grace period that began after this call (`synchronize_srcu()`).
    /// Updater context; may sleep.
    ///
    /// Expedited when the domain looks idle ([`Srcu::might_be_idle`]), as Tree SRCU's
    /// `synchronize_srcu()` is: a lone caller on a quiet domain then waits for one scan, not
    /// for the normal phase's sleeps, and a stream of back-to-back callers is held off by
    /// [`DelayPolicy::exp_holdoff_ns`](crate::DelayPolicy::exp_holdoff_ns).
    pub fn synchronize<P: Platform>(&self, p: &P) {
        let expedited = self.might_be_idle(p);
        let c = self.get_state(p);
        self.request_to_wait(p, c, expedited);
        self.wait_for(p, c);
    }

    /// Whether the domain probably has no grace period in progress or requested, and its last
    /// grace period ended at least the policy's `exp_holdoff_ns` ago (`srcu_might_be_idle()`).
    /// A heuristic: a wrong answer only changes how long `synchronize` sleeps between scans,
    /// never what it waits for. Always `false` without a [`Platform::clock_ns`] or with a
    /// holdoff of 0.
    ///
    /// Tree SRCU also answers "not idle" when this CPU has callbacks queued; callbacks here
    /// are the platform's, and queued ones have requested a grace period, which the
    /// `gp_seq_needed` test below sees.
    pub fn might_be_idle<P: Platform>(&self, p: &P) -> bool {
        let holdoff = p.delay_policy().exp_holdoff_ns as usize;
        let Some(now) = p.clock_ns() else {
            return false;
        };
        let since = (now as usize).wrapping_sub(read_once(&self.last_gp_end));
        if holdoff == 0 || since < holdoff {
            return false; // Too soon after the last grace period.
        }
        let cur = read_once(&self.gp_seq);
        barrier_idle_probe(p);
        if seq::ulong_cmp_lt(cur, self.needed()) {
            return false; // A grace period is in progress or requested.
        }
        barrier_idle_probe(p);
        cur == read_once(&self.gp_seq) // No grace period started or ended meanwhile.
    }

    /// [`Srcu::synchronize`], expedited (`synchronize_srcu_expedited()`): scans start without
    /// delay, then back off and sleep if readers persist.
    pub fn synchronize_expedited<P: Platform>(&self, p: &P) {
        let c = self.get_state(p);
        self.request_to_wait(p, c, true);
        self.wait_for(p, c);
    }

    /// A `synchronize` caller's request. As [`Srcu::request`], except that a single-driver
    /// platform is not kicked: the caller then drives the engine itself or sleeps on a driver
    /// whose release re-checks for requests raised meanwhile and wakes it to drive (see the
    /// crate docs, "One driver per grace period"), so a kicked work item would only scan
    /// beside the driver, contending for the grace-period lock.
    fn request_to_wait<P: Platform>(&self, p: &P, cookie: Cookie, expedited: bool) {
        if p.single_driver() {
            let _ = self.raise(cookie.raw(), expedited);
        } else {
            self.request(p, cookie.raw(), expedited);
        }
    }

    /// Wait until `cookie` polls complete, driving the engine or, on a single-driver platform,
    /// sleeping while another caller drives. The cookie must have been requested. Returns after
    /// the full barrier of a successful [`Srcu::poll_state`].
    pub fn wait_for<P: Platform>(&self, p: &P, cookie: Cookie) {
        if !p.single_driver() {
            self.drive_until(p, cookie);
            return;
        }
        loop {
            let token = p.gp_wait_token();
            barrier_after_wait_token(p);
            if self.poll_state(p, cookie) {
                return;
            }
            if self.claim_driver() {
                self.drive_until(p, cookie);
                self.release_driver(p);
                return;
            }
            p.gp_wait(token);
        }
    }

    /// Drive the engine until `cookie` polls complete.
    fn drive_until<P: Platform>(&self, p: &P, cookie: Cookie) {
        while !self.poll_state(p, cookie) {
            let r = self.step(p);
            if r.ended > 0 {
                continue;
            }
            match r.next {
                // Idle but not done cannot happen for a requested cookie; relax and re-poll.
                Next::Idle | Next::RetryNow => p.relax(),
                Next::RetryAfter(us) => p.sleep(us),
            }
        }
    }
}
