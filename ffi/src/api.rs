// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! The C API (`include/srcu_rs.h`, generated from this file by cbindgen). The readers,
//! `srcu_rs_read_lock()` and `srcu_rs_read_unlock()`, are C (`c-shim/userspace/srcu_rs_readers.c`,
//! wrappers of the header's static-inline reader, whose slow halves are in [`crate::layout`]).
//!
//! Every function takes the domain pointer first; NULL is rejected with `-EINVAL` where the
//! return type allows it. Errors are negative errno values, as in the kernel.

use crate::domain::{in_callback_thread, srcu_rs, srcu_rs_head, Domain};
use crate::shim;
use libc::{c_int, c_uint, c_ulong};
use srcu_core::{CleanupError, Cookie};

/// Features in use (`srcu_rs_features()`): readers use rseq per-CPU increments.
pub const SRCU_RS_FEATURE_RSEQ: c_uint = 1;
/// Features in use (`srcu_rs_features()`): the heavy barrier is membarrier(), readers use
/// compiler barriers only.
pub const SRCU_RS_FEATURE_MEMBARRIER: c_uint = 2;

/// # Safety
/// `s` is NULL or a live domain.
#[inline(always)]
unsafe fn dom<'a>(s: *mut srcu_rs) -> Option<&'a Domain> {
    // SAFETY: function contract: NULL or a pointer create returned and destroy did not free.
    unsafe { s.cast::<Domain>().as_ref() }
}

fn set_errno(e: c_int) {
    // SAFETY: __errno_location() returns the calling thread's errno slot.
    unsafe { *libc::__errno_location() = e };
}

/// Create a domain. Returns NULL and sets `errno` (ENOMEM) on failure. Any thread may then
/// read without registering.
#[no_mangle]
pub extern "C" fn srcu_rs_create() -> *mut srcu_rs {
    match Domain::create() {
        Ok(p) => p.cast(),
        Err(_) => {
            set_errno(libc::ENOMEM);
            std::ptr::null_mut()
        }
    }
}

/// For `SRCU_RS_DEFINE()`: create a domain into `*slot`, or print a message and abort the
/// program if that fails (a constructor has no caller to report the error to).
///
/// # Safety
/// `slot` points to a writable `struct srcu_rs *`.
#[no_mangle]
pub unsafe extern "C" fn srcu_rs_create_or_abort(slot: *mut *mut srcu_rs) {
    let s = srcu_rs_create();
    if s.is_null() || slot.is_null() {
        eprintln!("srcu_rs: SRCU_RS_DEFINE: cannot create the domain (out of memory)");
        std::process::abort();
    }
    // SAFETY: function contract: slot is a writable pointer (checked non-NULL above).
    unsafe { *slot = s };
}

/// Destroy a domain: 0 (everything freed, the callback thread joined); -EBUSY while readers,
/// callbacks or a requested grace period are live (nothing freed, the domain stays usable);
/// -EINVAL for NULL. Destroying twice, or using the domain during or after a successful
/// destroy, is undefined.
///
/// # Safety
/// `s` is NULL or a live domain.
#[no_mangle]
pub unsafe extern "C" fn srcu_rs_destroy(s: *mut srcu_rs) -> c_int {
    if s.is_null() {
        return -libc::EINVAL;
    }
    // SAFETY: function contract.
    match unsafe { Domain::try_destroy(s.cast()) } {
        Ok(()) => 0,
        Err(
            CleanupError::ActiveReaders
            | CleanupError::PendingCallbacks
            | CleanupError::GracePeriodRequested,
        ) => -libc::EBUSY,
    }
}

/// Wait for a full grace period: every reader that entered before this call has left. Returns
/// 0; -EINVAL for NULL; -EDEADLK on a callback thread. Never call it inside a read-side
/// critical section of the same domain (deadlock) nor from a signal handler.
///
/// # Safety
/// `s` is NULL or a live domain.
#[no_mangle]
pub unsafe extern "C" fn srcu_rs_synchronize(s: *mut srcu_rs) -> c_int {
    // SAFETY: function contract.
    let Some(d) = (unsafe { dom(s) }) else {
        return -libc::EINVAL;
    };
    if in_callback_thread() {
        return -libc::EDEADLK;
    }
    d.srcu.synchronize(&d.plat());
    0
}

/// `srcu_rs_synchronize()`, expedited: scans without sleeping first, for lower latency at
/// more CPU cost.
///
/// # Safety
/// `s` is NULL or a live domain.
#[no_mangle]
pub unsafe extern "C" fn srcu_rs_synchronize_expedited(s: *mut srcu_rs) -> c_int {
    // SAFETY: function contract.
    let Some(d) = (unsafe { dom(s) }) else {
        return -libc::EINVAL;
    };
    if in_callback_thread() {
        return -libc::EDEADLK;
    }
    d.srcu.synchronize_expedited(&d.plat());
    0
}

