// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! Must be rejected on x86_64: an x87 instruction (without SSE, LLVM would lower floating
//! point to x87, which the kernel does not save either).
#![no_std]
#[no_mangle]
pub extern "C" fn bad_x87(p: &mut u64) {
    // SAFETY: never run; the object only has to be built.
    unsafe { core::arch::asm!("fldpi", "fstp qword ptr [{0}]", in(reg) p as *mut u64) }
}
