// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! The userspace domain: srcu-core's [`Srcu`] plus the storage, locks, callback list and
//! callback thread that the C library's [`Platform`] maps the algorithm onto.
//!
//! | `Platform` method | userspace |
//! |---|---|
//! | `percpu_inc` | rseq critical section on the current CPU's per-CPU-op half (C shim); the atomic half if rseq is unavailable or the section aborted |
//! | `atomic_inc` | `fetch_add` on the current CPU's atomic half |
//! | `in_nmi` | `false`: userspace has no NMI; signal handlers are safe by the rseq abort |
//! | `reader_mb` | compiler barrier if membarrier private-expedited is registered, else a full fence |
//! | `heavy_mb` | `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)` if registered, else a full fence |
//! | `with_gp_lock` | a pthread mutex |
//! | `kick` / `gp_ended` | wake the domain's callback thread |
//! | `single_driver` | `true`, except on domains a `fork()` child inherited |
//! | `gp_wait_token` / `gp_wait` / `gp_wake` | an event count and `futex()` ([`crate::gpwait`]) |
//! | `sleep` / `relax` | `nanosleep` / `sched_yield` |

use crate::gpwait::GpWaiters;
use crate::rawsync::{Locked, RawCond, RawLock};
use crate::shim;
use srcu_core::{CallbackList, Cookie, Counter, Fault, Platform, Srcu};
use std::cell::Cell;
use std::collections::VecDeque;
use std::sync::atomic::{compiler_fence, fence, AtomicBool, AtomicUsize, Ordering};
use std::sync::Once;

/// An SRCU domain (the C handle of a [`Domain`]). Opaque: create with `srcu_rs_create()`, free
/// with `srcu_rs_destroy()`.
pub struct srcu_rs {
    _opaque: [u8; 0],
}

/// A C callback head (`struct srcu_rs_head`).
#[repr(C)]
#[derive(Debug)]
pub struct srcu_rs_head {
    /// Owned by the library while the head is queued.
    pub next: *mut srcu_rs_head,
    /// The function `srcu_rs_call` stores and the callback thread invokes with the head.
    pub func: Option<unsafe extern "C" fn(*mut srcu_rs_head)>,
}

/// Per-CPU counters: srcu-core's four logical counters ([`Counter::slot`] order), each split in
/// a per-CPU-op half (written by committed rseq sections on this CPU) and an atomic half.
/// One cache-line pair per CPU so that CPUs never share a line.
#[repr(C, align(128))]
pub struct CpuCounters {
    /// The per-CPU-op half (`this_cpu_inc()` in the kernel; rseq here).
    pub percpu: [AtomicUsize; Counter::SLOTS],
    /// The atomic half (`atomic_long_inc()` in the kernel; rseq fallback here).
    pub atomic: [AtomicUsize; Counter::SLOTS],
}

/// Offset of the per-CPU-op half in [`CpuCounters`].
pub(crate) const PERCPU_OFFSET: usize = 0;
const _: () = assert!(std::mem::size_of::<CpuCounters>() == 1 << shim::CPU_SHIFT);

/// What the callback list holds.
pub(crate) enum Entry {
    /// A C callback.
    Cb(HeadPtr),
    /// A `srcu_rs_barrier` marker: its ticket, assigned in queue order by
    /// [`CbList::enqueue_with`]. No heap object: a `fork()` child that loses a marker in flight
    /// loses no memory.
    Marker(u64),
}

/// A queued C head. The library owns it from `srcu_rs_call` until the callback runs.
pub(crate) struct HeadPtr(*mut srcu_rs_head);
// SAFETY: a queued head is only touched by the callback thread, which invokes it once; the C
// caller handed it over (srcu_rs_call's contract) and does not touch it until then.
unsafe impl Send for HeadPtr {}

/// The callback list's contents.
#[derive(Default)]
pub(crate) struct CbQueue {
    q: VecDeque<(Cookie, Entry)>,
    /// The last barrier ticket handed out (tickets follow queue order).
    last_ticket: u64,
}

/// The callback list: FIFO of (cookie, entry) under a pthread mutex.
pub(crate) struct CbList(Locked<CbQueue>);

thread_local! {
    /// The ticket of the marker this thread queued last (read back by `Domain::barrier`).
    static LAST_TICKET: Cell<u64> = const { Cell::new(0) };
}

