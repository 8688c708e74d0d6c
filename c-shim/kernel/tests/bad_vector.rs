// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! Must be rejected: a 32-byte copy that becomes vector loads and stores when vector
//! registers are enabled (VSX on powerpc64le-unknown-linux-gnu).
#![no_std]
#[no_mangle]
pub extern "C" fn bad_copy32(dst: &mut [u64; 4], src: &[u64; 4]) {
    *dst = *src;
}
