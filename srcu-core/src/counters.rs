// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! The names of the split reader counters.
//!
//! Per CPU there are four logical counters: lock and unlock for reader index 0 and 1
//! (srcutree.c's `srcu_lock_count[2]` and `srcu_unlock_count[2]`). Each is split in two halves
//! stored by the platform: a per-CPU-op half and an atomic half. The value of a logical counter
//! is the wrapping sum of its two halves; a grace period only ever compares such sums for
//! equality, so which half a reader used never matters to it.
//!
//! ```text
//! value(cpu, c) = percpu_half(cpu, c) + atomic_half(cpu, c)      (wrapping)
//!                 ^ this_cpu_inc outside NMI   ^ atomic_long_inc in NMI
//! ```
//!
//! Invariant the platform keeps: the per-CPU-op half of CPU `n` is only written by code running
//! on CPU `n` outside NMI, with interrupts unable to split the write; the atomic half is only
//! written by atomic read-modify-writes. Then no increment is ever lost, whatever the
//! architecture's `this_cpu_inc` is made of.
//!
//! This module names counters only; the sums over CPUs are taken by the scans (`scans.rs`).

/// Whether a counter counts `read_lock`s or `read_unlock`s.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum CounterKind {
    /// Incremented by `read_lock`.
    Lock = 0,
    /// Incremented by `read_unlock`.
    Unlock = 1,
}

/// One logical per-CPU counter: its kind and the reader index (0 or 1) it belongs to.
///
/// Invariant: `idx` is 0 or 1, so [`Counter::slot`] is in `0..4`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counter {
    kind: CounterKind,
    idx: u8,
}

impl Counter {
    /// Number of logical counters per CPU.
    pub const SLOTS: usize = 4;

    /// The lock counter of reader index `idx & 1`.
    #[inline(always)]
    pub const fn lock(idx: usize) -> Counter {
        Counter { kind: CounterKind::Lock, idx: (idx & 1) as u8 }
    }

    /// The unlock counter of reader index `idx & 1`.
    #[inline(always)]
    pub const fn unlock(idx: usize) -> Counter {
        Counter { kind: CounterKind::Unlock, idx: (idx & 1) as u8 }
    }

    /// Lock or unlock.
    #[inline(always)]
    pub const fn kind(self) -> CounterKind {
        self.kind
    }

    /// The reader index, 0 or 1.
    #[inline(always)]
    pub const fn idx(self) -> usize {
        self.idx as usize
    }

    /// A dense number for storage: `lock[0], lock[1], unlock[0], unlock[1]` are `0, 1, 2, 3`,
    /// the order of srcutree.c's `srcu_lock_count[2]; srcu_unlock_count[2]` (and of the
    /// kernel shim's per-CPU arrays).
    #[inline(always)]
    pub const fn slot(self) -> usize {
        ((self.kind as usize) << 1) | (self.idx as usize & 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_dense_and_in_kernel_order() {
        assert_eq!(Counter::lock(0).slot(), 0);
        assert_eq!(Counter::lock(1).slot(), 1);
        assert_eq!(Counter::unlock(0).slot(), 2);
        assert_eq!(Counter::unlock(1).slot(), 3);
        assert_eq!(Counter::lock(3).idx(), 1, "index is masked to one bit");
    }
}
