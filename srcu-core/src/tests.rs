// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! Unit tests on a simulated platform: sequence wrap, cleanup refusal, callback ordering,
//! nesting depth, cross-CPU unlock, NMI counting, and that broken variants are caught.

use crate::support::FifoList;
use crate::{CallbackList, CleanupError, Cookie, Counter, DelayPolicy, Fault, GpState, Next, Platform, Srcu};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::collections::HashSet;
use std::sync::{Arc, Condvar, Mutex};
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
    policy: DelayPolicy,
    /// Whether `synchronize` callers elect one driver; the wait primitive is an event count
    /// under a mutex with a condition variable, every wait bounded by [`GP_WAIT_BOUND`].
    single: bool,
    events: Mutex<usize>,
    events_cond: Condvar,
    /// Callers inside `gp_wait`.
    sleepers: AtomicUsize,
    /// Threads that ran a scan (barrier A) while `record_scanners` is set.
    scanners: Mutex<HashSet<thread::ThreadId>>,
    record_scanners: AtomicBool,
    /// The token of the last `gp_wait` entered.
    last_token: AtomicUsize,
    /// One-shot: the next `gp_wake` returns only once a caller sleeps on the new count (it
    /// found a driver), to order a hand-off race.
    pause_next_wake: AtomicBool,
    /// Set while that wake is paused.
    wake_paused: AtomicBool,
    /// The platform clock in nanoseconds, or none (`clock_ns` returns `None`).
    clock: Option<AtomicU64>,
}

/// The longest a `gp_wait` sleeper of the simulated platform waits for a wake before it fails
/// the test: a sleeper that nobody wakes is the hand-off bug the single-driver tests look for.
const GP_WAIT_BOUND: Duration = Duration::from_secs(3);

