// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! loom models of srcu-core. Run with
//!
//! ```sh
//! RUSTFLAGS="--cfg loom" cargo test -p srcu-core --release --test loom
//! ```
//!
//! Without `LOOM_MAX_PREEMPTIONS` each model uses its own bound: 3 preemptions, except the
//! four-thread two-updater model (2). The whole file then runs in about 13 s on a loaded
//! 2-core machine after a ~2 minute build (the asymmetric-barrier models take most of it).
//! Setting `LOOM_MAX_PREEMPTIONS` overrides every model's bound (3 for all takes minutes, the
//! two-updater model dominating):
//!
//! ```sh
//! RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3 cargo test -p srcu-core --release --test loom
//! ```
//!
//! Each model passes as written and has a deliberately broken variant ([`Fault`]) that a test
//! shows the model catches.
//!
//! The world: a "CPU" is a set of contexts (loom threads). The per-CPU-op half of a counter is
//! a plain load then store (the generic `this_cpu_inc()` of architectures without NMI-safe
//! per-CPU operations), made under that CPU's "interrupts off" lock so that task and irq
//! contexts of one CPU cannot split it. NMI contexts ignore that lock — as NMIs ignore
//! `local_irq_save()` — and use the atomic half (one `fetch_add`). All accesses are `Relaxed`
//! with explicit `fence(SeqCst)`, since loom treats SeqCst accesses as AcqRel. Scan loops yield.
//!
//! loom explores no load buffering, so a read-only critical section cannot show that reader
//! barrier C is needed; model 6's critical section stores, and it can. Model 7 runs on an
//! asymmetric platform (compiler barriers in readers, a modelled membarrier for the heavy
//! barrier A, plain fences in the updater for the light ones); models 6 and 7 on that platform
//! also run with the updater's light barriers dropped (only A left), which is the check that
//! E and D need not be heavy. Model 8 has two readers, so that a flip happens and a straggler
//! ends up on the inactive index, which the idle fast path must see. Broken variants that are
//! not a [`Fault`] drop barriers in one context ([`Ctx::without_fences`]: its
//! [`Platform::smp_mb`]; a modelled membarrier is not affected).
#![cfg(loom)]

use loom::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering::Acquire, Ordering::Relaxed, Ordering::Release, Ordering::SeqCst};
use loom::sync::{Arc, Mutex};
use loom::thread;
use srcu_core::{CallbackList, Counter, Fault, Platform, Srcu};
use support::FifoList;

mod support;

const CPUS: usize = 2;
const OBJS: usize = 4;
const FREED: usize = 0xdead;

/// How a model increments the per-CPU-op half.
///
/// In every mode, task/irq contexts of one CPU cannot split each other's increment (that is what
/// irq-safe means); only an NMI can. A loom `Mutex` as "interrupts off" is not used: it adds
/// ordering that hides real executions.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PerCpu {
    /// Load, add, store: the generic `this_cpu_inc()`. Used where an NMI shares the CPU with one
    /// task context, so the NMI can land between the load and the store.
    LoadStore,
    /// One task context per CPU and no NMI: the only writer knows the value, so the increment is
    /// a plain store of its private count (loom explores stale reads of plain stores, which it
    /// does not do after a load-then-store).
    SingleWriter,
    /// Two task contexts on one CPU (a reader migrated there, and the CPU's own reader), no NMI:
    /// one indivisible read-modify-write.
    Shared,
}

/// How the platform's barriers are made.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Barriers {
    /// Every barrier is a full fence (`smp_mb()`).
    Symmetric,
    /// liburcu's asymmetric scheme: `reader_mb` is a compiler barrier (nothing, to loom) and
    /// `heavy_mb` is a modelled `membarrier()`. loom cannot put a fence into another thread, so
    /// the membarrier is a handshake, as in liburcu's signal flavour: the updater fences, raises
    /// a request for every registered reader thread and waits until each has answered it (or
    /// gone offline), then fences again; a reader thread answers at every point where it could
    /// be interrupted (before and after each shared access) by fencing and acknowledging.
    Asymmetric,
}

