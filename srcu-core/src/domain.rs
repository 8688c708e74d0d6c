// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! The per-domain state ([`Srcu`]): its words, their initial values and wait-free snapshots of
//! them. The operations on it live in the modules that implement each part of the algorithm.

use crate::seq;
use crate::sync::{new_atomic, read_once, AtomicUsize};

/// Bit 0 of `gp_seq_needed`: a `synchronize` caller is driving the engine (single-driver
/// platforms only; see the crate docs, "One driver per grace period"). Requests are cookies,
/// whose state bits are zero, so the bit never changes what is needed; every reader of the word
/// masks it (`Srcu::needed`). Request, claim and release are read-modify-writes of this one
/// word, so coherence alone orders a requester against the driver that stops.
pub(crate) const DRIVER: usize = 1;

/// One SRCU domain's algorithm state (the kernel's `srcu_struct` minus per-CPU data, locks and
/// work items, which belong to the platform).
///
/// Invariants:
/// * `srcu_idx` only changes in the flip, under the grace-period lock; readers use bit 0.
/// * `gp_seq` only changes under the grace-period lock; its state bits are 0, 1 or 2.
/// * `gp_seq_needed` and `gp_seq_needed_exp` only grow (modulo wrap), by lock-free CAS, so
///   they can be raised from hardirq context; they are never more than two grace periods ahead
///   of `gp_seq`. Their state bits are zero, except bit 0 of `gp_seq_needed`, which is set
///   while a `synchronize` caller drives on a single-driver platform and is never part of the
///   request.
///
/// The layout is `#[repr(C)]` and made of `usize`-sized words so that C code can embed it and
/// initialise it statically (see [`Srcu::new`] for the initial values).
#[repr(C)]
#[derive(Debug)]
pub struct Srcu {
    /// The reader index; bit 0 selects the counters new readers increment (`srcu_idx`).
    pub(crate) srcu_idx: AtomicUsize,
    /// The grace-period sequence: count in the high bits, [`crate::GpState`] in the low bits.
    pub(crate) gp_seq: AtomicUsize,
    /// The furthest grace-period end anyone has asked for (`srcu_gp_seq_needed`); bit 0 is
    /// the single-driver flag (`grace_period::DRIVER`), masked by every reader of the request.
    pub(crate) gp_seq_needed: AtomicUsize,
    /// The furthest grace-period end anyone has asked to expedite (`srcu_gp_seq_needed_exp`).
    pub(crate) gp_seq_needed_exp: AtomicUsize,
    /// Failed scans in the current phase, for the delay policy (under the grace-period lock).
    pub(crate) scan_retries: AtomicUsize,
    /// When the last grace period ended, in the platform's clock ([`crate::Platform::clock_ns`],
    /// truncated to `usize` and compared with wrapping arithmetic, as srcutree.c's
    /// `srcu_last_gp_end`); 0 until the first grace period ends, and on platforms without a
    /// clock. Only the auto-expedite heuristic reads it (`Srcu::might_be_idle`).
    pub(crate) last_gp_end: AtomicUsize,
}

impl Default for Srcu {
    fn default() -> Self {
        Self::new()
    }
}

/// The initial state, shared by the `const` and the loom constructors.
macro_rules! fresh_srcu {
    () => {
        Srcu {
            srcu_idx: new_atomic(0),
            gp_seq: new_atomic(seq::INITIAL),
            gp_seq_needed: new_atomic(seq::INITIAL),
            gp_seq_needed_exp: new_atomic(seq::INITIAL),
            scan_retries: new_atomic(0),
            last_gp_end: new_atomic(0),
        }
    };
}

/// Number of `usize` words in [`Srcu`], for C layout checks.
pub const SRCU_WORDS: usize = 6;

impl Srcu {
    /// A fresh, idle domain: `srcu_idx = 0`, every sequence word [`seq::INITIAL`], no retries.
    /// `const` so domains can be statically initialised.
    #[cfg(not(loom))]
    pub const fn new() -> Srcu {
        fresh_srcu!()
    }

    /// A fresh, idle domain (loom build: not `const`).
    #[cfg(loom)]
    pub fn new() -> Srcu {
        fresh_srcu!()
    }

    /// The current reader index word (`srcu_idx`); it counts flips.
    pub fn reader_index_word(&self) -> usize {
        read_once(&self.srcu_idx)
    }

    /// The raw grace-period sequence (for `.get_gp_seq` in rcutorture and statistics).
    pub fn gp_seq(&self) -> usize {
        read_once(&self.gp_seq)
    }

    /// Grace periods completed since the domain was initialised (`srcu_batches_completed()`).
    pub fn batches_completed(&self) -> usize {
        seq::completed_since_init(read_once(&self.gp_seq))
    }

    /// The furthest grace-period end requested, without the [`DRIVER`] bit.
    #[inline(always)]
    pub(crate) fn needed(&self) -> usize {
        read_once(&self.gp_seq_needed) & !DRIVER
    }

    /// Whether a grace period has been requested and has not ended yet (in progress, or
    /// requested but not started). Wait-free; a snapshot that may be stale at once.
    pub fn gp_pending(&self) -> bool {
        let s = read_once(&self.gp_seq);
        seq::state(s) != 0 || seq::ulong_cmp_lt(s, self.needed())
    }
}
