// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! Must be rejected on powerpc64 when built for POWER10 with PC-relative addressing: the
//! access to an external variable becomes a prefixed load through the GOT.
#![no_std]
extern "C" {
    static jiffies: u64;
}
#[no_mangle]
pub extern "C" fn bad_pcrel() -> u64 {
    // SAFETY: never run; the object only has to be built.
    unsafe { core::ptr::read_volatile(&raw const jiffies) }
}
