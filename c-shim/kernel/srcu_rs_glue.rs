// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! srcu-rs kernel glue: srcu-core's `Platform` on the kernel C shim, and the C entry points.
//!
//! Every platform operation is a call to a `srcu_rs_shim_*` function implemented in C on
//! kernel primitives (`this_cpu_inc()`, `atomic_long_inc()`, `in_nmi()`, `smp_mb()`, a mutex,
//! work items, a wait queue). The C side embeds srcu-core's `Srcu` as the first member of
//! `struct srcu_rs`, so the domain pointer is also a pointer to the algorithm state.
//!
//! This file is compiled with the kernel's code-generation flags; it must contain no panic
//! path, no floating point, no indirect call and no library call.
#![no_std]
#![deny(unsafe_op_in_unsafe_fn)]

use core::ffi::{c_int, c_long, c_ulong, c_void};
use srcu_core::{CallbackList, Cookie, Counter, DelayPolicy, Fault, Next, Platform, Srcu};

extern "C" {
    fn srcu_rs_shim_percpu_inc(ssp: *mut c_void, slot: c_ulong);
    fn srcu_rs_shim_atomic_inc(ssp: *mut c_void, slot: c_ulong);
    fn srcu_rs_shim_percpu_read(ssp: *mut c_void, cpu: c_ulong, slot: c_ulong) -> c_ulong;
    fn srcu_rs_shim_atomic_read(ssp: *mut c_void, cpu: c_ulong, slot: c_ulong) -> c_ulong;
    fn srcu_rs_shim_nr_cpus() -> c_ulong;
    fn srcu_rs_shim_cpu_possible(cpu: c_ulong) -> bool;
    fn srcu_rs_shim_in_nmi() -> bool;
    fn srcu_rs_shim_smp_mb();
    fn srcu_rs_shim_scan_mb(ssp: *mut c_void);
    fn srcu_rs_shim_gp_wait_token(ssp: *mut c_void) -> c_ulong;
    fn srcu_rs_shim_gp_wait(ssp: *mut c_void, token: c_ulong);
    fn srcu_rs_shim_gp_wake(ssp: *mut c_void);
    fn srcu_rs_shim_gp_lock(ssp: *mut c_void);
    fn srcu_rs_shim_gp_unlock(ssp: *mut c_void);
    fn srcu_rs_shim_kick(ssp: *mut c_void, expedited: bool);
    fn srcu_rs_shim_gp_ended(ssp: *mut c_void);
    fn srcu_rs_shim_relax();
    fn srcu_rs_shim_sleep(usecs: u32);
    fn srcu_rs_shim_exp_nodelay_scans() -> c_ulong;
    fn srcu_rs_shim_exp_first_sleep_us() -> u32;
    fn srcu_rs_shim_nodelay_scans() -> c_ulong;
    fn srcu_rs_shim_first_sleep_us() -> u32;
    fn srcu_rs_shim_max_sleep_us() -> u32;
    fn srcu_rs_shim_exp_holdoff_ns() -> u32;
    fn srcu_rs_shim_clock_ns() -> c_ulong;
    fn srcu_rs_shim_fault(ssp: *mut c_void) -> u32;
    fn srcu_rs_shim_cb_lock(ssp: *mut c_void) -> c_ulong;
    fn srcu_rs_shim_cb_unlock(ssp: *mut c_void, flags: c_ulong);
    fn srcu_rs_shim_cb_enqueue(ssp: *mut c_void, rhp: *mut c_void, cookie: c_ulong);
    fn srcu_rs_shim_cb_head_cookie(ssp: *mut c_void, cookie: *mut c_ulong) -> bool;
    fn srcu_rs_shim_cb_dequeue(ssp: *mut c_void) -> *mut c_void;
    fn srcu_rs_shim_cb_empty(ssp: *mut c_void) -> bool;
    fn srcu_rs_shim_cb_invoke(rhp: *mut c_void);
}

/// The platform view of one `struct srcu_rs`.
///
/// Invariant: `ssp` points to a live, initialised `struct srcu_rs` whose first member is the
/// srcu-core state; the C entry points below receive it from kernel callers that guarantee this.
struct Kernel {
    ssp: *mut c_void,
}