/// Reader threads that a modelled membarrier must reach.
const MB_SLOTS: usize = 2;

struct World {
    srcu: Srcu,
    percpu_mode: PerCpu,
    barriers: Barriers,
    /// Membarrier requests raised per reader thread, and the last one each answered.
    mb_req: [AtomicUsize; MB_SLOTS],
    mb_ack: [AtomicUsize; MB_SLOTS],
    /// Whether each reader thread may still run reader code (a membarrier must reach it).
    online: [AtomicBool; MB_SLOTS],
    /// Private counts of single-writer cells (std atomics: invisible to loom).
    shadow: [[std::sync::atomic::AtomicUsize; Counter::SLOTS]; CPUS],
    percpu: Vec<Vec<AtomicUsize>>,
    atomic: Vec<Vec<AtomicUsize>>,
    gp_lock: Mutex<()>,
    fault: Fault,
    /// Published object ids, one per "pointer".
    ptr: [AtomicUsize; 2],
    /// Object contents: `FREED` once freed (poisoned).
    obj: [AtomicUsize; OBJS],
    /// Data written inside a critical section (`x`) and by the updater before it waits (`y`).
    x: AtomicUsize,
    y: AtomicUsize,
    /// Whether `synchronize` callers elect one driver; the wait primitive is an event count
    /// that a sleeper polls, yielding (a futex wait on it). The wait is bounded: a sleeper that
    /// finds every other thread of the model done ([`World::busy`]) and no wake since its token
    /// fails the model with a message, as nobody can wake it any more.
    single: bool,
    events: AtomicUsize,
    /// Threads of a single-driver model that have not finished their work (each calls
    /// [`World::finished`]).
    busy: AtomicUsize,
}

impl World {
    fn new(fault: Fault, percpu_mode: PerCpu) -> Arc<World> {
        World::with_barriers(fault, percpu_mode, Barriers::Symmetric, 0)
    }
    /// A world whose barriers are made as `barriers` says, with `reader_threads` reader threads
    /// (slots `0..reader_threads`) that a modelled membarrier must reach.
    fn with_barriers(fault: Fault, percpu_mode: PerCpu, barriers: Barriers, reader_threads: usize) -> Arc<World> {
        let grid = || (0..CPUS).map(|_| (0..Counter::SLOTS).map(|_| AtomicUsize::new(0)).collect()).collect();
        Arc::new(World {
            srcu: Srcu::new(),
            percpu_mode,
            barriers,
            mb_req: Default::default(),
            mb_ack: Default::default(),
            online: [AtomicBool::new(reader_threads > 0), AtomicBool::new(reader_threads > 1)],
            shadow: Default::default(),
            percpu: grid(),
            atomic: grid(),
            gp_lock: Mutex::new(()),
            fault,
            ptr: [AtomicUsize::new(0), AtomicUsize::new(2)],
            obj: [AtomicUsize::new(1), AtomicUsize::new(1), AtomicUsize::new(1), AtomicUsize::new(1)],
            x: AtomicUsize::new(0),
            y: AtomicUsize::new(0),
            single: false,
            events: AtomicUsize::new(0),
            busy: AtomicUsize::new(0),
        })
    }
    /// A symmetric world whose `synchronize` callers elect one driver, run by `threads` threads.
    fn single_driver(fault: Fault, percpu_mode: PerCpu, threads: usize) -> Arc<World> {
        let mut w = World::new(fault, percpu_mode);
        let m = Arc::get_mut(&mut w).expect("fresh world");
        m.single = true;
        m.busy = AtomicUsize::new(threads);
        w
    }
    /// This thread of a single-driver model has done its work (after any wake it issues).
    fn finished(&self) {
        self.busy.fetch_sub(1, Release);
    }
    /// A task context on `cpu` (an updater, or a reader a membarrier need not reach).
    fn ctx(&self, cpu: usize) -> Ctx<'_> {
        Ctx { w: self, cpu, nmi: false, mb_slot: None, fences: true }
    }
    /// An NMI context on `cpu`.
    fn nmi(&self, cpu: usize) -> Ctx<'_> {
        Ctx { nmi: true, ..self.ctx(cpu) }
    }
    /// The task context of reader thread `slot` on `cpu` (answers modelled membarriers).
    fn reader(&self, cpu: usize, slot: usize) -> Ctx<'_> {
        Ctx { mb_slot: Some(slot), ..self.ctx(cpu) }
    }
    /// Reader body: dereference pointer `which` and check the object is not freed.
    fn deref_check(&self, which: usize) {
        let id = self.ptr[which].load(Relaxed);
        assert_ne!(self.obj[id].load(Relaxed), FREED, "reader saw object {id} freed (use after free)");
    }
    /// Updater: publish a new object in pointer `which`, return the old one.
    fn replace(&self, which: usize) -> usize {
        let old = self.ptr[which].load(Relaxed);
        self.ptr[which].store(old + 1, Relaxed);
        old
    }
    fn free(&self, id: usize) {
        self.obj[id].store(FREED, Relaxed);
    }
    /// A reader: lock in context `at`, dereference every pointer in `ptrs` and check it, unlock
    /// in context `unlock_at` (another CPU for a migrating reader).
    fn read(&self, at: Ctx<'_>, unlock_at: Ctx<'_>, ptrs: &[usize]) {
        at.serve_membarrier();
        let idx = self.srcu.read_lock(&at);
        for &which in ptrs {
            at.serve_membarrier();
            self.deref_check(which);
        }
        at.serve_membarrier();
        self.srcu.read_unlock(&unlock_at, idx);
        unlock_at.offline();
    }
    /// An updater on CPU 1: unpublish the object in pointer `which`, wait, free it.
    fn update(&self, which: usize, expedited: bool) {
        self.update_on(&self.ctx(1), which, expedited);
    }
    /// [`World::update`] in context `p`.
    fn update_on(&self, p: &Ctx<'_>, which: usize, expedited: bool) {
        let old = self.replace(which);
        if expedited {
            self.srcu.synchronize_expedited(p);
        } else {
            self.srcu.synchronize(p);
        }
        self.free(old);
    }
}

