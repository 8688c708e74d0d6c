// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! The counter scans: sums of both halves over every CPU, and the check that an index is
//! quiescent (srcutree.c's `srcu_readers_lock_idx()`, `srcu_readers_unlock_idx()` and
//! `srcu_readers_active_idx_check()`), with barrier A between the unlock sum and the lock sum.
//!
//! Every question the algorithm asks about readers is answered here: the grace-period engine
//! asks [`readers_done`] about one index, `cleanup` asks [`Srcu::readers_active`] about both.

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

/// A: between the unlock sum and the lock sum. Pairs with C: if an unlock was counted, its lock
/// is counted too, and the reader's critical section (stores included) is ordered before the
/// updater's accesses after the grace period. Pairs with B as store buffering: a reader whose
/// lock increment the lock sum misses runs its critical section after this barrier and sees
/// every store the updater made before the grace period. Needed for safety. A heavy barrier:
/// on an asymmetric platform it is the one that makes the readers' compiler barriers B and C
/// into full barriers.
#[inline(always)]
fn barrier_a<P: Platform>(p: &P) {
    p.heavy_mb();
}

/// The sum of `c`'s counters on both reader indexes.
fn sum_both<P: Platform>(p: &P, c: fn(usize) -> Counter) -> usize {
    sum(p, c(0)).wrapping_add(sum(p, c(1)))
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

impl Srcu {
    /// Total `read_lock` calls ever counted on this domain, both indexes and both halves
    /// (wrapping). Statistics only: racy against concurrent readers.
    pub fn readers_locked_total<P: Platform>(&self, p: &P) -> usize {
        sum_both(p, Counter::lock)
    }

    /// Whether any reader is inside a critical section, on either index: unlocks are summed
    /// first, then (barrier A as in the scans) locks, so a reader that is counted as unlocked
    /// is counted as locked too.
    pub fn readers_active<P: Platform>(&self, p: &P) -> bool {
        let unlocks = sum_both(p, Counter::unlock);
        barrier_a(p);
        let locks = sum_both(p, Counter::lock);
        locks != unlocks
    }
}