impl Sim {
    fn new(fault: Fault) -> Sim {
        Sim {
            percpu: Default::default(),
            atomic: Default::default(),
            gp_lock: Mutex::new(()),
            kicks: AtomicUsize::new(0),
            fault,
            policy: DelayPolicy::DEFAULT,
            single: false,
            events: Mutex::new(0),
            events_cond: Condvar::new(),
            sleepers: AtomicUsize::new(0),
            scanners: Mutex::new(HashSet::new()),
            record_scanners: AtomicBool::new(false),
            last_token: AtomicUsize::new(usize::MAX),
            pause_next_wake: AtomicBool::new(false),
            wake_paused: AtomicBool::new(false),
            clock: None,
        }
    }
    fn single_driver(fault: Fault) -> Sim {
        Sim { single: true, ..Sim::new(fault) }
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
    fn delay_policy(&self) -> DelayPolicy {
        self.policy
    }
    fn clock_ns(&self) -> Option<u64> {
        self.clock.as_ref().map(|c| c.load(Ordering::SeqCst))
    }
    fn heavy_mb(&self) {
        if self.record_scanners.load(Ordering::SeqCst) {
            self.scanners.lock().unwrap().insert(thread::current().id());
        }
        self.smp_mb();
    }
    fn single_driver(&self) -> bool {
        self.single
    }
    fn gp_wait_token(&self) -> usize {
        *self.events.lock().unwrap()
    }
    fn gp_wait(&self, token: usize) {
        self.last_token.store(token, Ordering::SeqCst);
        self.sleepers.fetch_add(1, Ordering::SeqCst);
        let deadline = std::time::Instant::now() + GP_WAIT_BOUND;
        let mut ev = self.events.lock().unwrap();
        while *ev == token {
            let now = std::time::Instant::now();
            assert!(now < deadline, "a gp_wait sleeper was never woken within {GP_WAIT_BOUND:?}");
            ev = self.events_cond.wait_timeout(ev, deadline - now).unwrap().0;
        }
        drop(ev);
        self.sleepers.fetch_sub(1, Ordering::SeqCst);
    }
    fn gp_wake(&self) {
        let now = {
            let mut ev = self.events.lock().unwrap();
            *ev += 1;
            *ev
        };
        self.events_cond.notify_all();
        if self.pause_next_wake.swap(false, Ordering::SeqCst) {
            self.wake_paused.store(true, Ordering::SeqCst);
            let deadline = std::time::Instant::now() + THREAD_WAIT;
            while self.sleepers.load(Ordering::SeqCst) == 0 || self.last_token.load(Ordering::SeqCst) != now {
                assert!(std::time::Instant::now() < deadline, "no caller went to sleep during the paused wake");
                thread::sleep(Duration::from_millis(1));
            }
        }
    }
}

/// A grace period that flips the reader index: a reader holds the active index through SCAN1's
/// scan, so the idle fast path cannot end it there; SCAN1 finds the inactive index quiescent and
/// flips; the reader leaves; SCAN2 ends it. The reader is one lock and one unlock of the
/// formerly active index on the caller's CPU.
fn gp_with_flip(s: &Srcu, p: &impl Platform) {
    let before = s.reader_index_word();
    let idx = s.read_lock(p);
    let c = s.start_poll(p);
    s.step(p);
    assert_eq!(s.gp_state(), GpState::Scan2, "the busy active index prevented the fast path");
    s.read_unlock(p, idx);
    s.wait_for(p, c);
    assert_eq!(s.reader_index_word(), before.wrapping_add(1), "one flip");
}

/// The longest any threaded test waits for a thread: far beyond any correct run, so that a
/// stuck reader or a stalled grace period fails the test with a message instead of hanging it.
const THREAD_WAIT: Duration = Duration::from_secs(30);

/// Join `h` within [`THREAD_WAIT`], or fail naming `what` (a thread that never ends is left
/// behind; the test binary exits without it).
fn join_within<T>(h: thread::JoinHandle<T>, what: &str) -> T {
    let deadline = std::time::Instant::now() + THREAD_WAIT;
    while !h.is_finished() {
        assert!(
            std::time::Instant::now() < deadline,
            "{what} did not finish within {THREAD_WAIT:?}: a reader left locked or a stalled grace period"
        );
        thread::sleep(Duration::from_millis(1));
    }
    match h.join() {
        Ok(v) => v,
        Err(e) => std::panic::resume_unwind(e),
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
    join_within(h, "synchronize after its reader unlocked");
    // With no reader, both flavours return.
    let (done, h) = sync_returns_within(&s, Duration::from_millis(200), true);
    assert!(done);
    join_within(h, "synchronize_expedited with no reader");
}

#[test]
fn broken_snapshot_lets_synchronize_skip_a_reader() {
    // The test above can fail: with the broken snapshot synchronize does not wait.
    let s = Arc::new((Srcu::new(), Sim::new(Fault::AcceptStartedGp)));
    let idx = s.0.read_lock(&s.1);
    let (done, h) = sync_returns_within(&s, Duration::from_millis(100), false);
    assert!(done, "AcceptStartedGp must return without a grace period");
    join_within(h, "the broken synchronize");
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
    join_within(h, "synchronize after the outermost reader unlocked");
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
    // After a flip the other index's lock counter counts too (the flip's own reader is one).
    gp_with_flip(&s, &p);
    assert_eq!(s.readers_locked_total(&p), base.wrapping_add(3));
    let j = Sim::on_cpu(1, || s.read_lock(&p));
    assert_ne!(j.get(), i0.get(), "the grace period flipped the reader index");
    // The atomic half (NMI readers) counts too.
    let n = Sim::on_cpu(2, || Sim::in_nmi(|| s.read_lock(&p)));
    assert_eq!(p.atomic_read(2, Counter::lock(n.get())), 1);
    assert_eq!(s.readers_locked_total(&p), base.wrapping_add(5));
    Sim::on_cpu(0, || s.read_unlock(&p, n));
    Sim::on_cpu(0, || s.read_unlock(&p, j));
    assert_eq!(s.readers_locked_total(&p), base.wrapping_add(5));
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
    concurrent_updaters(Sim::new(Fault::None));
}

#[test]
fn concurrent_updaters_with_one_driver_share_grace_periods_and_each_waits_for_its_reader() {
    concurrent_updaters(Sim::single_driver(Fault::None));
}

fn concurrent_updaters(sim: Sim) {
    let s = Arc::new((Srcu::new(), sim));
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
                    let ignored = freed.load(Ordering::SeqCst);
                    // Unlock before asserting: a failed assertion must not leave the reader
                    // locked and every other updater waiting for it.
                    Sim::on_cpu((u + 1) % CPUS, || s.0.read_unlock(&s.1, idx));
                    assert!(!ignored, "synchronize ignored its reader");
                    join_within(sync, "an updater's synchronize");
                }
            })
        })
        .collect();
    for h in handles {
        join_within(h, "an updater thread");
    }
    let gps = s.0.batches_completed();
    assert!(gps < UPDATERS * ROUNDS, "{gps} grace periods for {} calls: none shared", UPDATERS * ROUNDS);
}

