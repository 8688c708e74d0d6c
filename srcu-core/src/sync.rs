// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! The atomics the domain state is made of: `core`'s, or loom's when model checking
//! (`RUSTFLAGS="--cfg loom"`). Every access in this crate is `Relaxed` (READ_ONCE/WRITE_ONCE);
//! ordering comes only from [`crate::Platform::smp_mb`], which is how the kernel writes it and
//! how loom checks it best (loom treats SeqCst *accesses* as AcqRel, but models SeqCst fences).

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicUsize, Ordering};

#[cfg(not(loom))]
pub(crate) use core::sync::atomic::{AtomicUsize, Ordering};

/// READ_ONCE().
#[inline(always)]
pub(crate) fn read_once(a: &AtomicUsize) -> usize {
    a.load(Ordering::Relaxed)
}

/// WRITE_ONCE().
#[inline(always)]
pub(crate) fn write_once(a: &AtomicUsize, v: usize) {
    a.store(v, Ordering::Relaxed)
}

/// A fresh atomic. `const` outside loom so that domains can be statically initialised
/// (`DEFINE_STATIC_SRCU_RS`, `SRCU_NOTIFIER_INIT`).
#[cfg(not(loom))]
#[inline(always)]
pub(crate) const fn new_atomic(v: usize) -> AtomicUsize {
    AtomicUsize::new(v)
}

#[cfg(loom)]
pub(crate) fn new_atomic(v: usize) -> AtomicUsize {
    AtomicUsize::new(v)
}
