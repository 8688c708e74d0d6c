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
    /// grace period was requested and not completed; readers are checked once more at the end,
    /// as `cleanup_srcu_struct()` does, since one may have entered during the checks. On `Ok`
    /// the caller may free the domain and its per-CPU storage. Updater context.
    ///
    /// A grace period ended here is signalled as [`Srcu::step`] signals one:
    /// [`Platform::gp_ended`] (callbacks that became ready, and whoever waits for them, are not
    /// forgotten if the cleanup refuses and the domain lives on) and the `gp_wait` sleepers
    /// woken. A platform whose domain is about to be freed must make `gp_ended` schedule
    /// nothing by then (the kernel shim stops the domain's work before calling this).
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
                // Every path that ends a grace period signals it (see above).
                p.gp_ended();
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
        if self.readers_active(p) {
            // Entered after the first check (a caller bug, racing with the teardown).
            return Err(CleanupError::ActiveReaders);
        }
        Ok(())
    }
}