/// Run `f` on a new loom thread with a reference to the world.
fn spawn(w: &Arc<World>, f: impl FnOnce(&World) + Send + 'static) -> thread::JoinHandle<()> {
    let w = w.clone();
    thread::spawn(move || f(&w))
}

/// One execution context: a CPU, whether it is an NMI, which reader thread it is (for the
/// modelled membarrier), and whether its full fences are real (`false`: a broken platform that
/// drops every barrier this context executes).
struct Ctx<'a> {
    w: &'a World,
    cpu: usize,
    nmi: bool,
    mb_slot: Option<usize>,
    fences: bool,
}

impl Ctx<'_> {
    /// This context with every barrier it executes dropped.
    fn without_fences(self) -> Self {
        Ctx { fences: false, ..self }
    }

    /// A point where a membarrier IPI could interrupt this reader thread: answer a pending
    /// request with a full fence.
    fn serve_membarrier(&self) {
        let Some(slot) = self.mb_slot else { return };
        if self.w.barriers != Barriers::Asymmetric {
            return;
        }
        let req = self.w.mb_req[slot].load(Relaxed);
        if req > self.w.mb_ack[slot].load(Relaxed) {
            fence(SeqCst);
            self.w.mb_ack[slot].store(req, Relaxed);
        }
    }

    /// The reader thread is done: a membarrier need not reach it any more (it fences first, as
    /// a thread that stops running passes through a context switch).
    fn offline(&self) {
        let Some(slot) = self.mb_slot else { return };
        if self.w.barriers == Barriers::Asymmetric {
            self.serve_membarrier();
            fence(SeqCst);
            self.w.online[slot].store(false, Relaxed);
        }
    }

    /// The modelled `membarrier()`: fence, make every online reader thread fence, fence.
    fn membarrier(&self) {
        fence(SeqCst);
        for slot in 0..MB_SLOTS {
            let want = self.w.mb_req[slot].fetch_add(1, Relaxed) + 1;
            while self.w.mb_ack[slot].load(Relaxed) < want && self.w.online[slot].load(Relaxed) {
                thread::yield_now();
            }
        }
        fence(SeqCst);
    }
}

