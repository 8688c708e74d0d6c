// SPDX-License-Identifier: GPL-2.0-only
/*
 * srcu_rs: the kernel platform of the srcu-core grace-period algorithm.
 *
 * The algorithm (reader protocol, grace-period state machine, polling
 * cookies, callback readiness) is Rust, in srcu_rs_core.rs, generated from
 * the srcu-rs repository's srcu-core crate.  This file provides what it asks
 * of its platform: per-CPU counters, full barriers, in_nmi(), a mutex for
 * grace-period state, work items that drive grace periods and invoke
 * callbacks, a wait queue for synchronize_srcu_rs() callers while another
 * caller drives the grace period, the lifetime rules of Tree SRCU (refused
 * cleanup, module-static domains) and the exported kernel API.
 *
 * Memory ordering: every barrier the algorithm needs is an smp_mb() issued
 * by srcu-core through srcu_rs_shim_smp_mb(), or, for the readers' B and C,
 * by the inline reader fast path that the generator translates from
 * srcu-core's readers.rs into srcu_rs.h; the letters A-E in srcu-core's
 * documentation name the pairings (B/C: readers, A/D/E: grace periods), as in
 * kernel/rcu/srcutree.c.  The locks below order only the shim's own state.
 */

#define pr_fmt(fmt) "srcu_rs: " fmt

#include <linux/bottom_half.h>
#include <linux/completion.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/export.h>
#include <linux/init.h>
#include <linux/jiffies.h>
#include <linux/ktime.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/preempt.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/srcu_rs.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "rcu.h"
#include "srcu_rs_core.h"

#ifdef MODULE_PARAM_PREFIX
#undef MODULE_PARAM_PREFIX
#endif
#define MODULE_PARAM_PREFIX "srcu_rs."

#ifdef CONFIG_SRCU_RS_FAULT_INJECTION
/*
 * Test only: srcu-core's Fault number for every domain (2 = SkipSecondScan,
 * 4 = NmiInPercpuHalf, 7 = FastPathActiveOnly, 8 = SkipDriverRecheck; see
 * srcu-core's Fault for the others).
 */
static int srcu_rs_fault;
module_param_named(fault, srcu_rs_fault, int, 0444);
#endif

/*
 * Delays between scans that still find readers (srcu-core's DelayPolicy, the
 * role of Tree SRCU's srcu_max_nodelay_phase, srcu_retry_check_delay and
 * SRCU_INTERVAL), and the auto-expedite holdoff (Tree SRCU's exp_holdoff).
 * The defaults are srcu-core's DelayPolicy::DEFAULT; the engine reads the
 * delays at every retry, so writes take effect at the next scan.
 */
/* Scans an expedited phase retries without sleeping. */
static ulong exp_nodelay_scans = SRCU_RS_DEFAULT_EXP_NODELAY_SCANS;
module_param(exp_nodelay_scans, ulong, 0644);
/* First sleep of an expedited phase after those scans, in microseconds. */
static uint exp_first_sleep_us = SRCU_RS_DEFAULT_EXP_FIRST_SLEEP_US;
module_param(exp_first_sleep_us, uint, 0644);
/* Scans a normal phase retries without sleeping. */
static ulong nodelay_scans = SRCU_RS_DEFAULT_NODELAY_SCANS;
module_param(nodelay_scans, ulong, 0644);
/* First sleep of a normal phase, in microseconds; later sleeps double. */
static uint first_sleep_us = SRCU_RS_DEFAULT_FIRST_SLEEP_US;
module_param(first_sleep_us, uint, 0644);
/* Longest sleep between two scans, in microseconds. */
static uint max_sleep_us = SRCU_RS_DEFAULT_MAX_SLEEP_US;
module_param(max_sleep_us, uint, 0644);
/* Idle synchronize_srcu_rs() expedites this long (ns) after a GP; 0: never. */
static uint exp_holdoff = SRCU_RS_DEFAULT_EXP_HOLDOFF_NS;
module_param(exp_holdoff, uint, 0444);

/* Engine steps that may retry without delay inside one work invocation. */
#define SRCU_RS_NODELAY_STEPS	8

/* Set once workqueues run; before that, requests wait on srcu_rs_boot_list. */
static bool srcu_rs_init_done;
static LIST_HEAD(srcu_rs_boot_list);
static DEFINE_RAW_SPINLOCK(srcu_rs_boot_lock);

/*
 * Statically initialised domains that ever requested a grace period (their
 * ->static_entry), for the module notifier; taken from hardirq, hence raw.
 */
static LIST_HEAD(srcu_rs_static_list);
static DEFINE_RAW_SPINLOCK(srcu_rs_static_lock);

/* ---- Platform operations called from the Rust core. ---- */

/*
 * The reader counter halves, srcu-core's Platform operations; the inline
 * readers in srcu_rs.h use the same helpers.
 */
void srcu_rs_shim_percpu_inc(struct srcu_rs *ssp, unsigned long slot)
{
	__srcu_rs_percpu_inc(ssp, slot);
}

void srcu_rs_shim_atomic_inc(struct srcu_rs *ssp, unsigned long slot)
{
	__srcu_rs_atomic_inc(ssp, slot);
}

unsigned long srcu_rs_shim_percpu_read(struct srcu_rs *ssp, unsigned long cpu,
				       unsigned long slot)
{
	return READ_ONCE(per_cpu_ptr(ssp->pcpu, cpu)->cnt[slot]);
}