#[test]
fn cleanup_refuses_while_a_reader_holds_index_1() {
    let (s, p) = (Srcu::new(), Sim::new(Fault::None));
    gp_with_flip(&s, &p); // new readers use index 1
    let idx = Sim::on_cpu(2, || s.read_lock(&p));
    assert_eq!(idx.get(), 1, "after one flip readers use index 1");
    assert!(s.readers_active(&p), "a reader on index 1 is active");
    assert_eq!(s.cleanup(&p, false), Err(CleanupError::ActiveReaders));
    // In NMI (the atomic half) as well.
    let nmi = Sim::on_cpu(3, || Sim::in_nmi(|| s.read_lock(&p)));
    Sim::on_cpu(1, || s.read_unlock(&p, idx));
    assert_eq!(nmi.get(), 1);
    assert_eq!(s.cleanup(&p, false), Err(CleanupError::ActiveReaders));
    Sim::on_cpu(1, || s.read_unlock(&p, nmi));
    assert_eq!(s.cleanup(&p, false), Ok(()));
}

#[test]
fn task_readers_touch_only_the_percpu_half_and_nmi_readers_only_the_atomic_half() {
    let (s, p) = (Srcu::new(), Sim::new(Fault::None));
    const N: usize = 10;
    for round in 0..2 {
        for cpu in 0..CPUS {
            let idxs: Vec<_> = (0..N).map(|_| Sim::on_cpu(cpu, || s.read_lock(&p))).collect();
            for idx in idxs {
                Sim::on_cpu(cpu, || s.read_unlock(&p, idx));
            }
        }
        for cpu in 0..CPUS {
            for slot in 0..Counter::SLOTS {
                assert_eq!(p.atomic[cpu][slot].load(Ordering::Relaxed), 0, "a task reader used the atomic half");
            }
            let i = round;
            assert_eq!(s.reader_index_word() & 1, i, "round {round} uses index {i}");
            assert_eq!(p.percpu_read(cpu, Counter::lock(i)), N, "round {round}: cpu {cpu} lock[{i}]");
            assert_eq!(p.percpu_read(cpu, Counter::unlock(i)), N, "round {round}: cpu {cpu} unlock[{i}]");
        }
        gp_with_flip(&s, &p); // the second round uses the other index
    }
    let q = Sim::new(Fault::None);
    let idx = Sim::on_cpu(1, || Sim::in_nmi(|| s.read_lock(&q)));
    Sim::on_cpu(1, || Sim::in_nmi(|| s.read_unlock(&q, idx)));
    for cpu in 0..CPUS {
        for slot in 0..Counter::SLOTS {
            assert_eq!(q.percpu[cpu][slot].load(Ordering::Relaxed), 0, "an NMI reader used the per-CPU half");
        }
    }
    assert_eq!(q.atomic_read(1, Counter::lock(idx.get())), 1);
    assert_eq!(q.atomic_read(1, Counter::unlock(idx.get())), 1);
}

fn counter_name(c: Counter) -> String {
    let kind = if c.kind() == crate::CounterKind::Lock { "lock" } else { "unlock" };
    format!("{kind}[{}]", c.idx())
}

#[test]
fn barriers_and_counter_reads_come_in_the_documented_order() {
    let (s, p) = (Srcu::new(), Instrumented::recording());
    // Readers: B after the lock increment, C before the unlock increment; task readers in the
    // per-CPU half, NMI readers in the atomic half.
    let idx = s.read_lock(&p);
    s.read_unlock(&p, idx);
    assert_eq!(p.take(), "percpu_inc:lock[0] reader_mb reader_mb percpu_inc:unlock[0]");
    let idx = Sim::in_nmi(|| s.read_lock(&p));
    Sim::in_nmi(|| s.read_unlock(&p, idx));
    assert_eq!(p.take(), "atomic_inc:lock[0] reader_mb reader_mb atomic_inc:unlock[0]");
    // A grace period on an idle domain, driven by synchronize: the idle fast path, one A.
    s.synchronize(&p);
    assert_eq!(
        p.take(),
        [
            "smp_mb smp_mb kick:false",                              // cookie snapshot, request
            "gp_lock smp_mb",                                        // sequence start
            "sum:unlock[0] sum:unlock[1] heavy_mb sum:lock[0] sum:lock[1]", // SCAN1 of both, A
            "smp_mb gp_unlock gp_ended",                             // sequence end, no flip
            "smp_mb",                                                // poll_state: true, barrier
        ]
        .join(" ")
    );
    assert_eq!(s.reader_index_word(), 0, "an idle grace period does not flip");
    // A grace period that a reader on the active index makes flip.
    let idx = s.read_lock(&p);
    let c = s.start_poll(&p);
    p.take();
    s.step(&p);
    s.read_unlock(&p, idx);
    s.step(&p);
    assert_eq!(
        p.take(),
        [
            "gp_lock smp_mb",                                        // sequence start
            "sum:unlock[0] sum:unlock[1] heavy_mb sum:lock[0] sum:lock[1]", // SCAN1 of both, A
            "smp_mb smp_mb",                                         // E, flip, D (light)
            "sum:unlock[0] heavy_mb sum:lock[0]",                    // SCAN2: our reader
            "gp_unlock",
            "reader_mb percpu_inc:unlock[0]",                        // it leaves (C)
            "gp_lock sum:unlock[0] heavy_mb sum:lock[0]",            // SCAN2 again, with A
            "smp_mb gp_unlock gp_ended",                             // sequence end
        ]
        .join(" ")
    );
    assert!(s.poll_state(&p, c));
    p.take();
    // Polling: a false answer has no barrier, a true one is followed by one.
    let c = s.start_poll(&p);
    assert_eq!(p.take(), "smp_mb smp_mb kick:false");
    assert!(!s.poll_state(&p, c));
    assert_eq!(p.take(), "");
    assert!(s.poll_state(&p, Cookie::COMPLETED));
    assert_eq!(p.take(), "smp_mb");
    // Cleanup's reader check: unlocks on both indexes, A, locks on both indexes.
    s.wait_for(&p, c);
    p.take();
    assert!(!s.readers_active(&p));
    assert_eq!(p.take(), "sum:unlock[0] sum:unlock[1] heavy_mb sum:lock[0] sum:lock[1]");
}

