// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! A threaded torture test of srcu-core in rcutorture's style.
//!
//! A writer publishes elements and retires the old ones through a pipeline: every grace period
//! that ends after an element's removal ages it by one, and at [`PIPE_LEN`] it is poisoned and
//! reused. Readers check the element they hold at the end of their critical section: an age
//! above 1 means a grace period completed while they held it (rcutorture's "Reader Pipe" beyond
//! 1), and a poisoned element means a use after free.
//!
//! The platform exercises the split counters the way a generic architecture would:
//! * each "CPU" is a thread that owns its per-CPU-op half and increments it with a plain load,
//!   a short window, then a store (no atomic read-modify-write);
//! * POSIX signals delivered to those threads act as NMIs: the handler runs an NMI reader that
//!   may land between that load and store — safe only because NMI readers use the atomic half;
//! * a delay hook sits between a reader's load of `srcu_idx` and its increment;
//! * readers nest, sleep, and hand their unlock to another CPU's thread;
//! * a writer (synchronize, expedited, polling, call) and two extra updaters run at once, while
//!   an engine thread drives grace periods and invokes callbacks.
//!
//! Each configuration runs in a child process of this test binary (a fresh domain and signal
//! handler, and a hung variant can be killed). `SRCU_TORTURE_SECS` sets the duration of the
//! correct run (default 5); the broken variants run until they fail, or for 10 s (45 s for the
//! straggler variants, `SkipFirstScan` and `FastPathActiveOnly`).
//!
//! Time limits — the stall limit of a grace period (5 s) and the slack before a child is killed
//! (20 s beyond its duration) — scale with the machine's load: they are multiplied by
//! `SRCU_TORTURE_SLACK` if the caller sets it, else by 1 + the one-minute load average per CPU
//! (`/proc/loadavg`), so a correct run on a loaded machine is not killed for being slow.

use srcu_core::{CallbackList, Counter, CounterKind, Fault, Next, Platform, ReaderIndex, Srcu};
use srcu_rs_ffi::test_nmi;
use std::cell::Cell;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::*};
use std::sync::{Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};
use support::FifoList;

#[path = "../srcu-core/tests/support/mod.rs"]
mod support;

const CPUS: usize = 3;
/// Counter rows: one per reader CPU, plus one for updater threads (which never read-lock).
const ROWS: usize = CPUS + 1;
const POOL: usize = 512;
const PIPE_LEN: usize = 4;
const ALIVE: usize = 0x5a5a_5a5a;
const POISON: usize = 0xdead_beef;

thread_local! {
    static CPU: Cell<usize> = const { Cell::new(CPUS) };
    static IN_NMI: Cell<bool> = const { Cell::new(false) };
    static RNG: Cell<u64> = const { Cell::new(0x9e37_79b9_7f4a_7c15) };
}

fn rand() -> u64 {
    RNG.with(|r| {
        let mut x = r.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        r.set(x);
        x
    })
}

fn one_in(n: u64) -> bool {
    rand() % n == 0
}

struct Elem {
    pipe: AtomicUsize,
    magic: AtomicUsize,
}

type Cb = Box<dyn FnOnce(&'static World) + Send>;

type CbList = FifoList<Cb>;

struct World {
    srcu: Srcu,
    fault: Fault,
    percpu: [[AtomicUsize; Counter::SLOTS]; ROWS],
    atomic: [[AtomicUsize; Counter::SLOTS]; ROWS],
    gp_lock: Mutex<()>,
    engine: OnceLock<thread::Thread>,
    elems: Vec<Elem>,
    current: AtomicUsize,
    free: Mutex<Vec<usize>>,
    cbs: CbList,
    /// Cross-CPU hand-offs: (reader index, element) to be checked and unlocked by CPU n.
    inbox: [Mutex<Vec<(ReaderIndex, usize)>>; CPUS],
    in_flight: AtomicUsize,
    /// Reader threads that have left their read loop (no more hand-offs from them).
    readers_out: AtomicUsize,
    stop_readers: AtomicBool,
    stop_updaters: AtomicBool,
    errors: AtomicU64,
    poisoned: AtomicU64,
    reads: AtomicU64,
    nmi_reads: AtomicU64,
    migrated: AtomicU64,
    hist: [AtomicU64; PIPE_LEN + 2],
    writer_gps: AtomicU64,
    in_gp_since: AtomicU64,
}

static WORLD: OnceLock<World> = OnceLock::new();
static EPOCH: OnceLock<Instant> = OnceLock::new();

fn now_ms() -> u64 {
    EPOCH.get_or_init(Instant::now).elapsed().as_millis() as u64
}

/// The platform view of the calling thread (its CPU and NMI state are thread-locals).
struct View<'a>(&'a World);