impl CallbackList for CbList {
    type Callback = Entry;

    fn enqueue_with(&self, cb: Entry, cookie: impl FnOnce() -> Cookie) {
        self.0.with(|q| {
            let c = cookie();
            let cb = match cb {
                Entry::Marker(_) => {
                    q.last_ticket += 1;
                    LAST_TICKET.with(|t| t.set(q.last_ticket));
                    Entry::Marker(q.last_ticket)
                }
                other => other,
            };
            q.q.push_back((c, cb));
        });
    }

    fn dequeue_if(&self, ready: impl FnOnce(Cookie) -> bool) -> Option<Entry> {
        self.0.with(|q| match q.q.front() {
            Some((c, _)) if ready(*c) => q.q.pop_front().map(|(_, e)| e),
            _ => None,
        })
    }

    fn is_empty(&self) -> bool {
        self.0.with(|q| q.q.is_empty())
    }
}

/// The callback thread's control block.
///
/// The thread is a raw pthread (not `std::thread`): its start needs no heap allocation, so a
/// `fork()` child that loses it loses no heap memory either (valgrind-clean children).
#[derive(Default)]
struct Worker {
    thread: Option<libc::pthread_t>,
    work: bool,
    stop: bool,
    /// Ticket of the last barrier marker invoked (markers run in ticket order).
    barriers_done: u64,
}

extern "C" fn worker_start(arg: *mut libc::c_void) -> *mut libc::c_void {
    // SAFETY: `arg` is the domain that started us (ensure_worker); it outlives this thread
    // because try_destroy joins the thread before freeing the domain.
    let d = unsafe { &*(arg as *const Domain) };
    d.worker_main();
    std::ptr::null_mut()
}

/// One SRCU domain (`struct srcu_rs`). `#[repr(C)]`: the first two fields are the published
/// reader layout of `include/srcu_rs/static.h` (`SRCU_RS_LAYOUT_VERSION`, [`crate::layout`]),
/// read by the static-inline reader.
#[repr(C)]
pub struct Domain {
    /// The algorithm state (`srcu_idx` is its first word).
    pub srcu: Srcu,
    /// `counters` if readers may take the inline fast path (rseq increments and compiler
    /// barriers: rseq and membarrier are both in use), else NULL. Set at creation from the
    /// process-wide choice, never changed.
    pub fast_counters: *mut CpuCounters,
    /// `nr_cpus` elements of [`CpuCounters`].
    pub counters: *mut CpuCounters,
    /// Number of elements of `counters` (one more than the highest possible CPU).
    pub nr_cpus: usize,
    fault: Fault,
    gp_lock: RawLock,
    cbs: CbList,
    /// Callbacks and barrier markers queued or being invoked.
    outstanding: AtomicUsize,
    worker: Locked<Worker>,
    worker_cond: RawCond,
    /// `srcu_rs_barrier` callers wait here (with the worker lock) for their ticket.
    barrier_cond: RawCond,
    /// `synchronize` callers that found another caller driving sleep here.
    gp_waiters: GpWaiters,
}

// SAFETY: every field is either atomic, protected by a lock, or (counters) an array of atomics
// written concurrently only through atomic operations or committed rseq sections.
unsafe impl Sync for Domain {}
// SAFETY: as above.
unsafe impl Send for Domain {}

thread_local! {
    /// True on callback threads: `synchronize` and `barrier` there would wait for the caller.
    static IN_CALLBACK_THREAD: Cell<bool> = const { Cell::new(false) };
}

/// Whether the calling thread is a callback thread.
pub fn in_callback_thread() -> bool {
    IN_CALLBACK_THREAD.with(|c| c.get())
}

/// The platform: a view of one domain from the calling thread.
pub struct Plat<'a> {
    d: &'a Domain,
}

