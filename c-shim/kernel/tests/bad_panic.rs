// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! Must be rejected: slice indexing leaves a call to core's bounds-check panic.
#![no_std]
#[no_mangle]
pub extern "C" fn bad_index(a: &[u64; 4], i: usize) -> u64 {
    a[i]
}