impl Platform for Kernel {
    #[inline(always)]
    fn percpu_inc(&self, c: Counter) {
        // SAFETY: `ssp` is live (type invariant); the shim does this_cpu_inc() on its per-CPU
        // array, which is valid for slots 0..4 (`Counter::slot` is below `Counter::SLOTS`).
        unsafe { srcu_rs_shim_percpu_inc(self.ssp, c.slot() as c_ulong) }
    }
    #[inline(always)]
    fn atomic_inc(&self, c: Counter) {
        // SAFETY: as for percpu_inc; the shim uses atomic_long_inc() on this CPU's atomic half.
        unsafe { srcu_rs_shim_atomic_inc(self.ssp, c.slot() as c_ulong) }
    }
    fn percpu_read(&self, cpu: usize, c: Counter) -> usize {
        // SAFETY: `cpu` comes from the scan loop, below nr_cpu_ids and possible; slot < 4.
        unsafe { srcu_rs_shim_percpu_read(self.ssp, cpu as c_ulong, c.slot() as c_ulong) as usize }
    }
    fn atomic_read(&self, cpu: usize, c: Counter) -> usize {
        // SAFETY: as for percpu_read.
        unsafe { srcu_rs_shim_atomic_read(self.ssp, cpu as c_ulong, c.slot() as c_ulong) as usize }
    }
    fn nr_cpus(&self) -> usize {
        // SAFETY: reads nr_cpu_ids; no preconditions.
        unsafe { srcu_rs_shim_nr_cpus() as usize }
    }
    fn cpu_possible(&self, cpu: usize) -> bool {
        // SAFETY: cpu_possible() accepts any CPU number below nr_cpu_ids.
        unsafe { srcu_rs_shim_cpu_possible(cpu as c_ulong) }
    }
    #[inline(always)]
    fn in_nmi(&self) -> bool {
        // SAFETY: in_nmi() reads preempt_count; callable in every context.
        unsafe { srcu_rs_shim_in_nmi() }
    }
    #[inline(always)]
    fn smp_mb(&self) {
        // SAFETY: smp_mb() has no preconditions.
        unsafe { srcu_rs_shim_smp_mb() }
    }
    fn heavy_mb(&self) {
        // SAFETY: `ssp` is live; the shim counts the scan (statistics) and issues a full
        // barrier, as the default `heavy_mb` would.
        unsafe { srcu_rs_shim_scan_mb(self.ssp) }
    }
    fn with_gp_lock<R>(&self, f: impl FnOnce() -> R) -> R {
        // SAFETY: `ssp` is live; the lock is a mutex taken from updater (sleepable) context,
        // which is where every caller of the engine runs. `f` cannot unwind (panic=abort, and
        // srcu-core has no panic path), so the unlock below always runs.
        unsafe { srcu_rs_shim_gp_lock(self.ssp) };
        let r = f();
        // SAFETY: we hold the lock taken above.
        unsafe { srcu_rs_shim_gp_unlock(self.ssp) };
        r
    }
    fn kick(&self, expedited: bool) {
        // SAFETY: `ssp` is live; the shim queues work or irq_work, legal from hardirq.
        unsafe { srcu_rs_shim_kick(self.ssp, expedited) }
    }
    fn gp_ended(&self) {
        // SAFETY: `ssp` is live; the shim queues callback invocation and wakes waiters.
        unsafe { srcu_rs_shim_gp_ended(self.ssp) }
    }
    fn relax(&self) {
        // SAFETY: cond_resched()/cpu_relax(); updater context.
        unsafe { srcu_rs_shim_relax() }
    }
    fn sleep(&self, usecs: u32) {
        // SAFETY: usleep_range()/schedule_timeout(); updater context.
        unsafe { srcu_rs_shim_sleep(usecs) }
    }
    /// The `srcu_rs.*` module parameters (srcu_rs.c), read on every retry so that writes
    /// through sysfs take effect at the next scan.
    fn delay_policy(&self) -> DelayPolicy {
        // SAFETY: each reads one module parameter with READ_ONCE(); no preconditions.
        unsafe {
            DelayPolicy {
                expedited_nodelay_scans: srcu_rs_shim_exp_nodelay_scans() as usize,
                expedited_first_sleep_us: srcu_rs_shim_exp_first_sleep_us(),
                normal_nodelay_scans: srcu_rs_shim_nodelay_scans() as usize,
                normal_first_sleep_us: srcu_rs_shim_first_sleep_us(),
                max_sleep_us: srcu_rs_shim_max_sleep_us(),
                exp_holdoff_ns: srcu_rs_shim_exp_holdoff_ns(),
            }
        }
    }
    fn clock_ns(&self) -> Option<u64> {
        // SAFETY: ktime_get_mono_fast_ns() is callable in every context.
        Some(unsafe { srcu_rs_shim_clock_ns() } as u64)
    }
    /// One driver per grace period: concurrent `synchronize_srcu_rs()` callers sleep on the
    /// domain's wait queue while the first one scans.
    fn single_driver(&self) -> bool {
        true
    }
    fn gp_wait_token(&self) -> usize {
        // SAFETY: `ssp` is live; reads the domain's grace-period event count.
        unsafe { srcu_rs_shim_gp_wait_token(self.ssp) as usize }
    }
    fn gp_wait(&self, token: usize) {
        // SAFETY: `ssp` is live; sleeps on the domain's wait queue until the event count
        // differs from `token`. Updater (sleepable) context: only synchronize calls this.
        unsafe { srcu_rs_shim_gp_wait(self.ssp, token as c_ulong) }
    }
    fn gp_wake(&self) {
        // SAFETY: `ssp` is live; advances the event count and wakes its wait queue, legal in
        // every context the engine steps in (process context).
        unsafe { srcu_rs_shim_gp_wake(self.ssp) }
    }
    #[inline(always)]
    fn fault(&self) -> Fault {
        // SAFETY: `ssp` is live; reads the test-only fault selector (0 unless configured).
        let raw = unsafe { srcu_rs_shim_fault(self.ssp) };
        match Fault::from_raw(raw) {
            Some(f) => f,
            None => Fault::None,
        }
    }
}