impl Platform for Plat<'_> {
    #[inline(always)]
    fn percpu_inc(&self, c: Counter) {
        let off = PERCPU_OFFSET + c.slot() * std::mem::size_of::<usize>();
        // SAFETY: `counters` is this live domain's array of `nr_cpus` elements of
        // 1 << CPU_SHIFT bytes with the per-CPU-op half at PERCPU_OFFSET, and nr_cpus covers
        // every possible CPU (global_init disables rseq when that number is unknown); only the
        // rseq protocol writes those words.
        if !unsafe { shim::percpu_inc(self.d.counters.cast::<u8>().add(off)) } {
            self.atomic_inc(c);
        }
    }

    #[inline(always)]
    fn atomic_inc(&self, c: Counter) {
        let cpu = shim::current_cpu() % self.d.nr_cpus;
        if let Some(slot) = self.d.cpu(cpu).atomic.get(c.slot()) {
            slot.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn percpu_read(&self, cpu: usize, c: Counter) -> usize {
        self.d
            .cpu(cpu)
            .percpu
            .get(c.slot())
            .map_or(0, |a| a.load(Ordering::Relaxed))
    }

    fn atomic_read(&self, cpu: usize, c: Counter) -> usize {
        self.d
            .cpu(cpu)
            .atomic
            .get(c.slot())
            .map_or(0, |a| a.load(Ordering::Relaxed))
    }

    fn nr_cpus(&self) -> usize {
        self.d.nr_cpus
    }

    #[inline(always)]
    fn in_nmi(&self) -> bool {
        false
    }

    fn smp_mb(&self) {
        fence(Ordering::SeqCst);
    }

    #[inline(always)]
    fn reader_mb(&self) {
        if shim::membarrier_in_use() {
            compiler_fence(Ordering::SeqCst);
        } else {
            fence(Ordering::SeqCst);
        }
    }

    fn heavy_mb(&self) {
        fence(Ordering::SeqCst);
        if shim::membarrier() {
            fence(Ordering::SeqCst);
        }
    }

    fn with_gp_lock<R>(&self, f: impl FnOnce() -> R) -> R {
        let _g = self.d.gp_lock.lock();
        f()
    }

    fn kick(&self, _expedited: bool) {
        self.d.wake_worker();
    }

    fn gp_ended(&self) {
        // Store buffering with `call`/`barrier`: they increment `outstanding`, then snapshot
        // the sequence (full barrier in get_state); we wrote the new sequence, then load
        // `outstanding` after this full barrier. One of the two sees the other: either the
        // snapshot names a later grace period, or we wake the thread for it.
        fence(Ordering::SeqCst);
        if self.d.outstanding.load(Ordering::Relaxed) != 0 {
            self.d.wake_worker();
        }
    }

    #[inline(always)]
    fn single_driver(&self) -> bool {
        self.d.gp_waiters.single_driver()
    }

    fn gp_wait_token(&self) -> usize {
        self.d.gp_waiters.token()
    }

    fn gp_wait(&self, token: usize) {
        self.d.gp_waiters.wait(token)
    }

    fn gp_wake(&self) {
        self.d.gp_waiters.wake()
    }

    fn relax(&self) {
        std::thread::yield_now();
    }

    fn sleep(&self, usecs: u32) {
        std::thread::sleep(std::time::Duration::from_micros(u64::from(usecs)));
    }

    /// `CLOCK_MONOTONIC` (a vDSO call): `synchronize` auto-expedites on a domain that looks
    /// idle, with srcu-core's default 25 µs holdoff after the last grace period.
    fn clock_ns(&self) -> Option<u64> {
        let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC is always supported.
        if unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) } != 0 {
            return None;
        }
        Some((ts.tv_sec as u64).wrapping_mul(1_000_000_000).wrapping_add(ts.tv_nsec as u64))
    }

    #[inline(always)]
    fn fault(&self) -> Fault {
        #[cfg(feature = "fault-injection")]
        {
            self.d.fault
        }
        #[cfg(not(feature = "fault-injection"))]
        {
            Fault::None
        }
    }
}

/// Live domains, for the fork handlers (addresses of `Domain`s).
static REGISTRY: Locked<Vec<usize>> = Locked::new(Vec::new());
static INIT: Once = Once::new();
static NR_CPUS: AtomicUsize = AtomicUsize::new(0);
/// Inline readers whose rseq section aborted (statistics, `srcu_rs_rseq_fallbacks()`).
static INLINE_ABORTS: AtomicUsize = AtomicUsize::new(0);