impl Platform for Ctx<'_> {
    fn percpu_inc(&self, c: Counter) {
        self.serve_membarrier();
        self.percpu_inc_now(c);
        self.serve_membarrier();
    }
    fn atomic_inc(&self, c: Counter) {
        self.serve_membarrier();
        self.w.atomic[self.cpu][c.slot()].fetch_add(1, Relaxed);
        self.serve_membarrier();
    }
    fn percpu_read(&self, cpu: usize, c: Counter) -> usize {
        self.w.percpu[cpu][c.slot()].load(Relaxed)
    }
    fn atomic_read(&self, cpu: usize, c: Counter) -> usize {
        self.w.atomic[cpu][c.slot()].load(Relaxed)
    }
    fn nr_cpus(&self) -> usize {
        CPUS
    }
    fn in_nmi(&self) -> bool {
        self.nmi
    }
    fn smp_mb(&self) {
        if self.fences {
            fence(SeqCst);
        }
    }
    fn reader_mb(&self) {
        match self.w.barriers {
            Barriers::Symmetric => self.smp_mb(),
            // A compiler barrier; also a point where a membarrier can land.
            Barriers::Asymmetric => self.serve_membarrier(),
        }
    }
    fn heavy_mb(&self) {
        match self.w.barriers {
            Barriers::Symmetric => self.smp_mb(),
            Barriers::Asymmetric => self.membarrier(),
        }
    }
    fn with_gp_lock<R>(&self, f: impl FnOnce() -> R) -> R {
        let _g = self.w.gp_lock.lock().unwrap();
        f()
    }
    fn kick(&self, _expedited: bool) {}
    fn relax(&self) {
        thread::yield_now();
    }
    fn sleep(&self, _usecs: u32) {
        thread::yield_now();
    }
    fn fault(&self) -> Fault {
        self.w.fault
    }
    fn single_driver(&self) -> bool {
        self.w.single
    }
    fn gp_wait_token(&self) -> usize {
        self.w.events.load(Relaxed)
    }
    fn gp_wait(&self, token: usize) {
        loop {
            // Acquire: a thread that finished released its earlier wakes with its count.
            let others_done = self.w.busy.load(Acquire) == 1;
            if self.w.events.load(Relaxed) != token {
                return;
            }
            assert!(!others_done, "a gp_wait sleeper was never woken: every other thread is done");
            thread::yield_now();
        }
    }
    fn gp_wake(&self) {
        self.w.events.fetch_add(1, Relaxed);
    }
}

impl Ctx<'_> {
    /// The per-CPU-op increment proper, in the world's [`PerCpu`] mode.
    fn percpu_inc_now(&self, c: Counter) {
        let cell = &self.w.percpu[self.cpu][c.slot()];
        if self.nmi {
            // Only reachable with Fault::NmiInPercpuHalf: an NMI ignores "interrupts off".
            let v = cell.load(Relaxed);
            cell.store(v.wrapping_add(1), Relaxed);
            return;
        }
        match self.w.percpu_mode {
            PerCpu::Shared => {
                cell.fetch_add(1, Relaxed);
            }
            PerCpu::SingleWriter => {
                let v = self.w.shadow[self.cpu][c.slot()].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                cell.store(v.wrapping_add(1), Relaxed);
            }
            PerCpu::LoadStore => {
                // The generic this_cpu_inc(): load, add, store; only an NMI can run in between.
                let v = cell.load(Relaxed);
                cell.store(v.wrapping_add(1), Relaxed);
            }
        }
    }
}

/// Explore `f` with the preemption bound from `LOOM_MAX_PREEMPTIONS`, or `bound` if unset.
fn model_bounded(bound: usize, f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    if b.preemption_bound.is_none() {
        b.preemption_bound = Some(bound);
    }
    // Scan loops re-read every counter while a reader is descheduled: allow long executions.
    b.max_branches = 100_000;
    let runs = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let r2 = runs.clone();
    b.check(move || {
        r2.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        f()
    });
    eprintln!("loom: {} executions explored", runs.load(std::sync::atomic::Ordering::Relaxed));
}