unsigned long srcu_rs_shim_atomic_read(struct srcu_rs *ssp, unsigned long cpu,
				       unsigned long slot)
{
	return atomic_long_read(&per_cpu_ptr(ssp->pcpu, cpu)->nmi_cnt[slot]);
}

unsigned long srcu_rs_shim_nr_cpus(void)
{
	return nr_cpu_ids;
}

bool srcu_rs_shim_cpu_possible(unsigned long cpu)
{
	return cpu_possible(cpu);
}

/* The NMI-edge contract: see __srcu_rs_in_nmi() in srcu_rs.h. */
bool srcu_rs_shim_in_nmi(void)
{
	return __srcu_rs_in_nmi();
}

/*
 * The algorithm's full barriers: B and C in readers pair with A in every
 * scan; D and E are kept but not needed for safety (srcu-core's crate docs
 * say why).  In the kernel every one of them is smp_mb().
 */
void srcu_rs_shim_smp_mb(void)
{
	smp_mb(); /* Pairings are named at each call site in srcu-core. */
}

/*
 * Barrier A of one counter scan (srcu-core's Platform::heavy_mb()), counted
 * for srcu_rs_scans().  A pairs with the readers' B and C, and needs a full
 * barrier: smp_mb__after_atomic() makes the non-value-returning increment
 * and itself one, ordering everything before it against everything after.
 */
void srcu_rs_shim_scan_mb(struct srcu_rs *ssp)
{
	atomic_long_inc(&ssp->nr_scans);
	smp_mb__after_atomic(); /* A: pairs with B and C in the readers. */
}

/*
 * One driver per grace period (srcu-core's Platform::single_driver()): the
 * first synchronize_srcu_rs() caller that finds no driver scans; the others
 * sleep here until a grace period ends or the driver stops, then re-check.
 * srcu-core issues a full barrier after reading the token and another before
 * each srcu_rs_shim_gp_wake() (message passing: a sleeper whose token already
 * counts a wake sees what the waker did before it).  srcu-core guarantees
 * that a sleeper has a driver or gets a wake (the driver's release re-checks
 * for pending requests), so the sleep needs no timeout.
 */
unsigned long srcu_rs_shim_gp_wait_token(struct srcu_rs *ssp)
{
	return atomic_long_read(&ssp->gp_events);
}

/*
 * Uninterruptible, like Tree SRCU's wait_for_completion() in
 * synchronize_srcu(): the hung-task detector reports a grace period that a
 * reader blocks for too long, whichever caller drives it.  The event count is
 * read inside wait_event() after the task is queued and its state set (the
 * full barrier in set_current_state()), which pairs with the full barrier in
 * wq_has_sleeper() in srcu_rs_shim_gp_wake(): either this sees the new count,
 * or the waker sees this task queued.
 */
void srcu_rs_shim_gp_wait(struct srcu_rs *ssp, unsigned long token)
{
	wait_event(ssp->gp_wq, atomic_long_read(&ssp->gp_events) != token);
}

void srcu_rs_shim_gp_wake(struct srcu_rs *ssp)
{
	atomic_long_inc(&ssp->gp_events);
	/* wq_has_sleeper()'s smp_mb() orders the increment before the check. */
	if (wq_has_sleeper(&ssp->gp_wq))
		wake_up_all(&ssp->gp_wq);
}

void srcu_rs_shim_gp_lock(struct srcu_rs *ssp)
{
	mutex_lock(&ssp->gp_mutex);
}

void srcu_rs_shim_gp_unlock(struct srcu_rs *ssp)
{
	mutex_unlock(&ssp->gp_mutex);
}

/* Put a static domain on srcu_rs_static_list at its first request. */
static void srcu_rs_track_static(struct srcu_rs *ssp)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&srcu_rs_static_lock, flags);
	if (list_empty(&ssp->static_entry))
		list_add_tail(&ssp->static_entry, &srcu_rs_static_list);
	raw_spin_unlock_irqrestore(&srcu_rs_static_lock, flags);
}

/*
 * A grace period was requested: make sure the domain's work runs.  Callable
 * from hardirq (call_srcu_rs(), start_poll_synchronize_srcu_rs()), never NMI:
 * queue_delayed_work() and mod_delayed_work() disable interrupts around the
 * pool lock, as Tree SRCU relies on from its call_srcu().  rcu_gp_wq is Tree
 * SRCU's and expedited RCU's WQ_MEM_RECLAIM workqueue: grace periods, and so
 * memory freed by callbacks, progress under memory pressure.  A domain whose
 * cleanup has begun (->stopped) queues nothing.
 */
void srcu_rs_shim_kick(struct srcu_rs *ssp, bool expedited)
{
	unsigned long flags;

	if (READ_ONCE(ssp->stopped))
		return;
	if (ssp->pcpu_static && list_empty(&ssp->static_entry))
		srcu_rs_track_static(ssp);
	if (!READ_ONCE(srcu_rs_init_done)) {
		raw_spin_lock_irqsave(&srcu_rs_boot_lock, flags);
		if (!srcu_rs_init_done) {
			if (list_empty(&ssp->boot_entry))
				list_add_tail(&ssp->boot_entry, &srcu_rs_boot_list);
			raw_spin_unlock_irqrestore(&srcu_rs_boot_lock, flags);
			return;
		}
		raw_spin_unlock_irqrestore(&srcu_rs_boot_lock, flags);
	}
	if (expedited)
		mod_delayed_work(rcu_gp_wq, &ssp->work, 0);
	else
		queue_delayed_work(rcu_gp_wq, &ssp->work, 0);
}

