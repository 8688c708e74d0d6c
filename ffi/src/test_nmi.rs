// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! Test support: POSIX signals delivered to chosen threads, acting as NMIs.
//!
//! A signal handler interrupts its thread at any instruction — between the load and the store
//! of a non-atomic per-CPU increment included — and runs to completion before the thread
//! resumes, which is exactly an NMI's relation to the code it interrupts. The torture test uses
//! this to make NMI readers real on a machine whose `this_cpu_inc` would otherwise hide them.
//!
//! The handler is a plain `fn()`; it must be async-signal-safe: atomics, const-initialised
//! thread-locals without destructors, no allocation, no locks.

use std::sync::OnceLock;

/// The signal used as the NMI.
pub const NMI_SIGNAL: libc::c_int = libc::SIGUSR2;

static HANDLER: OnceLock<fn()> = OnceLock::new();

extern "C" fn on_signal(_sig: libc::c_int) {
    // SAFETY: __errno_location() returns this thread's errno slot, valid for the thread's
    // lifetime; we save and restore it so the interrupted code never sees the handler's errno.
    let errno = unsafe { *libc::__errno_location() };
    if let Some(f) = HANDLER.get() {
        f();
    }
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = errno };
}

/// Install `handler` as the process-wide NMI handler. Returns false if a different handler
/// was installed before or `sigaction` failed.
pub fn install(handler: fn()) -> bool {
    if HANDLER.set(handler).is_err() && HANDLER.get() != Some(&handler) {
        return false;
    }
    // SAFETY: a zeroed sigaction is a valid "no flags, empty mask" value to fill in.
    let mut sa: libc::sigaction = unsafe { std::mem::zeroed() };
    sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
    sa.sa_flags = libc::SA_RESTART;
    // SAFETY: sa.sa_mask is a valid sigset_t owned by this frame.
    unsafe { libc::sigemptyset(&mut sa.sa_mask) };
    // SAFETY: sa is fully initialised and outlives the call; the old action is not requested.
    unsafe { libc::sigaction(NMI_SIGNAL, &sa, std::ptr::null_mut()) == 0 }
}

/// A thread that may be sent NMIs.
#[derive(Clone, Copy, Debug)]
pub struct Target(libc::pthread_t);

/// The calling thread, as a target.
pub fn current() -> Target {
    // SAFETY: pthread_self() has no preconditions.
    Target(unsafe { libc::pthread_self() })
}

/// Deliver an NMI to `t`. The target must still be running (join it only after the last
/// `send`). Returns false if delivery failed.
pub fn send(t: Target) -> bool {
    // SAFETY: the caller keeps the target thread alive (documented above), so the pthread_t
    // is valid; NMI_SIGNAL has a handler installed or is ignored by default action policy
    // of the test (install() first).
    unsafe { libc::pthread_kill(t.0, NMI_SIGNAL) == 0 }
}
