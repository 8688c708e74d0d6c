// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! Unit tests on a simulated platform: sequence wrap, cleanup refusal, callback ordering,
//! nesting depth, cross-CPU unlock, NMI counting, and that broken variants are caught.

use crate::support::FifoList;
use crate::{CallbackList, CleanupError, Cookie, Counter, Fault, GpState, Platform, Srcu};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

const CPUS: usize = 4;

thread_local! {
    static CPU: Cell<usize> = const { Cell::new(0) };
    static NMI: Cell<bool> = const { Cell::new(false) };
}

/// Counters for `CPUS` CPUs; the caller's CPU and NMI state are thread-locals.
struct Sim {
    percpu: [[AtomicUsize; Counter::SLOTS]; CPUS],
    atomic: [[AtomicUsize; Counter::SLOTS]; CPUS],
    gp_lock: Mutex<()>,
    kicks: AtomicUsize,
    fault: Fault,
}

impl Sim {
    fn new(fault: Fault) -> Sim {
        Sim {
            percpu: Default::default(),
            atomic: Default::default(),
            gp_lock: Mutex::new(()),
            kicks: AtomicUsize::new(0),
            fault,
        }
    }
    fn on_cpu<R>(cpu: usize, f: impl FnOnce() -> R) -> R {
        let old = CPU.with(|c| c.replace(cpu));
        let r = f();
        CPU.with(|c| c.set(old));
        r
    }
    fn in_nmi<R>(f: impl FnOnce() -> R) -> R {
        NMI.with(|n| n.set(true));
        let r = f();
        NMI.with(|n| n.set(false));
        r
    }
}

impl Platform for Sim {
    fn percpu_inc(&self, c: Counter) {
        let cpu = CPU.with(Cell::get);
        self.percpu[cpu][c.slot()].fetch_add(1, Ordering::Relaxed);
    }
    fn atomic_inc(&self, c: Counter) {
        let cpu = CPU.with(Cell::get);
        self.atomic[cpu][c.slot()].fetch_add(1, Ordering::Relaxed);
    }
    fn percpu_read(&self, cpu: usize, c: Counter) -> usize {
        self.percpu[cpu][c.slot()].load(Ordering::Relaxed)
    }
    fn atomic_read(&self, cpu: usize, c: Counter) -> usize {
        self.atomic[cpu][c.slot()].load(Ordering::Relaxed)
    }
    fn nr_cpus(&self) -> usize {
        CPUS
    }
    fn in_nmi(&self) -> bool {
        NMI.with(Cell::get)
    }
    fn smp_mb(&self) {
        std::sync::atomic::fence(Ordering::SeqCst);
    }
    fn with_gp_lock<R>(&self, f: impl FnOnce() -> R) -> R {
        let _g = self.gp_lock.lock().unwrap();
        f()
    }
    fn kick(&self, _expedited: bool) {
        self.kicks.fetch_add(1, Ordering::Relaxed);
    }
    fn relax(&self) {
        thread::yield_now();
    }
    fn sleep(&self, usecs: u32) {
        thread::sleep(Duration::from_micros(usecs.into()));
    }
    fn fault(&self) -> Fault {
        self.fault
    }
}

/// Run `synchronize` on another thread; report whether it returned within `wait`.
fn sync_returns_within(s: &Arc<(Srcu, Sim)>, wait: Duration, expedited: bool) -> (bool, thread::JoinHandle<()>) {
    let done = Arc::new(AtomicBool::new(false));
    let (s2, d2) = (s.clone(), done.clone());
    let h = thread::spawn(move || {
        if expedited {
            s2.0.synchronize_expedited(&s2.1);
        } else {
            s2.0.synchronize(&s2.1);
        }
        d2.store(true, Ordering::SeqCst);
    });
    thread::sleep(wait);
    (done.load(Ordering::SeqCst), h)
}

