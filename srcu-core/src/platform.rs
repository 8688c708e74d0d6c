// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! What the algorithm needs from its world.
//!
//! A [`Platform`] value is a *view* of one domain from the current execution context: it knows
//! which CPU the caller runs on and whether it is in NMI. The kernel shim builds one on the stack
//! from a `struct srcu_rs *`; the C library from its domain pointer; the loom models and the
//! torture test build one per simulated CPU and context. The algorithm never stores one.
//!
//! The counter storage belongs to the platform (the kernel allocates it with `alloc_percpu()`),
//! so this crate needs no allocator.

use crate::counters::Counter;

/// The algorithm's environment. Every method must be callable in the contexts documented on it;
/// the reader methods must be callable in every context, NMI included.
pub trait Platform {
    /// Increment the current CPU's **per-CPU-op half** of `c` (`this_cpu_inc()`).
    ///
    /// Must be atomic with respect to interrupts on this CPU (an irq reader cannot split it) but
    /// need **not** be atomic with respect to NMIs: it may be a load, an add and a store with
    /// interrupts disabled. Never called while [`Platform::in_nmi`] is true. Callable in task,
    /// softirq and hardirq context.
    fn percpu_inc(&self, c: Counter);

    /// Increment the **atomic half** of `c` for the current CPU (or a shared atomic half) with
    /// one atomic read-modify-write (`atomic_long_inc()`). Only called while in NMI.
    fn atomic_inc(&self, c: Counter);

    /// Read CPU `cpu`'s per-CPU-op half of `c`: one untorn load (`READ_ONCE()`).
    fn percpu_read(&self, cpu: usize, c: Counter) -> usize;

    /// Read CPU `cpu`'s atomic half of `c` (`atomic_long_read()`). A platform with one shared
    /// atomic half returns it for one CPU and zero for the others.
    fn atomic_read(&self, cpu: usize, c: Counter) -> usize;

    /// One more than the highest CPU number that may hold counts (`nr_cpu_ids`).
    fn nr_cpus(&self) -> usize;

    /// Whether CPU `cpu` has counters (`cpu_possible()`); CPUs for which this is false are
    /// skipped by the scans. Counts never move between CPUs, so hot-plug needs nothing else.
    fn cpu_possible(&self, cpu: usize) -> bool {
        let _ = cpu;
        true
    }

    /// Whether the caller runs in NMI context (`in_nmi()`), i.e. may have interrupted a
    /// [`Platform::percpu_inc`] between its load and its store on this CPU.
    ///
    /// # The NMI-edge contract
    ///
    /// The answer must be `true` in every context that can interrupt a per-CPU-op increment
    /// between its load and its store — every NMI-like entry *including its edges*: the entry
    /// code that runs before the kernel's `nmi_enter()` raises `NMI_MASK` in `preempt_count()`,
    /// and the exit code after `nmi_exit()` lowers it ("this won't work at the very edges of the
    /// NMI, when NMI_MASK won't be set in preempt_count()", LKML 2017, on ftrace and livepatch
    /// handlers in NMI). A reader that runs there with a false answer takes the per-CPU-op
    /// half; where `this_cpu_inc()` is load, add, store it can lose the increment of the task
    /// reader it interrupted — a lost lock increment lets a grace period end under that reader
    /// (use after free), a lost unlock increment never balances (a stalled grace period).
    ///
    /// The opposite error, `true` outside NMI, is always safe: the reader then uses the atomic
    /// half, which any context may use, at the price of one atomic read-modify-write. (Linux's
    /// `irqentry_nmi_enter()` users for #DB and #MC-style exceptions are such contexts.)
    ///
    /// How each platform meets it:
    /// * **x86-64** (and every architecture with `ARCH_HAS_NMI_SAFE_THIS_CPU_OPS`: arm64, s390,
    ///   loongarch): `this_cpu_inc()` is one instruction or an atomic sequence that an NMI cannot
    ///   split, so the edges cannot lose a count. On x86 the NMI entry code before
    ///   `irqentry_nmi_enter()` is also `noinstr`: no tracer or probe can run a reader there.
    /// * **powerpc Book3S-64**: interrupt handlers are only `notrace` and `NOKPROBE_SYMBOL`
    ///   (arch/powerpc/include/asm/interrupt.h), and a system-reset handler may run whole
    ///   without `nmi_enter()` (real mode on a hash-MMU LPAR guest, KASAN, a paged first per-CPU
    ///   chunk). The exception entry raises `paca->in_nmi` in assembly before any C runs, so the
    ///   kernel shim answers `in_nmi() || local_paca->in_nmi`.
    /// * **Other kernel architectures** with NMIs and a load/add/store `this_cpu_inc()` must
    ///   show the same: no reader can run in NMI entry or exit code outside `nmi_enter()` /
    ///   `nmi_exit()`, or a flag raised before any C runs is tested as well.
    /// * **Userspace** (the C library) and the tests: the signal handler or context that plays
    ///   the NMI sets the flag before it calls a reader.
    ///
    /// Where it can be checked: the loom NMI model, the torture test's signal-handler NMIs and
    /// the kernel's KUnit NMI test (in the generic per-CPU mode, with an NMI placed between the
    /// load and the store) show what a wrong answer costs; an edge itself cannot be observed
    /// from inside the reader, so the contract is kept by review of each platform's entry code.
    fn in_nmi(&self) -> bool;