/// The default bound: 3 preemptions (each model explores in well under a second).
fn model(f: impl Fn() + Sync + Send + 'static) {
    model_bounded(3, f);
}

/// Run `m` with `fault` and require that loom finds a failing execution.
fn must_catch(fault: Fault, m: fn(Fault)) {
    must_fail(&format!("{fault:?}"), move || m(fault));
}

/// Run the model `m` of a broken variant and require that loom finds a failing execution.
fn must_fail(variant: &str, m: impl FnOnce() + std::panic::UnwindSafe) {
    let r = std::panic::catch_unwind(m);
    assert!(r.is_err(), "the model did not catch the broken variant {variant}");
}

// ---------------------------------------------------------------------------------------------
// Model 1a: a reader that saw a pointer before synchronize started never sees it freed —
// including a reader that read srcu_idx before an earlier grace period's flip and increments
// late (the straggler SCAN1 exists for). Its broken variant (one scan per grace period) is
// caught by model 8 since the idle fast path: the first grace period, with no reader counted,
// ends without a flip, so one reader can no longer become a straggler on the inactive index.

fn m_reader_vs_free_two_gps(fault: Fault) {
    model(move || {
        let w = World::new(fault, PerCpu::SingleWriter);
        let reader = spawn(&w, |w| w.read(w.ctx(0), w.ctx(0), &[0]));
        let p = w.ctx(1);
        w.srcu.synchronize(&p);
        w.update(0, false);
        reader.join().unwrap();
    });
}

#[test]
fn reader_never_sees_free_across_two_grace_periods() {
    m_reader_vs_free_two_gps(Fault::None);
}

// ---------------------------------------------------------------------------------------------
// Model 1b: an old reader holds the object while a new reader locks and unlocks during the scan.
// Broken: barrier A removed — the scan can count the new reader's unlock but not its lock, which
// cancels the old reader.

fn m_old_and_new_reader(fault: Fault) {
    // Three preemptions: the old reader pauses holding the object, the new reader pauses after
    // reading srcu_idx before the flip, the updater pauses after D. The main thread plays the
    // old reader because it runs first.
    model_bounded(3, move || {
        let w = World::new(fault, PerCpu::SingleWriter);
        let new_reader = spawn(&w, |w| w.read(w.ctx(1), w.ctx(1), &[]));
        let updater = spawn(&w, |w| w.update(0, true));
        w.read(w.ctx(0), w.ctx(0), &[0]);
        new_reader.join().unwrap();
        updater.join().unwrap();
    });
}

#[test]
fn old_reader_is_not_cancelled_by_a_new_one() {
    m_old_and_new_reader(Fault::None);
}

#[test]
fn broken_no_barrier_a_is_caught() {
    must_catch(Fault::NoBarrierA, m_old_and_new_reader);
}

// ---------------------------------------------------------------------------------------------
// Model 2: an NMI reader interrupts a task reader's per-CPU increment on the same CPU.
// Broken: NMI readers counted in the per-CPU half — the load-then-store loses a count.

fn m_nmi_vs_task(fault: Fault) {
    model(move || {
        let w = World::new(fault, PerCpu::LoadStore);
        let nmi = spawn(&w, |w| w.read(w.nmi(0), w.nmi(0), &[0]));
        let updater = spawn(&w, |w| w.update(0, true));
        w.read(w.ctx(0), w.ctx(0), &[0]);
        nmi.join().unwrap();
        updater.join().unwrap();
        assert!(!w.srcu.readers_active(&w.ctx(0)), "a reader count was lost: locks and unlocks differ");
    });
}

#[test]
fn nmi_reader_interrupting_task_reader() {
    m_nmi_vs_task(Fault::None);
}

#[test]
fn broken_nmi_in_percpu_half_is_caught() {
    must_catch(Fault::NmiInPercpuHalf, m_nmi_vs_task);
}