#[test]
fn grace_periods_cross_the_sequence_wrap() {
    let (s, p) = (Srcu::new(), Sim::new(Fault::None));
    let start = s.gp_seq();
    for _ in 0..150 {
        s.synchronize(&p);
    }
    assert_eq!(s.batches_completed(), 150);
    assert!(s.gp_seq() < start, "the sequence wrapped past zero");
    assert_eq!(s.gp_state(), GpState::Idle);
    // Cookies taken after the wrap still work.
    let c = s.start_poll(&p);
    assert!(!s.poll_state(&p, c));
    s.wait_for(&p, c);
    assert!(s.poll_state(&p, c));
}

#[test]
fn synchronize_waits_for_a_pre_existing_reader_and_for_nothing_else() {
    let s = Arc::new((Srcu::new(), Sim::new(Fault::None)));
    let idx = s.0.read_lock(&s.1);
    let (done, h) = sync_returns_within(&s, Duration::from_millis(100), false);
    assert!(!done, "synchronize returned while a pre-existing reader was active");
    s.0.read_unlock(&s.1, idx);
    h.join().unwrap();
    // With no reader, both flavours return.
    let (done, h) = sync_returns_within(&s, Duration::from_millis(200), true);
    assert!(done);
    h.join().unwrap();
}

#[test]
fn broken_snapshot_lets_synchronize_skip_a_reader() {
    // The test above can fail: with the broken snapshot synchronize does not wait.
    let s = Arc::new((Srcu::new(), Sim::new(Fault::AcceptStartedGp)));
    let idx = s.0.read_lock(&s.1);
    let (done, h) = sync_returns_within(&s, Duration::from_millis(100), false);
    assert!(done, "AcceptStartedGp must return without a grace period");
    h.join().unwrap();
    s.0.read_unlock(&s.1, idx);
}

#[test]
fn nesting_thousands_deep() {
    let s = Arc::new((Srcu::new(), Sim::new(Fault::None)));
    const DEPTH: usize = 5000;
    let idxs: Vec<_> = (0..DEPTH).map(|_| s.0.read_lock(&s.1)).collect();
    let (done, h) = sync_returns_within(&s, Duration::from_millis(50), true);
    assert!(!done);
    for idx in idxs.into_iter().rev().take(DEPTH - 1) {
        s.0.read_unlock(&s.1, idx);
    }
    thread::sleep(Duration::from_millis(50));
    assert!(s.0.readers_active(&s.1), "one reader is still nested");
    assert!(!h.is_finished(), "synchronize returned with the outermost reader active");
    s.0.read_unlock(&s.1, crate::ReaderIndex::from_raw(0).unwrap());
    h.join().unwrap();
    assert!(!s.0.readers_active(&s.1));
}

#[test]
fn unlock_on_another_cpu_and_in_nmi_balance() {
    let (s, p) = (Srcu::new(), Sim::new(Fault::None));
    let idx = Sim::on_cpu(0, || s.read_lock(&p));
    assert!(s.readers_active(&p));
    Sim::on_cpu(3, || s.read_unlock(&p, idx));
    assert!(!s.readers_active(&p));
    // An NMI reader uses the atomic half only.
    let idx = Sim::on_cpu(1, || Sim::in_nmi(|| s.read_lock(&p)));
    assert_eq!(p.atomic_read(1, Counter::lock(idx.get())), 1);
    assert_eq!(p.percpu_read(1, Counter::lock(idx.get())), 0);
    assert!(s.readers_active(&p));
    // ... and may be unlocked outside NMI on another CPU: sums still balance.
    Sim::on_cpu(2, || s.read_unlock(&p, idx));
    assert!(!s.readers_active(&p));
    s.synchronize(&p);
}

