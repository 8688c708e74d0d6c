// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! Must be rejected: a large aggregate copy becomes a memcpy call through the GOT.
#![no_std]
#[repr(C)]
pub struct Big([u64; 64]);
#[no_mangle]
pub extern "C" fn bad_copy(dst: &mut Big, src: &Big) {
    *dst = Big(src.0);
}