/// A platform that only counts its full barriers, to check the trait's default barriers.
struct CountsBarriers(AtomicUsize);

impl Platform for CountsBarriers {
    fn percpu_inc(&self, _c: Counter) {}
    fn atomic_inc(&self, _c: Counter) {}
    fn percpu_read(&self, _cpu: usize, _c: Counter) -> usize {
        0
    }
    fn atomic_read(&self, _cpu: usize, _c: Counter) -> usize {
        0
    }
    fn nr_cpus(&self) -> usize {
        1
    }
    fn in_nmi(&self) -> bool {
        false
    }
    fn smp_mb(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
    fn with_gp_lock<R>(&self, f: impl FnOnce() -> R) -> R {
        f()
    }
    fn kick(&self, _expedited: bool) {}
    fn relax(&self) {}
    fn sleep(&self, _usecs: u32) {}
}

#[test]
fn default_reader_and_heavy_barriers_are_full_barriers() {
    let p = CountsBarriers(AtomicUsize::new(0));
    p.reader_mb();
    assert_eq!(p.0.load(Ordering::SeqCst), 1, "the default reader_mb is smp_mb");
    p.heavy_mb();
    assert_eq!(p.0.load(Ordering::SeqCst), 2, "the default heavy_mb is smp_mb");
    assert_eq!(p.fault(), Fault::None, "production platforms inject no fault");
    assert!(p.cpu_possible(0), "every CPU is possible by default");
}

/// [`Sim`], instrumented: it can record, in order, every barrier (by kind), counter increment,
/// run of counter reads and grace-period lock, and run hooks — `on_gp_lock` each time the
/// grace-period lock is about to be taken, `on_wait` each time an updater relaxes or sleeps.
struct Instrumented<'a> {
    sim: Sim,
    log: Option<Mutex<Vec<String>>>,
    on_gp_lock: Box<dyn Fn(&Sim) + 'a>,
    on_wait: Box<dyn Fn(&Sim) + 'a>,
}

impl<'a> Instrumented<'a> {
    /// A platform that records and has no hooks.
    fn recording() -> Self {
        Instrumented { log: Some(Mutex::new(Vec::new())), ..Self::hooked(|_| (), |_| ()) }
    }
    /// A platform with hooks that records nothing.
    fn hooked(on_gp_lock: impl Fn(&Sim) + 'a, on_wait: impl Fn(&Sim) + 'a) -> Self {
        Instrumented {
            sim: Sim::new(Fault::None),
            log: None,
            on_gp_lock: Box::new(on_gp_lock),
            on_wait: Box::new(on_wait),
        }
    }
    fn note(&self, ev: impl FnOnce() -> String) {
        let Some(log) = &self.log else { return };
        let ev = ev();
        let mut log = log.lock().unwrap();
        // A run of reads of one counter over the CPUs is one scan step.
        if ev.starts_with("sum") && log.last() == Some(&ev) {
            return;
        }
        log.push(ev);
    }
    /// The events recorded since the last call, space-separated.
    fn take(&self) -> String {
        let log = self.log.as_ref().expect("a recording platform");
        std::mem::take(&mut *log.lock().unwrap()).join(" ")
    }
}

