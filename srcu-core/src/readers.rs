// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! Readers: one API for task, softirq, hardirq and NMI context.
//!
//! ```text
//! read_lock:    idx = READ_ONCE(srcu_idx) & 1
//!               in_nmi() ? atomic_inc(lock[idx]) : this_cpu_inc(lock[idx])
//!               smp_mb()  /* B */   (Platform::reader_mb)
//! read_unlock:  smp_mb()  /* C */   (Platform::reader_mb)
//!               in_nmi() ? atomic_inc(unlock[idx]) : this_cpu_inc(unlock[idx])
//! ```
//!
//! This is the protocol any inline fast path (the C header, the kernel header) must implement
//! exactly; tests compare them against this module.
//!
//! * The unlock may run on another CPU than the lock: the grace period only compares sums over
//!   all CPUs.
//! * A reader may sleep and may nest to any practical depth (see the crate docs on overflow).
//! * An irq reader interrupting a task reader on the same CPU is safe because
//!   [`crate::Platform::percpu_inc`] is irq-safe; an NMI reader is safe because it never
//!   touches the per-CPU-op half.

use crate::counters::Counter;
use crate::domain::Srcu;
use crate::platform::{Fault, Platform};
use crate::sync::read_once;

/// The index a `read_lock` returned, to be passed to the matching `read_unlock`.
///
/// Invariant: the value is 0 or 1. Values from outside (C callers) go through
/// [`ReaderIndex::from_raw`], which rejects anything else.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(transparent)]
#[must_use = "a reader index must be passed to read_unlock"]
pub struct ReaderIndex(u8);

impl ReaderIndex {
    /// Validate a raw index (for example an `int` from C): `Some` for 0 and 1 only.
    #[inline(always)]
    pub const fn from_raw(raw: usize) -> Option<ReaderIndex> {
        match raw {
            0 => Some(ReaderIndex(0)),
            1 => Some(ReaderIndex(1)),
            _ => None,
        }
    }

    /// The raw index, 0 or 1.
    #[inline(always)]
    pub const fn get(self) -> usize {
        self.0 as usize
    }
}

/// B: order the lock increment before the critical section. Pairs with A: a scan whose lock
/// sum misses this increment is ordered before the critical section's accesses, so they see
/// every store the updater made before the grace period (store buffering). Needed for safety.
/// (It also pairs with E in srcutree.c's comments; E is redundant, see the crate docs.)
#[inline(always)]
fn barrier_b<P: Platform>(p: &P) {
    p.reader_mb();
}

/// C: order the critical section before the unlock increment. Pairs with A: a counted unlock
/// implies a counted lock and a finished critical section, stores included, so the updater's
/// accesses after the grace period see them. Needed for safety (the critical-section-store
/// loom model fails without it). With D it also bounds how many readers can use an index the
/// scans have moved away from.
#[inline(always)]
fn barrier_c<P: Platform>(p: &P) {
    p.reader_mb();
}

/// Increment `c` in the half that suits the caller's context.
#[inline(always)]
fn count<P: Platform>(p: &P, c: Counter) {
    if p.in_nmi() && p.fault() != Fault::NmiInPercpuHalf {
        p.atomic_inc(c);
    } else {
        p.percpu_inc(c);
    }
}

impl Srcu {
    /// Enter a read-side critical section (`srcu_read_lock()`), from any context including NMI.
    #[inline(always)]
    pub fn read_lock<P: Platform>(&self, p: &P) -> ReaderIndex {
        let idx = read_once(&self.srcu_idx) & 1;
        count(p, Counter::lock(idx));
        barrier_b(p);
        ReaderIndex(idx as u8)
    }

    /// Leave the read-side critical section entered by the `read_lock` that returned `idx`
    /// (`srcu_read_unlock()`). May run on another CPU and in another context than the lock.
    #[inline(always)]
    pub fn read_unlock<P: Platform>(&self, p: &P, idx: ReaderIndex) {
        barrier_c(p);
        count(p, Counter::unlock(idx.get()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_raw_rejects_forged_indexes() {
        assert_eq!(ReaderIndex::from_raw(0).map(ReaderIndex::get), Some(0));
        assert_eq!(ReaderIndex::from_raw(1).map(ReaderIndex::get), Some(1));
        assert_eq!(ReaderIndex::from_raw(2), None);
        assert_eq!(ReaderIndex::from_raw(usize::MAX), None);
    }
}
