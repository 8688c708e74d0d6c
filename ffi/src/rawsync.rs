// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! pthread mutexes and condition variables that can be held across `fork()` by the
//! `pthread_atfork` handlers (std's locks cannot be force-unlocked or re-initialised).
//!
//! Invariant: a [`RawLock`] or [`RawCond`] is never moved after first use (they live in
//! statics or in heap-allocated domains that never move).

use std::cell::UnsafeCell;

/// A `pthread_mutex_t`.
pub struct RawLock(UnsafeCell<libc::pthread_mutex_t>);

// SAFETY: pthread mutexes are designed to be shared between threads; all access goes through
// the pthread functions.
unsafe impl Sync for RawLock {}
// SAFETY: as above; an unlocked, never-used mutex may move between threads.
unsafe impl Send for RawLock {}

/// Holds a [`RawLock`]; unlocks on drop.
pub struct Guard<'a>(&'a RawLock);

impl RawLock {
    /// An unlocked mutex (`PTHREAD_MUTEX_INITIALIZER`).
    pub const fn new() -> RawLock {
        RawLock(UnsafeCell::new(libc::PTHREAD_MUTEX_INITIALIZER))
    }

    /// Lock; the guard unlocks.
    pub fn lock(&self) -> Guard<'_> {
        self.lock_raw();
        Guard(self)
    }

    /// Lock without a guard (for the fork handlers, paired with [`RawLock::unlock_raw`] or
    /// [`RawLock::reinit`]).
    pub fn lock_raw(&self) {
        // SAFETY: the mutex is initialised (static initialiser) and does not move (type invariant).
        let r = unsafe { libc::pthread_mutex_lock(self.0.get()) };
        debug_assert_eq!(r, 0);
    }

    /// Unlock a mutex locked by [`RawLock::lock_raw`] on this thread.
    pub fn unlock_raw(&self) {
        // SAFETY: as in lock_raw; the caller locked it on this thread.
        let r = unsafe { libc::pthread_mutex_unlock(self.0.get()) };
        debug_assert_eq!(r, 0);
    }

    /// In a `fork()` child: make the mutex unlocked again, whatever its state in the parent.
    pub fn reinit(&self) {
        // SAFETY: only called in the child of fork, which has one thread (the caller): nobody
        // else can be using the mutex; overwriting it with the static initialiser is what
        // pthread_mutex_init does for a default mutex.
        unsafe { *self.0.get() = libc::PTHREAD_MUTEX_INITIALIZER };
    }
}

impl Default for RawLock {
    fn default() -> Self {
        Self::new()
    }
}

impl Default for RawCond {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        self.0.unlock_raw();
    }
}

/// A `pthread_cond_t` used with one [`RawLock`].
pub struct RawCond(UnsafeCell<libc::pthread_cond_t>);

// SAFETY: as for RawLock.
unsafe impl Sync for RawCond {}
// SAFETY: as for RawLock.
unsafe impl Send for RawCond {}

impl RawCond {
    /// A condition variable (`PTHREAD_COND_INITIALIZER`).
    pub const fn new() -> RawCond {
        RawCond(UnsafeCell::new(libc::PTHREAD_COND_INITIALIZER))
    }

    /// Wait, releasing `g`'s mutex meanwhile. Spurious wake-ups happen: callers loop.
    pub fn wait(&self, g: &Guard<'_>) {
        // SAFETY: both objects are initialised and pinned (type invariants); the guard proves
        // this thread holds the mutex, as pthread_cond_wait requires.
        let r = unsafe { libc::pthread_cond_wait(self.0.get(), g.0 .0.get()) };
        debug_assert_eq!(r, 0);
    }

    /// Wake every waiter.
    pub fn broadcast(&self) {
        // SAFETY: initialised and pinned.
        let r = unsafe { libc::pthread_cond_broadcast(self.0.get()) };
        debug_assert_eq!(r, 0);
    }

    /// In a `fork()` child: forget the parent's waiters.
    pub fn reinit(&self) {
        // SAFETY: child of fork, single-threaded: nobody else uses the condvar.
        unsafe { *self.0.get() = libc::PTHREAD_COND_INITIALIZER };
    }
}

/// A value protected by a [`RawLock`].
pub struct Locked<T> {
    lock: RawLock,
    value: UnsafeCell<T>,
}

// SAFETY: the value is only reached through `with`, which holds the lock.
unsafe impl<T: Send> Sync for Locked<T> {}
// SAFETY: moving the whole thing moves T.
unsafe impl<T: Send> Send for Locked<T> {}

impl<T> Locked<T> {
    /// Wrap `value`.
    pub const fn new(value: T) -> Locked<T> {
        Locked {
            lock: RawLock::new(),
            value: UnsafeCell::new(value),
        }
    }

    /// The lock (for the fork handlers and condition variables).
    pub fn raw(&self) -> &RawLock {
        &self.lock
    }

    /// Run `f` on the value with the lock held.
    pub fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        let _g = self.lock.lock();
        // SAFETY: the lock is held for the whole borrow, so this is the only reference.
        f(unsafe { &mut *self.value.get() })
    }

    /// With the lock held, wait on `cond` until `ready` returns true, then run `f`. No
    /// reference to the value lives across a wait.
    pub fn wait_then<R>(
        &self,
        cond: &RawCond,
        mut ready: impl FnMut(&mut T) -> bool,
        f: impl FnOnce(&mut T) -> R,
    ) -> R {
        let g = self.lock.lock();
        loop {
            // SAFETY: the lock is held; the reference ends before the wait releases it.
            if ready(unsafe { &mut *self.value.get() }) {
                break;
            }
            cond.wait(&g);
        }
        // SAFETY: the lock is held (re-acquired by the last wait, if any).
        f(unsafe { &mut *self.value.get() })
    }

    /// In a `fork()` child, with the lock held by the parent's forking thread (now us): access
    /// the value. Caller: the atfork child handler only, while the lock is still held.
    ///
    /// # Safety
    /// The caller must hold the lock (taken by `raw().lock_raw()` in the prepare handler).
    #[allow(clippy::mut_from_ref)] // exclusive by the lock the caller holds (contract)
    pub unsafe fn get_locked(&self) -> &mut T {
        // SAFETY: the caller holds the lock (function contract).
        unsafe { &mut *self.value.get() }
    }
}
