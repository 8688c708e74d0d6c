/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * srcu_rs: NMI-safe sleepable RCU with a single reader API.
 *
 * The grace-period algorithm is srcu-core (kernel/rcu/srcu_rs_core.rs,
 * generated from the srcu-rs repository); this header and
 * kernel/rcu/srcu_rs.c map it onto per-CPU counters, a mutex, work items
 * and rcu_head callback lists.
 *
 * Readers call srcu_rs_read_lock() and srcu_rs_read_unlock() from any
 * context: task, softirq, hardirq and NMI.  Outside NMI a reader increments
 * the per-CPU half of its counter with this_cpu_inc(); in NMI it increments
 * the atomic half with atomic_long_inc().  Grace periods sum both halves, so
 * there is no separate _nmisafe() API.
 */

#ifndef _LINUX_SRCU_RS_H
#define _LINUX_SRCU_RS_H

#include <linux/atomic.h>
#include <linux/irqflags.h>
#include <linux/lockdep.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/rcupdate.h>
#include <linux/spinlock_types.h>
#include <linux/srcu.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

struct dentry;

@GENERATED_LAYOUT@
/* Reader counter slots, in srcu-core's Counter::slot() order. */
#define SRCU_RS_SLOTS		4

/**
 * struct srcu_rs_pcpu - per-CPU reader counters of one srcu_rs domain
 * @cnt: per-CPU-op halves: lock[0], lock[1], unlock[0], unlock[1].
 *	Incremented with this_cpu_inc() outside NMI only.
 * @nmi_cnt: atomic halves of the same counters, incremented in NMI only.
 */
struct srcu_rs_pcpu {
	unsigned long cnt[SRCU_RS_SLOTS];
	atomic_long_t nmi_cnt[SRCU_RS_SLOTS];
};

/* Segments of the callback list: each holds callbacks waiting for one cookie. */
#define SRCU_RS_CB_SEGS		4

/**
 * struct srcu_rs - an srcu_rs domain
 * @core: srcu-core's state; must be first (the Rust core receives the domain
 *	pointer and reads it as its own state).
 * @pcpu: per-CPU reader counters.
 * @gp_mutex: serialises grace-period state changes (srcu-core's GP lock).
 * @cb_lock: protects the callback list and its segments.
 * @cb_head: oldest queued callback.
 * @cb_tail: where the next callback is linked.
 * @seg_n: number of callbacks in each segment (a ring starting at @seg_first).
 * @seg_cookie: the grace-period cookie each segment waits for.
 * @seg_first: index of the oldest segment.
 * @nsegs: number of segments in use.
 * @pcpu_static: @pcpu is a static per-CPU variable (never freed).
 * @stopped: set by cleanup_srcu_rs() before it syncs @work: from then on
 *	nothing queues @work (kicks are ignored), so a refused domain inside
 *	an object its owner frees leaves no work item behind.
 * @work: drives grace periods and invokes callbacks in process context, on
 *	rcu_gp_wq (queued from task, softirq or hardirq context).
 * @boot_entry: on the boot list while a grace period was requested before
 *	workqueues could run.
 * @static_entry: a statically initialised domain (@pcpu_static) is on the
 *	static list from its first grace-period request on, so that the module
 *	notifier finds the ones in a module that goes away.
 * @gp_wq: synchronize_srcu_rs() callers sleeping while another caller drives
 *	the grace period (srcu-core's one driver per grace period).
 * @gp_events: grace-period event count: advanced, then @gp_wq woken, when a
 *	grace period ends or a driver stops with requests pending.
 * @nr_scans: counter scans (barriers A) issued on this domain (statistics).
 * @debugfs: the domain's file under <debugfs>/srcu_rs/, if its owner gave it
 *	one (srcu_rs_debugfs_register()); removed by cleanup_srcu_rs().
 * @dep_map: lockdep map of the readers.
 */
