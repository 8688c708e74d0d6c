// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! Must be rejected: floating point becomes SSE (built without -sse) or x87 (built with it).
#![no_std]
#[no_mangle]
pub extern "C" fn bad_float(a: f64, b: u64) -> u64 {
    (a * b as f64 + 0.5) as u64
}