impl Platform for View<'_> {
    fn percpu_inc(&self, c: Counter) {
        let nmi = IN_NMI.with(Cell::get);
        if c.kind() == CounterKind::Lock && !nmi {
            // Delay hook, between the read of srcu_idx and the increment: now and then long
            // enough to straddle a whole grace period (about half a millisecond here), so a
            // straggler increments an index that has been flipped away from and back.
            if one_in(64) {
                thread::sleep(Duration::from_micros(100 + rand() % 2000));
            } else if one_in(16) {
                thread::yield_now();
            }
        }
        let cell = &self.0.percpu[CPU.with(Cell::get)][c.slot()];
        // The generic per-CPU increment: load, add, store. Interrupts (other contexts of this
        // thread) cannot run in between — except the signal handler, our NMI.
        let v = cell.load(Relaxed);
        for _ in 0..16 {
            std::hint::spin_loop();
        }
        cell.store(v.wrapping_add(1), Relaxed);
    }
    fn atomic_inc(&self, c: Counter) {
        self.0.atomic[CPU.with(Cell::get)][c.slot()].fetch_add(1, Relaxed);
    }
    fn percpu_read(&self, cpu: usize, c: Counter) -> usize {
        self.0.percpu[cpu][c.slot()].load(Relaxed)
    }
    fn atomic_read(&self, cpu: usize, c: Counter) -> usize {
        self.0.atomic[cpu][c.slot()].load(Relaxed)
    }
    fn nr_cpus(&self) -> usize {
        ROWS
    }
    fn in_nmi(&self) -> bool {
        IN_NMI.with(Cell::get)
    }
    fn smp_mb(&self) {
        std::sync::atomic::fence(SeqCst);
    }
    fn with_gp_lock<R>(&self, f: impl FnOnce() -> R) -> R {
        let _g = self.0.gp_lock.lock().unwrap();
        f()
    }
    fn kick(&self, _expedited: bool) {
        if let Some(t) = self.0.engine.get() {
            t.unpark();
        }
    }
    fn relax(&self) {
        thread::yield_now();
    }
    fn sleep(&self, usecs: u32) {
        thread::sleep(Duration::from_micros(usecs.into()));
    }
    fn fault(&self) -> Fault {
        self.0.fault
    }
}

impl World {
    fn new(fault: Fault) -> World {
        let elems: Vec<Elem> = (0..POOL)
            .map(|_| Elem {
                pipe: AtomicUsize::new(0),
                magic: AtomicUsize::new(ALIVE),
            })
            .collect();
        World {
            srcu: Srcu::new(),
            fault,
            percpu: Default::default(),
            atomic: Default::default(),
            gp_lock: Mutex::new(()),
            engine: OnceLock::new(),
            elems,
            current: AtomicUsize::new(0),
            free: Mutex::new((1..POOL).collect()),
            cbs: CbList::default(),
            inbox: Default::default(),
            in_flight: AtomicUsize::new(0),
            readers_out: AtomicUsize::new(0),
            stop_readers: AtomicBool::new(false),
            stop_updaters: AtomicBool::new(false),
            errors: AtomicU64::new(0),
            poisoned: AtomicU64::new(0),
            reads: AtomicU64::new(0),
            nmi_reads: AtomicU64::new(0),
            migrated: AtomicU64::new(0),
            hist: Default::default(),
            writer_gps: AtomicU64::new(0),
            in_gp_since: AtomicU64::new(0),
        }
    }

