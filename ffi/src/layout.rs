// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! The published reader layout (version 1) used by the header's optional inline fast path
//! (`#define SRCU_RS_INLINE` before `#include <srcu_rs.h>`, liburcu's `_LGPL_SOURCE` model).
//!
//! The constants below are emitted into `include/srcu_rs.h` by cbindgen; the header's
//! `_Static_assert`s check its C struct against them, and the `const` assertions here check
//! the Rust [`Domain`] against the same numbers, so the two sides cannot drift apart without
//! a build failure. A program compiled against another layout version fails to link: the
//! inline code references `srcu_rs_layout_v1_count_slow`.
//!
//! The inline reader implements srcu-core's reader protocol (`srcu_core::readers`) exactly:
//!
//! ```text
//! read_lock:   idx = READ_ONCE(srcu_idx) & 1
//!              rseq-increment counters[cpu].percpu[idx]   (else srcu_rs_layout_v1_count_slow)
//!              reader_mb                                   (compiler barrier iff MEMBARRIER bit)
//! read_unlock: reader_mb
//!              rseq-increment counters[cpu].percpu[2 + idx] (else the slow call)
//! ```

use crate::api::srcu_rs;
use crate::domain::{CpuCounters, Domain};
use srcu_core::SRCU_WORDS;
use srcu_core::Counter;
use std::mem::{offset_of, size_of};

/// Version of the published reader layout.
pub const SRCU_RS_LAYOUT_VERSION: u32 = 1;
/// Byte offset of the counter-array pointer in a domain.
pub const SRCU_RS_LAYOUT_V1_COUNTERS: usize = 40;
/// Byte offset of the number of counter-array elements in a domain.
pub const SRCU_RS_LAYOUT_V1_NR_CPUS: usize = 48;
/// Byte offset of the reader flags word in a domain.
pub const SRCU_RS_LAYOUT_V1_READER_FLAGS: usize = 56;
/// Bytes between two CPUs' counters.
pub const SRCU_RS_LAYOUT_V1_CPU_STRIDE: usize = 128;
/// Byte offset of the per-CPU-op half (4 words: lock[0], lock[1], unlock[0], unlock[1]) in
/// one CPU's counters.
pub const SRCU_RS_LAYOUT_V1_PERCPU_HALF: usize = 0;
/// Reader flag: readers increment with rseq (else they call the slow path).
pub const SRCU_RS_LAYOUT_V1_READER_RSEQ: usize = 1;
/// Reader flag: the heavy barrier is membarrier, readers use compiler barriers.
pub const SRCU_RS_LAYOUT_V1_READER_MEMBARRIER: usize = 2;

const _: () = assert!(
    offset_of!(Domain, srcu) == 0,
    "srcu_idx is word 0 of srcu-core's Srcu"
);
const _: () = assert!(SRCU_WORDS * size_of::<usize>() == SRCU_RS_LAYOUT_V1_COUNTERS);
const _: () = assert!(offset_of!(Domain, counters) == SRCU_RS_LAYOUT_V1_COUNTERS);
const _: () = assert!(offset_of!(Domain, nr_cpus) == SRCU_RS_LAYOUT_V1_NR_CPUS);
const _: () = assert!(offset_of!(Domain, reader_flags) == SRCU_RS_LAYOUT_V1_READER_FLAGS);
const _: () = assert!(size_of::<CpuCounters>() == SRCU_RS_LAYOUT_V1_CPU_STRIDE);
const _: () = assert!(offset_of!(CpuCounters, percpu) == SRCU_RS_LAYOUT_V1_PERCPU_HALF);
const _: () = assert!(Counter::lock(1).slot() == 1 && Counter::unlock(0).slot() == 2);

/// The slow half of the inline reader: count slot `slot` (0..4, `Counter::slot` order) for the
/// calling thread. Part of layout version 1; not for direct use.
///
/// # Safety
/// `s` is a live domain.
#[no_mangle]
pub unsafe extern "C" fn srcu_rs_layout_v1_count_slow(s: *mut srcu_rs, slot: libc::c_int) {
    // SAFETY: function contract.
    let Some(d) = (unsafe { s.cast::<Domain>().as_ref() }) else {
        return;
    };
    let c = match slot {
        0 | 1 => Counter::lock(slot as usize),
        2 | 3 => Counter::unlock(slot as usize - 2),
        _ => return,
    };
    d.count_slow(c);
}

/// For tests: the layout version and offsets as the library sees them
/// (`out[0..7]` = version, counters, nr_cpus, reader_flags, stride, percpu half, this
/// domain's reader flags). Returns the number of words written (7), or -EINVAL.
///
/// # Safety
/// `s` is a live domain; `out` points to at least 7 writable `size_t`s.
#[no_mangle]
pub unsafe extern "C" fn srcu_rs_layout_v1_describe(
    s: *mut srcu_rs,
    out: *mut usize,
) -> libc::c_int {
    // SAFETY: function contract.
    let Some(d) = (unsafe { s.cast::<Domain>().as_ref() }) else {
        return -libc::EINVAL;
    };
    if out.is_null() {
        return -libc::EINVAL;
    }
    let v = [
        SRCU_RS_LAYOUT_VERSION as usize,
        offset_of!(Domain, counters),
        offset_of!(Domain, nr_cpus),
        offset_of!(Domain, reader_flags),
        size_of::<CpuCounters>(),
        offset_of!(CpuCounters, percpu),
        d.reader_flags,
    ];
    // SAFETY: out has room for 7 words (contract); v has 7.
    unsafe { std::ptr::copy_nonoverlapping(v.as_ptr(), out, v.len()) };
    v.len() as libc::c_int
}