/* A grace period ended: let the work invoke callbacks that became ready. */
void srcu_rs_shim_gp_ended(struct srcu_rs *ssp)
{
	if (!srcu_rs_shim_cb_empty(ssp))
		srcu_rs_shim_kick(ssp, false);
}

void srcu_rs_shim_relax(void)
{
	cond_resched();
	cpu_relax();
}

void srcu_rs_shim_sleep(u32 usecs)
{
	fsleep(usecs);
}

/* The delay policy and the auto-expedite clock (srcu-core's Platform). */
unsigned long srcu_rs_shim_exp_nodelay_scans(void)
{
	return READ_ONCE(exp_nodelay_scans);
}

u32 srcu_rs_shim_exp_first_sleep_us(void)
{
	return READ_ONCE(exp_first_sleep_us);
}

unsigned long srcu_rs_shim_nodelay_scans(void)
{
	return READ_ONCE(nodelay_scans);
}

u32 srcu_rs_shim_first_sleep_us(void)
{
	return READ_ONCE(first_sleep_us);
}

u32 srcu_rs_shim_max_sleep_us(void)
{
	return READ_ONCE(max_sleep_us);
}

u32 srcu_rs_shim_exp_holdoff_ns(void)
{
	return READ_ONCE(exp_holdoff);
}

unsigned long srcu_rs_shim_clock_ns(void)
{
	return ktime_get_mono_fast_ns();
}

/* Also read by the inline readers in srcu_rs.h (Fault::NmiInPercpuHalf). */
u32 srcu_rs_shim_fault(struct srcu_rs *ssp)
{
#ifdef CONFIG_SRCU_RS_FAULT_INJECTION
	return READ_ONCE(srcu_rs_fault);
#else
	return 0;
#endif
}
EXPORT_SYMBOL_GPL(srcu_rs_shim_fault);

#ifdef CONFIG_SRCU_RS_GENERIC_PERCPU
/* The domain and function of the generic-window test hook (test only). */
static struct srcu_rs *srcu_rs_window_ssp;
static srcu_rs_window_fn_t srcu_rs_window_fn;
static DEFINE_MUTEX(srcu_rs_window_mutex);

/**
 * srcu_rs_generic_window - test hook inside the generic per-CPU increment
 * @ssp: the domain whose counter is being incremented.
 * @slot: the counter slot.
 *
 * Called by __srcu_rs_percpu_inc() with interrupts disabled, between the
 * load and the store of the counter, under CONFIG_SRCU_RS_GENERIC_PERCPU
 * only.  Does nothing unless a test registered a function for exactly @ssp
 * with srcu_rs_set_generic_window(), and never acts in NMI: only the
 * deliberately broken Fault::NmiInPercpuHalf brings an NMI reader here, and
 * that is what the test wants to catch, not to recurse into.
 */
void srcu_rs_generic_window(struct srcu_rs *ssp, unsigned long slot)
{
	srcu_rs_window_fn_t fn;

	if (in_nmi())
		return;
	/*
	 * Pairs with the smp_store_release() in srcu_rs_set_generic_window():
	 * seeing our domain means seeing its function.  Readers of every
	 * other domain only compare pointers.
	 */
	if (smp_load_acquire(&srcu_rs_window_ssp) != ssp)
		return;
	fn = READ_ONCE(srcu_rs_window_fn);
	if (fn)
		fn(ssp, slot);
}
EXPORT_SYMBOL_GPL(srcu_rs_generic_window);

/**
 * srcu_rs_set_generic_window - install or remove the generic-window test hook
 * @ssp: the only domain whose readers call @fn, or NULL to remove the hook.
 * @fn: called between the load and the store of each per-CPU increment on
 *	@ssp, with interrupts disabled, outside NMI.
 *
 * Removal waits until no reader is still inside the old function: it runs
 * with interrupts disabled, so synchronize_rcu() waits for it.
 *
 * Return: 0, or -EBUSY if a hook is installed already.
 */
int srcu_rs_set_generic_window(struct srcu_rs *ssp, srcu_rs_window_fn_t fn)
{
	int ret = 0;

	mutex_lock(&srcu_rs_window_mutex);
	if (ssp) {
		if (srcu_rs_window_ssp) {
			ret = -EBUSY;
		} else {
			WRITE_ONCE(srcu_rs_window_fn, fn);
			/* Pairs with srcu_rs_generic_window()'s acquire. */
			smp_store_release(&srcu_rs_window_ssp, ssp);
		}
	} else {
		WRITE_ONCE(srcu_rs_window_ssp, NULL);
		WRITE_ONCE(srcu_rs_window_fn, NULL);
		synchronize_rcu();
	}
	mutex_unlock(&srcu_rs_window_mutex);
	return ret;
}
EXPORT_SYMBOL_GPL(srcu_rs_set_generic_window);
#endif

/*
 * The callback list: one FIFO of rcu_heads, cut into at most SRCU_RS_CB_SEGS
 * segments, each waiting for one cookie.  srcu-core computes a callback's
 * cookie with cb_lock held, so cookies never decrease from head to tail.
 */
unsigned long srcu_rs_shim_cb_lock(struct srcu_rs *ssp)
	__acquires(&ssp->cb_lock)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&ssp->cb_lock, flags);
	return flags;
}

void srcu_rs_shim_cb_unlock(struct srcu_rs *ssp, unsigned long flags)
	__releases(&ssp->cb_lock)
{
	raw_spin_unlock_irqrestore(&ssp->cb_lock, flags);
}