/// Increments that took the atomic half since the process started: the shim's (rseq unusable
/// or aborted in the out-of-line reader) and the inline reader's aborts.
pub fn rseq_fallbacks() -> usize {
    shim::fallbacks() as usize + INLINE_ABORTS.load(Ordering::Relaxed)
}

/// TEST ONLY (fault-injection builds, `SRCU_RS_FORK_KEEP_LOST_READERS=1`): the broken fork
/// child handler that keeps the readers of the parent's lost threads (the C test `forkreaders`
/// must then fail).
static FORK_KEEPS_LOST_READERS: AtomicBool = AtomicBool::new(false);

/// TEST ONLY (fault-injection builds, `SRCU_RS_FORK_EAGER_WORKER=1`): the former child
/// handler that restarts every domain's callback thread, with or without work for it (the C
/// test `forkidle` must then fail).
static FORK_STARTS_IDLE_WORKER: AtomicBool = AtomicBool::new(false);

/// Whether new domains publish their counters for the inline fast path.
static FAST_PATH: AtomicBool = AtomicBool::new(false);
#[cfg_attr(not(feature = "fault-injection"), allow(dead_code))]
static FAULT: AtomicUsize = AtomicUsize::new(0);

fn env_flag(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0")
}

/// Number of possible CPUs: one more than the highest number in
/// `/sys/devices/system/cpu/possible`, and at least `sysconf(_SC_NPROCESSORS_CONF)`. The
/// second value is false if the possible-CPU list could not be read: then a CPU number the
/// kernel reports might exceed the count, and rseq (which indexes the counters with it
/// unchecked) must not be used.
fn possible_cpus() -> (usize, bool) {
    let mut n = 0usize;
    let mut known = false;
    if let Ok(s) = std::fs::read_to_string("/sys/devices/system/cpu/possible") {
        for part in s.trim().split(',') {
            let hi = part.rsplit('-').next().unwrap_or("");
            if let Ok(v) = hi.trim().parse::<usize>() {
                n = n.max(v.saturating_add(1));
                known = true;
            }
        }
    }
    // SAFETY: sysconf has no preconditions.
    let conf = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_CONF) };
    if conf > 0 {
        n = n.max(conf as usize);
    }
    (n.clamp(1, 1 << 16), known && n <= 1 << 16)
}

fn global_init() {
    INIT.call_once(|| {
        #[cfg(feature = "fault-injection")]
        let fault = std::env::var("SRCU_RS_FAULT")
            .ok()
            .and_then(|v| v.parse::<u32>().ok())
            .and_then(Fault::from_raw)
            .unwrap_or(Fault::None);
        #[cfg(not(feature = "fault-injection"))]
        let fault = Fault::None;
        FAULT.store(fault as usize, Ordering::Relaxed);
        #[cfg(feature = "fault-injection")]
        FORK_KEEPS_LOST_READERS.store(
            env_flag("SRCU_RS_FORK_KEEP_LOST_READERS"),
            Ordering::Relaxed,
        );
        #[cfg(feature = "fault-injection")]
        FORK_STARTS_IDLE_WORKER.store(env_flag("SRCU_RS_FORK_EAGER_WORKER"), Ordering::Relaxed);
        let broken_percpu = fault == Fault::NmiInPercpuHalf;
        let (nr_cpus, cpus_known) = possible_cpus();
        let have = shim::init(shim::InitFlags {
            disable_rseq: env_flag("SRCU_RS_DISABLE_RSEQ") || !cpus_known,
            disable_membarrier: env_flag("SRCU_RS_DISABLE_MEMBARRIER"),
            broken_percpu,
        });
        let both = shim::HAVE_RSEQ | shim::HAVE_MEMBARRIER;
        FAST_PATH.store(have & both == both && !broken_percpu, Ordering::Relaxed);
        NR_CPUS.store(nr_cpus, Ordering::Relaxed);
        // SAFETY: the handlers are plain extern "C" functions valid for the program's life.
        unsafe {
            libc::pthread_atfork(
                Some(atfork_prepare),
                Some(atfork_parent),
                Some(atfork_child),
            )
        };
    });
}

fn for_each_domain(f: impl Fn(&Domain)) {
    // SAFETY: only called by the fork handlers between prepare (which locked the registry) and
    // parent/child; the registry is only read here.
    let v = unsafe { REGISTRY.get_locked() };
    for &a in v.iter() {
        // SAFETY: registered addresses are live domains while the registry lock is held.
        f(unsafe { &*(a as *const Domain) });
    }
}

