// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! Must be rejected: a call to a kernel function that is not a srcu_rs shim.
#![no_std]
extern "C" {
    fn schedule();
}
#[no_mangle]
pub extern "C" fn bad_extern() {
    // SAFETY: never run; the object only has to be built.
    unsafe { schedule() }
}