impl Platform for Instrumented<'_> {
    fn percpu_inc(&self, c: Counter) {
        self.note(|| format!("percpu_inc:{}", counter_name(c)));
        self.sim.percpu_inc(c)
    }
    fn atomic_inc(&self, c: Counter) {
        self.note(|| format!("atomic_inc:{}", counter_name(c)));
        self.sim.atomic_inc(c)
    }
    fn percpu_read(&self, cpu: usize, c: Counter) -> usize {
        self.note(|| format!("sum:{}", counter_name(c)));
        self.sim.percpu_read(cpu, c)
    }
    fn atomic_read(&self, cpu: usize, c: Counter) -> usize {
        self.note(|| format!("sum:{}", counter_name(c)));
        self.sim.atomic_read(cpu, c)
    }
    fn nr_cpus(&self) -> usize {
        CPUS
    }
    fn in_nmi(&self) -> bool {
        self.sim.in_nmi()
    }
    fn smp_mb(&self) {
        self.note(|| "smp_mb".into());
        self.sim.smp_mb()
    }
    fn reader_mb(&self) {
        self.note(|| "reader_mb".into());
        self.sim.smp_mb()
    }
    fn heavy_mb(&self) {
        self.note(|| "heavy_mb".into());
        self.sim.smp_mb()
    }
    fn with_gp_lock<R>(&self, f: impl FnOnce() -> R) -> R {
        (self.on_gp_lock)(&self.sim);
        self.note(|| "gp_lock".into());
        let r = self.sim.with_gp_lock(f);
        self.note(|| "gp_unlock".into());
        r
    }
    fn kick(&self, expedited: bool) {
        self.note(|| format!("kick:{expedited}"));
    }
    fn gp_ended(&self) {
        self.note(|| "gp_ended".into());
    }
    fn relax(&self) {
        self.note(|| "relax".into());
        (self.on_wait)(&self.sim)
    }
    fn sleep(&self, usecs: u32) {
        self.note(|| format!("sleep:{usecs}"));
        (self.on_wait)(&self.sim)
    }
}

#[test]
fn cleanup_refuses_a_reader_that_arrives_while_it_finishes_the_grace_period() {
    let s = Srcu::new();
    // The straggler: a reader that read srcu_idx before the last flip increments the index the
    // current scan drains, the first time cleanup takes the grace-period lock.
    let arrive = Cell::new(false);
    let p = Instrumented::hooked(
        |sim| {
            if arrive.replace(false) {
                sim.percpu_inc(Counter::lock(1 ^ (s.reader_index_word() & 1)));
            }
        },
        |_| (),
    );
    let idx = s.read_lock(&p);
    let c = s.start_poll(&p);
    s.step(&p); // SCAN1 passes, flip, SCAN2 waits for our reader
    assert_eq!(s.gp_state(), GpState::Scan2);
    s.read_unlock(&p, idx);
    arrive.set(true);
    assert_eq!(s.cleanup(&p, false), Err(CleanupError::ActiveReaders), "bounded, then refused");
    assert!(!s.poll_state(&p, c), "the straggler holds the grace period");
    p.sim.percpu_inc(Counter::unlock(1 ^ (s.reader_index_word() & 1)));
    assert_eq!(s.cleanup(&p, false), Ok(()));
    assert!(s.poll_state(&p, c));
}

#[test]
fn a_straggler_on_the_inactive_index_holds_scan1() {
    let (s, p) = (Srcu::new(), Sim::new(Fault::None));
    gp_with_flip(&s, &p); // srcu_idx is now 1: index 0 is inactive
    // A reader that read srcu_idx = 0 before that flip and increments only now.
    p.percpu_inc(Counter::lock(0));
    let c = s.start_poll(&p);
    for _ in 0..3 {
        s.step(&p);
    }
    assert_eq!(s.gp_state(), GpState::Scan1, "SCAN1 (and the fast path) wait for the straggler on index 0");
    assert!(!s.poll_state(&p, c));
    p.percpu_inc(Counter::unlock(0));
    s.wait_for(&p, c);
    assert_eq!(s.reader_index_word(), 1, "the idle fast path ended the second grace period: no flip");
}