    /// A full memory barrier (`smp_mb()`, `fence(SeqCst)`). Every use names its pairing.
    fn smp_mb(&self);

    /// Reader-side barriers B and C. Default: [`Platform::smp_mb`]. A platform may make this a
    /// compiler barrier only if its [`Platform::heavy_mb`] forces a full barrier on every CPU
    /// that may be running a reader (`membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)`), as
    /// liburcu's `smp_mb_slave()`/`smp_mb_master()` pair does.
    #[inline(always)]
    fn reader_mb(&self) {
        self.smp_mb()
    }

    /// Barrier A, the one grace-period barrier that pairs with the readers' B and C in every
    /// scan (the idle fast path's included). Default: [`Platform::smp_mb`]; see
    /// [`Platform::reader_mb`] for the asymmetric alternative (`membarrier()`). Every other
    /// grace-period barrier (D, E, the sequence and cookie barriers) is [`Platform::smp_mb`]:
    /// on a symmetric platform such as the kernel, where this is `smp_mb()` too, that changes
    /// nothing. Updater context only (it may be a system call).
    #[inline(always)]
    fn heavy_mb(&self) {
        self.smp_mb()
    }

    /// Run `f` holding the lock that serialises grace-period *state changes* (`srcu_gp_mutex`).
    /// `f` never waits for readers or sleeps; it only scans counters and updates state. Taken
    /// from updater (sleepable) context only.
    fn with_gp_lock<R>(&self, f: impl FnOnce() -> R) -> R;

    /// Arrange for [`crate::Srcu::step`] to be called soon: queue work, wake a thread, or do
    /// nothing if every requester drives the engine itself. Callable from hardirq context (it is
    /// called by `call` and `start_poll`); never called in NMI. `expedited` asks for no delay.
    fn kick(&self, expedited: bool);

    /// A step ended at least one grace period: ready callbacks may be invoked and sleepers
    /// woken. Called from the context that drove the step, outside the grace-period lock.
    fn gp_ended(&self) {}

    /// Whether concurrent `synchronize` callers elect **one driver** (see the crate docs, "One
    /// driver per grace period"): the first caller that finds no driver drives the engine, the
    /// others sleep in [`Platform::gp_wait`] until their cookie completes. Default `false`:
    /// every caller drives the engine itself, as before (the grace-period lock serialises
    /// them), and [`Platform::gp_wait_token`], [`Platform::gp_wait`] and [`Platform::gp_wake`]
    /// are never called. A platform that answers `true` must implement those three.
    #[inline(always)]
    fn single_driver(&self) -> bool {
        false
    }

    /// The current value of the platform's grace-period event count, for a later
    /// [`Platform::gp_wait`] (an eventcount's "prepare to wait"). The engine orders this load
    /// before its checks of the grace-period state with a full barrier. Default: 0.
    #[inline(always)]
    fn gp_wait_token(&self) -> usize {
        0
    }