struct srcu_rs {
	struct srcu_rs_core core;
	struct srcu_rs_pcpu __percpu *pcpu;
	struct mutex gp_mutex;	/* srcu-core's grace-period lock */
	raw_spinlock_t cb_lock;
	struct rcu_head *cb_head;
	struct rcu_head **cb_tail;
	unsigned long seg_n[SRCU_RS_CB_SEGS];
	unsigned long seg_cookie[SRCU_RS_CB_SEGS];
	unsigned int seg_first;
	unsigned int nsegs;
	bool pcpu_static;
	bool stopped;
	struct delayed_work work;
	struct list_head boot_entry;
	struct list_head static_entry;
	wait_queue_head_t gp_wq;
	atomic_long_t gp_events;
	atomic_long_t nr_scans;
	struct dentry *debugfs;
#ifdef CONFIG_DEBUG_LOCK_ALLOC
	struct lockdep_map dep_map;
#endif
};

static_assert(offsetof(struct srcu_rs, core) == 0);

void srcu_rs_work_fn(struct work_struct *work);

/**
 * __SRCU_RS_INIT - static initializer for a struct srcu_rs
 * @name: the struct srcu_rs being initialised (may be a member expression,
 *	as in SRCU_NOTIFIER_INIT()).
 * @pcpu_name: a DEFINE_PER_CPU(struct srcu_rs_pcpu, ...) variable.
 */
#define __SRCU_RS_INIT(name, pcpu_name)					\
{									\
	.core = __SRCU_RS_CORE_INIT,					\
	.pcpu = &(pcpu_name),						\
	.gp_mutex = __MUTEX_INITIALIZER(name.gp_mutex),			\
	.cb_lock = __RAW_SPIN_LOCK_UNLOCKED(name.cb_lock),		\
	.cb_tail = &name.cb_head,					\
	.pcpu_static = true,						\
	.work = __DELAYED_WORK_INITIALIZER(name.work, srcu_rs_work_fn, 0), \
	.boot_entry = LIST_HEAD_INIT(name.boot_entry),			\
	.static_entry = LIST_HEAD_INIT(name.static_entry),		\
	.gp_wq = __WAIT_QUEUE_HEAD_INITIALIZER(name.gp_wq),		\
	.gp_events = ATOMIC_LONG_INIT(0),				\
	.nr_scans = ATOMIC_LONG_INIT(0),				\
	__SRCU_DEP_MAP_INIT(name)					\
}