#[test]
fn requests_kick_once_and_only_expedited_ones_expedite() {
    let (s, p) = (Srcu::new(), Sim::new(Fault::None));
    let idx = s.read_lock(&p);
    // A normal grace period: one scan without delay, then sleeps from 100 us, doubling.
    let c = s.start_poll(&p);
    assert_eq!(s.start_poll(&p), c);
    assert_eq!(p.kicks.load(Ordering::Relaxed), 1, "the same request kicks once");
    let nexts: Vec<Next> = (0..10).map(|_| s.step(&p).next).collect();
    let mut want = vec![Next::RetryNow];
    want.extend([100, 200, 400, 800, 1600, 3200, 6400, 10_000, 10_000].map(Next::RetryAfter));
    assert_eq!(nexts, want, "a normal request is not expedited; sleeps double up to 10 ms");
    // Expediting the same grace period kicks once more and scans without delay for a while.
    s.request(&p, c.raw(), true);
    s.request(&p, c.raw(), true);
    assert_eq!(p.kicks.load(Ordering::Relaxed), 2, "the same expedited request kicks once");
    s.read_unlock(&p, idx);
    s.wait_for(&p, c);
    let idx = s.read_lock(&p);
    let c = s.start_poll_expedited(&p);
    let nexts: Vec<Next> = (0..10).map(|_| s.step(&p).next).collect();
    let mut want = vec![Next::RetryNow; 8];
    want.extend([Next::RetryAfter(20), Next::RetryAfter(40)]);
    assert_eq!(nexts, want, "an expedited grace period");
    s.read_unlock(&p, idx);
    s.wait_for(&p, c);
}

#[test]
fn the_platforms_delay_policy_sets_every_delay() {
    let policy = DelayPolicy {
        expedited_nodelay_scans: 2,
        expedited_first_sleep_us: 7,
        normal_nodelay_scans: 0,
        normal_first_sleep_us: 3,
        max_sleep_us: 50,
        exp_holdoff_ns: 0,
    };
    let (s, p) = (Srcu::new(), Sim { policy, ..Sim::new(Fault::None) });
    let idx = s.read_lock(&p);
    let c = s.start_poll(&p);
    let nexts: Vec<Next> = (0..6).map(|_| s.step(&p).next).collect();
    assert_eq!(nexts, [3, 6, 12, 24, 48, 50].map(Next::RetryAfter), "normal: no retry without delay");
    s.read_unlock(&p, idx);
    s.wait_for(&p, c);
    let idx = s.read_lock(&p);
    let c = s.start_poll_expedited(&p);
    let nexts: Vec<Next> = (0..6).map(|_| s.step(&p).next).collect();
    let mut want = vec![Next::RetryNow; 2];
    want.extend([7, 14, 28, 50].map(Next::RetryAfter));
    assert_eq!(nexts, want, "expedited");
    s.read_unlock(&p, idx);
    s.wait_for(&p, c);
    // The largest values neither overflow nor panic: the sleep is clamped to the longest.
    let huge = DelayPolicy { normal_nodelay_scans: 0, normal_first_sleep_us: u32::MAX, max_sleep_us: u32::MAX, ..policy };
    let (s, p) = (Srcu::new(), Sim { policy: huge, ..Sim::new(Fault::None) });
    let idx = s.read_lock(&p);
    let c = s.start_poll(&p);
    let nexts: Vec<Next> = (0..12).map(|_| s.step(&p).next).collect();
    assert!(nexts.iter().all(|n| *n == Next::RetryAfter(u32::MAX)), "{nexts:?}");
    s.read_unlock(&p, idx);
    s.wait_for(&p, c);
    assert_eq!(DelayPolicy::default(), DelayPolicy::DEFAULT);
}

/// Whether the domain's last request was expedited up to its needed grace period.
fn expedited_request(s: &Srcu) -> bool {
    s.gp_seq_needed_exp.load(Ordering::SeqCst) == s.needed()
}

#[test]
fn synchronize_expedites_only_when_the_domain_looks_idle() {
    let clocked = |t: u64| Sim { clock: Some(AtomicU64::new(t)), ..Sim::new(Fault::None) };
    let (s, p) = (Srcu::new(), clocked(1_000_000));
    assert!(s.might_be_idle(&p), "idle, and long after the (never) last grace period");
    s.synchronize(&p);
    assert!(expedited_request(&s), "a lone synchronize on an idle domain is expedited");
    assert!(!s.might_be_idle(&p), "the clock has not moved since that grace period ended");
    s.synchronize(&p);
    assert!(!expedited_request(&s), "within exp_holdoff_ns of the last grace period: normal");
    p.clock.as_ref().unwrap().fetch_add(25_000, Ordering::SeqCst);
    assert!(s.might_be_idle(&p), "exp_holdoff_ns later");
    let c = s.start_poll(&p);
    assert!(!s.might_be_idle(&p), "a grace period is requested");
    s.wait_for(&p, c);
    p.clock.as_ref().unwrap().fetch_add(25_000, Ordering::SeqCst);
    let idx = s.read_lock(&p);
    let c = s.start_poll(&p);
    assert_eq!(s.step(&p).next, Next::RetryNow, "SCAN1 finds the reader");
    assert!(!s.might_be_idle(&p), "a grace period is in progress");
    s.read_unlock(&p, idx);
    s.wait_for(&p, c);
    // No clock, or a holdoff of 0: never.
    let (s, p) = (Srcu::new(), Sim::new(Fault::None));
    assert!(!s.might_be_idle(&p));
    s.synchronize(&p);
    assert!(!expedited_request(&s));
    let never = DelayPolicy { exp_holdoff_ns: 0, ..DelayPolicy::DEFAULT };
    let (s, p) = (Srcu::new(), Sim { policy: never, ..clocked(1_000_000) });
    assert!(!s.might_be_idle(&p));
}