    /// Sleep until the event count differs from `token` (a [`Platform::gp_wake`] happened since
    /// the token was read); may return early or spuriously: the caller re-checks. Must not
    /// miss a wake that happened after the token was read (a futex wait on the count, or a
    /// condition variable whose predicate is "count != token"). Updater context. Default:
    /// [`Platform::relax`].
    #[inline(always)]
    fn gp_wait(&self, token: usize) {
        let _ = token;
        self.relax()
    }

    /// Advance the event count and wake every [`Platform::gp_wait`] sleeper. The engine calls
    /// it after a full barrier when a grace period ended (every path: [`crate::Srcu::step`]
    /// and cleanup) and when a driver hands off. Only called if [`Platform::single_driver`].
    /// Default: nothing.
    #[inline(always)]
    fn gp_wake(&self) {}

    /// Give readers a moment before the next scan without sleeping (`cpu_relax()`, a yield).
    fn relax(&self);

    /// Sleep about `usecs` microseconds before the next scan (updater context only).
    fn sleep(&self, usecs: u32);

    /// How the engine waits between scans that still find readers (the domain's tunables, as
    /// Tree SRCU's `module_param`s). Default: [`DelayPolicy::DEFAULT`]. Read once per retry,
    /// in updater context under the grace-period lock.
    #[inline(always)]
    fn delay_policy(&self) -> DelayPolicy {
        DelayPolicy::DEFAULT
    }

    /// A monotonic clock in nanoseconds (`ktime_get_mono_fast_ns()`, `CLOCK_MONOTONIC`), for
    /// the auto-expedite heuristic only: `synchronize` expedites when the domain looks idle and
    /// its last grace period ended at least [`DelayPolicy::exp_holdoff_ns`] ago, as Tree
    /// SRCU's `srcu_might_be_idle()` does. It may wrap and need not be exact; it is read once
    /// per grace period and once per `synchronize`, in updater context. Default: `None`, no
    /// clock, so `synchronize` never expedites on its own.
    #[inline(always)]
    fn clock_ns(&self) -> Option<u64> {
        None
    }

    /// Test-only fault injection: the deliberately broken variants that the models, the torture
    /// test and rcutorture must catch. Production platforms keep the default, which the compiler
    /// folds away.
    #[inline(always)]
    fn fault(&self) -> Fault {
        Fault::None
    }
}

/// Deliberately broken variants of the algorithm, each defeating one safety property. Tests use
/// them to show that they can fail (rcutorture's `busted_srcud` plays this role in the kernel).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Fault {
    /// The algorithm as documented.
    None = 0,
    /// Skip SCAN1 (the wait on the inactive index before the flip): the inactive index counts
    /// as quiescent, in the idle fast path too. Misses a reader that read `srcu_idx` before the
    /// previous flip and incremented late.
    SkipFirstScan = 1,
    /// Skip SCAN2 (the wait after the flip): the grace period waits for nobody current.
    SkipSecondScan = 2,
    /// Drop barrier A between summing unlocks and summing locks.
    NoBarrierA = 3,
    /// Count NMI readers in the per-CPU-op half, as a single-flavor SRCU would: an NMI between
    /// the load and the store of a task's per-CPU increment loses a count.
    NmiInPercpuHalf = 4,
    /// Cookie snapshot that accepts a grace period already in progress (or already ended):
    /// `(seq + 3) & !3` instead of `rcu_seq_snap()`'s `(seq + 7) & !3`.
    AcceptStartedGp = 5,
    /// Sum locks before unlocks: a reader that locks after the lock sum and unlocks before the
    /// unlock sum cancels an older reader that is still running.
    LocksBeforeUnlocks = 6,
    /// The idle fast path ends the grace period when the *active* index is quiescent, ignoring
    /// the inactive one: misses a straggler that read `srcu_idx` before the last flip and
    /// incremented the now-inactive index (64-bit builds only; elsewhere there is no fast path
    /// and this is [`Fault::None`]).
    FastPathActiveOnly = 7,
    /// A `synchronize` driver that stops driving does not re-check for requests raised while
    /// it drove (single-driver platforms only): a caller that found it driving and went to
    /// sleep is never woken, and no one drives its grace period.
    SkipDriverRecheck = 8,
    /// A reader whose section ends in another context than it began counts its unlock in the
    /// other index than its lock: the index it was handed is flipped on the way. Each such
    /// section leaves one index with a lock no unlock matches (its grace periods never end) and
    /// the other with an unlock that cancels a running reader's lock. srcu-core's own
    /// [`crate::Srcu::read_unlock`] ignores it: the kernel's `srcu_rs_up_read()`, the reader
    /// that lockdep does not watch because it may end in another task, applies it.
    UpReadOtherIndex = 9,
}

