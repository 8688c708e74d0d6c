// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! `synchronize` and `synchronize_expedited`.
//!
//! Any number of updaters may call these at once with no lock of their own. Each takes a cookie
//! (so only a grace period that *begins after the call* satisfies it), requests it, then drives
//! the engine itself until the cookie polls complete — sleeping or relaxing outside the
//! grace-period lock as the engine asks. Concurrent callers ask for the same grace period and
//! share it: `needed` is a maximum, not a queue.

use crate::domain::Srcu;
use crate::grace_period::Next;
use crate::platform::Platform;
use crate::polling::Cookie;

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

    /// Drive the engine until `cookie` polls complete. The cookie must have been requested.
    /// Returns after the full barrier of a successful [`Srcu::poll_state`].
    pub fn wait_for<P: Platform>(&self, p: &P, cookie: Cookie) {
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