// ---------------------------------------------------------------------------------------------
// Model 3: lock on CPU 0, unlock on CPU 1, while CPU 1's own reader runs and an updater frees.
// Broken: locks summed before unlocks — CPU 1's reader, counted as unlocked but not as locked,
// cancels the migrating reader.

fn m_cross_cpu(fault: Fault) {
    // Three preemptions, as in the old/new reader model; the main thread is the migrating reader.
    model_bounded(3, move || {
        let w = World::new(fault, PerCpu::Shared);
        let local = spawn(&w, |w| w.read(w.ctx(1), w.ctx(1), &[]));
        let updater = spawn(&w, |w| w.update(0, true));
        w.read(w.ctx(0), w.ctx(1), &[0]);
        local.join().unwrap();
        updater.join().unwrap();
        assert!(!w.srcu.readers_active(&w.ctx(0)));
    });
}

#[test]
fn lock_and_unlock_on_different_cpus() {
    m_cross_cpu(Fault::None);
}

#[test]
fn broken_locks_before_unlocks_is_caught() {
    must_catch(Fault::LocksBeforeUnlocks, m_cross_cpu);
}

// ---------------------------------------------------------------------------------------------
// Model 4: two concurrent synchronize callers, no lock of their own, each with its own
// pre-existing reader (one reader thread holds both objects). Broken: a snapshot that accepts a
// grace period that began before the call.

fn m_two_updaters(fault: Fault) {
    // Four threads: bound 2 (bound 3 takes minutes).
    model_bounded(2, move || {
        let w = World::new(fault, PerCpu::SingleWriter);
        let reader = spawn(&w, |w| w.read(w.ctx(0), w.ctx(0), &[0, 1]));
        let other = spawn(&w, |w| w.update(1, false));
        w.update(0, true);
        reader.join().unwrap();
        other.join().unwrap();
    });
}

#[test]
fn concurrent_synchronize_callers() {
    m_two_updaters(Fault::None);
}

#[test]
fn broken_accept_started_gp_is_caught() {
    must_catch(Fault::AcceptStartedGp, m_two_updaters);
}

// ---------------------------------------------------------------------------------------------
// Model 5: a callback and a polling cookie complete only after a full grace period. The
// updater frees object A from a callback and object B once its cookie polls complete; it drives
// the engine and invokes ready callbacks itself. Broken: the accepting snapshot again (the
// cookie of an idle domain then names the last completed grace period).

fn m_callbacks_and_polling(fault: Fault) {
    model(move || {
        let w = World::new(fault, PerCpu::SingleWriter);
        let reader = spawn(&w, |w| w.read(w.ctx(0), w.ctx(0), &[0, 1]));
        let p = w.ctx(1);
        let list = FifoList::new();
        let old_a = w.replace(0);
        w.srcu.call(&p, &list, old_a);
        let old_b = w.replace(1);
        let cookie = w.srcu.start_poll(&p);
        let mut b_freed = false;
        while !(list.is_empty() && b_freed) {
            w.srcu.invoke_ready(&p, &list, |id| w.free(id));
            if !b_freed && w.srcu.poll_state(&p, cookie) {
                w.free(old_b);
                b_freed = true;
            }
            w.srcu.step(&p);
            thread::yield_now();
        }
        reader.join().unwrap();
    });
}

#[test]
fn callbacks_and_cookies_wait_for_a_full_grace_period() {
    m_callbacks_and_polling(Fault::None);
}

#[test]
fn broken_cookie_is_caught() {
    must_catch(Fault::AcceptStartedGp, m_callbacks_and_polling);
}

// ---------------------------------------------------------------------------------------------
// Model 6: a reader that writes inside its critical section. Reader: lock, store x, load y,
// unlock. Updater: store y, synchronize, load x. One side must see the other's store: either
// the reader began late enough that its critical section sees y (B with A, store buffering), or
// the grace period waited for it and the updater sees x (C with A). Broken: barrier C dropped
// (the unlock context executes no barrier) — a scan can count the unlock before the store to x
// is visible, end the grace period, and the updater reads the old x. A read-only critical
// section cannot show this (loom explores no load buffering); a store in it can.

