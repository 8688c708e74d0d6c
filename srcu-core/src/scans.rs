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
        // A: if an unlock was counted above, its lock is counted below. Pairs with C in
        // read_unlock. Also pairs with B as store buffering: a reader whose increment the lock
        // sum below misses executes its critical section after this barrier and therefore sees
        // every store the updater made before the grace period started.
        p.heavy_mb();
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
        // A: pairs with C, as in `readers_done`.
        p.heavy_mb();
        let locks = sum_both(p, Counter::lock);
        locks != unlocks
    }
}
