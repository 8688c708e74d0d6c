// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! Safe wrappers over the userspace C shim (`c-shim/userspace/srcu_shim.h`), whose bindings
//! bindgen generated into [`crate::shim_bindings`].

use crate::shim_bindings as sys;
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether the heavy barrier is `membarrier()`, so readers may use compiler barriers. Set once
/// by [`init`] before the first domain exists; never changes afterwards.
static MEMBARRIER: AtomicBool = AtomicBool::new(false);

/// What the library uses on this process (bits of `srcu_rs_features()`).
pub const HAVE_RSEQ: u32 = sys::SRCU_SHIM_HAVE_RSEQ;
/// See [`HAVE_RSEQ`].
pub const HAVE_MEMBARRIER: u32 = sys::SRCU_SHIM_HAVE_MEMBARRIER;

/// Options for [`init`], from the environment.
#[derive(Clone, Copy, Debug, Default)]
pub struct InitFlags {
    /// Never use rseq (every reader takes the atomic half).
    pub disable_rseq: bool,
    /// Never use membarrier (full fences on both sides).
    pub disable_membarrier: bool,
    /// TEST ONLY: the broken non-rseq per-CPU increment.
    pub broken_percpu: bool,
}

/// Probe rseq and membarrier once per process (later calls return the first result).
pub fn init(f: InitFlags) -> u32 {
    let mut flags = 0;
    if f.disable_rseq {
        flags |= sys::SRCU_SHIM_DISABLE_RSEQ;
    }
    if f.disable_membarrier {
        flags |= sys::SRCU_SHIM_DISABLE_MEMBARRIER;
    }
    if f.broken_percpu {
        flags |= sys::SRCU_SHIM_BROKEN_PERCPU;
    }
    // SAFETY: srcu_shim_init has no preconditions besides being called before readers run on
    // a domain, which the caller (Domain::create, before the first domain exists) ensures.
    let have = unsafe { sys::srcu_shim_init(flags) };
    MEMBARRIER.store(have & HAVE_MEMBARRIER != 0, Ordering::Relaxed);
    have
}

/// The features found by [`init`] (0 before it).
pub fn features() -> u32 {
    // SAFETY: no preconditions.
    unsafe { sys::srcu_shim_features() }
}

/// Whether readers may use a compiler barrier (the heavy barrier is membarrier).
#[inline(always)]
pub fn membarrier_in_use() -> bool {
    MEMBARRIER.load(Ordering::Relaxed)
}

/// log2 of the bytes between two CPUs' words for [`percpu_inc`].
pub const CPU_SHIFT: u32 = sys::SRCU_SHIM_CPU_SHIFT;

/// rseq increment of the word at `word + (cpu << CPU_SHIFT)` for the calling thread's current
/// CPU; `false` if the caller must use the atomic half.
///
/// # Safety
/// For every possible CPU `cpu` (any number the kernel may report), `word + (cpu << CPU_SHIFT)`
/// must be a live, aligned `usize` that only this protocol writes (see `Domain::counters`).
#[inline(always)]
pub unsafe fn percpu_inc(word: *mut u8) -> bool {
    // SAFETY: the caller passes a word of the domain's live counter array with one element per
    // possible CPU (the contract above), so every address the shim may write is a word of that
    // array. The shim writes it only inside a committed rseq critical section, or (test-only
    // broken mode) with a plain store.
    unsafe { sys::srcu_shim_percpu_inc(word.cast()) == 0 }
}

/// The current CPU (a hint).
#[inline(always)]
pub fn current_cpu() -> usize {
    // SAFETY: no preconditions; async-signal-safe.
    unsafe { sys::srcu_shim_current_cpu() as usize }
}

/// `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)`; `false` if not in use.
pub fn membarrier() -> bool {
    // SAFETY: no preconditions.
    unsafe { sys::srcu_shim_membarrier() == 0 }
}

/// rseq attempts that fell back to the atomic half.
pub fn fallbacks() -> u64 {
    // SAFETY: no preconditions.
    unsafe { sys::srcu_shim_fallbacks() as u64 }
}

/// How many index-free readers (`srcu_rs_read_enter()`) of `domain` with index `idx` the calling
/// thread holds.
pub fn readers_held(domain: *const u8, idx: usize) -> usize {
    // SAFETY: the shim only compares `domain` with the pointers on the calling thread's reader
    // stack; it never dereferences it.
    unsafe { sys::srcu_shim_readers_held(domain.cast(), idx as libc::c_int) as usize }
}
