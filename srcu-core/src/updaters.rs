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

/// After reading the wait token: orders that load before the checks that decide whether to
/// sleep (the cookie's poll, the driver claim). Pairs with the barrier before a wake (message
/// passing): if the token already counts a wake, the checks see what the waker did before it.
/// Progress only, like the wake's barrier.
#[inline(always)]
fn barrier_after_wait_token<P: Platform>(p: &P) {
    p.smp_mb();
}

impl Srcu {
    /// Wait for a full grace period that began after this call (`synchronize_srcu()`).
    /// Updater context; may sleep.
    pub fn synchronize<P: Platform>(&self, p: &P) {
        let c = self.get_state(p);
        self.request(p, c.raw(), false);
        self.wait_for(p, c);
    }

    /// [`Srcu::synchronize`], expedited (`synchronize_srcu_expedited()`): scans start without
    /// delay, then back off and sleep if readers persist.
    pub fn synchronize_expedited<P: Platform>(&self, p: &P) {
        let c = self.get_state(p);
        self.request(p, c.raw(), true);
        self.wait_for(p, c);
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
