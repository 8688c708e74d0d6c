// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! The published reader layout (version 2) read by the static-inline reader of
//! `include/srcu_rs/static.h`, and the out-of-line halves that reader calls.
//!
//! cbindgen turns this file alone into the top of `include/srcu_rs/static.h` (the root
//! `build.rs` runs it); `include/srcu_rs.h` excludes every item of this file. The header's
//! `_Static_assert`s check its C struct against the constants below, the `const` assertions here
//! check the Rust [`Domain`] against the same numbers, and a program compiled against another
//! layout version fails to link (its inline code references `srcu_rs_layout_v3_*`).
//!
//! The inline reader is srcu-core's reader (`srcu_core::Srcu::read_lock`/`read_unlock`) with
//! the userspace platform's fast case written out:
//!
//! ```text
//! read_lock:   fast = s->fast_counters          (NULL: srcu_rs_layout_v3_read_lock_slow(s))
//!              idx = READ_ONCE(srcu_idx) & 1
//!              rseq: fast[cpu].percpu[idx] += 1  (aborted: srcu_rs_layout_v3_count_atomic)
//!              B: compiler barrier               (the updater's membarrier() upgrades it)
//! read_unlock: fast = s->fast_counters          (NULL: srcu_rs_layout_v3_read_unlock_slow)
//!              C: compiler barrier
//!              rseq: fast[cpu].percpu[2 + idx] += 1 (aborted: ..._count_atomic)
//! ```
//!
//! `fast_counters` is the counter array when rseq *and* membarrier are in use for this
//! process, NULL otherwise: one load and one test tell the inline reader both that its rseq
//! increment is usable and that its barriers may be compiler barriers. When it is NULL the
//! whole reader runs out of line in srcu-core, with the platform's increment and fences.

use crate::domain::{srcu_rs, CpuCounters, Domain};
use srcu_core::{Counter, SRCU_WORDS};
use std::mem::{offset_of, size_of};

/// Version of the published reader layout.
pub const SRCU_RS_LAYOUT_VERSION: u32 = 3;
/// Byte offset in a domain of the counter-array pointer of the inline fast path (NULL: the
/// reader must call the `_slow` functions).
pub const SRCU_RS_LAYOUT_V3_FAST_COUNTERS: usize = 48;
/// log2 of the bytes between two CPUs' counters.
pub const SRCU_RS_LAYOUT_V3_CPU_SHIFT: u32 = 7;
/// Byte offset of the per-CPU-op half (4 words: lock[0], lock[1], unlock[0], unlock[1]) in
/// one CPU's counters.
pub const SRCU_RS_LAYOUT_V3_PERCPU_HALF: usize = 0;

const _: () = assert!(
    offset_of!(Domain, srcu) == 0,
    "srcu_idx is word 0 of srcu-core's Srcu"
);
const _: () = assert!(SRCU_WORDS * size_of::<usize>() == SRCU_RS_LAYOUT_V3_FAST_COUNTERS);
const _: () = assert!(offset_of!(Domain, fast_counters) == SRCU_RS_LAYOUT_V3_FAST_COUNTERS);
const _: () = assert!(size_of::<CpuCounters>() == 1 << SRCU_RS_LAYOUT_V3_CPU_SHIFT);
const _: () = assert!(offset_of!(CpuCounters, percpu) == SRCU_RS_LAYOUT_V3_PERCPU_HALF);
const _: () = assert!(Counter::lock(1).slot() == 1 && Counter::unlock(0).slot() == 2);

/// # Safety
/// `s` is a live domain.
unsafe fn domain<'a>(s: *mut srcu_rs) -> &'a Domain {
    // SAFETY: function contract: a pointer srcu_rs_create returned and destroy did not free.
    unsafe { &*s.cast::<Domain>() }
}

/// The inline `srcu_rs_read_lock()` when `fast_counters` is NULL: srcu-core's reader with the
/// platform's increment and barrier B. Returns the index. Part of layout version 3; not for
/// direct use.
///
/// # Safety
/// `s` is a live domain.
#[no_mangle]
pub unsafe extern "C" fn srcu_rs_layout_v3_read_lock_slow(s: *mut srcu_rs) -> libc::c_int {
    // SAFETY: function contract.
    let d = unsafe { domain(s) };
    d.srcu.read_lock(&d.plat()).get() as libc::c_int
}

/// The inline `srcu_rs_read_unlock()` when `fast_counters` is NULL (`idx` already checked to
/// be 0 or 1). Returns 0. Part of layout version 3; not for direct use.
///
/// # Safety
/// `s` is a live domain.
#[no_mangle]
pub unsafe extern "C" fn srcu_rs_layout_v3_read_unlock_slow(
    s: *mut srcu_rs,
    idx: libc::c_int,
) -> libc::c_int {
    // SAFETY: function contract.
    let d = unsafe { domain(s) };
    match usize::try_from(idx)
        .ok()
        .and_then(srcu_core::ReaderIndex::from_raw)
    {
        Some(i) => {
            d.srcu.read_unlock(&d.plat(), i);
            0
        }
        None => -libc::EINVAL,
    }
}

/// The inline reader's rseq section aborted (preemption, migration, a signal): count slot
/// `slot` (0..4, `Counter::slot` order) in the calling CPU's atomic half. Part of layout
/// version 2; not for direct use.
///
/// # Safety
/// `s` is a live domain.
#[no_mangle]
pub unsafe extern "C" fn srcu_rs_layout_v3_count_atomic(s: *mut srcu_rs, slot: libc::c_int) {
    // SAFETY: function contract.
    let d = unsafe { domain(s) };
    let c = match slot {
        0 | 1 => Counter::lock(slot as usize),
        2 | 3 => Counter::unlock(slot as usize - 2),
        _ => return,
    };
    d.count_atomic(c);
}

/// For tests: the layout as the library sees it (`out[0..5]` = version, fast-counters
/// offset, CPU shift, per-CPU half offset, whether this domain's `fast_counters` is set).
/// Returns the number of words written (5), or -EINVAL.
///
/// # Safety
/// `s` is a live domain; `out` is NULL or points to at least 5 writable `size_t`s.
#[no_mangle]
pub unsafe extern "C" fn srcu_rs_layout_v3_describe(
    s: *mut srcu_rs,
    out: *mut usize,
) -> libc::c_int {
    if s.is_null() || out.is_null() {
        return -libc::EINVAL;
    }
    // SAFETY: function contract.
    let d = unsafe { domain(s) };
    let v = [
        SRCU_RS_LAYOUT_VERSION as usize,
        offset_of!(Domain, fast_counters),
        size_of::<CpuCounters>().trailing_zeros() as usize,
        offset_of!(CpuCounters, percpu),
        usize::from(!d.fast_counters.is_null()),
    ];
    // SAFETY: out has room for 5 words (contract); v has 5.
    unsafe { std::ptr::copy_nonoverlapping(v.as_ptr(), out, v.len()) };
    v.len() as libc::c_int
}