// srcu_rs.h's SRCU_RS_FAULT_UP_READ_OTHER_INDEX (srcu_rs_up_read()'s broken variant) is this
// number, written by hand in C: keep the two in step.
const _: () = assert!(Fault::UpReadOtherIndex as u32 == 9);

/// The domain's callback list, kept by the C shim: a FIFO of `struct rcu_head` in segments that
/// each carry one cookie, under an irq-safe spinlock.
///
/// Invariant: `ssp` points to a live, initialised `struct srcu_rs`.
struct KernelCallbacks {
    ssp: *mut c_void,
}

impl CallbackList for KernelCallbacks {
    type Callback = *mut c_void;

    fn enqueue_with(&self, cb: *mut c_void, cookie: impl FnOnce() -> Cookie) {
        // SAFETY: `ssp` is live (type invariant); the lock is an irq-safe spinlock, legal in
        // every context call_srcu_rs() is (not NMI).
        let flags = unsafe { srcu_rs_shim_cb_lock(self.ssp) };
        let c = cookie();
        // SAFETY: we hold the list lock; `cb` is the caller's rcu_head, now owned by the list.
        unsafe { srcu_rs_shim_cb_enqueue(self.ssp, cb, c.raw() as c_ulong) };
        // SAFETY: releases the lock taken above with its saved flags.
        unsafe { srcu_rs_shim_cb_unlock(self.ssp, flags) };
    }

    fn dequeue_if(&self, ready: impl FnOnce(Cookie) -> bool) -> Option<*mut c_void> {
        let mut raw: c_ulong = 0;
        // SAFETY: `ssp` is live; the lock is released on every path below.
        let flags = unsafe { srcu_rs_shim_cb_lock(self.ssp) };
        // SAFETY: we hold the list lock; `raw` is a valid place for the cookie.
        let some = unsafe { srcu_rs_shim_cb_head_cookie(self.ssp, &mut raw) };
        let cb = if some && ready(Cookie::from_raw(raw as usize)) {
            // SAFETY: we hold the list lock and the list is not empty.
            Some(unsafe { srcu_rs_shim_cb_dequeue(self.ssp) })
        } else {
            None
        };
        // SAFETY: releases the lock taken above with its saved flags.
        unsafe { srcu_rs_shim_cb_unlock(self.ssp, flags) };
        cb
    }

