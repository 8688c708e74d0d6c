// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! The wait/wake primitive behind one driver per grace period (srcu-core's
//! `Platform::single_driver`, `gp_wait_token`, `gp_wait`, `gp_wake`): an event count that a
//! `synchronize` caller which found another caller driving sleeps on with `futex(FUTEX_WAIT)`,
//! advanced and `futex(FUTEX_WAKE)`d whenever a grace period ends or a driver hands off.
//!
//! Invariant: `events` only grows (wrapping); a sleeper is counted in `sleepers` from before
//! its last check of `events` until it returns, so a waker that reads `sleepers == 0` after its
//! increment knows every later sleeper will see the new count (store buffering, both sides
//! with a full barrier between their store and their load).
//!
//! A `fork()` child uses no single driver on the domains it inherited: the parent's driver may
//! have been copied in the middle of driving, with its flag set and no thread left to clear
//! it. The library's fork child handler (`domain.rs`, which visits every inherited domain)
//! calls [`GpWaiters::forget_driver`]; there every caller drives the engine itself, as before
//! (the flag is then ignored). The child's own new domains elect a driver again.

use std::sync::atomic::{fence, AtomicBool, AtomicU32, Ordering};

/// How many times a sleeper yields, re-checking the event count, before it sleeps in the kernel.
const YIELDS_BEFORE_SLEEP: usize = 16;

/// One domain's event count and sleepers.
pub(crate) struct GpWaiters {
    events: AtomicU32,
    sleepers: AtomicU32,
    /// Cleared in a fork child for the domains it inherited.
    single_driver: AtomicBool,
}

impl GpWaiters {
    /// For a domain created now.
    pub(crate) fn new() -> GpWaiters {
        GpWaiters {
            events: AtomicU32::new(0),
            sleepers: AtomicU32::new(0),
            single_driver: AtomicBool::new(true),
        }
    }

    /// Whether `synchronize` callers elect one driver: in the process that created the domain.
    #[inline(always)]
    pub(crate) fn single_driver(&self) -> bool {
        self.single_driver.load(Ordering::Relaxed)
    }

    /// In a fork child, for an inherited domain (the only thread runs the child handler):
    /// every caller drives from now on, and no sleeper of the parent is copied.
    pub(crate) fn forget_driver(&self) {
        self.single_driver.store(false, Ordering::Relaxed);
        self.sleepers.store(0, Ordering::Relaxed);
    }

    /// The event count (srcu-core orders this load before its checks with a full barrier).
    #[inline(always)]
    pub(crate) fn token(&self) -> usize {
        self.events.load(Ordering::Relaxed) as usize
    }

    /// Sleep until the event count differs from `token`; may return early (a signal, `EINTR`).
    /// Yields a few times first: an idle grace period is shorter than a futex sleep and wake,
    /// and a caller that is still yielding needs no `FUTEX_WAKE`.
    pub(crate) fn wait(&self, token: usize) {
        // The count is 32 bits (a futex word): compare the token's low 32 bits.
        let token = token as u32;
        for _ in 0..YIELDS_BEFORE_SLEEP {
            if self.events.load(Ordering::Relaxed) != token {
                return;
            }
            std::thread::yield_now();
        }
        self.sleepers.fetch_add(1, Ordering::Relaxed);
        // Store buffering with `wake`: our count, then the event count; its event count, then
        // the sleepers. One of us sees the other: we see the new count, or it sees a sleeper.
        fence(Ordering::SeqCst);
        if self.events.load(Ordering::Relaxed) == token {
            // SAFETY: FUTEX_WAIT on a live, aligned u32 of this domain (it outlives every
            // caller of synchronize); the kernel re-checks the value atomically and returns
            // EAGAIN if it changed. No timeout (NULL): a wake is guaranteed by the invariant.
            unsafe {
                libc::syscall(
                    libc::SYS_futex,
                    self.events.as_ptr(),
                    libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
                    token,
                    std::ptr::null::<libc::timespec>(),
                );
            }
        }
        self.sleepers.fetch_sub(1, Ordering::Relaxed);
    }

    /// Advance the event count and wake every sleeper (srcu-core issues a full barrier first).
    pub(crate) fn wake(&self) {
        self.events.fetch_add(1, Ordering::Relaxed);
        // Pairs with the barrier in `wait` (store buffering, see there).
        fence(Ordering::SeqCst);
        if self.sleepers.load(Ordering::Relaxed) != 0 {
            // SAFETY: FUTEX_WAKE on a live, aligned u32 of this domain; wakes all waiters.
            unsafe {
                libc::syscall(
                    libc::SYS_futex,
                    self.events.as_ptr(),
                    libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
                    i32::MAX,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    #[test]
    fn a_sleeper_returns_after_a_wake_and_at_once_on_a_stale_token() {
        let w = Arc::new(GpWaiters::new());
        assert!(w.single_driver());
        w.forget_driver();
        assert!(!w.single_driver(), "a fork child's inherited domain has no single driver");
        let t = w.token();
        w.wake();
        w.wait(t); // stale token: returns at once
        let t = w.token();
        let w2 = w.clone();
        let h = std::thread::spawn(move || w2.wait(t));
        let deadline = Instant::now() + Duration::from_secs(30);
        while w.sleepers.load(Ordering::Relaxed) == 0 && !h.is_finished() {
            assert!(Instant::now() < deadline, "the sleeper never started");
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(20));
        assert!(!h.is_finished(), "wait returned without a wake");
        w.wake();
        while !h.is_finished() {
            assert!(Instant::now() < deadline, "the sleeper was not woken");
            std::thread::sleep(Duration::from_millis(1));
        }
        h.join().unwrap();
    }
}
