// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! The counter scans: sums of both halves over every CPU, and the check that an index is
//! quiescent (srcutree.c's `srcu_readers_lock_idx()`, `srcu_readers_unlock_idx()` and
//! `srcu_readers_active_idx_check()`), with barrier A between the unlock sums and the lock sums.
//!
//! Every question the algorithm asks about readers is answered here: the grace-period engine
//! asks [`readers_done`] about one index (SCAN2) or [`scan_both`] about both (SCAN1 and the idle
//! fast path), `cleanup` asks [`Srcu::readers_active`] about both.
//!
//! Every scan has the same shape, and that shape is what the whole safety argument rests on:
//! *all* the unlock sums it uses, then one barrier A, then *all* the lock sums. On an asymmetric
//! platform A is the only barrier that reaches the readers, so it must sit between the two.

use crate::counters::Counter;
use crate::domain::Srcu;
use crate::platform::{Fault, Platform};

/// The sum of both halves of `c` over every possible CPU (`srcu_readers_lock_idx()` and
/// `srcu_readers_unlock_idx()` in srcutree.c, with the atomic half added).
pub(crate) fn sum<P: Platform>(p: &P, c: Counter) -> usize {
    let mut total: usize = 0;
    let mut cpu: usize = 0;
    let n = p.nr_cpus();
    while cpu < n {
        if p.cpu_possible(cpu) {
            total = total
                .wrapping_add(p.percpu_read(cpu, c))
                .wrapping_add(p.atomic_read(cpu, c));
        }
        cpu = cpu.wrapping_add(1);
    }
    total
}

/// A: between the unlock sums and the lock sums of one scan. **Safety.** Pairs with C: if an
/// unlock was counted, its lock is counted too, and the reader's critical section (stores
/// included) is ordered before the updater's accesses after the grace period. Pairs with B as
/// store buffering: a reader whose lock increment the lock sum misses runs its critical section
/// after this barrier and sees every store the updater made before the grace period. The one
/// heavy barrier ([`Platform::heavy_mb`]): on an asymmetric platform it is the membarrier that
/// turns the readers' compiler barriers B and C into full barriers, so it is needed in every
/// scan, the idle fast path's included.
#[inline(always)]
fn barrier_a<P: Platform>(p: &P) {
    p.heavy_mb();
}

/// What one scan found: for each reader index, whether its lock and unlock sums were equal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Quiescence {
    idx0: bool,
    idx1: bool,
}

impl Quiescence {
    /// Whether index `idx & 1` was quiescent: every reader that incremented its lock counter
    /// before the scan had unlocked.
    pub(crate) const fn done(self, idx: usize) -> bool {
        if idx & 1 == 0 {
            self.idx0
        } else {
            self.idx1
        }
    }

    /// Whether both indexes were quiescent.
    pub(crate) const fn both(self) -> bool {
        self.idx0 && self.idx1
    }
}

/// One scan of both indexes: the unlock sums of index 0 and 1, barrier A, the lock sums of
/// index 0 and 1 (the fault-injection variants break exactly this order).
pub(crate) fn scan_both<P: Platform>(p: &P) -> Quiescence {
    if p.fault() == Fault::LocksBeforeUnlocks {
        let (l0, l1) = (sum(p, Counter::lock(0)), sum(p, Counter::lock(1)));
        p.heavy_mb();
        let (u0, u1) = (sum(p, Counter::unlock(0)), sum(p, Counter::unlock(1)));
        return Quiescence { idx0: l0 == u0, idx1: l1 == u1 };
    }
    let (u0, u1) = (sum(p, Counter::unlock(0)), sum(p, Counter::unlock(1)));
    if p.fault() != Fault::NoBarrierA {
        barrier_a(p);
    }
    let (l0, l1) = (sum(p, Counter::lock(0)), sum(p, Counter::lock(1)));
    Quiescence { idx0: l0 == u0, idx1: l1 == u1 }
}

/// Whether every reader that incremented `lock[idx]` before this scan has unlocked
/// (`srcu_readers_active_idx_check()`): sum unlocks, barrier A, sum locks, compare.
pub(crate) fn readers_done<P: Platform>(p: &P, idx: usize) -> bool {
    if p.fault() == Fault::LocksBeforeUnlocks {
        let locks = sum(p, Counter::lock(idx));
        p.heavy_mb();
        let unlocks = sum(p, Counter::unlock(idx));
        return locks == unlocks;
    }
    let unlocks = sum(p, Counter::unlock(idx));
    if p.fault() != Fault::NoBarrierA {
        barrier_a(p);
    }
    let locks = sum(p, Counter::lock(idx));
    locks == unlocks
}

/// The sum of `c`'s counters on both reader indexes.
fn sum_both<P: Platform>(p: &P, c: fn(usize) -> Counter) -> usize {
    sum(p, c(0)).wrapping_add(sum(p, c(1)))
}

impl Srcu {
    /// Total `read_lock` calls ever counted on this domain, both indexes and both halves
    /// (wrapping). Statistics only: racy against concurrent readers.
    pub fn readers_locked_total<P: Platform>(&self, p: &P) -> usize {
        sum_both(p, Counter::lock)
    }

    /// Whether any reader is inside a critical section, on either index: one scan of both
    /// indexes (unlocks, barrier A, locks), so a reader that is counted as unlocked is counted
    /// as locked too.
    pub fn readers_active<P: Platform>(&self, p: &P) -> bool {
        !scan_both(p).both()
    }
}