    fn is_empty(&self) -> bool {
        // SAFETY: `ssp` is live; a racy emptiness check is all callers need.
        unsafe { srcu_rs_shim_cb_empty(self.ssp) }
    }
}

/// Borrow the srcu-core state at the head of `struct srcu_rs`.
///
/// # Safety
/// `ssp` must point to a live, initialised `struct srcu_rs` (first member: the core state).
#[inline(always)]
unsafe fn state<'a>(ssp: *mut c_void) -> &'a Srcu {
    // SAFETY: guaranteed by the caller; `Srcu` is #[repr(C)] and made of atomics, so shared
    // references from several CPUs at once are sound.
    unsafe { &*(ssp as *const Srcu) }
}

/// `synchronize_srcu_rs()` (`expedited` = false) or `synchronize_srcu_rs_expedited()`.
///
/// # Safety
/// `ssp` must point to a live, initialised `struct srcu_rs`; sleepable context.
#[no_mangle]
pub unsafe extern "C" fn srcu_rs_core_synchronize(ssp: *mut c_void, expedited: bool) {
    // SAFETY: forwarded caller guarantee.
    let s = unsafe { state(ssp) };
    if expedited {
        s.synchronize_expedited(&Kernel { ssp })
    } else {
        s.synchronize(&Kernel { ssp })
    }
}

/// `get_state_synchronize_srcu_rs()`.
///
/// # Safety
/// `ssp` must point to a live, initialised `struct srcu_rs`.
#[no_mangle]
pub unsafe extern "C" fn srcu_rs_core_get_state(ssp: *mut c_void) -> c_ulong {
    // SAFETY: forwarded caller guarantee.
    let s = unsafe { state(ssp) };
    s.get_state(&Kernel { ssp }).raw() as c_ulong
}

/// `start_poll_synchronize_srcu_rs()`; legal from hardirq context.
///
/// # Safety
/// `ssp` must point to a live, initialised `struct srcu_rs`.
#[no_mangle]
pub unsafe extern "C" fn srcu_rs_core_start_poll(ssp: *mut c_void) -> c_ulong {
    // SAFETY: forwarded caller guarantee.
    let s = unsafe { state(ssp) };
    s.start_poll(&Kernel { ssp }).raw() as c_ulong
}

/// `start_poll_synchronize_srcu_rs_expedited()`; legal from hardirq context.
///
/// # Safety
/// `ssp` must point to a live, initialised `struct srcu_rs`.
#[no_mangle]
pub unsafe extern "C" fn srcu_rs_core_start_poll_expedited(ssp: *mut c_void) -> c_ulong {
    // SAFETY: forwarded caller guarantee.
    let s = unsafe { state(ssp) };
    s.start_poll_expedited(&Kernel { ssp }).raw() as c_ulong
}

/// `call_srcu_rs()`: queue `rhp` behind a full grace period; legal from hardirq context.
/// Returns the cookie the callback waits for.
///
/// # Safety
/// `ssp` must point to a live, initialised `struct srcu_rs`; `rhp` to an `rcu_head` that the
/// list owns until it is invoked.
#[no_mangle]
pub unsafe extern "C" fn srcu_rs_core_call(ssp: *mut c_void, rhp: *mut c_void) -> c_ulong {
    // SAFETY: forwarded caller guarantee.
    let s = unsafe { state(ssp) };
    s.call(&Kernel { ssp }, &KernelCallbacks { ssp }, rhp).raw() as c_ulong
}

/// Invoke every callback whose grace period has ended, in order, through the shim (which
/// disables BH around each). Returns how many ran. One invoker per domain at a time (the
/// domain's work item).
///
/// # Safety
/// `ssp` must point to a live, initialised `struct srcu_rs`; process context.
#[no_mangle]
pub unsafe extern "C" fn srcu_rs_core_invoke_ready(ssp: *mut c_void) -> c_ulong {
    // SAFETY: forwarded caller guarantee.
    let s = unsafe { state(ssp) };
    let n = s.invoke_ready(&Kernel { ssp }, &KernelCallbacks { ssp }, |rhp| {
        // SAFETY: `rhp` was queued by call_srcu_rs() and its grace period has ended; the list
        // no longer holds it.
        unsafe { srcu_rs_shim_cb_invoke(rhp) }
    });
    n as c_ulong
}