impl Fault {
    /// The fault with the given number, for module parameters and environment variables.
    pub const fn from_raw(v: u32) -> Option<Fault> {
        match v {
            0 => Some(Fault::None),
            1 => Some(Fault::SkipFirstScan),
            2 => Some(Fault::SkipSecondScan),
            3 => Some(Fault::NoBarrierA),
            4 => Some(Fault::NmiInPercpuHalf),
            5 => Some(Fault::AcceptStartedGp),
            6 => Some(Fault::LocksBeforeUnlocks),
            7 => Some(Fault::FastPathActiveOnly),
            8 => Some(Fault::SkipDriverRecheck),
            9 => Some(Fault::UpReadOtherIndex),
            _ => None,
        }
    }
}

/// How the engine waits between scans that still find readers (srcutree.c's `srcu_get_delay()`
/// and its module parameters): each phase (SCAN1, SCAN2) first retries a few times without
/// delay, only relaxing, then sleeps, doubling from a first sleep up to a longest one. The
/// platform supplies it ([`Platform::delay_policy`]); a phase counts as expedited when an
/// expedited request covers the grace period in progress.
///
/// Tree SRCU's closest tunables: `srcu_max_nodelay_phase` (no-delay retries per phase; its
/// default allows about one jiffy of 5 µs `srcu_retry_check_delay` busy-waits, 400–1000 of
/// them), `SRCU_INTERVAL` and `SRCU_MAX_INTERVAL` (1 and 10 jiffies of sleep). The defaults
/// here ([`DelayPolicy::DEFAULT`]) retry far fewer times without delay, because a retry here
/// is a whole scan whose barrier A may be a `membarrier()` and a no-delay retry only relaxes
/// (it does not busy-wait 5 µs), and because readers may sleep: spinning on them can starve
/// them on a machine with few CPUs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DelayPolicy {
    /// No-delay retries at the start of an expedited phase.
    pub expedited_nodelay_scans: usize,
    /// First sleep of an expedited phase that outlived its no-delay retries, in microseconds.
    pub expedited_first_sleep_us: u32,
    /// No-delay retries at the start of a normal phase (short readers usually finish).
    pub normal_nodelay_scans: usize,
    /// First sleep of a normal phase, in microseconds.
    pub normal_first_sleep_us: u32,
    /// The longest sleep between scans, in microseconds.
    pub max_sleep_us: u32,
    /// `synchronize` auto-expedites when the domain looks idle and its last grace period ended
    /// at least this long ago, in nanoseconds (Tree SRCU's `exp_holdoff`, whose default this
    /// is); 0 never auto-expedites. Needs [`Platform::clock_ns`].
    pub exp_holdoff_ns: u32,
}

impl DelayPolicy {
    /// The default: expedited phases retry 8 times without delay, then sleep from 20 µs;
    /// normal phases retry once, then sleep from 100 µs; no sleep is longer than 10 ms (about
    /// a jiffy at HZ=100); `synchronize` auto-expedites 25 µs after the last grace period, as
    /// Tree SRCU's `DEFAULT_SRCU_EXP_HOLDOFF`.
    pub const DEFAULT: DelayPolicy = DelayPolicy {
        expedited_nodelay_scans: 8,
        expedited_first_sleep_us: 20,
        normal_nodelay_scans: 1,
        normal_first_sleep_us: 100,
        max_sleep_us: 10_000,
        exp_holdoff_ns: 25_000,
    };
}

impl Default for DelayPolicy {
    fn default() -> Self {
        Self::DEFAULT
    }
}