    fn p(&self) -> View<'_> {
        View(self)
    }

    /// The end-of-critical-section check (async-signal-safe: atomics only).
    fn check(&self, e: usize) {
        let Some(el) = self.elems.get(e) else { return };
        if el.magic.load(Relaxed) != ALIVE {
            self.poisoned.fetch_add(1, Relaxed);
            self.errors.fetch_add(1, Relaxed);
        }
        let age = el.pipe.load(Relaxed);
        if age > 1 {
            self.errors.fetch_add(1, Relaxed);
        }
        if let Some(h) = self.hist.get(age.min(PIPE_LEN + 1)) {
            h.fetch_add(1, Relaxed);
        }
    }

    fn nmi_reader(&self) {
        IN_NMI.with(|n| n.set(true));
        let p = self.p();
        let idx = self.srcu.read_lock(&p);
        let e = self.current.load(Acquire);
        self.check(e);
        self.srcu.read_unlock(&p, idx);
        self.nmi_reads.fetch_add(1, Relaxed);
        IN_NMI.with(|n| n.set(false));
    }

    fn drain_inbox(&self, cpu: usize) {
        let Some(inbox) = self.inbox.get(cpu) else {
            return;
        };
        let handed: Vec<_> = std::mem::take(&mut *inbox.lock().unwrap());
        let p = self.p();
        for (idx, e) in handed {
            self.check(e);
            self.srcu.read_unlock(&p, idx);
            self.in_flight.fetch_sub(1, Relaxed);
        }
    }

    fn reader(&self, cpu: usize) {
        CPU.with(|c| c.set(cpu));
        RNG.with(|r| r.set(0x2545_f491_4f6c_dd1d ^ (cpu as u64 + 1) * 0x9e37_79b9));
        let p = self.p();
        while !self.stop_readers.load(Relaxed) {
            self.drain_inbox(cpu);
            let idx = self.srcu.read_lock(&p);
            let e = self.current.load(Acquire);
            let nest = (rand() % 3) as usize;
            let inner: Vec<_> = (0..nest).map(|_| self.srcu.read_lock(&p)).collect();
            if one_in(64) {
                thread::sleep(Duration::from_micros(20 + rand() % 100));
            } else if one_in(8) {
                thread::yield_now();
            }
            for i in inner.into_iter().rev() {
                self.srcu.read_unlock(&p, i);
            }
            self.reads.fetch_add(1, Relaxed);
            if one_in(16) {
                // Unlock on another CPU: hand the reader to the next CPU's thread.
                let to = (cpu + 1) % CPUS;
                self.in_flight.fetch_add(1, Relaxed);
                self.migrated.fetch_add(1, Relaxed);
                if let Some(inbox) = self.inbox.get(to) {
                    inbox.lock().unwrap().push((idx, e));
                }
                continue;
            }
            self.check(e);
            self.srcu.read_unlock(&p, idx);
        }
        // Keep unlocking hand-offs until every reader has left its loop (none can hand off
        // any more) and none are in flight. Leaving as soon as none are in flight would lose a
        // hand-off that a reader still in its loop makes to this CPU afterwards: that reader
        // would then wait for its unlock forever.
        self.readers_out.fetch_add(1, SeqCst);
        while self.readers_out.load(SeqCst) < CPUS || self.in_flight.load(SeqCst) > 0 {
            self.drain_inbox(cpu);
            thread::yield_now();
        }
    }

    fn release(&self, e: usize) {
        if let Some(el) = self.elems.get(e) {
            el.magic.store(POISON, Relaxed);
        }
        self.free.lock().unwrap().push(e);
    }

    /// A callback chain: age the element once per grace period, free it at PIPE_LEN.
    fn cb_age(&'static self, e: usize) {
        let Some(el) = self.elems.get(e) else { return };
        if el.pipe.fetch_add(1, Relaxed) + 1 >= PIPE_LEN {
            self.release(e);
        } else {
            self.srcu.call(
                &self.p(),
                &self.cbs,
                Box::new(move |w: &'static World| w.cb_age(e)),
            );
        }
    }

    fn writer(&'static self) {
        let p = self.p();
        let mut removed: Vec<usize> = Vec::new();
        let mut round = 0u64;
        while !self.stop_updaters.load(Relaxed) {
            let Some(new) = self.free.lock().unwrap().pop() else {
                thread::sleep(Duration::from_micros(200));
                continue;
            };
            let el = &self.elems[new];
            el.pipe.store(0, Relaxed);
            el.magic.store(ALIVE, Relaxed);
            let old = self.current.swap(new, AcqRel);
            self.elems[old].pipe.store(1, Relaxed);
            round += 1;
            if round % 4 == 3 {
                self.srcu.call(
                    &p,
                    &self.cbs,
                    Box::new(move |w: &'static World| w.cb_age(old)),
                );
                continue;
            }
            removed.push(old);
            self.in_gp_since.store(now_ms(), Relaxed);
            match round % 4 {
                0 => self.srcu.synchronize(&p),
                1 => self.srcu.synchronize_expedited(&p),
                _ => {
                    let c = self.srcu.start_poll(&p);
                    while !self.srcu.poll_state(&p, c) {
                        thread::sleep(Duration::from_micros(100));
                    }
                }
            }
            self.in_gp_since.store(0, Relaxed);
            self.writer_gps.fetch_add(1, Relaxed);
            removed.retain(|&e| {
                let age = self.elems[e].pipe.fetch_add(1, Relaxed) + 1;
                if age >= PIPE_LEN {
                    self.release(e);
                    false
                } else {
                    true
                }
            });
        }
    }

    /// Extra updaters: concurrent synchronize callers and pollers that share grace periods.
    fn fake_writer(&self, kind: usize) {
        let p = self.p();
        while !self.stop_updaters.load(Relaxed) {
            match (kind + (rand() % 3) as usize) % 3 {
                0 => self.srcu.synchronize(&p),
                1 => self.srcu.synchronize_expedited(&p),
                _ => {
                    let c = self.srcu.get_state(&p);
                    let _ = self.srcu.poll_state(&p, c);
                    thread::sleep(Duration::from_micros(200));
                }
            }
        }
    }

    /// Drives grace periods for pollers and callbacks, and invokes ready callbacks.
    fn engine(&'static self) {
        let p = self.p();
        loop {
            let r = self.srcu.step(&p);
            while let Some(cb) = self.cbs.dequeue_if(|c| self.srcu.poll_state(&p, c)) {
                cb(self);
            }
            if self.stop_updaters.load(Relaxed) && self.cbs.is_empty() && r.next == Next::Idle {
                return;
            }
            match r.next {
                Next::Idle => thread::park_timeout(Duration::from_millis(1)),
                Next::RetryNow => thread::yield_now(),
                Next::RetryAfter(us) => thread::sleep(Duration::from_micros(us.into())),
            }
        }
    }
}

fn nmi_handler() {
    if let Some(w) = WORLD.get() {
        w.nmi_reader();
    }
}

/// The factor every time limit is multiplied by: `SRCU_TORTURE_SLACK`, else 1 + the one-minute
/// load average per CPU.
fn slack() -> f64 {
    if let Some(v) = std::env::var("SRCU_TORTURE_SLACK").ok().and_then(|v| v.parse::<f64>().ok()) {
        return v.max(1.0);
    }
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|t| t.split_whitespace().next().and_then(|l| l.parse::<f64>().ok()))
        .unwrap_or(0.0);
    let cpus = thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    1.0 + load / cpus
}

