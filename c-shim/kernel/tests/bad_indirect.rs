// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! Must be rejected on x86_64: a call through a function pointer is an indirect branch,
//! which a retpoline kernel may not have unless it goes through a thunk.
#![no_std]
#[no_mangle]
pub extern "C" fn bad_indirect(f: extern "C" fn() -> u64) -> u64 {
    f() + 1
}