void srcu_rs_shim_cb_enqueue(struct srcu_rs *ssp, struct rcu_head *rhp,
			     unsigned long cookie)
{
	unsigned int last;

	lockdep_assert_held(&ssp->cb_lock);
	rhp->next = NULL;
	*ssp->cb_tail = rhp;
	ssp->cb_tail = &rhp->next;
	last = (ssp->seg_first + ssp->nsegs - 1) % SRCU_RS_CB_SEGS;
	if (ssp->nsegs && ssp->seg_cookie[last] == cookie) {
		ssp->seg_n[last]++;
	} else if (ssp->nsegs < SRCU_RS_CB_SEGS) {
		last = (ssp->seg_first + ssp->nsegs) % SRCU_RS_CB_SEGS;
		ssp->seg_n[last] = 1;
		ssp->seg_cookie[last] = cookie;
		ssp->nsegs++;
	} else {
		/*
		 * Out of segments: the newest segment now waits for the
		 * newer cookie too.  Waiting longer is always safe.
		 */
		ssp->seg_n[last]++;
		ssp->seg_cookie[last] = cookie;
	}
}

bool srcu_rs_shim_cb_head_cookie(struct srcu_rs *ssp, unsigned long *cookie)
{
	lockdep_assert_held(&ssp->cb_lock);
	if (!ssp->nsegs)
		return false;
	*cookie = ssp->seg_cookie[ssp->seg_first];
	return true;
}

struct rcu_head *srcu_rs_shim_cb_dequeue(struct srcu_rs *ssp)
{
	struct rcu_head *rhp = ssp->cb_head;

	lockdep_assert_held(&ssp->cb_lock);
	ssp->cb_head = rhp->next;
	if (!ssp->cb_head)
		ssp->cb_tail = &ssp->cb_head;
	if (!--ssp->seg_n[ssp->seg_first]) {
		ssp->seg_first = (ssp->seg_first + 1) % SRCU_RS_CB_SEGS;
		ssp->nsegs--;
	}
	return rhp;
}

bool srcu_rs_shim_cb_empty(struct srcu_rs *ssp)
{
	return !READ_ONCE(ssp->nsegs);
}

/* Invoke one ready callback in process context with BH disabled. */
void srcu_rs_shim_cb_invoke(struct rcu_head *rhp)
{
	rcu_callback_t f = rhp->func;

	debug_rcu_head_unqueue(rhp);
	local_bh_disable();
	f(rhp);
	local_bh_enable();
}

/* ---- Work items. ---- */

/**
 * srcu_rs_work_fn - drive an srcu_rs domain's grace periods
 * @work: the domain's delayed work.
 *
 * Advances the grace-period engine, invokes ready callbacks, and requeues
 * itself after the delay the engine asks for until no grace period is needed.
 */
void srcu_rs_work_fn(struct work_struct *work)
{
	struct srcu_rs *ssp = container_of(to_delayed_work(work), struct srcu_rs, work);
	long next;
	int i;

	for (i = 0; ; i++) {
		next = srcu_rs_core_step(ssp);
		srcu_rs_core_invoke_ready(ssp);
		if (next != 0 || i >= SRCU_RS_NODELAY_STEPS)
			break;
		cond_resched();
	}
	/* cancel_delayed_work_sync() in cleanup also stops this requeue. */
	if (next < 0 || READ_ONCE(ssp->stopped))
		return;
	queue_delayed_work(rcu_gp_wq, &ssp->work,
			   next ? usecs_to_jiffies(next) : 1);
}
EXPORT_SYMBOL_GPL(srcu_rs_work_fn);

/* ---- Initialisation and cleanup. ---- */

static int init_srcu_rs_fields(struct srcu_rs *ssp)
{
	ssp->core = (struct srcu_rs_core)__SRCU_RS_CORE_INIT;
	ssp->pcpu = alloc_percpu(struct srcu_rs_pcpu);
	if (!ssp->pcpu)
		return -ENOMEM;
	ssp->pcpu_static = false;
	mutex_init(&ssp->gp_mutex);
	raw_spin_lock_init(&ssp->cb_lock);
	ssp->cb_head = NULL;
	ssp->cb_tail = &ssp->cb_head;
	ssp->seg_first = 0;
	ssp->nsegs = 0;
	ssp->stopped = false;
	INIT_DELAYED_WORK(&ssp->work, srcu_rs_work_fn);
	INIT_LIST_HEAD(&ssp->boot_entry);
	INIT_LIST_HEAD(&ssp->static_entry);
	init_waitqueue_head(&ssp->gp_wq);
	atomic_long_set(&ssp->gp_events, 0);
	atomic_long_set(&ssp->nr_scans, 0);
	ssp->debugfs = NULL;
	return 0;
}

#ifdef CONFIG_DEBUG_LOCK_ALLOC
/**
 * __init_srcu_rs - initialise a dynamically allocated srcu_rs domain
 * @ssp: the domain.
 * @name: lockdep name.
 * @key: lockdep class key.
 *
 * Return: 0, or -ENOMEM if the per-CPU counters could not be allocated.
 */
int __init_srcu_rs(struct srcu_rs *ssp, const char *name,
		   struct lock_class_key *key)
{
	/* Don't re-initialise a lock while it is held. */
	debug_check_no_locks_freed((void *)ssp, sizeof(*ssp));
	lockdep_init_map(&ssp->dep_map, name, key, 0);
	return init_srcu_rs_fields(ssp);
}
EXPORT_SYMBOL_GPL(__init_srcu_rs);
#else
/**
 * init_srcu_rs - initialise a dynamically allocated srcu_rs domain
 * @ssp: the domain.
 *
 * Return: 0, or -ENOMEM if the per-CPU counters could not be allocated.
 */
