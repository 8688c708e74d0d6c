// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! Domain teardown (`cleanup_srcu_struct()`): finish a grace period in flight, then free or
//! refuse.

use crate::domain::Srcu;
use crate::grace_period::Advance;
use crate::platform::Platform;
use crate::seq;
use crate::sync::read_once;

/// Why [`Srcu::cleanup`] refused. Nothing was freed or changed; the domain stays usable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CleanupError {
    /// Some reader has not unlocked.
    ActiveReaders,
    /// Callbacks are still queued (call `barrier` first).
    PendingCallbacks,
    /// A grace period was requested (for example by `start_poll`) and has not completed.
    GracePeriodRequested,
}

impl Srcu {
    /// Tear the domain down, or refuse (`cleanup_srcu_struct()`).
    ///
    /// Drives a grace period that is already in progress to its end (it cannot need to wait:
    /// with no reader active each scan succeeds at once), then refuses — changing nothing the
    /// caller owns — if readers are active on either index, if `callbacks_pending`, or if a
    /// grace period was requested and not completed. On `Ok` the caller may free the domain and
    /// its per-CPU storage. Updater context.
    pub fn cleanup<P: Platform>(&self, p: &P, callbacks_pending: bool) -> Result<(), CleanupError> {
        if self.readers_active(p) {
            return Err(CleanupError::ActiveReaders);
        }
        // An in-progress grace period ends in at most two scans once no reader is active; a
        // bounded number of steps covers that even if another updater races with us.
        let mut tries: u32 = 0;
        while seq::state(read_once(&self.gp_seq)) != 0 && tries < 16 {
            let r = p.with_gp_lock(|| self.advance_locked(p, Advance::FinishCurrent));
            if r.ended > 0 {
                // Every path that ends a grace period wakes the `gp_wait` sleepers. Not
                // `gp_ended`: that would schedule callback work on a domain about to be freed.
                self.wake_gp_waiters(p);
            }
            tries = tries.wrapping_add(1);
        }
        if seq::state(read_once(&self.gp_seq)) != 0 {
            // A reader arrived after the check above: it is active now.
            return Err(CleanupError::ActiveReaders);
        }
        if callbacks_pending {
            return Err(CleanupError::PendingCallbacks);
        }
        if seq::ulong_cmp_lt(read_once(&self.gp_seq), self.needed()) {
            return Err(CleanupError::GracePeriodRequested);
        }
        Ok(())
    }
}