extern "C" fn atfork_prepare() {
    REGISTRY.raw().lock_raw();
    // Lock order: registry, then per domain: callback list, worker, grace-period lock (no path
    // takes them in another order). None of them is ever held while user code (a callback)
    // runs, so a callback that calls into the library cannot deadlock with a fork.
    for_each_domain(|d| {
        d.cbs.0.raw().lock_raw();
        d.worker.raw().lock_raw();
        d.gp_lock.lock_raw();
    });
}

extern "C" fn atfork_parent() {
    for_each_domain(|d| {
        d.gp_lock.unlock_raw();
        d.worker.raw().unlock_raw();
        d.cbs.0.raw().unlock_raw();
    });
    REGISTRY.raw().unlock_raw();
}

extern "C" fn atfork_child() {
    // Only the forking thread exists in the child: every domain's callback thread is gone.
    // Forget it (its stack stays mapped, as with any thread lost to fork) and start a new one
    // only for a domain that has work for it: queued callbacks or barrier markers, or a grace
    // period requested or in progress (a polled cookie, or a synchronize of a thread that is
    // gone). Otherwise the thread is started by the child's first call, barrier or start_poll
    // (ensure_worker), as in a new process: a child that execs or exits soon, or only reads
    // and synchronizes, never has a second thread (no pthread_create between fork and exec,
    // and an exit that waits for no other thread to be scheduled; see ffi/README.md, fork()).
    // SAFETY: the prepare handler locked the registry; we are the only thread.
    let domains: Vec<usize> = unsafe { REGISTRY.get_locked() }.clone();
    REGISTRY.raw().reinit();
    for a in domains {
        // SAFETY: registered domains are live: nothing can have destroyed one since prepare
        // (the registry was locked, and in the child we are the only thread).
        let d = unsafe { &*(a as *const Domain) };
        d.gp_lock.reinit();
        d.gp_waiters.forget_driver();
        d.worker_cond.reinit();
        d.barrier_cond.reinit();
        if !FORK_KEEPS_LOST_READERS.load(Ordering::Relaxed) {
            d.forget_lost_readers();
        }
        // A callback the parent's thread had dequeued but not finished runs in the parent
        // only: what is outstanding here is exactly what is queued.
        // SAFETY: the prepare handler locked the callback list; we are its only thread.
        let queued = unsafe { d.cbs.0.get_locked() }.q.len();
        d.outstanding.store(queued, Ordering::Relaxed);
        // SAFETY: the prepare handler locked the worker block; we are its only thread.
        let w = unsafe { d.worker.get_locked() };
        // The parent's thread does not exist here: forget its id (never join or detach it).
        let had_worker = w.thread.take().is_some();
        w.stop = false;
        w.work = false;
        d.worker.raw().reinit();
        d.cbs.0.raw().reinit();
        let has_work = queued != 0 || d.srcu.gp_pending();
        if had_worker
            && (has_work || FORK_STARTS_IDLE_WORKER.load(Ordering::Relaxed))
            && d.ensure_worker().is_ok()
        {
            d.wake_worker();
        }
    }
}

/// The callback thread could not be started (`pthread_create` failed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoThread;

/// Why `create` failed.
pub enum CreateError {
    /// Out of memory.
    NoMemory,
}

