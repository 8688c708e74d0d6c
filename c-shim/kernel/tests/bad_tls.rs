// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! Must be rejected: a thread-local variable (TLS relocations; on powerpc64 through r13,
//! which the kernel uses for the PACA).
#![no_std]
#![feature(thread_local)]
use core::sync::atomic::{AtomicU64, Ordering};
#[thread_local]
static COUNT: AtomicU64 = AtomicU64::new(0);
#[no_mangle]
pub extern "C" fn bad_tls() -> u64 {
    COUNT.fetch_add(1, Ordering::Relaxed)
}