#[test]
fn readers_locked_total_counts_every_lock_and_nothing_else() {
    let (s, p) = (Srcu::new(), Sim::new(Fault::None));
    let base = s.readers_locked_total(&p);
    // Per-CPU half, on several CPUs, on the first index.
    let i0 = Sim::on_cpu(0, || s.read_lock(&p));
    let i1 = Sim::on_cpu(3, || s.read_lock(&p));
    assert_eq!(s.readers_locked_total(&p), base.wrapping_add(2));
    // Unlocks do not count.
    Sim::on_cpu(1, || s.read_unlock(&p, i1));
    Sim::on_cpu(2, || s.read_unlock(&p, i0));
    assert_eq!(s.readers_locked_total(&p), base.wrapping_add(2));
    // A grace period flips the index: the other index's lock counter counts too.
    s.synchronize(&p);
    let j = Sim::on_cpu(1, || s.read_lock(&p));
    assert_ne!(j.get(), i0.get(), "the grace period flipped the reader index");
    // The atomic half (NMI readers) counts too.
    let n = Sim::on_cpu(2, || Sim::in_nmi(|| s.read_lock(&p)));
    assert_eq!(p.atomic_read(2, Counter::lock(n.get())), 1);
    assert_eq!(s.readers_locked_total(&p), base.wrapping_add(4));
    Sim::on_cpu(0, || s.read_unlock(&p, n));
    Sim::on_cpu(0, || s.read_unlock(&p, j));
    assert_eq!(s.readers_locked_total(&p), base.wrapping_add(4));
    assert!(!s.readers_active(&p));
}

#[test]
fn cleanup_refuses_and_changes_nothing() {
    let (s, p) = (Srcu::new(), Sim::new(Fault::None));
    // Readers.
    let idx = s.read_lock(&p);
    assert_eq!(s.cleanup(&p, false), Err(CleanupError::ActiveReaders));
    assert!(s.readers_active(&p), "refusal left the reader counted");
    s.read_unlock(&p, idx);
    // Callbacks.
    let list = FifoList::<u32>::default();
    s.call(&p, &list, 7);
    assert_eq!(s.cleanup(&p, !list.is_empty()), Err(CleanupError::PendingCallbacks));
    s.synchronize(&p);
    assert_eq!(s.invoke_ready(&p, &list, |_| ()), 1);
    // A requested grace period that nobody drove (kick is a no-op here).
    assert!(!s.gp_pending());
    let c = s.start_poll(&p);
    assert!(s.gp_pending());
    assert_eq!(s.cleanup(&p, false), Err(CleanupError::GracePeriodRequested));
    assert!(!s.poll_state(&p, c), "refusal did not complete the request");
    s.wait_for(&p, c);
    assert_eq!(s.cleanup(&p, false), Ok(()));
}

#[test]
fn cleanup_drives_an_in_flight_grace_period_to_its_end() {
    let (s, p) = (Srcu::new(), Sim::new(Fault::None));
    let idx = s.read_lock(&p); // on index 0, the active one
    let c = s.start_poll(&p);
    s.step(&p); // SCAN1 passes (index 1 is empty), flips, SCAN2 waits for our reader
    assert_eq!(s.gp_state(), GpState::Scan2);
    s.read_unlock(&p, idx);
    assert_eq!(s.cleanup(&p, false), Ok(()));
    assert_eq!(s.gp_state(), GpState::Idle);
    assert!(s.poll_state(&p, c));
}

#[test]
fn callbacks_run_in_order_only_after_their_grace_period() {
    let (s, p) = (Srcu::new(), Sim::new(Fault::None));
    let list = FifoList::<u32>::default();
    let idx = s.read_lock(&p);
    let c1 = s.call(&p, &list, 1);
    let c2 = s.call(&p, &list, 2);
    assert!(p.kicks.load(Ordering::Relaxed) >= 1, "call kicked the engine");
    let mut ran = Vec::new();
    for _ in 0..10 {
        s.step(&p);
    }
    assert_eq!(s.invoke_ready(&p, &list, |cb| ran.push(cb)), 0, "no callback before its GP");
    s.read_unlock(&p, idx);
    s.wait_for(&p, c2);
    assert!(s.poll_state(&p, c1));
    // A callback queued now waits for a later grace period.
    let c3 = s.call(&p, &list, 3);
    assert_eq!(s.invoke_ready(&p, &list, |cb| ran.push(cb)), 2);
    assert_eq!(ran, vec![1, 2]);
    assert!(!s.poll_state(&p, c3));
    s.wait_for(&p, c3);
    s.invoke_ready(&p, &list, |cb| ran.push(cb));
    assert_eq!(ran, vec![1, 2, 3]);
}