/// Whether a grace period is requested or in progress (statistics, rcutorture).
///
/// # Safety
/// `ssp` must point to a live, initialised `struct srcu_rs`.
#[no_mangle]
pub unsafe extern "C" fn srcu_rs_core_gp_pending(ssp: *mut c_void) -> bool {
    // SAFETY: forwarded caller guarantee.
    let s = unsafe { state(ssp) };
    s.gp_pending()
}

/// The raw grace-period sequence (rcutorture's `.get_gp_seq`).
///
/// # Safety
/// `ssp` must point to a live, initialised `struct srcu_rs`.
#[no_mangle]
pub unsafe extern "C" fn srcu_rs_core_gp_seq(ssp: *mut c_void) -> c_ulong {
    // SAFETY: forwarded caller guarantee.
    let s = unsafe { state(ssp) };
    s.gp_seq() as c_ulong
}

/// `poll_state_synchronize_srcu_rs()`.
///
/// # Safety
/// `ssp` must point to a live, initialised `struct srcu_rs`.
#[no_mangle]
pub unsafe extern "C" fn srcu_rs_core_poll_state(ssp: *mut c_void, cookie: c_ulong) -> bool {
    // SAFETY: forwarded caller guarantee.
    let s = unsafe { state(ssp) };
    s.poll_state(&Kernel { ssp }, Cookie::from_raw(cookie as usize))
}

/// One engine step for the work item: returns -1 when idle, 0 to retry at once, or the
/// microseconds to wait before the next step.
///
/// # Safety
/// `ssp` must point to a live, initialised `struct srcu_rs`; sleepable context.
#[no_mangle]
pub unsafe extern "C" fn srcu_rs_core_step(ssp: *mut c_void) -> c_long {
    // SAFETY: forwarded caller guarantee.
    let s = unsafe { state(ssp) };
    match s.step(&Kernel { ssp }).next {
        Next::Idle => -1,
        Next::RetryNow => 0,
        Next::RetryAfter(us) => us as c_long,
    }
}

/// `__cleanup_srcu_rs()`'s check: 0; -EBUSY (-16) while readers are active; -EAGAIN (-11)
/// while callbacks are queued or a requested grace period has not completed.
///
/// # Safety
/// `ssp` must point to a live, initialised `struct srcu_rs`; sleepable context.
#[no_mangle]
pub unsafe extern "C" fn srcu_rs_core_cleanup(ssp: *mut c_void, callbacks_pending: bool) -> c_int {
    // SAFETY: forwarded caller guarantee.
    let s = unsafe { state(ssp) };
    match s.cleanup(&Kernel { ssp }, callbacks_pending) {
        Ok(()) => 0,
        Err(srcu_core::CleanupError::ActiveReaders) => -16,
        Err(_) => -11,
    }
}

/// `srcu_rs_batches_completed()`.
///
/// # Safety
/// `ssp` must point to a live, initialised `struct srcu_rs`.
#[no_mangle]
pub unsafe extern "C" fn srcu_rs_core_batches_completed(ssp: *mut c_void) -> c_ulong {
    // SAFETY: forwarded caller guarantee.
    let s = unsafe { state(ssp) };
    s.batches_completed() as c_ulong
}

/// `srcu_rs_readers_locked()`: read-side lock operations ever counted on the domain, both
/// indexes and both halves (wrapping; statistics only, racy against concurrent readers).
///
/// # Safety
/// `ssp` must point to a live, initialised `struct srcu_rs`.
#[no_mangle]
pub unsafe extern "C" fn srcu_rs_core_readers_locked(ssp: *mut c_void) -> c_ulong {
    // SAFETY: forwarded caller guarantee.
    let s = unsafe { state(ssp) };
    s.readers_locked_total(&Kernel { ssp }) as c_ulong
}