#[test]
fn cleanup_signals_the_grace_period_it_ends() {
    let (s, p) = (Srcu::new(), Instrumented::recording());
    let idx = s.read_lock(&p);
    let c = s.start_poll(&p);
    assert_eq!(s.step(&p).ended, 0, "the reader holds the grace period in SCAN1");
    s.read_unlock(&p, idx);
    p.take();
    assert_eq!(s.cleanup(&p, false), Ok(()));
    assert!(p.take().contains("gp_ended"), "cleanup ended the grace period: gp_ended, as any other end");
    assert!(s.poll_state(&p, c));
}

#[test]
fn a_step_that_ends_no_grace_period_reports_none() {
    let (s, p) = (Srcu::new(), Instrumented::recording());
    assert_eq!(s.step(&p), crate::StepReport { next: Next::Idle, ended: 0 });
    assert_eq!(p.take(), "gp_lock gp_unlock", "no gp_ended without an ended grace period");
    let idx = s.read_lock(&p);
    s.start_poll(&p);
    p.take();
    assert_eq!(s.step(&p).ended, 0);
    assert!(!p.take().contains("gp_ended"));
    s.read_unlock(&p, idx);
    assert_eq!(s.step(&p).ended, 1);
    assert!(p.take().ends_with("gp_unlock gp_ended"));
}

#[test]
fn one_step_runs_every_grace_period_requested() {
    let (s, p) = (Srcu::new(), Sim::new(Fault::None));
    let idx = s.read_lock(&p);
    let c1 = s.start_poll(&p);
    s.step(&p); // SCAN2 waits for our reader
    let c2 = s.start_poll(&p); // needs the next grace period as well
    assert!(!c1.same_state(c2), "two grace periods, two states");
    s.read_unlock(&p, idx);
    let r = s.step(&p);
    assert_eq!(r, crate::StepReport { next: Next::Idle, ended: 2 }, "both grace periods in one step");
    assert!(s.poll_state(&p, c1) && s.poll_state(&p, c2));
}

#[test]
fn one_step_runs_every_grace_period_requested_from_the_fast_path() {
    let (s, p) = (Srcu::new(), Sim::new(Fault::None));
    gp_with_flip(&s, &p); // index 0 is inactive
    // A straggler on the inactive index holds the first grace period in SCAN1.
    p.percpu_inc(Counter::lock(0));
    let c1 = s.start_poll(&p);
    s.step(&p);
    assert_eq!(s.gp_state(), GpState::Scan1);
    let c2 = s.start_poll(&p); // needs the next grace period as well
    assert!(!c1.same_state(c2));
    p.percpu_inc(Counter::unlock(0));
    let r = s.step(&p);
    assert_eq!(r, crate::StepReport { next: Next::Idle, ended: 2 }, "both in one step, both by the fast path");
    assert!(s.poll_state(&p, c1) && s.poll_state(&p, c2));
    assert_eq!(s.reader_index_word(), 1, "no flip");
}

#[test]
fn faults_round_trip_through_their_numbers() {
    let all = [
        Fault::None,
        Fault::SkipFirstScan,
        Fault::SkipSecondScan,
        Fault::NoBarrierA,
        Fault::NmiInPercpuHalf,
        Fault::AcceptStartedGp,
        Fault::LocksBeforeUnlocks,
        Fault::FastPathActiveOnly,
        Fault::SkipDriverRecheck,
        Fault::UpReadOtherIndex,
    ];
    for (n, f) in all.iter().enumerate() {
        assert_eq!(Fault::from_raw(n as u32), Some(*f));
        assert_eq!(*f as u32, n as u32);
    }
    assert_eq!(Fault::from_raw(all.len() as u32), None);
    assert_eq!(Fault::from_raw(u32::MAX), None);
}

#[test]
fn synchronize_relaxes_or_sleeps_while_readers_hold_it() {
    let s = Srcu::new();
    // Our reader on index 0 leaves on the updater's first wait.
    let waits = Cell::new(0);
    let p = Instrumented::hooked(
        |_| (),
        |sim| {
            if waits.replace(waits.get() + 1) == 0 {
                sim.percpu_inc(Counter::unlock(0));
            }
        },
    );
    let _idx = s.read_lock(&p);
    s.synchronize(&p);
    assert_eq!(waits.get(), 1, "synchronize waited once, outside the engine, then returned");
}