#[test]
fn barrier_markers_follow_every_earlier_callback_on_every_list() {
    let (s, p) = (Srcu::new(), Sim::new(Fault::None));
    let lists = [FifoList::<i32>::default(), FifoList::<i32>::default()];
    s.call(&p, &lists[0], 1);
    s.call(&p, &lists[1], 2);
    s.call(&p, &lists[1], 3);
    assert_eq!(s.barrier_enqueue(&p, lists.iter(), || -1), 2);
    let mut order = Vec::new();
    while order.iter().filter(|&&x| x == -1).count() < 2 {
        s.step(&p);
        for l in &lists {
            s.invoke_ready(&p, l, |cb| order.push(cb));
        }
    }
    let pos = |v| order.iter().position(|&x| x == v).unwrap();
    assert!(pos(1) < order.iter().rposition(|&x| x == -1).unwrap());
    assert!(pos(3) < order.len() && order[order.len() - 1] == -1);
    assert_eq!(order.iter().filter(|&&x| x > 0).count(), 3);
}

#[test]
fn polling_is_wait_free_and_completed_cookie_always_done() {
    let (s, p) = (Srcu::new(), Sim::new(Fault::None));
    assert!(s.poll_state(&p, Cookie::COMPLETED));
    let seq0 = s.gp_seq();
    let c = s.get_state(&p);
    assert!(!s.poll_state(&p, c));
    assert_eq!(s.gp_seq(), seq0, "get_state/poll_state never drive the engine");
    assert_eq!(p.kicks.load(Ordering::Relaxed), 0, "get_state requests nothing");
    let c2 = s.start_poll(&p);
    assert!(c.same_state(c2), "idle domain: both name the next grace period");
    assert_eq!(p.kicks.load(Ordering::Relaxed), 1);
    // A cookie taken while a grace period is in progress needs the next one.
    let idx = s.read_lock(&p);
    s.step(&p);
    assert_eq!(s.gp_state(), GpState::Scan2);
    let c3 = s.get_state(&p);
    s.request(&p, c3.raw(), false);
    s.read_unlock(&p, idx);
    assert_eq!(
        c3.raw(),
        c2.raw().wrapping_add(crate::seq::ONE_GP),
        "a GP in progress at snapshot time does not count"
    );
    s.wait_for(&p, c2);
    s.wait_for(&p, c3);
    assert_eq!(s.batches_completed(), 2);
}

#[test]
fn concurrent_updaters_share_grace_periods_and_each_waits_for_its_reader() {
    let s = Arc::new((Srcu::new(), Sim::new(Fault::None)));
    const UPDATERS: usize = 8;
    const ROUNDS: usize = 50;
    let handles: Vec<_> = (0..UPDATERS)
        .map(|u| {
            let s = s.clone();
            thread::spawn(move || {
                for r in 0..ROUNDS {
                    // Each updater's own earlier reader, on its own CPU.
                    let freed = Arc::new(AtomicBool::new(false));
                    let idx = Sim::on_cpu(u % CPUS, || s.0.read_lock(&s.1));
                    let (s2, f2) = (s.clone(), freed.clone());
                    let sync = thread::spawn(move || {
                        if r % 2 == 0 {
                            s2.0.synchronize(&s2.1)
                        } else {
                            s2.0.synchronize_expedited(&s2.1)
                        }
                        f2.store(true, Ordering::SeqCst);
                    });
                    thread::yield_now();
                    assert!(!freed.load(Ordering::SeqCst), "synchronize ignored its reader");
                    Sim::on_cpu((u + 1) % CPUS, || s.0.read_unlock(&s.1, idx));
                    sync.join().unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let gps = s.0.batches_completed();
    assert!(gps < UPDATERS * ROUNDS, "{gps} grace periods for {} calls: none shared", UPDATERS * ROUNDS);
}