impl Domain {
    /// The platform view of this domain from the calling thread.
    #[inline(always)]
    pub fn plat(&self) -> Plat<'_> {
        Plat { d: self }
    }

    #[inline(always)]
    fn cpu(&self, cpu: usize) -> &CpuCounters {
        let cpu = if cpu < self.nr_cpus { cpu } else { 0 };
        // SAFETY: `counters` points to `nr_cpus` initialised elements for the domain's life, and
        // cpu < nr_cpus.
        unsafe { &*self.counters.add(cpu) }
    }

    /// Allocate and register a domain. Never panics on out-of-memory.
    pub fn create() -> Result<*mut Domain, CreateError> {
        global_init();
        let n = NR_CPUS.load(Ordering::Relaxed);
        let mut v: Vec<CpuCounters> = Vec::new();
        v.try_reserve_exact(n).map_err(|_| CreateError::NoMemory)?;
        v.extend((0..n).map(|_| CpuCounters {
            percpu: Default::default(),
            atomic: Default::default(),
        }));
        let counters = Box::into_raw(v.into_boxed_slice()).cast::<CpuCounters>();
        let layout = std::alloc::Layout::new::<Domain>();
        // SAFETY: Domain is not zero-sized.
        let p = unsafe { std::alloc::alloc(layout) }.cast::<Domain>();
        if p.is_null() {
            // SAFETY: `counters` came from Box::into_raw of a boxed slice of n elements.
            drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(counters, n)) });
            return Err(CreateError::NoMemory);
        }
        let fault = Fault::from_raw(FAULT.load(Ordering::Relaxed) as u32).unwrap_or(Fault::None);
        let fast_counters = if FAST_PATH.load(Ordering::Relaxed) {
            counters
        } else {
            std::ptr::null_mut()
        };
        // SAFETY: p is a fresh allocation with Domain's layout.
        unsafe {
            p.write(Domain {
                srcu: Srcu::new(),
                fast_counters,
                counters,
                nr_cpus: n,
                fault,
                gp_lock: RawLock::new(),
                cbs: CbList(Locked::new(CbQueue {
                    q: VecDeque::new(),
                    last_ticket: 0,
                })),
                outstanding: AtomicUsize::new(0),
                worker: Locked::new(Worker::default()),
                worker_cond: RawCond::new(),
                barrier_cond: RawCond::new(),
                gp_waiters: GpWaiters::new(),
            })
        };
        REGISTRY.with(|r| r.push(p as usize));
        Ok(p)
    }

    /// Free a domain that [`Domain::try_destroy`] has stopped.
    ///
    /// # Safety
    /// `p` came from [`Domain::create`], was unregistered by `try_destroy`, and nothing uses it.
    unsafe fn free(p: *mut Domain) {
        // SAFETY: function contract: p is a live, unused domain from create.
        let d = unsafe { &*p };
        let (counters, n) = (d.counters, d.nr_cpus);
        // SAFETY: p was written by create and is dropped once.
        unsafe { std::ptr::drop_in_place(p) };
        // SAFETY: allocated in create with this layout.
        unsafe { std::alloc::dealloc(p.cast(), std::alloc::Layout::new::<Domain>()) };
        // SAFETY: counters came from Box::into_raw of a boxed slice of n elements in create.
        drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(counters, n)) });
    }

    /// `srcu_rs_destroy`: refuse (domain unchanged and usable) or stop the callback thread,
    /// unregister and free.
    ///
    /// # Safety
    /// `p` came from [`Domain::create`] and was not destroyed yet.
    pub unsafe fn try_destroy(p: *mut Domain) -> Result<(), srcu_core::CleanupError> {
        // SAFETY: function contract.
        let d = unsafe { &*p };
        let pending = d.outstanding.load(Ordering::Acquire) != 0;
        d.srcu.cleanup(&d.plat(), pending)?;
        let thread = d.worker.with(|w| {
            w.stop = true;
            w.thread.take()
        });
        d.worker_cond.broadcast();
        if let Some(t) = thread {
            // SAFETY: `t` is our callback thread, joinable (never detached or joined before:
            // the id was taken out of the worker block, so nobody else joins it).
            unsafe { libc::pthread_join(t, std::ptr::null_mut()) };
        }
        REGISTRY.with(|r| r.retain(|&a| a != p as usize));
        // SAFETY: unregistered, thread joined, cleanup succeeded: nothing uses it any more
        // (using a domain concurrently with or after its destroy is the caller's error).
        unsafe { Domain::free(p) };
        Ok(())
    }

    /// Start the callback thread if it is not running. Fails only if the thread cannot be
    /// created.
    pub fn ensure_worker(&self) -> Result<(), NoThread> {
        let arg = self as *const Domain as *mut libc::c_void;
        self.worker.with(|w| {
            if w.thread.is_some() {
                return Ok(());
            }
            // The thread starts with every signal blocked: application handlers never run on it.
            // SAFETY: zeroed sigset_t is valid storage for sigfillset/pthread_sigmask.
            let mut all: libc::sigset_t = unsafe { std::mem::zeroed() };
            // SAFETY: as above.
            let mut old: libc::sigset_t = unsafe { std::mem::zeroed() };
            // SAFETY: valid pointers to owned sigsets.
            unsafe {
                libc::sigfillset(&mut all);
                libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
            }
            // SAFETY: zeroed pthread_t is valid storage for pthread_create to fill in.
            let mut t: libc::pthread_t = unsafe { std::mem::zeroed() };
            // SAFETY: worker_start is a valid start routine; `arg` (this domain) outlives the
            // thread (try_destroy joins it before freeing); default attributes.
            let r = unsafe { libc::pthread_create(&mut t, std::ptr::null(), worker_start, arg) };
            // SAFETY: restores the caller's mask saved above.
            unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut()) };
            if r != 0 {
                return Err(NoThread);
            }
            // SAFETY: `t` is a live thread; the name is a NUL-terminated string under 16 bytes.
            unsafe { libc::pthread_setname_np(t, c"srcu_rs_cb".as_ptr()) };
            w.thread = Some(t);
            Ok(())
        })
    }

    /// Wake the callback thread (if any) to drive grace periods and invoke callbacks.
    pub fn wake_worker(&self) {
        let running = self.worker.with(|w| {
            w.work = true;
            w.thread.is_some()
        });
        if running {
            self.worker_cond.broadcast();
        }
    }

    fn worker_main(&self) {
        IN_CALLBACK_THREAD.with(|c| c.set(true));
        let p = self.plat();
        loop {
            let stop = self.worker.wait_then(
                &self.worker_cond,
                |w| w.work || w.stop,
                |w| {
                    let stop = w.stop && !w.work;
                    w.work = false;
                    stop
                },
            );
            if stop {
                return;
            }
            loop {
                let r = self.srcu.step(&p);
                self.invoke_ready();
                match r.next {
                    srcu_core::Next::Idle => break,
                    srcu_core::Next::RetryNow => p.relax(),
                    srcu_core::Next::RetryAfter(us) => p.sleep(us),
                }
            }
            self.invoke_ready();
        }
    }

    fn invoke_ready(&self) {
        let p = self.plat();
        self.srcu.invoke_ready(&p, &self.cbs, |e| match e {
            Entry::Cb(h) => {
                // SAFETY: srcu_rs_call's contract: `h` stays valid and untouched by the caller
                // until its callback runs, and `func` was checked non-NULL when it was queued.
                unsafe {
                    if let Some(f) = (*h.0).func {
                        f(h.0);
                    }
                }
                self.outstanding.fetch_sub(1, Ordering::Release);
            }
            Entry::Marker(t) => {
                self.outstanding.fetch_sub(1, Ordering::Release);
                self.worker.with(|w| w.barriers_done = t);
                self.barrier_cond.broadcast();
            }
        });
    }

    /// `srcu_rs_call`.
    ///
    /// # Safety
    /// `h` is valid, and stays valid and untouched by the caller until `func(h)` has been
    /// invoked.
    pub unsafe fn call(
        &self,
        h: *mut srcu_rs_head,
        func: unsafe extern "C" fn(*mut srcu_rs_head),
    ) -> Result<(), NoThread> {
        self.ensure_worker()?;
        // SAFETY: function contract: h is valid and now ours.
        unsafe {
            (*h).func = Some(func);
            (*h).next = std::ptr::null_mut();
        }
        self.outstanding.fetch_add(1, Ordering::Relaxed);
        let p = self.plat();
        let cookie = self.srcu.call(&p, &self.cbs, Entry::Cb(HeadPtr(h)));
        self.wake_if_done(cookie);
        Ok(())
    }

    /// A callback's grace period cannot have ended before it was queued (cookies name a grace
    /// period that starts later), but with a broken snapshot (fault injection) it could: wake
    /// the thread rather than let such a callback wait for an unrelated grace period.
    fn wake_if_done(&self, cookie: Cookie) {
        if self.srcu.poll_state(&self.plat(), cookie) {
            self.wake_worker();
        }
    }

    /// `srcu_rs_barrier` (not from a callback thread: the caller checks).
    pub fn barrier(&self) -> Result<(), NoThread> {
        self.ensure_worker()?;
        self.outstanding.fetch_add(1, Ordering::Relaxed);
        self.srcu
            .barrier_enqueue(&self.plat(), [&self.cbs], || Entry::Marker(0));
        let ticket = LAST_TICKET.with(|t| t.get());
        // The marker's grace period may already be requested by someone else, or (only with
        // a broken cookie snapshot) already over: make sure the thread looks at the list.
        self.wake_worker();
        self.worker
            .wait_then(&self.barrier_cond, |w| w.barriers_done >= ticket, |_| ());
        Ok(())
    }

    /// The inline reader's rseq section aborted (`srcu_rs_layout_v3_count_atomic`): count `c`
    /// in the calling CPU's atomic half, as the platform's `percpu_inc` does after an abort.
    pub fn count_atomic(&self, c: Counter) {
        INLINE_ABORTS.fetch_add(1, Ordering::Relaxed);
        self.plat().atomic_inc(c);
    }

    /// In a `fork()` child (one thread, no reader running): drop the readers that the parent's
    /// other threads were inside when it forked. Their counts were copied into the child, but
    /// their threads do not exist here, so they would never unlock and every grace period
    /// would wait for them forever. What remains for each index is what the forking thread
    /// itself holds through its index-free readers (`srcu_rs_read_enter()`); an indexed reader
    /// held by the forking thread across `fork()` is not supported (undefined, documented).
    ///
    /// Rebalances by adding `locks - unlocks - kept` to CPU 0's atomic unlock half: the sums
    /// are what srcu-core compares, and nothing else runs in the child to race with it.
    fn forget_lost_readers(&self) {
        let p = self.plat();
        for idx in 0..2 {
            let (lock, unlock) = (Counter::lock(idx), Counter::unlock(idx));
            let mut locks = 0usize;
            let mut unlocks = 0usize;
            for cpu in 0..self.nr_cpus {
                locks = locks
                    .wrapping_add(p.percpu_read(cpu, lock))
                    .wrapping_add(p.atomic_read(cpu, lock));
                unlocks = unlocks
                    .wrapping_add(p.percpu_read(cpu, unlock))
                    .wrapping_add(p.atomic_read(cpu, unlock));
            }
            let kept = shim::readers_held((self as *const Domain).cast(), idx);
            let lost = locks.wrapping_sub(unlocks).wrapping_sub(kept);
            if let Some(slot) = self.cpu(0).atomic.get(unlock.slot()) {
                slot.fetch_add(lost, Ordering::Relaxed);
            }
        }
    }

    /// Statistics: grace periods completed.
    pub fn completed(&self) -> usize {
        self.srcu.batches_completed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use srcu_core::CleanupError;

    #[test]
    fn possible_cpus_covers_this_machine() {
        let (n, _) = possible_cpus();
        assert!(n >= 1);
        assert!(shim::current_cpu() < n || shim::current_cpu() == 0);
    }

    #[test]
    fn destroy_refuses_with_a_live_reader_and_the_domain_stays_usable() {
        let p = Domain::create().unwrap_or_else(|_| panic!("create"));
        // SAFETY: p is a live domain from create until try_destroy succeeds below.
        let d = unsafe { &*p };
        let idx = d.srcu.read_lock(&d.plat());
        // SAFETY: p is live and not destroyed.
        let refused = unsafe { Domain::try_destroy(p) };
        assert_eq!(refused, Err(CleanupError::ActiveReaders));
        d.srcu.read_unlock(&d.plat(), idx);
        d.srcu.synchronize(&d.plat());
        assert!(d.completed() >= 1);
        // SAFETY: p is live; nothing uses it afterwards.
        assert_eq!(unsafe { Domain::try_destroy(p) }, Ok(()));
    }

    #[test]
    fn atomic_count_balances_fast_counts() {
        let p = Domain::create().unwrap_or_else(|_| panic!("create"));
        // SAFETY: p is live until the try_destroy below.
        let d = unsafe { &*p };
        let idx = d.srcu.read_lock(&d.plat());
        d.count_atomic(Counter::unlock(idx.get())); // the inline path's abort half
        assert!(!d.srcu.readers_active(&d.plat()));
        // SAFETY: p is live; nothing uses it afterwards.
        assert_eq!(unsafe { Domain::try_destroy(p) }, Ok(()));
    }
}