/// Eight `synchronize` callers while a reader holds the grace period: which threads scan.
fn scanning_threads_while_a_reader_holds(sim: Sim) -> usize {
    const CALLERS: usize = 8;
    let s = Arc::new((Srcu::new(), sim));
    let idx = s.0.read_lock(&s.1);
    s.1.record_scanners.store(true, Ordering::SeqCst);
    let handles: Vec<_> = (0..CALLERS)
        .map(|_| {
            let s = s.clone();
            thread::spawn(move || s.0.synchronize(&s.1))
        })
        .collect();
    // Every caller has either scanned or gone to sleep (bounded: a stuck caller fails).
    let deadline = std::time::Instant::now() + THREAD_WAIT;
    while s.1.scanners.lock().unwrap().len() + s.1.sleepers.load(Ordering::SeqCst) < CALLERS {
        assert!(std::time::Instant::now() < deadline, "callers neither scanned nor slept");
        thread::sleep(Duration::from_millis(1));
    }
    thread::sleep(Duration::from_millis(20));
    let scanners = s.1.scanners.lock().unwrap().len();
    s.1.record_scanners.store(false, Ordering::SeqCst);
    s.0.read_unlock(&s.1, idx);
    for h in handles {
        join_within(h, "a synchronize caller");
    }
    scanners
}

#[test]
fn with_one_driver_only_one_caller_scans_whatever_the_number_of_callers() {
    assert_eq!(scanning_threads_while_a_reader_holds(Sim::single_driver(Fault::None)), 1);
    // The check can fail: without a single driver every caller scans.
    assert_eq!(scanning_threads_while_a_reader_holds(Sim::new(Fault::None)), 8);
}

/// A driver `D` ends its grace period; before it stops driving, a second caller `S` arrives
/// (so it needs the next grace period), finds `D` driving and sleeps. `D`'s wake at the end of
/// its grace period pauses until `S` sleeps, which is the window of the race. `D`'s re-check
/// must then hand `S`'s grace period on.
fn driver_hands_off_to_a_later_caller(fault: Fault) -> thread::Result<()> {
    let s = Arc::new((Srcu::new(), Sim::single_driver(fault)));
    s.1.pause_next_wake.store(true, Ordering::SeqCst);
    let d = {
        let s = s.clone();
        thread::spawn(move || s.0.synchronize(&s.1))
    };
    let deadline = std::time::Instant::now() + THREAD_WAIT;
    while !s.1.wake_paused.load(Ordering::SeqCst) {
        assert!(std::time::Instant::now() < deadline, "the driver never ended its grace period");
        thread::sleep(Duration::from_millis(1));
    }
    let sl = {
        let s = s.clone();
        thread::spawn(move || s.0.synchronize(&s.1))
    };
    join_within(d, "the driver");
    let deadline = std::time::Instant::now() + THREAD_WAIT;
    while !sl.is_finished() {
        assert!(std::time::Instant::now() < deadline, "the sleeper outlived its own wait bound");
        thread::sleep(Duration::from_millis(1));
    }
    let r = sl.join();
    if r.is_ok() {
        assert_eq!(s.0.batches_completed(), 2, "each caller had a grace period that began after its call");
    }
    r
}

#[test]
fn a_driver_that_stops_hands_off_to_a_caller_that_found_it_driving() {
    assert!(driver_hands_off_to_a_later_caller(Fault::None).is_ok());
}

#[test]
fn broken_driver_recheck_leaves_a_sleeper_unwoken() {
    let r = driver_hands_off_to_a_later_caller(Fault::SkipDriverRecheck);
    let e = r.expect_err("SkipDriverRecheck must leave the second caller asleep");
    let msg = e.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("never woken"), "caught by the wait bound, not by something else: {msg}");
}

#[test]
fn cleanup_wakes_sleepers_when_it_ends_a_grace_period() {
    let (s, p) = (Srcu::new(), Sim::single_driver(Fault::None));
    s.start_poll(&p);
    let before = p.gp_wait_token();
    p.with_gp_lock(|| ());
    // Start the grace period without ending it, as a driver interrupted between steps would.
    let idx = s.read_lock(&p);
    s.step(&p);
    assert_ne!(s.gp_state(), GpState::Idle);
    s.read_unlock(&p, idx);
    assert_eq!(p.gp_wait_token(), before, "no grace period ended yet");
    assert_eq!(s.cleanup(&p, false), Ok(()));
    assert_eq!(p.gp_wait_token(), before.wrapping_add(1), "cleanup ended it and woke the sleepers");
}
