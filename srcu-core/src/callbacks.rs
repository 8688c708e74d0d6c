// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! Callbacks (`call_srcu()`, callback invocation, `srcu_barrier()`).
//!
//! The platform stores callbacks (the kernel in per-domain lists of `struct rcu_head`, the C
//! library in lists of `struct srcu_rs_head`); this module decides *when* each may run. A
//! callback is stored with the [`Cookie`] of the grace period it waits for, taken while the list
//! is locked, so cookies never decrease from head to tail and invoking in FIFO order while the
//! head's cookie polls complete is exactly "every callback whose grace period has ended".
//!
//! `barrier` enqueues a marker behind everything already on each list; since lists are FIFO,
//! once every marker has run, every callback queued before the barrier has run.

use crate::domain::Srcu;
use crate::platform::Platform;
use crate::polling::Cookie;

/// A FIFO list of callbacks owned by the platform.
///
/// Invariant the implementation keeps: entries leave in the order they entered, and the cookie
/// passed to [`CallbackList::enqueue_with`]'s closure is computed while the list is locked
/// against other enqueuers (so cookies are non-decreasing from head to tail).
pub trait CallbackList {
    /// What is stored: a pointer to a C `rcu_head`, a boxed closure in tests, a marker.
    type Callback;

    /// Append `cb` at the tail with the cookie `cookie()` returns, calling `cookie` while
    /// holding the list's lock. Must be callable in the contexts `call` is (hardirq included).
    fn enqueue_with(&self, cb: Self::Callback, cookie: impl FnOnce() -> Cookie);

    /// Remove and return the head if `ready(head's cookie)` returns true.
    fn dequeue_if(&self, ready: impl FnOnce(Cookie) -> bool) -> Option<Self::Callback>;

    /// Whether the list is empty.
    fn is_empty(&self) -> bool;
}

impl Srcu {
    /// Queue `cb` to be invoked after a full grace period that starts after this call
    /// (`call_srcu()`). Legal from hardirq context: takes only the list's lock, requests the
    /// grace period lock-free and [`Platform::kick`]s the engine. Returns the cookie.
    pub fn call<P: Platform, L: CallbackList>(&self, p: &P, list: &L, cb: L::Callback) -> Cookie {
        let mut taken = Cookie::COMPLETED;
        list.enqueue_with(cb, || {
            taken = self.get_state(p);
            taken
        });
        self.request(p, taken.raw(), false);
        taken
    }

    /// Invoke, in order, every callback at the head of `list` whose grace period has ended,
    /// passing each to `invoke`. Returns how many ran. Each `true` poll is followed by a full
    /// barrier, so a callback's accesses are ordered after the readers its grace period waited
    /// for. The caller makes sure only one invoker runs per list at a time (the kernel's
    /// `srcu_cblist_invoking`).
    pub fn invoke_ready<P: Platform, L: CallbackList>(
        &self,
        p: &P,
        list: &L,
        mut invoke: impl FnMut(L::Callback),
    ) -> usize {
        let mut n: usize = 0;
        while let Some(cb) = list.dequeue_if(|c| self.poll_state(p, c)) {
            invoke(cb);
            n = n.wrapping_add(1);
        }
        n
    }

    /// Start a barrier (`srcu_barrier()`): enqueue the marker `make_marker()` returns on every
    /// list in `lists`, each behind everything already queued there, and request the grace
    /// periods they need. The caller then waits until every marker has been invoked — at which
    /// point every callback queued before this call, on every list, has been invoked. Returns the
    /// number of markers queued.
    pub fn barrier_enqueue<'a, P, L, I>(
        &self,
        p: &P,
        lists: I,
        mut make_marker: impl FnMut() -> L::Callback,
    ) -> usize
    where
        P: Platform,
        L: CallbackList + 'a,
        I: IntoIterator<Item = &'a L>,
    {
        let mut n: usize = 0;
        for list in lists {
            self.call(p, list, make_marker());
            n = n.wrapping_add(1);
        }
        n
    }
}