int init_srcu_rs(struct srcu_rs *ssp)
{
	return init_srcu_rs_fields(ssp);
}
EXPORT_SYMBOL_GPL(init_srcu_rs);
#endif

#ifdef CONFIG_DEBUG_FS
/* <debugfs>/srcu_rs/, made at the first registration. */
static struct dentry *srcu_rs_debugfs_dir;
static DEFINE_MUTEX(srcu_rs_debugfs_mutex);

static int srcu_rs_stats_show(struct seq_file *m, void *v)
{
	struct srcu_rs *ssp = m->private;

	seq_printf(m, "readers=%lu grace_periods=%lu scans=%lu\n",
		   srcu_rs_readers_locked(ssp), srcu_rs_batches_completed(ssp),
		   srcu_rs_scans(ssp));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(srcu_rs_stats);

/**
 * srcu_rs_debugfs_register - give a domain a statistics file in debugfs
 * @ssp: the domain, initialised (init_srcu_rs() or a static initializer).
 * @fmt: printf-style name of the file, under <debugfs>/srcu_rs/.
 *
 * The file reads as one line, "readers=<N> grace_periods=<M> scans=<S>":
 * srcu_rs_readers_locked(), srcu_rs_batches_completed() and srcu_rs_scans().
 * Its owner picks a name that says which object the domain belongs to (KVM:
 * kvm-<pid>-<fd>, as the VM's own debugfs directory); a name in use gets no
 * file.  cleanup_srcu_rs() removes the file, refused or not.  As for any
 * debugfs file, a failure is not reported: the domain works the same
 * without it.  Might sleep.
 */
void srcu_rs_debugfs_register(struct srcu_rs *ssp, const char *fmt, ...)
{
	struct dentry *dent;
	va_list args;
	char *name;

	if (WARN_ON_ONCE(ssp->debugfs))
		return;
	va_start(args, fmt);
	name = kvasprintf(GFP_KERNEL, fmt, args);
	va_end(args);
	if (!name)
		return;
	mutex_lock(&srcu_rs_debugfs_mutex);
	if (!srcu_rs_debugfs_dir)
		srcu_rs_debugfs_dir = debugfs_create_dir("srcu_rs", NULL);
	/*
	 * A name still in use (KVM: the fd number of a VM whose last
	 * reference has not gone yet, reused) gets no file, as KVM's own
	 * duplicate directories get none.
	 */
	dent = debugfs_lookup(name, srcu_rs_debugfs_dir);
	if (dent) {
		dput(dent);
		pr_warn_ratelimited("srcu_rs: debugfs: duplicate file %s\n", name);
	} else {
		ssp->debugfs = debugfs_create_file(name, 0444,
						   srcu_rs_debugfs_dir, ssp,
						   &srcu_rs_stats_fops);
	}
	mutex_unlock(&srcu_rs_debugfs_mutex);
	kfree(name);
}
EXPORT_SYMBOL_GPL(srcu_rs_debugfs_register);

static void srcu_rs_debugfs_remove(struct srcu_rs *ssp)
{
	debugfs_remove(ssp->debugfs);
	ssp->debugfs = NULL;
}
#else
static void srcu_rs_debugfs_remove(struct srcu_rs *ssp)
{
}
#endif

#ifdef CONFIG_SRCU_RS_FAULT_INJECTION
/* Test only: shim lifetime faults (SRCU_RS_SHIM_FAULT_*), not srcu-core's. */
static int srcu_rs_lifetime_fault;
module_param_named(shim_fault, srcu_rs_lifetime_fault, int, 0444);
#endif

/* A refused cleanup leaves the domain's work queued (the use-after-free). */
#define SRCU_RS_SHIM_FAULT_REFUSAL_QUEUED	1
/* The module notifier does nothing for a going module's static domains. */
#define SRCU_RS_SHIM_FAULT_NO_MODULE_GOING	2
/* Cleanup leaves the domain's debugfs file, which points into the domain. */
#define SRCU_RS_SHIM_FAULT_DEBUGFS_LEFT		3

static bool srcu_rs_shim_faulty(int fault)
{
#ifdef CONFIG_SRCU_RS_FAULT_INJECTION
	return READ_ONCE(srcu_rs_lifetime_fault) == fault;
#else
	return false;
#endif
}

/*
 * Stop a domain's work for good and take it off every list of ours, so that
 * nothing the shim holds points into the domain any more.  ->stopped is read
 * by every kick and by the work's own requeue, and cancel_delayed_work_sync()
 * waits for an invocation in progress and defeats its requeue, so nothing
 * queues the work again.  Like cleanup_srcu_struct(), this does not guard
 * against update-side calls that race with the cleanup itself.
 */
static void srcu_rs_stop_work(struct srcu_rs *ssp)
{
	unsigned long flags;

	WRITE_ONCE(ssp->stopped, true);
	cancel_delayed_work_sync(&ssp->work);
	raw_spin_lock_irqsave(&srcu_rs_boot_lock, flags);
	list_del_init(&ssp->boot_entry);
	raw_spin_unlock_irqrestore(&srcu_rs_boot_lock, flags);
	raw_spin_lock_irqsave(&srcu_rs_static_lock, flags);
	list_del_init(&ssp->static_entry);
	raw_spin_unlock_irqrestore(&srcu_rs_static_lock, flags);
}

/**
 * __cleanup_srcu_rs - tear down an srcu_rs domain, or say why not
 * @ssp: the domain.
 *
 * cleanup_srcu_rs() without its warning, for callers that handle a refusal
 * themselves (the module notifier, the KUnit refusal case).
 *
 * The domain's debugfs file goes first, refused or not: debugfs_remove()
 * waits for reads in progress, and no read starts after it.
 *
 * The work item and the list entries live in the domain, inside the
 * caller's object, which the caller frees next even when refused (as
 * kvm_destroy_vm() does).  Tree SRCU keeps its work items in srcu_sup and
 * srcu_data, separate allocations that a refusal leaks.  Here they are
 * stopped and synced first, before anything is checked: a leaked copy could
 * not drive the grace period it was asked for without a pointer back to the
 * reader counters and state in the caller's object, and the static
 * initialisers (DEFINE_STATIC_SRCU_RS, SRCU_NOTIFIER_HEAD_STATIC) would need
 * an allocation.  A grace period that srcu-core finishes inside the cleanup
 * is signalled as any other (waiters woken), and readers are checked again
 * at the end.
 *
 * Whatever the outcome, the domain's work never runs again.  A refused
 * domain leaks its queued callbacks (they are never invoked) and, if not
 * static, its per-CPU counters; nothing of srcu_rs points into it, so its
 * owner may free it.  Until then it may still be used for readers,
 * synchronize_srcu_rs() and synchronize_srcu_rs_expedited() (the caller
 * drives its own grace period), get_state/poll_state (cookies complete as
 * those callers drive), and another cleanup, which succeeds once the reason
 * is gone (readers left, no callback queued); not for call_srcu_rs(),
 * srcu_rs_barrier() or start_poll_synchronize_srcu_rs() requests, which
 * nothing would serve.
 *
 * Return: 0 if the domain was torn down; -EBUSY if readers are active or
 * synchronize_srcu_rs() callers still sleep on it; -EAGAIN if callbacks are
 * queued or a requested grace period has not completed (as
 * cleanup_srcu_struct() refuses).
 */
int __cleanup_srcu_rs(struct srcu_rs *ssp)
{
	bool stop_first = !srcu_rs_shim_faulty(SRCU_RS_SHIM_FAULT_REFUSAL_QUEUED);
	int ret;

	if (!srcu_rs_shim_faulty(SRCU_RS_SHIM_FAULT_DEBUGFS_LEFT))
		srcu_rs_debugfs_remove(ssp);
	if (stop_first)
		srcu_rs_stop_work(ssp);
	if (wq_has_sleeper(&ssp->gp_wq))
		return -EBUSY;
	ret = srcu_rs_core_cleanup(ssp, !srcu_rs_shim_cb_empty(ssp));
	if (ret)
		return ret;
	if (!stop_first)
		srcu_rs_stop_work(ssp);
	if (!ssp->pcpu_static) {
		free_percpu(ssp->pcpu);
		ssp->pcpu = NULL;
	}
	return 0;
}
EXPORT_SYMBOL_GPL(__cleanup_srcu_rs);

/**
 * cleanup_srcu_rs - tear down an srcu_rs domain
 * @ssp: the domain.
 *
 * Refuses with a WARN, freeing nothing, if readers are active, callbacks are
 * queued or a grace period was requested and has not completed (as
 * cleanup_srcu_struct() does), or a synchronize_srcu_rs() caller still
 * sleeps on the domain.  Refused or not, nothing stays queued that points
 * into the domain; __cleanup_srcu_rs() says what a refused domain may still
 * be used for.
 */
void cleanup_srcu_rs(struct srcu_rs *ssp)
{
	int ret = __cleanup_srcu_rs(ssp);

	WARN_ONCE(ret == -EBUSY,
		  "%s: active readers or synchronize_srcu_rs() callers; leaking\n",
		  __func__);
	WARN_ONCE(ret == -EAGAIN,
		  "%s: callbacks queued or grace period requested; leaking\n",
		  __func__);
}
EXPORT_SYMBOL_GPL(cleanup_srcu_rs);

#ifdef CONFIG_MODULES
/* How long a going module's domain may take to finish what it asked for. */
#define SRCU_RS_GOING_WAIT	(10 * HZ)

/*
 * Finish what a domain was asked for: a grace period that starts now comes
 * after every grace period requested before (cookies are ordered), and every
 * queued callback waits for one of those, so the wait ends when this one is
 * complete and the work has invoked them all.  Bounded: a reader that never
 * leaves makes it time out.
 */
static int srcu_rs_finish_pending(struct srcu_rs *ssp)
{
	unsigned long deadline = jiffies + SRCU_RS_GOING_WAIT;
	unsigned long cookie = start_poll_synchronize_srcu_rs(ssp);

	while (!poll_state_synchronize_srcu_rs(ssp, cookie) ||
	       !srcu_rs_shim_cb_empty(ssp)) {
		if (time_after(jiffies, deadline))
			return -ETIMEDOUT;
		schedule_timeout_uninterruptible(1);
	}
	return 0;
}

/*
 * A module goes (its exit function has run, its memory is freed next): every
 * static domain of it that ever requested a grace period finishes what is
 * pending and is torn down, as srcu_module_going() does for Tree SRCU; one
 * that cannot (a reader left behind) is refused loudly, with its work
 * stopped and off our lists all the same.  Tree SRCU finds a module's
 * domains through the ___srcu_struct_ptrs section and fields of struct
 * module; srcu_rs keeps the static domains that ever queued work on
 * srcu_rs_static_list and picks those within_module(), which needs no
 * change to the module loader, and a static domain that never requested a
 * grace period has nothing pending and nothing on our lists.
 */
static void srcu_rs_module_going(struct module *mod)
{
	struct srcu_rs *ssp, *tmp;
	unsigned long flags;
	LIST_HEAD(going);
	int n = 0;
	int ret;

	if (srcu_rs_shim_faulty(SRCU_RS_SHIM_FAULT_NO_MODULE_GOING))
		return;
	raw_spin_lock_irqsave(&srcu_rs_static_lock, flags);
	list_for_each_entry_safe(ssp, tmp, &srcu_rs_static_list, static_entry)
		if (within_module((unsigned long)ssp, mod))
			list_move_tail(&ssp->static_entry, &going);
	raw_spin_unlock_irqrestore(&srcu_rs_static_lock, flags);
	while (!list_empty(&going)) {
		ssp = list_first_entry(&going, struct srcu_rs, static_entry);
		ret = srcu_rs_finish_pending(ssp);
		if (!ret)
			ret = __cleanup_srcu_rs(ssp);
		else
			srcu_rs_stop_work(ssp);
		WARN(ret, "%s: module %s unloaded with srcu_rs domain %ps busy (%d); its callbacks leak\n",
		     __func__, mod->name, ssp, ret);
		/* Already off the list unless a fault kept the work queued. */
		list_del_init(&ssp->static_entry);
		n++;
	}
	if (n)
		pr_info("module %s: %d static domain(s) finished and torn down\n",
			mod->name, n);
}

/*
 * MODULE_STATE_COMING needs nothing: a module's DEFINE_STATIC_SRCU_RS and
 * SRCU_NOTIFIER_HEAD_STATIC are complete static initialisers whose per-CPU
 * counters the module loader allocates with the module's per-CPU section
 * (Tree SRCU allocates ->sda there instead).  MODULE_STATE_GOING also comes
 * after a failed module init.
 */
static int srcu_rs_module_notify(struct notifier_block *nb,
				 unsigned long val, void *data)
{
	if (val == MODULE_STATE_GOING)
		srcu_rs_module_going(data);
	return NOTIFY_DONE;
}

static struct notifier_block srcu_rs_module_nb = {
	.notifier_call = srcu_rs_module_notify,
};
#endif /* CONFIG_MODULES */

/* ---- Update-side API. ---- */

static void __synchronize_srcu_rs(struct srcu_rs *ssp, bool expedited)
{
	srcu_lock_sync(&ssp->dep_map);

	RCU_LOCKDEP_WARN(lockdep_is_held(ssp) ||
			 lock_is_held(&rcu_bh_lock_map) ||
			 lock_is_held(&rcu_lock_map) ||
			 lock_is_held(&rcu_sched_lock_map),
			 "Illegal synchronize_srcu_rs() in same-type srcu_rs (or in RCU) read-side critical section");

	/* Only one task runs before the scheduler: no reader can be waited for. */
	if (rcu_scheduler_active == RCU_SCHEDULER_INACTIVE)
		return;
	might_sleep();
	/*
	 * The first caller without a driver steps the engine itself, sleeping
	 * between scans; later callers sleep on @ssp->gp_wq until it is done.
	 */
	srcu_rs_core_synchronize(ssp, expedited);
}

/**
 * synchronize_srcu_rs - wait for prior srcu_rs read-side critical sections
 * @ssp: the domain.
 *
 * Waits for a full grace period of @ssp: every reader that entered before
 * the call has left when it returns.  Must not be called from within a
 * reader of @ssp.  Returns at once before the scheduler runs.
 */
void synchronize_srcu_rs(struct srcu_rs *ssp)
{
	__synchronize_srcu_rs(ssp, false);
}
EXPORT_SYMBOL_GPL(synchronize_srcu_rs);

/**
 * synchronize_srcu_rs_expedited - synchronize_srcu_rs(), with fewer delays
 * @ssp: the domain.
 */
void synchronize_srcu_rs_expedited(struct srcu_rs *ssp)
{
	__synchronize_srcu_rs(ssp, true);
}
EXPORT_SYMBOL_GPL(synchronize_srcu_rs_expedited);

/* What a duplicate call_srcu_rs() leaves queued: the first one's head. */
static void srcu_rs_leak_callback(struct rcu_head *rhp)
{
}

/**
 * call_srcu_rs - queue a callback after an srcu_rs grace period
 * @ssp: the domain.
 * @rhp: the rcu_head to queue.
 * @func: invoked with @rhp in process context, BH disabled, after a full
 *	grace period that starts after this call.
 *
 * Callable in task, softirq and hardirq context (not NMI).  With
 * CONFIG_DEBUG_OBJECTS_RCU_HEAD, queueing @rhp while it is still queued is
 * reported and the duplicate leaked, as call_srcu() does.
 */
void call_srcu_rs(struct srcu_rs *ssp, struct rcu_head *rhp,
		  rcu_callback_t func)
{
	if (WARN_ON_ONCE(in_nmi()))
		return;
	if (WARN_ONCE(READ_ONCE(ssp->stopped),
		      "%s() after cleanup_srcu_rs(); leaking the callback\n",
		      __func__))
		return;
	if (debug_rcu_head_queue(rhp)) {
		/* Probable double call_srcu_rs(), so leak the callback. */
		WRITE_ONCE(rhp->func, srcu_rs_leak_callback);
		WARN_ONCE(1, "%s(): Leaked duplicate callback\n", __func__);
		return;
	}
	rhp->func = func;
	srcu_rs_core_call(ssp, rhp);
}
EXPORT_SYMBOL_GPL(call_srcu_rs);

struct srcu_rs_barrier_head {
	struct rcu_head head;
	struct completion done;
};

static void srcu_rs_barrier_cb(struct rcu_head *rhp)
{
	complete(&container_of(rhp, struct srcu_rs_barrier_head, head)->done);
}

/**
 * srcu_rs_barrier - wait for every queued srcu_rs callback
 * @ssp: the domain.
 *
 * Queues a marker behind every callback already queued on @ssp and waits for
 * it: callbacks are invoked in order, so all earlier ones have run.
 */
void srcu_rs_barrier(struct srcu_rs *ssp)
{
	struct srcu_rs_barrier_head b;

	if (rcu_scheduler_active == RCU_SCHEDULER_INACTIVE)
		return;
	/* Nothing would invoke the marker: its cleanup has begun. */
	if (WARN_ON_ONCE(READ_ONCE(ssp->stopped)))
		return;
	init_completion(&b.done);
	init_rcu_head_on_stack(&b.head);
	call_srcu_rs(ssp, &b.head, srcu_rs_barrier_cb);
	wait_for_completion(&b.done);
	destroy_rcu_head_on_stack(&b.head);
}
EXPORT_SYMBOL_GPL(srcu_rs_barrier);

/**
 * srcu_rs_batches_completed - grace periods completed on a domain
 * @ssp: the domain.
 *
 * Return: the number of grace periods completed since initialisation.
 */
unsigned long srcu_rs_batches_completed(struct srcu_rs *ssp)
{
	return srcu_rs_core_batches_completed(ssp);
}
EXPORT_SYMBOL_GPL(srcu_rs_batches_completed);

/**
 * srcu_rs_readers_locked - read-side critical sections entered on a domain
 * @ssp: the domain.
 *
 * Sums the lock counters of both reader indexes, per-CPU and atomic (NMI)
 * halves, over every possible CPU.  Statistics only: the sum is not atomic
 * against concurrent readers and wraps like an unsigned long.
 *
 * Return: the number of srcu_rs_read_lock() calls on @ssp since
 * initialisation.
 */
unsigned long srcu_rs_readers_locked(struct srcu_rs *ssp)
{
	return srcu_rs_core_readers_locked(ssp);
}
EXPORT_SYMBOL_GPL(srcu_rs_readers_locked);

/**
 * srcu_rs_scans - counter scans issued on a domain
 * @ssp: the domain.
 *
 * Each scan sums the reader counters of one or both indexes over every
 * possible CPU around one barrier A.  Statistics only (the benchmarks divide
 * it by the grace periods completed).
 *
 * Return: the number of scans since initialisation.
 */
unsigned long srcu_rs_scans(struct srcu_rs *ssp)
{
	return atomic_long_read(&ssp->nr_scans);
}
EXPORT_SYMBOL_GPL(srcu_rs_scans);

/**
 * get_state_synchronize_srcu_rs - snapshot for polled grace periods
 * @ssp: the domain.
 *
 * Return: a cookie that poll_state_synchronize_srcu_rs() reports as
 * completed once a full grace period has elapsed.  Requests nothing.
 */
unsigned long get_state_synchronize_srcu_rs(struct srcu_rs *ssp)
{
	return srcu_rs_core_get_state(ssp);
}
EXPORT_SYMBOL_GPL(get_state_synchronize_srcu_rs);

/**
 * start_poll_synchronize_srcu_rs - snapshot and start a grace period
 * @ssp: the domain.
 *
 * Callable from hardirq context.
 *
 * Return: a cookie as get_state_synchronize_srcu_rs() returns.
 */
unsigned long start_poll_synchronize_srcu_rs(struct srcu_rs *ssp)
{
	return srcu_rs_core_start_poll(ssp);
}
EXPORT_SYMBOL_GPL(start_poll_synchronize_srcu_rs);

/**
 * poll_state_synchronize_srcu_rs - has the cookie's grace period elapsed?
 * @ssp: the domain.
 * @cookie: from get_state_synchronize_srcu_rs() or friends.
 *
 * Return: true if a full grace period has elapsed since @cookie was taken;
 * then the caller's later accesses are ordered after it (full barrier).
 */
bool poll_state_synchronize_srcu_rs(struct srcu_rs *ssp, unsigned long cookie)
{
	return srcu_rs_core_poll_state(ssp, cookie);
}
EXPORT_SYMBOL_GPL(poll_state_synchronize_srcu_rs);

/*
 * Workqueues run from here on (rcu_init() created rcu_gp_wq): start the work
 * of every domain that asked for a grace period earlier (static notifier
 * heads and early users), and watch modules that go.
 */
static int __init srcu_rs_init(void)
{
	struct srcu_rs *ssp, *tmp;
	unsigned long flags;
	LIST_HEAD(boot);

	raw_spin_lock_irqsave(&srcu_rs_boot_lock, flags);
	WRITE_ONCE(srcu_rs_init_done, true);
	list_splice_init(&srcu_rs_boot_list, &boot);
	raw_spin_unlock_irqrestore(&srcu_rs_boot_lock, flags);
	list_for_each_entry_safe(ssp, tmp, &boot, boot_entry) {
		list_del_init(&ssp->boot_entry);
		if (!READ_ONCE(ssp->stopped))
			queue_delayed_work(rcu_gp_wq, &ssp->work, 0);
	}
#ifdef CONFIG_MODULES
	if (register_module_notifier(&srcu_rs_module_nb))
		pr_warn("cannot register the module notifier\n");
#endif
	return 0;
}
early_initcall(srcu_rs_init);