fn m_cs_store(barriers: Barriers, drop_c: bool) {
    m_cs_store_updater(barriers, drop_c, false);
}

/// Model 6 with `light_dropped`: the updater's light barriers ([`Platform::smp_mb`]: E, D, the
/// sequence and cookie barriers) are dropped, only its heavy barrier A is left.
fn m_cs_store_updater(barriers: Barriers, drop_c: bool, light_dropped: bool) {
    model(move || {
        let w = World::with_barriers(Fault::None, PerCpu::SingleWriter, barriers, 1);
        let w2 = w.clone();
        let reader = thread::spawn(move || {
            let (at, unlock_at) = (w2.reader(0, 0), w2.reader(0, 0));
            let unlock_at = if drop_c { unlock_at.without_fences() } else { unlock_at };
            let idx = w2.srcu.read_lock(&at);
            at.serve_membarrier();
            w2.x.store(1, Relaxed);
            at.serve_membarrier();
            let saw_y = w2.y.load(Relaxed);
            at.serve_membarrier();
            w2.srcu.read_unlock(&unlock_at, idx);
            unlock_at.offline();
            saw_y
        });
        let p = if light_dropped { w.ctx(1).without_fences() } else { w.ctx(1) };
        w.y.store(1, Relaxed);
        w.srcu.synchronize(&p);
        let saw_x = w.x.load(Relaxed);
        let saw_y = reader.join().unwrap();
        assert!(
            saw_x == 1 || saw_y == 1,
            "neither side saw the other's store: the grace period ended under a running critical section"
        );
    });
}

#[test]
fn critical_section_stores_are_seen_after_the_grace_period() {
    m_cs_store(Barriers::Symmetric, false);
}

#[test]
fn broken_no_barrier_c_is_caught() {
    must_fail("barrier C dropped", || m_cs_store(Barriers::Symmetric, true));
}

#[test]
fn asymmetric_barriers_critical_section_stores() {
    m_cs_store(Barriers::Asymmetric, false);
}

// ---------------------------------------------------------------------------------------------
// Model 7: an old reader must not be cancelled by a new one on an asymmetric platform (reader
// barriers are compiler barriers, the heavy barrier is a modelled membarrier). The old reader
// locks index 0 and sleeps in its critical section (its thread is offline: a membarrier need
// not reach it); a new reader locks and unlocks while an updater runs two engine steps, which
// must not end the grace period (in the idle fast path or after the flip). Only A reaches the
// new reader (E and D are light: fences in the updater alone), so only A can make a scan see its
// lock once it has seen its unlock. Broken: barrier A dropped, which on this platform is the same
// as A weakened to the reader's barrier (a compiler barrier). The `..._with_only_barrier_a_heavy`
// runs drop every light barrier of the updater as well (E, D, the sequence and cookie barriers):
// the model still passes, and still catches A dropped.

fn m_old_and_new_reader_asymmetric(fault: Fault) {
    m_old_and_new_reader_asymmetric_updater(fault, false);
}

/// Model 7 with `light_dropped` as in [`m_cs_store_updater`].
fn m_old_and_new_reader_asymmetric_updater(fault: Fault, light_dropped: bool) {
    model(move || {
        let w = World::with_barriers(fault, PerCpu::SingleWriter, Barriers::Asymmetric, 2);
        let old = w.reader(0, 0);
        let old_idx = w.srcu.read_lock(&old);
        old.offline();
        let new_reader = spawn(&w, |w| w.read(w.reader(1, 1), w.reader(1, 1), &[]));
        let updater = spawn(&w, move |w| {
            let p = if light_dropped { w.ctx(1).without_fences() } else { w.ctx(1) };
            let cookie = w.srcu.start_poll_expedited(&p);
            for _ in 0..2 {
                w.srcu.step(&p);
            }
            assert!(!w.srcu.poll_state(&p, cookie), "the grace period ended under the old reader");
        });
        new_reader.join().unwrap();
        updater.join().unwrap();
        w.srcu.read_unlock(&w.ctx(0), old_idx);
    });
}