/// Queue `func(h)` to run on the domain's callback thread after a full grace period. Returns
/// 0; -EINVAL for a NULL `s`, `h` or `func`; -EAGAIN if the callback thread cannot be
/// started. The library owns `*h` until `func` runs. Not async-signal-safe.
///
/// # Safety
/// `s` is NULL or a live domain; `h` is NULL or valid until `func(h)` has run.
#[no_mangle]
pub unsafe extern "C" fn srcu_rs_call(
    s: *mut srcu_rs,
    h: *mut srcu_rs_head,
    func: Option<unsafe extern "C" fn(*mut srcu_rs_head)>,
) -> c_int {
    // SAFETY: function contract.
    let Some(d) = (unsafe { dom(s) }) else {
        return -libc::EINVAL;
    };
    let Some(f) = func else { return -libc::EINVAL };
    if h.is_null() {
        return -libc::EINVAL;
    }
    // SAFETY: function contract: h is valid until f(h) has run.
    match unsafe { d.call(h, f) } {
        Ok(()) => 0,
        Err(_) => -libc::EAGAIN,
    }
}

/// Wait until every callback queued (on this domain) before the call has run. Returns 0;
/// -EINVAL for NULL; -EDEADLK on a callback thread; -EAGAIN if the callback thread cannot be
/// started.
///
/// # Safety
/// `s` is NULL or a live domain.
#[no_mangle]
pub unsafe extern "C" fn srcu_rs_barrier(s: *mut srcu_rs) -> c_int {
    // SAFETY: function contract.
    let Some(d) = (unsafe { dom(s) }) else {
        return -libc::EINVAL;
    };
    if in_callback_thread() {
        return -libc::EDEADLK;
    }
    match d.barrier() {
        Ok(()) => 0,
        Err(_) => -libc::EAGAIN,
    }
}

/// A cookie for `srcu_rs_poll_state()` naming a grace period that starts after this call;
/// requests nothing. NULL: returns 0 and sets errno to EINVAL.
///
/// # Safety
/// `s` is NULL or a live domain.
#[no_mangle]
pub unsafe extern "C" fn srcu_rs_get_state(s: *mut srcu_rs) -> c_ulong {
    // SAFETY: function contract.
    let Some(d) = (unsafe { dom(s) }) else {
        set_errno(libc::EINVAL);
        return 0;
    };
    d.srcu.get_state(&d.plat()).raw() as c_ulong
}

/// `srcu_rs_get_state()` and request that grace period; the callback thread drives it.
/// NULL: returns 0 and sets errno to EINVAL.
///
/// # Safety
/// `s` is NULL or a live domain.
#[no_mangle]
pub unsafe extern "C" fn srcu_rs_start_poll(s: *mut srcu_rs) -> c_ulong {
    // SAFETY: function contract.
    let Some(d) = (unsafe { dom(s) }) else {
        set_errno(libc::EINVAL);
        return 0;
    };
    if d.ensure_worker().is_err() {
        // Still correct: the grace period is requested and the next synchronize drives it.
        set_errno(libc::EAGAIN);
    }
    d.srcu.start_poll(&d.plat()).raw() as c_ulong
}

/// Whether the grace period named by `cookie` has ended (then the caller may free what it
/// unpublished before taking the cookie). Wait-free. NULL: false, errno EINVAL.
///
/// # Safety
/// `s` is NULL or a live domain.
#[no_mangle]
pub unsafe extern "C" fn srcu_rs_poll_state(s: *mut srcu_rs, cookie: c_ulong) -> bool {
    // SAFETY: function contract.
    let Some(d) = (unsafe { dom(s) }) else {
        set_errno(libc::EINVAL);
        return false;
    };
    d.srcu
        .poll_state(&d.plat(), Cookie::from_raw(cookie as usize))
}

/// Extension (statistics): grace periods completed on `s` since its creation; 0 for NULL.
///
/// # Safety
/// `s` is NULL or a live domain.
#[no_mangle]
pub unsafe extern "C" fn srcu_rs_completed_grace_periods(s: *mut srcu_rs) -> c_ulong {
    // SAFETY: function contract.
    unsafe { dom(s) }.map_or(0, |d| d.completed() as c_ulong)
}

/// Extension: the `SRCU_RS_FEATURE_*` bits in use in this process (0 before the first
/// `srcu_rs_create()`).
#[no_mangle]
pub extern "C" fn srcu_rs_features() -> c_uint {
    let f = shim::features();
    let mut r = 0;
    if f & shim::HAVE_RSEQ != 0 {
        r |= SRCU_RS_FEATURE_RSEQ;
    }
    if f & shim::HAVE_MEMBARRIER != 0 {
        r |= SRCU_RS_FEATURE_MEMBARRIER;
    }
    r
}

/// Extension (statistics): reader increments that took the atomic half because rseq was
/// unavailable or its critical section aborted (process-wide, racy).
#[no_mangle]
pub extern "C" fn srcu_rs_rseq_fallbacks() -> c_ulong {
    crate::domain::rseq_fallbacks() as c_ulong
}
