// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! Test support shared by srcu-core's unit tests, its loom models and the workspace's torture
//! test (each includes this file as a module; none of it is in the library).
//!
//! [`FifoList`] is the [`CallbackList`] every test platform uses: a locked queue of
//! (callback, cookie). Under `--cfg loom` its lock is loom's, so the models explore it.

#![allow(dead_code)]

use srcu_core::{CallbackList, Cookie};
use std::collections::VecDeque;

#[cfg(loom)]
use loom::sync::Mutex;
#[cfg(not(loom))]
use std::sync::Mutex;

/// A FIFO of callbacks with the cookie each waits for.
///
/// Invariant ([`CallbackList`]'s): the cookie is computed under the queue's lock, so cookies
/// never decrease from head to tail.
pub struct FifoList<T>(Mutex<VecDeque<(T, Cookie)>>);

impl<T> FifoList<T> {
    /// An empty list.
    pub fn new() -> Self {
        FifoList(Mutex::new(VecDeque::new()))
    }

    /// How many callbacks are queued.
    pub fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

impl<T> Default for FifoList<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> CallbackList for FifoList<T> {
    type Callback = T;
    fn enqueue_with(&self, cb: T, cookie: impl FnOnce() -> Cookie) {
        let mut q = self.0.lock().unwrap();
        let c = cookie();
        q.push_back((cb, c));
    }
    fn dequeue_if(&self, ready: impl FnOnce(Cookie) -> bool) -> Option<T> {
        let mut q = self.0.lock().unwrap();
        match q.front() {
            Some((_, c)) if ready(*c) => q.pop_front().map(|(cb, _)| cb),
            _ => None,
        }
    }
    fn is_empty(&self) -> bool {
        self.0.lock().unwrap().is_empty()
    }
}