#[test]
fn asymmetric_barriers_old_reader_is_not_cancelled() {
    m_old_and_new_reader_asymmetric(Fault::None);
}

#[test]
fn broken_asymmetric_no_barrier_a_is_caught() {
    must_catch(Fault::NoBarrierA, m_old_and_new_reader_asymmetric);
}

#[test]
fn asymmetric_barriers_critical_section_stores_with_only_barrier_a_heavy() {
    m_cs_store_updater(Barriers::Asymmetric, false, true);
}

#[test]
fn asymmetric_barriers_old_reader_with_only_barrier_a_heavy() {
    m_old_and_new_reader_asymmetric_updater(Fault::None, true);
}

#[test]
fn broken_asymmetric_only_barrier_a_heavy_no_barrier_a_is_caught() {
    must_catch(Fault::NoBarrierA, |f| m_old_and_new_reader_asymmetric_updater(f, true));
}

// ---------------------------------------------------------------------------------------------
// Model 8: the idle fast path and a straggler on the inactive index. Two readers: B holds the
// active index 0 while the first grace period starts, so that grace period cannot take the fast
// path and flips; S reads srcu_idx = 0 before that flip and increments lock[0] — now the
// inactive index — only after the first grace period ended, then dereferences the pointer the
// updater unpublishes next. The second grace period must wait for S: the fast path has to see
// S on the inactive index. One reader cannot set this up: with no reader counted, the first
// grace period ends in the fast path and never flips. Broken: the fast path looks at the active
// index only (and SCAN1 skipped, which makes the fast path do the same). The updater yields
// between its two grace periods (it does other work), which lets S lock without a preemption.

fn m_straggler_after_flip(fault: Fault) {
    model(move || {
        let w = World::new(fault, PerCpu::SingleWriter);
        let busy = w.srcu.read_lock(&w.ctx(0));
        let straggler = spawn(&w, |w| w.read(w.ctx(1), w.ctx(1), &[0]));
        let updater = spawn(&w, |w| {
            let p = w.ctx(1);
            w.srcu.synchronize(&p);
            thread::yield_now();
            w.update_on(&p, 0, false);
        });
        w.srcu.read_unlock(&w.ctx(0), busy);
        straggler.join().unwrap();
        updater.join().unwrap();
    });
}

#[test]
fn straggler_on_the_inactive_index_after_a_flip() {
    m_straggler_after_flip(Fault::None);
}

#[test]
fn broken_fast_path_ignoring_the_inactive_index_is_caught() {
    must_catch(Fault::FastPathActiveOnly, m_straggler_after_flip);
}

#[test]
fn broken_single_scan_is_caught() {
    must_catch(Fault::SkipFirstScan, m_straggler_after_flip);
}

// ---------------------------------------------------------------------------------------------
// Model 9: one driver per grace period. Two synchronize callers on a single-driver platform:
// the first that finds no driver drives until its own cookie completes, the other sleeps until
// a grace period ends or the driver hands off. A caller that arrives after the driver's grace
// period ended but before it stopped driving needs the next grace period and finds a driver:
// the driver's re-check after it stops must see that request (request, claim and release are
// read-modify-writes of one word). Broken: the driver skips the re-check; the caller sleeps
// until its wait bound fails the model. With a reader holding object 0 the model also
// checks that the sleeping caller's grace period still waits for that reader.

fn m_one_driver(fault: Fault) {
    model_bounded(2, move || {
        let w = World::single_driver(fault, PerCpu::SingleWriter, 3);
        let reader = spawn(&w, |w| {
            w.read(w.ctx(0), w.ctx(0), &[0]);
            w.finished();
        });
        let other = spawn(&w, |w| {
            w.update(0, false);
            w.finished();
        });
        w.srcu.synchronize(&w.ctx(1));
        w.finished();
        reader.join().unwrap();
        other.join().unwrap();
    });
}

#[test]
fn one_driver_hands_off_to_a_caller_that_found_it_driving() {
    m_one_driver(Fault::None);
}

#[test]
fn broken_driver_recheck_is_caught() {
    must_catch(Fault::SkipDriverRecheck, m_one_driver);
}
