// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! The scale check without hardware: srcu-core on a simulated platform with 1 to 256 CPUs,
//! counting the counter loads (one per CPU, counter and half) and heavy barriers of one grace
//! period. Print the table with
//!
//! ```sh
//! cargo test -p srcu-core --release --test scale -- --nocapture
//! ```
//!
//! The cost of a grace period is a formula in the number of CPUs, not a timing: a scan reads
//! both halves of each counter it sums on every possible CPU, so
//!
//! * idle (the fast path, 64-bit): one scan of both indexes, 4 counters × 2 halves = `8 N`
//!   loads and one barrier A;
//! * one reader holding the active index across the first step: SCAN1 of both indexes (`8 N`),
//!   the flip, SCAN2 of one index finding the reader (`4 N`), then after its unlock SCAN2 again
//!   (`4 N`): `16 N` loads and three barriers A.
//!
//! (32-bit builds have no fast path: `8 N` and two barriers idle, `12 N` and three with the
//! reader.) The test asserts those formulas exactly for every size, so a change that makes a grace
//! period cost more than linear in the CPUs (or a constant more per CPU) fails it.
#![cfg(not(loom))]

use srcu_core::{Counter, GpState, Next, Platform, Srcu};
use std::cell::Cell;
use std::sync::atomic::{fence, AtomicUsize, Ordering};
use std::sync::Mutex;

/// `cpus` CPUs of counters; the caller's CPU is a field (the test is single-threaded); every
/// counter load and heavy barrier is counted.
struct Counted {
    percpu: Vec<[AtomicUsize; Counter::SLOTS]>,
    atomic: Vec<[AtomicUsize; Counter::SLOTS]>,
    cpu: Cell<usize>,
    loads: Cell<usize>,
    heavy: Cell<usize>,
    gp_lock: Mutex<()>,
}

impl Counted {
    fn new(cpus: usize) -> Counted {
        Counted {
            percpu: (0..cpus).map(|_| Default::default()).collect(),
            atomic: (0..cpus).map(|_| Default::default()).collect(),
            cpu: Cell::new(0),
            loads: Cell::new(0),
            heavy: Cell::new(0),
            gp_lock: Mutex::new(()),
        }
    }

    /// Loads and heavy barriers since the last call.
    fn take(&self) -> (usize, usize) {
        (self.loads.replace(0), self.heavy.replace(0))
    }
}

impl Platform for Counted {
    fn percpu_inc(&self, c: Counter) {
        self.percpu[self.cpu.get()][c.slot()].fetch_add(1, Ordering::Relaxed);
    }
    fn atomic_inc(&self, c: Counter) {
        self.atomic[self.cpu.get()][c.slot()].fetch_add(1, Ordering::Relaxed);
    }
    fn percpu_read(&self, cpu: usize, c: Counter) -> usize {
        self.loads.set(self.loads.get() + 1);
        self.percpu[cpu][c.slot()].load(Ordering::Relaxed)
    }
    fn atomic_read(&self, cpu: usize, c: Counter) -> usize {
        self.loads.set(self.loads.get() + 1);
        self.atomic[cpu][c.slot()].load(Ordering::Relaxed)
    }
    fn nr_cpus(&self) -> usize {
        self.percpu.len()
    }
    fn in_nmi(&self) -> bool {
        false
    }
    fn smp_mb(&self) {
        fence(Ordering::SeqCst);
    }
    fn heavy_mb(&self) {
        self.heavy.set(self.heavy.get() + 1);
        fence(Ordering::SeqCst);
    }
    fn with_gp_lock<R>(&self, f: impl FnOnce() -> R) -> R {
        let _g = self.gp_lock.lock().unwrap();
        f()
    }
    fn kick(&self, _expedited: bool) {}
    fn relax(&self) {}
    fn sleep(&self, _usecs: u32) {}
}

const SIZES: [usize; 9] = [1, 2, 4, 8, 16, 32, 64, 128, 256];

/// One grace period with no reader: (counter loads, heavy barriers).
fn idle_gp(s: &Srcu, p: &Counted) -> (usize, usize) {
    p.take();
    let c = s.start_poll(p);
    let r = s.step(p);
    assert_eq!(r.ended, 1, "an idle grace period ends in one step");
    assert!(s.poll_state(p, c));
    p.take()
}

/// One grace period with a reader on the last CPU holding the active index through the first
/// step: (counter loads, heavy barriers).
fn held_gp(s: &Srcu, p: &Counted) -> (usize, usize) {
    p.cpu.set(p.nr_cpus() - 1);
    let idx = s.read_lock(p);
    p.take();
    let c = s.start_poll(p);
    let r = s.step(p);
    assert_eq!(r.ended, 0);
    assert_ne!(r.next, Next::Idle);
    assert_eq!(s.gp_state(), GpState::Scan2, "SCAN1 flipped; SCAN2 found the reader");
    s.read_unlock(p, idx);
    let r = s.step(p);
    assert_eq!(r.ended, 1, "SCAN2 ends the grace period once the reader left");
    assert!(s.poll_state(p, c));
    p.take()
}

#[test]
fn counter_loads_per_grace_period_are_linear_in_the_cpus() {
    let fast_path = usize::BITS >= 64;
    println!("| CPUs | loads, idle | heavy barriers, idle | loads, one reader holding | heavy barriers, one reader |");
    println!("|---:|---:|---:|---:|---:|");
    for n in SIZES {
        let (s, p) = (Srcu::new(), Counted::new(n));
        // A few of each, so that both reader indexes are exercised.
        for _ in 0..3 {
            let (idle, idle_heavy) = idle_gp(&s, &p);
            let (held, held_heavy) = held_gp(&s, &p);
            // 32-bit: no fast path; SCAN1 sums the inactive index only (4 N), then flips.
            let (want_idle, want_held) = if fast_path { ((8 * n, 1), (16 * n, 3)) } else { ((8 * n, 2), (12 * n, 3)) };
            assert_eq!((idle, idle_heavy), want_idle, "idle grace period on {n} CPUs");
            assert_eq!((held, held_heavy), want_held, "grace period with a reader on {n} CPUs");
            if s.batches_completed() == 6 {
                println!("| {n} | {idle} | {idle_heavy} | {held} | {held_heavy} |");
            }
        }
    }
}