#define __DEFINE_SRCU_RS(name, is_static)				\
	static DEFINE_PER_CPU(struct srcu_rs_pcpu, name##_srcu_rs_pcpu);	\
	is_static struct srcu_rs name = __SRCU_RS_INIT(name, name##_srcu_rs_pcpu)

/*
 * Define a statically initialised srcu_rs domain; usable before any initcall.
 * In a module, what it still has pending when the module goes is finished by
 * srcu_rs's module notifier before the module's memory is freed.
 */
#define DEFINE_SRCU_RS(name)		__DEFINE_SRCU_RS(name, /* not static */)
#define DEFINE_STATIC_SRCU_RS(name)	__DEFINE_SRCU_RS(name, static)

#ifdef CONFIG_DEBUG_LOCK_ALLOC
int __init_srcu_rs(struct srcu_rs *ssp, const char *name,
		   struct lock_class_key *key);

#define init_srcu_rs(ssp)						\
({									\
	static struct lock_class_key __srcu_rs_key;			\
									\
	__init_srcu_rs((ssp), #ssp, &__srcu_rs_key);			\
})
#else
int init_srcu_rs(struct srcu_rs *ssp);
#endif

int __cleanup_srcu_rs(struct srcu_rs *ssp);
void cleanup_srcu_rs(struct srcu_rs *ssp);

void synchronize_srcu_rs(struct srcu_rs *ssp);
void synchronize_srcu_rs_expedited(struct srcu_rs *ssp);
void call_srcu_rs(struct srcu_rs *ssp, struct rcu_head *rhp,
		  rcu_callback_t func);
void srcu_rs_barrier(struct srcu_rs *ssp);
unsigned long srcu_rs_batches_completed(struct srcu_rs *ssp);
unsigned long srcu_rs_readers_locked(struct srcu_rs *ssp);
unsigned long srcu_rs_scans(struct srcu_rs *ssp);
#ifdef CONFIG_DEBUG_FS
__printf(2, 3)
void srcu_rs_debugfs_register(struct srcu_rs *ssp, const char *fmt, ...);
#else
static inline __printf(2, 3)
void srcu_rs_debugfs_register(struct srcu_rs *ssp, const char *fmt, ...)
{
}
#endif
unsigned long get_state_synchronize_srcu_rs(struct srcu_rs *ssp);
unsigned long start_poll_synchronize_srcu_rs(struct srcu_rs *ssp);
bool poll_state_synchronize_srcu_rs(struct srcu_rs *ssp, unsigned long cookie);

/* srcu-core's Cookie::COMPLETED; the generated Rust asserts the value. */
#define SRCU_RS_GET_STATE_COMPLETED	0x1UL

/**
 * get_completed_synchronize_srcu_rs - a cookie that is always completed
 *
 * Return: a value that poll_state_synchronize_srcu_rs() always reports as
 * completed, for use as the initial value of cookie variables.
 */
static inline unsigned long get_completed_synchronize_srcu_rs(void)
{
	return SRCU_RS_GET_STATE_COMPLETED;
}

/**
 * same_state_synchronize_srcu_rs - are two cookies the same grace period?
 * @oldstate1: a cookie from get_state_synchronize_srcu_rs() or friends.
 * @oldstate2: another such cookie.
 *
 * Return: true if both name the same grace-period state.
 */
static inline bool same_state_synchronize_srcu_rs(unsigned long oldstate1,
						  unsigned long oldstate2)
{
	return oldstate1 == oldstate2;
}

#ifdef CONFIG_DEBUG_LOCK_ALLOC
/**
 * srcu_rs_read_lock_held - might we be in an srcu_rs read-side critical section?
 * @ssp: the srcu_rs domain to check.
 *
 * As srcu_read_lock_held(): with lockdep, nonzero iff in a read-side critical
 * section of @ssp; without it, or while lockdep is off, assume we are.
 */
static inline int srcu_rs_read_lock_held(const struct srcu_rs *ssp)
{
	if (!debug_lockdep_rcu_enabled())
		return 1;
	return lock_is_held(&ssp->dep_map);
}

static inline void srcu_rs_lock_acquire(struct srcu_rs *ssp)
{
	/* NMI may interrupt lockdep itself: use the trylock form there. */
	if (in_nmi())
		rcu_try_lock_acquire(&ssp->dep_map);
	else
		srcu_lock_acquire(&ssp->dep_map);
}

static inline void srcu_rs_lock_release(struct srcu_rs *ssp)
{
	if (in_nmi())
		rcu_lock_release(&ssp->dep_map);
	else
		srcu_lock_release(&ssp->dep_map);
}
#else
static inline int srcu_rs_read_lock_held(const struct srcu_rs *ssp)
{
	return 1;
}

static inline void srcu_rs_lock_acquire(struct srcu_rs *ssp) { }
static inline void srcu_rs_lock_release(struct srcu_rs *ssp) { }
#endif

/**
 * srcu_rs_dereference_check - fetch an srcu_rs-protected pointer
 * @p: the pointer to fetch and protect for later dereferencing.
 * @ssp: the srcu_rs domain protecting it.
 * @c: condition under which the dereference is also legal (update side).
 */
#define srcu_rs_dereference_check(p, ssp, c)				\
	__rcu_dereference_check((p), __UNIQUE_ID(rcu),			\
				(c) || srcu_rs_read_lock_held(ssp), __rcu)

/**
 * srcu_rs_dereference - fetch an srcu_rs-protected pointer in a reader
 * @p: the pointer to fetch and protect for later dereferencing.
 * @ssp: the srcu_rs domain protecting it.
 */
#define srcu_rs_dereference(p, ssp) srcu_rs_dereference_check((p), (ssp), 0)

/*
 * The reader fast path.  srcu-core's reader protocol (readers.rs) is
 * translated to C by the generator, so readers cost what srcu_read_lock()
 * costs: one per-CPU increment and one full barrier per side.  These are
 * the platform operations the generated code calls.
 */
u32 srcu_rs_shim_fault(struct srcu_rs *ssp);

/* srcu-core's test-only Fault selector: constant 0 unless configured. */
static __always_inline u32 __srcu_rs_fault(struct srcu_rs *ssp)
{
	if (IS_ENABLED(CONFIG_SRCU_RS_FAULT_INJECTION))
		return srcu_rs_shim_fault(ssp);
	return 0;
}

/*
 * srcu-core's Platform::in_nmi(), and its NMI-edge contract: true in every
 * context that can interrupt __srcu_rs_percpu_inc() between its load and its
 * store, NMI entry and exit edges included; true outside NMI is harmless (the
 * reader then uses the atomic half).  in_nmi() is false before nmi_enter()
 * raises NMI_MASK.  On x86 that entry code is noinstr and this_cpu_inc() is
 * one instruction.  On powerpc Book3S-64 handlers are only notrace and a
 * system reset may run without nmi_enter() at all (real mode on a hash LPAR
 * guest, KASAN, a paged first per-CPU chunk), but the exception entry raises
 * paca->in_nmi in assembly before any C runs: test it as well.
 */
static __always_inline bool __srcu_rs_in_nmi(void)
{
#ifdef CONFIG_PPC_BOOK3S_64
	return in_nmi() || local_paca->in_nmi;
#else
	return in_nmi();
#endif
}

#ifdef CONFIG_SRCU_RS_GENERIC_PERCPU
/* Test hook between the load and the store of the generic increment. */
typedef void (*srcu_rs_window_fn_t)(struct srcu_rs *ssp, unsigned long slot);

void srcu_rs_generic_window(struct srcu_rs *ssp, unsigned long slot);
int srcu_rs_set_generic_window(struct srcu_rs *ssp, srcu_rs_window_fn_t fn);
#endif

/*
 * Per-CPU half of a reader counter.  Never used in NMI: NMI readers use the
 * atomic half, so this increment only has to be irq-safe.
 */
static __always_inline void __srcu_rs_percpu_inc(struct srcu_rs *ssp,
						 unsigned long slot)
{
#ifdef CONFIG_SRCU_RS_GENERIC_PERCPU
	unsigned long flags;
	unsigned long *p;
	unsigned long v;

	/*
	 * What this_cpu_inc() is on architectures without NMI-safe per-CPU
	 * operations (asm-generic/percpu.h): load, add and store with
	 * interrupts disabled.  An NMI between the load and the store would
	 * lose its own increment, which is why NMI readers never come here.
	 * srcu_rs_generic_window() lets the KUnit tests put an NMI exactly
	 * there; it does nothing for any other domain.
	 */
	local_irq_save(flags);
	p = raw_cpu_ptr(&ssp->pcpu->cnt[slot]);
	v = READ_ONCE(*p);
	srcu_rs_generic_window(ssp, slot);
	WRITE_ONCE(*p, v + 1);
	local_irq_restore(flags);
#else
	this_cpu_inc(ssp->pcpu->cnt[slot]);
#endif
}

/* Atomic half of a reader counter: NMI readers only. */
static __always_inline void __srcu_rs_atomic_inc(struct srcu_rs *ssp,
						 unsigned long slot)
{
	atomic_long_inc(raw_cpu_ptr(&ssp->pcpu->nmi_cnt[slot]));
}

@GENERATED_READERS@

/**
 * srcu_rs_read_lock - enter an srcu_rs read-side critical section
 * @ssp: the srcu_rs domain.
 *
 * Callable in every context, NMI included.  Sections may nest, sleep (outside
 * atomic context), and end on another CPU or in another context.
 *
 * Return: the index to pass to the matching srcu_rs_read_unlock().
 */
static inline int srcu_rs_read_lock(struct srcu_rs *ssp) __acquires(ssp)
{
	int idx = __srcu_rs_read_lock(ssp);

	srcu_rs_lock_acquire(ssp);
	return idx;
}

/**
 * srcu_rs_read_unlock - leave an srcu_rs read-side critical section
 * @ssp: the srcu_rs domain.
 * @idx: the value the matching srcu_rs_read_lock() returned.
 */
static inline void srcu_rs_read_unlock(struct srcu_rs *ssp, int idx)
	__releases(ssp)
{
	WARN_ON_ONCE(idx & ~0x1);
	srcu_rs_lock_release(ssp);
	__srcu_rs_read_unlock(ssp, idx);
}

/*
 * srcu-core Fault::UpReadOtherIndex (test-only, srcu_rs.fault=9): an
 * srcu_rs_up_read() that counts its unlock in the other index than the one
 * its srcu_rs_down_read() locked.
 */
#define SRCU_RS_FAULT_UP_READ_OTHER_INDEX	9

/**
 * srcu_rs_down_read - enter an srcu_rs section that may end in another task
 * @ssp: the srcu_rs domain.
 *
 * The semaphore-like reader, as srcu_down_read(): the section it enters is
 * not owned by the caller, so the matching srcu_rs_up_read() may run in
 * another task, in a softirq, hardirq or NMI handler, or on another CPU.
 * Unlike srcu_down_read(), both may also run in NMI: an NMI reader counts in
 * the atomic half of the split counters, which grace periods sum with the
 * per-CPU half whoever did the increments.  So a section may begin in an NMI
 * handler and end in the task it interrupted, or begin in a task and end in
 * an irq handler.
 *
 * Lockdep does not track these sections: it can neither report a
 * synchronize_srcu_rs() on @ssp inside one (a self-deadlock, as inside any
 * srcu_rs reader) nor one that is never ended.  Use srcu_rs_read_lock()
 * wherever the section begins and ends in the same context, so that lockdep
 * checks it.  srcu_rs_read_lock_held() does not see these sections either:
 * dereference under them with srcu_rs_dereference_check(p, ssp, true) or
 * rcu_dereference_raw().
 *
 * Sections may nest in each other and in srcu_rs_read_lock() sections, and
 * may sleep (outside atomic context).
 *
 * Return: the index to pass to the matching srcu_rs_up_read().
 */
static inline int srcu_rs_down_read(struct srcu_rs *ssp) __acquires(ssp)
{
	return __srcu_rs_read_lock(ssp);
}

/**
 * srcu_rs_up_read - leave a section entered by srcu_rs_down_read()
 * @ssp: the srcu_rs domain.
 * @idx: the value the matching srcu_rs_down_read() returned.
 *
 * Callable in every context, NMI included, whatever the context and the CPU
 * of the matching srcu_rs_down_read().  The index may be carried there by
 * any means (a work item, a timer, a shared variable): the caller orders its
 * hand-off as it would for any other datum.
 */
static inline void srcu_rs_up_read(struct srcu_rs *ssp, int idx)
	__releases(ssp)
{
	WARN_ON_ONCE(idx & ~0x1);
	if (__srcu_rs_fault(ssp) == SRCU_RS_FAULT_UP_READ_OTHER_INDEX)
		idx ^= 1;
	__srcu_rs_read_unlock(ssp, idx);
}

#endif /* _LINUX_SRCU_RS_H */
