// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! Polled grace periods (`get_state_synchronize_srcu()` and friends).
//!
//! A [`Cookie`] names the end of a grace period that starts after the cookie was taken
//! (`rcu_seq_snap()` rules: one already in progress does not count). `get_state` and
//! `poll_state` are wait-free and never drive the engine; `start_poll` also requests the grace
//! period (and is legal from hardirq context).

use crate::domain::Srcu;
use crate::platform::{Fault, Platform};
use crate::seq;
use crate::sync::read_once;

/// Before a cookie snapshot: orders the caller's prior accesses (typically unpublishing an
/// object) before the load of the sequence. Pairs with the barrier after sequence start and
/// with A (store buffering): if the snapshot saw an idle sequence, the grace period it waits
/// for scans after the caller's stores are visible. Kept as in `rcu_seq_snap()`; argued, not
/// shown by a model (the order test pins it).
#[inline(always)]
fn barrier_before_snapshot<P: Platform>(p: &P) {
    p.smp_mb();
}

/// After a cookie snapshot (`rcu_seq_snap()`'s barrier): the snapshot must not bleed into what
/// the caller does next.
#[inline(always)]
fn barrier_after_snapshot<P: Platform>(p: &P) {
    p.smp_mb();
}

/// After `poll_state` answered `true`: the caller's later accesses (typically a free, or loads
/// of what readers wrote) are ordered after the end of the grace period, even when another
/// thread ended it. Pairs with the barrier before sequence end and with A. Needed for safety,
/// as in `poll_state_synchronize_srcu()`; a loom model of it did not produce the stale load,
/// so the recording platform's order test is what pins it.
#[inline(always)]
fn barrier_poll_done<P: Platform>(p: &P) {
    p.smp_mb();
}

/// A polling cookie.
///
/// Invariant: either a snapshot (state bits zero) or [`Cookie::COMPLETED`] (state bits
/// non-zero, never produced by a snapshot).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(transparent)]
pub struct Cookie(usize);

impl Cookie {
    /// A cookie that always polls as completed (`get_completed_synchronize_srcu()`, which is 1
    /// in the kernel as well).
    pub const COMPLETED: Cookie = Cookie(0x1);

    /// Rebuild a cookie from its raw value (as stored by C callers). Any value is harmless:
    /// a forged cookie at worst polls as completed or not.
    #[inline(always)]
    pub const fn from_raw(raw: usize) -> Cookie {
        Cookie(raw)
    }

    /// The raw value (an `unsigned long` in C).
    #[inline(always)]
    pub const fn raw(self) -> usize {
        self.0
    }

    /// Whether two cookies name the same grace period state (`same_state_synchronize_srcu()`).
    #[inline(always)]
    pub const fn same_state(self, other: Cookie) -> bool {
        self.0 == other.0
    }
}

impl Srcu {
    /// The cookie of the grace-period end that would cover everything before now, with the
    /// full barriers `get_state_synchronize_srcu()` has. Wait-free; does not request anything.
    pub fn get_state<P: Platform>(&self, p: &P) -> Cookie {
        barrier_before_snapshot(p);
        let now = read_once(&self.gp_seq);
        let s = if p.fault() == Fault::AcceptStartedGp {
            seq::snap_accepting_started(now)
        } else {
            seq::snap(now)
        };
        barrier_after_snapshot(p);
        Cookie(s)
    }

    /// [`Srcu::get_state`] and request that grace period (`start_poll_synchronize_srcu()`).
    /// Legal from hardirq context (calls only [`Platform::kick`]).
    pub fn start_poll<P: Platform>(&self, p: &P) -> Cookie {
        let c = self.get_state(p);
        self.request(p, c.0, false);
        c
    }

    /// [`Srcu::start_poll`], asking for the grace period to be expedited.
    pub fn start_poll_expedited<P: Platform>(&self, p: &P) -> Cookie {
        let c = self.get_state(p);
        self.request(p, c.0, true);
        c
    }

    /// Whether the grace period named by `cookie` has ended (`poll_state_synchronize_srcu()`).
    /// Wait-free. A `true` is followed by a full barrier so the caller's subsequent frees are
    /// ordered after the grace period.
    pub fn poll_state<P: Platform>(&self, p: &P, cookie: Cookie) -> bool {
        if cookie != Cookie::COMPLETED && !seq::done(read_once(&self.gp_seq), cookie.0) {
            return false;
        }
        barrier_poll_done(p);
        true
    }
}