/// The body of one configuration, run in a child process. Returns a failure description.
/// A grace period in progress for longer than `stall_ms` is a stall.
fn run_child(fault: Fault, secs: u64, stall_ms: u64) -> Result<String, String> {
    let w: &'static World = WORLD.get_or_init(|| World::new(fault));
    now_ms();
    if !test_nmi::install(nmi_handler) {
        return Err("could not install the NMI signal handler".into());
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let readers: Vec<_> = (0..CPUS)
        .map(|cpu| {
            let tx = tx.clone();
            thread::spawn(move || {
                tx.send(test_nmi::current()).unwrap();
                w.reader(cpu)
            })
        })
        .collect();
    let targets: Vec<_> = (0..CPUS).map(|_| rx.recv().unwrap()).collect();
    let engine = thread::spawn(move || w.engine());
    let _ = w.engine.set(engine.thread().clone());
    let writer = thread::spawn(move || w.writer());
    let fakes: Vec<_> = (0..2)
        .map(|k| thread::spawn(move || w.fake_writer(k)))
        .collect();
    let stop_nmi = std::sync::Arc::new(AtomicBool::new(false));
    let sn = stop_nmi.clone();
    let nmis = thread::spawn(move || {
        let mut sent = 0u64;
        while !sn.load(Relaxed) {
            if let Some(t) = targets.get((rand() % CPUS as u64) as usize) {
                if test_nmi::send(*t) {
                    sent += 1;
                }
            }
            thread::sleep(Duration::from_micros(20 + rand() % 30));
        }
        sent
    });

    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut stalled = false;
    while Instant::now() < deadline {
        thread::sleep(Duration::from_millis(50));
        let since = w.in_gp_since.load(Relaxed);
        if since != 0 && now_ms().saturating_sub(since) > stall_ms {
            stalled = true;
            break;
        }
        if fault != Fault::None && w.errors.load(Relaxed) > 0 {
            break;
        }
    }
    stop_nmi.store(true, Relaxed);
    let sent = nmis.join().unwrap();
    let summary = |w: &World| {
        let hist: Vec<u64> = w.hist.iter().map(|h| h.load(Relaxed)).collect();
        format!(
            "torture: fault={fault:?} reads={} nmi_reads={} nmis_sent={sent} migrated={} writer_gps={} batches={} errors={} poisoned={} reader_pipe={hist:?}",
            w.reads.load(Relaxed),
            w.nmi_reads.load(Relaxed),
            w.migrated.load(Relaxed),
            w.writer_gps.load(Relaxed),
            w.srcu.batches_completed(),
            w.errors.load(Relaxed),
            w.poisoned.load(Relaxed),
        )
    };
    if stalled {
        // A stalled grace period cannot be joined; report and let the process exit.
        return Err(format!(
            "{} — grace period stalled for more than {stall_ms} ms",
            summary(w)
        ));
    }
    // Shutdown is bounded too: if the joins below take longer than a stall, say what is stuck
    // and fail instead of waiting for the parent's kill.
    let done = std::sync::Arc::new(AtomicBool::new(false));
    let d2 = done.clone();
    let shutdown_summary = summary(w);
    thread::spawn(move || {
        thread::sleep(Duration::from_millis(stall_ms));
        if !d2.load(SeqCst) {
            println!(
                "{shutdown_summary} — shutdown hung: readers out of their loop {} of {CPUS}, hand-offs in flight {}, grace period state {:?}, writer waiting for a grace period: {}",
                w.readers_out.load(SeqCst),
                w.in_flight.load(SeqCst),
                w.srcu.gp_state(),
                match w.in_gp_since.load(Relaxed) {
                    0 => "no".to_string(),
                    t => format!("for {} ms", now_ms().saturating_sub(t)),
                },
            );
            std::process::exit(1);
        }
    });
    w.stop_readers.store(true, Relaxed);
    for r in readers {
        r.join().unwrap();
    }
    w.stop_updaters.store(true, Relaxed);
    writer.join().unwrap();
    for f in fakes {
        f.join().unwrap();
    }
    if let Some(t) = w.engine.get() {
        t.unpark();
    }
    engine.join().unwrap();
    done.store(true, SeqCst);
    let s = summary(w);
    if w.srcu.readers_active(&w.p()) {
        return Err(format!(
            "{s} — reader counts unbalanced after every reader finished"
        ));
    }
    if w.errors.load(Relaxed) > 0 {
        return Err(format!("{s} — readers saw elements aged past 1 or freed"));
    }
    if w.nmi_reads.load(Relaxed) == 0
        || w.migrated.load(Relaxed) == 0
        || w.writer_gps.load(Relaxed) == 0
    {
        return Err(format!(
            "{s} — the run did not exercise NMIs, migration and grace periods"
        ));
    }
    Ok(s)
}

/// The child-process entry: runs only when the parent sets `SRCU_TORTURE_CHILD`.
#[test]
#[ignore = "run by `torture` in a child process"]
fn torture_child() {
    let fault: u32 = std::env::var("SRCU_TORTURE_CHILD")
        .expect("child only")
        .parse()
        .unwrap();
    let secs: u64 = std::env::var("SRCU_TORTURE_CHILD_SECS")
        .unwrap()
        .parse()
        .unwrap();
    let stall_ms: u64 = std::env::var("SRCU_TORTURE_CHILD_STALL_MS")
        .unwrap()
        .parse()
        .unwrap();
    let fault = Fault::from_raw(fault).expect("known fault");
    match run_child(fault, secs, stall_ms) {
        Ok(s) => println!("{s}"),
        Err(e) => {
            println!("{e}");
            std::process::exit(1);
        }
    }
}

/// Run one configuration in a child process with a hard timeout; (passed, output). The stall
/// limit and the kill timeout are multiplied by `slack`.
fn spawn_child(fault: Fault, secs: u64, slack: f64) -> (bool, String) {
    let exe = std::env::current_exe().unwrap();
    let stall_ms = (5_000.0 * slack) as u64;
    let kill_after = secs + (20.0 * slack).ceil() as u64;
    let out = Command::new("timeout")
        .args(["-s", "KILL", &kill_after.to_string()])
        .arg(exe)
        .args([
            "--exact",
            "torture_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("SRCU_TORTURE_CHILD", (fault as u32).to_string())
        .env("SRCU_TORTURE_CHILD_SECS", secs.to_string())
        .env("SRCU_TORTURE_CHILD_STALL_MS", stall_ms.to_string())
        .output()
        .expect("run child");
    let text = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.find("torture: ").map(|i| &l[i..]))
        .collect::<Vec<_>>()
        .join("\n");
    let text = if text.is_empty() {
        format!(
            "(no summary; status {:?}; killed after {kill_after} s, stall limit {stall_ms} ms)",
            out.status
        )
    } else {
        text
    };
    (out.status.success(), text)
}

#[test]
fn torture() {
    let secs: u64 = std::env::var("SRCU_TORTURE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let slack = slack();
    println!("torture: time limits x{slack:.2} (SRCU_TORTURE_SLACK, else 1 + load per CPU)");
    let (ok, out) = spawn_child(Fault::None, secs, slack);
    println!("{out}");
    assert!(ok, "the correct algorithm failed the torture test:\n{out}");
    for fault in [
        Fault::SkipSecondScan,
        Fault::SkipFirstScan,
        Fault::FastPathActiveOnly,
        Fault::AcceptStartedGp,
        Fault::NmiInPercpuHalf,
    ] {
        // Each broken run stops at its first error; the straggler cases need the most time
        // (caught in 1-21 s in five runs under load).
        let straggler = matches!(fault, Fault::SkipFirstScan | Fault::FastPathActiveOnly);
        let secs = if straggler { 45 } else { 10 };
        let (ok, out) = spawn_child(fault, secs, slack);
        println!("{out}");
        assert!(
            !ok,
            "the torture test did not catch the broken variant {fault:?}:\n{out}"
        );
    }
}
