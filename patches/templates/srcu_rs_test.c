// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests for srcu_rs: nested and cross-CPU readers, hardirq readers and
 * callbacks queued from hardirq (irq_work), NMI readers (self-NMIs) while
 * grace periods run, requests queued in early boot, polling, cleanup
 * refusal, grace periods that must wait for a reader, and the reader
 * statistics.
 */

#include <kunit/test.h>
#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/delay.h>
#include <linux/init.h>
#include <linux/irq_work.h>
#include <linux/kthread.h>
#include <linux/percpu.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/srcu_rs.h>

#ifdef CONFIG_X86_LOCAL_APIC
#include <asm/apic.h>
#include <asm/nmi.h>
#endif

DEFINE_STATIC_SRCU_RS(srcu_rs_test_static);

/* A grace period must not end while a reader that started before it runs. */
static void srcu_rs_test_gp_waits_for_reader(struct kunit *test)
{
	struct srcu_rs *ssp = &srcu_rs_test_static;
	unsigned long cookie;
	int idx;

	idx = srcu_rs_read_lock(ssp);
	cookie = start_poll_synchronize_srcu_rs(ssp);
	msleep(50);
	KUNIT_EXPECT_FALSE(test, poll_state_synchronize_srcu_rs(ssp, cookie));
	srcu_rs_read_unlock(ssp, idx);
	synchronize_srcu_rs(ssp);
	KUNIT_EXPECT_TRUE(test, poll_state_synchronize_srcu_rs(ssp, cookie));
}

/* Nested readers, and a reader that unlocks on another CPU than it locked. */
static void srcu_rs_test_nested_cross_cpu(struct kunit *test)
{
	struct srcu_rs *ssp = &srcu_rs_test_static;
	int cpu0, cpu1, i0, i1, i2;
	unsigned long cookie;

	if (num_online_cpus() < 2)
		kunit_skip(test, "needs two CPUs");
	cpu0 = cpumask_first(cpu_online_mask);
	cpu1 = cpumask_next(cpu0, cpu_online_mask);
	KUNIT_ASSERT_EQ(test, set_cpus_allowed_ptr(current, cpumask_of(cpu0)), 0);
	i0 = srcu_rs_read_lock(ssp);
	i1 = srcu_rs_read_lock(ssp);
	i2 = srcu_rs_read_lock(ssp);
	cookie = start_poll_synchronize_srcu_rs(ssp);
	KUNIT_ASSERT_EQ(test, set_cpus_allowed_ptr(current, cpumask_of(cpu1)), 0);
	KUNIT_EXPECT_EQ(test, raw_smp_processor_id(), cpu1);
	srcu_rs_read_unlock(ssp, i2);
	srcu_rs_read_unlock(ssp, i1);
	msleep(20);
	KUNIT_EXPECT_FALSE(test, poll_state_synchronize_srcu_rs(ssp, cookie));
	srcu_rs_read_unlock(ssp, i0);
	set_cpus_allowed_ptr(current, cpu_possible_mask);
	synchronize_srcu_rs_expedited(ssp);
	KUNIT_EXPECT_TRUE(test, poll_state_synchronize_srcu_rs(ssp, cookie));
}

struct srcu_rs_test_irq {
	struct irq_work iw;
	struct srcu_rs *ssp;
	struct rcu_head rh;
	struct completion cb_done;
	bool in_hardirq;
	int idx;
};

static void srcu_rs_test_cb(struct rcu_head *rhp)
{
	struct srcu_rs_test_irq *t = container_of(rhp, struct srcu_rs_test_irq, rh);

	complete(&t->cb_done);
}

static void srcu_rs_test_irq_fn(struct irq_work *iwp)
{
	struct srcu_rs_test_irq *t = container_of(iwp, struct srcu_rs_test_irq, iw);
	int idx;

	t->in_hardirq = in_hardirq();
	idx = srcu_rs_read_lock(t->ssp);
	t->idx = idx;
	srcu_rs_read_unlock(t->ssp, idx);
	call_srcu_rs(t->ssp, &t->rh, srcu_rs_test_cb);
}

/* A hardirq reader, and call_srcu_rs() from hardirq. */
static void srcu_rs_test_hardirq(struct kunit *test)
{
	struct srcu_rs_test_irq *t = kunit_kzalloc(test, sizeof(*t), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, t);
	t->ssp = &srcu_rs_test_static;
	t->iw = IRQ_WORK_INIT_HARD(srcu_rs_test_irq_fn);
	init_completion(&t->cb_done);
	irq_work_queue(&t->iw);
	irq_work_sync(&t->iw);
	KUNIT_EXPECT_TRUE(test, t->in_hardirq);
	KUNIT_EXPECT_TRUE(test, t->idx == 0 || t->idx == 1);
	KUNIT_EXPECT_NE(test, wait_for_completion_timeout(&t->cb_done, 10 * HZ), 0UL);
	srcu_rs_barrier(t->ssp);
}

/* The polling API on a dynamically initialised domain. */
static void srcu_rs_test_polling(struct kunit *test)
{
	struct srcu_rs *ssp = kunit_kzalloc(test, sizeof(*ssp), GFP_KERNEL);
	unsigned long c1, c2, done;
	unsigned long before;

	KUNIT_ASSERT_NOT_NULL(test, ssp);
	KUNIT_ASSERT_EQ(test, init_srcu_rs(ssp), 0);
	done = get_completed_synchronize_srcu_rs();
	KUNIT_EXPECT_TRUE(test, poll_state_synchronize_srcu_rs(ssp, done));
	before = srcu_rs_batches_completed(ssp);
	c1 = get_state_synchronize_srcu_rs(ssp);
	c2 = get_state_synchronize_srcu_rs(ssp);
	KUNIT_EXPECT_TRUE(test, same_state_synchronize_srcu_rs(c1, c2));
	KUNIT_EXPECT_FALSE(test, poll_state_synchronize_srcu_rs(ssp, c1));
	c2 = start_poll_synchronize_srcu_rs(ssp);
	synchronize_srcu_rs(ssp);
	KUNIT_EXPECT_TRUE(test, poll_state_synchronize_srcu_rs(ssp, c1));
	KUNIT_EXPECT_TRUE(test, poll_state_synchronize_srcu_rs(ssp, c2));
	KUNIT_EXPECT_GT(test, srcu_rs_batches_completed(ssp), before);
	cleanup_srcu_rs(ssp);
}

/* cleanup_srcu_rs() refuses (and frees nothing) while a reader is active. */
static void srcu_rs_test_cleanup_refusal(struct kunit *test)
{
	struct srcu_rs *ssp = kunit_kzalloc(test, sizeof(*ssp), GFP_KERNEL);
	int idx;

	KUNIT_ASSERT_NOT_NULL(test, ssp);
	KUNIT_ASSERT_EQ(test, init_srcu_rs(ssp), 0);
	idx = srcu_rs_read_lock(ssp);
	cleanup_srcu_rs(ssp);		/* WARNs and refuses. */
	KUNIT_EXPECT_NOT_NULL(test, ssp->pcpu);
	srcu_rs_read_unlock(ssp, idx);
	synchronize_srcu_rs(ssp);	/* Still usable. */
	cleanup_srcu_rs(ssp);
	KUNIT_EXPECT_NULL(test, ssp->pcpu);
}

/*
 * srcu_rs_readers_locked() counts every read-side lock on a domain, on both
 * reader indexes (a grace period in between flips the index), and nothing
 * else: k lock/unlock pairs on a private domain add exactly k.
 */
static void srcu_rs_test_readers_locked(struct kunit *test)
{
	struct srcu_rs *ssp = kunit_kzalloc(test, sizeof(*ssp), GFP_KERNEL);
	const unsigned long k = 100;
	unsigned long before, i;
	int idx;

	KUNIT_ASSERT_NOT_NULL(test, ssp);
	KUNIT_ASSERT_EQ(test, init_srcu_rs(ssp), 0);
	before = srcu_rs_readers_locked(ssp);
	KUNIT_EXPECT_EQ(test, before, 0UL);
	for (i = 0; i < k; i++) {
		if (i == k / 2)
			synchronize_srcu_rs(ssp);
		idx = srcu_rs_read_lock(ssp);
		srcu_rs_read_unlock(ssp, idx);
	}
	KUNIT_EXPECT_EQ(test, srcu_rs_readers_locked(ssp) - before, k);
	synchronize_srcu_rs(ssp);
	KUNIT_EXPECT_EQ(test, srcu_rs_readers_locked(ssp) - before, k);
	cleanup_srcu_rs(ssp);
}

/*
 * Requests made in early boot: the early_initcall below runs before
 * srcu_rs_init() (srcu_rs_test.o is linked before srcu_rs.o, and initcalls
 * of one level run in link order), so call_srcu_rs() and
 * start_poll_synchronize_srcu_rs() find srcu_rs in boot mode and put the
 * domain on the boot list.  The KUnit case checks what became of them.
 */
DEFINE_STATIC_SRCU_RS(srcu_rs_test_early_ssp);

/**
 * struct srcu_rs_test_early - what the early initcall did and saw
 * @rh: two callbacks, queued before and after the polled grace period.
 * @calls: invocations of each callback.
 * @order: when each callback ran (1, 2, ... across both).
 * @seq: source of @order.
 * @cookie: from start_poll_synchronize_srcu_rs() between the two calls.
 * @cookie_done_in_cb: @cookie had completed when @rh[1] ran.
 * @ran: the early initcall ran.
 * @boot_listed: the domain was on the boot list afterwards (boot mode).
 * @polled_early: @cookie already completed in the early initcall.
 * @calls_early: callbacks invoked before the early initcall returned.
 */
struct srcu_rs_test_early {
	struct rcu_head rh[2];
	atomic_t calls[2];
	int order[2];
	atomic_t seq;
	unsigned long cookie;
	bool cookie_done_in_cb;
	bool ran;
	bool boot_listed;
	bool polled_early;
	int calls_early;
};

static struct srcu_rs_test_early srcu_rs_test_early;

#ifndef MODULE
static void srcu_rs_test_early_cb(struct rcu_head *rhp)
{
	struct srcu_rs_test_early *e = &srcu_rs_test_early;
	int i = rhp == &e->rh[1];

	atomic_inc(&e->calls[i]);
	e->order[i] = atomic_inc_return(&e->seq);
	/* rh[1] was queued after the cookie was taken: its grace period is later. */
	if (i == 1)
		e->cookie_done_in_cb =
			poll_state_synchronize_srcu_rs(&srcu_rs_test_early_ssp,
						       e->cookie);
}

static int __init srcu_rs_test_early_init(void)
{
	struct srcu_rs_test_early *e = &srcu_rs_test_early;
	struct srcu_rs *ssp = &srcu_rs_test_early_ssp;

	call_srcu_rs(ssp, &e->rh[0], srcu_rs_test_early_cb);
	e->cookie = start_poll_synchronize_srcu_rs(ssp);
	call_srcu_rs(ssp, &e->rh[1], srcu_rs_test_early_cb);
	/* Only the boot CPU runs yet (before smp_init()): no lock needed. */
	e->boot_listed = !list_empty(&ssp->boot_entry);
	e->polled_early = poll_state_synchronize_srcu_rs(ssp, e->cookie);
	e->calls_early = atomic_read(&e->calls[0]) + atomic_read(&e->calls[1]);
	e->ran = true;
	return 0;
}
early_initcall(srcu_rs_test_early_init);
#endif

/* Early-boot call_srcu_rs() and start_poll_synchronize_srcu_rs() complete once. */
static void srcu_rs_test_early_boot(struct kunit *test)
{
	struct srcu_rs_test_early *e = &srcu_rs_test_early;
	struct srcu_rs *ssp = &srcu_rs_test_early_ssp;
	int i;

	if (IS_MODULE(CONFIG_SRCU_RS_KUNIT_TEST))
		kunit_skip(test, "built as a module: no early_initcall runs before srcu_rs_init()");
	KUNIT_ASSERT_TRUE_MSG(test, e->ran, "the early initcall did not run");
	KUNIT_EXPECT_TRUE_MSG(test, e->boot_listed,
			      "srcu_rs was not in boot mode at early_initcall (srcu_rs_test.o must be linked before srcu_rs.o)");
	KUNIT_EXPECT_FALSE(test, e->polled_early);
	KUNIT_EXPECT_EQ(test, e->calls_early, 0);
	/* Bounded: a request lost on the boot list must fail, not hang. */
	for (i = 0; i < 200; i++) {
		if (atomic_read(&e->calls[0]) && atomic_read(&e->calls[1]))
			break;
		msleep(50);
	}
	KUNIT_ASSERT_TRUE_MSG(test,
			      atomic_read(&e->calls[0]) && atomic_read(&e->calls[1]),
			      "early callbacks not invoked after 10 s: %d and %d calls",
			      atomic_read(&e->calls[0]), atomic_read(&e->calls[1]));
	/* Whatever was still queued behind them has run after this. */
	srcu_rs_barrier(ssp);
	KUNIT_EXPECT_EQ(test, atomic_read(&e->calls[0]), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&e->calls[1]), 1);
	KUNIT_EXPECT_LT(test, e->order[0], e->order[1]);
	KUNIT_EXPECT_TRUE(test, e->cookie_done_in_cb);
	KUNIT_EXPECT_TRUE(test, poll_state_synchronize_srcu_rs(ssp, e->cookie));
	KUNIT_EXPECT_TRUE(test, list_empty(&ssp->boot_entry));
}

#ifdef CONFIG_X86_LOCAL_APIC
/**
 * struct srcu_rs_test_nmi - state of the NMI readers test
 * @ssp: a private domain; leaked if its grace periods cannot end.
 * @gp_done: the grace-period thread has returned.
 * @gp_stop: tells the grace-period thread to return.
 * @gps: grace periods the thread completed.
 * @sent: self-NMIs sent.
 * @handled: self-NMIs whose handler ran.
 * @nmi_locks: srcu_rs_read_lock() calls in NMI.
 * @in_window: NMIs that ran between the load and the store of a generic
 *	per-CPU increment on @ssp.
 * @late: self-NMIs not handled before the sender stopped waiting.
 */
struct srcu_rs_test_nmi {
	struct srcu_rs ssp;
	struct completion gp_done;
	bool gp_stop;
	atomic_long_t gps;
	atomic_long_t sent;
	atomic_long_t handled;
	atomic_long_t nmi_locks;
	atomic_long_t in_window;
	atomic_long_t late;
};

static struct srcu_rs_test_nmi *srcu_rs_test_nmi;
static DEFINE_PER_CPU(int, srcu_rs_test_nmi_pending);
static DEFINE_PER_CPU(int, srcu_rs_test_nmi_window);

/* Runs for every NMI: acts only on the self-NMIs this test sent. */
static int srcu_rs_test_nmi_handler(unsigned int type, struct pt_regs *regs)
{
	struct srcu_rs_test_nmi *t = READ_ONCE(srcu_rs_test_nmi);
	int idx;

	if (!t || !this_cpu_read(srcu_rs_test_nmi_pending))
		return NMI_DONE;
	this_cpu_write(srcu_rs_test_nmi_pending, 0);
	idx = srcu_rs_read_lock(&t->ssp);
	atomic_long_inc(&t->nmi_locks);
	if (this_cpu_read(srcu_rs_test_nmi_window))
		atomic_long_inc(&t->in_window);
	srcu_rs_read_unlock(&t->ssp, idx);
	atomic_long_inc(&t->handled);
	return NMI_HANDLED;
}

/*
 * Send an NMI to this CPU and wait, boundedly, until its handler ran.  TCG
 * takes interrupts only between translation blocks, so without the wait the
 * NMI would land a few instructions later, outside the caller's window.
 * Interrupts must be disabled (NMIs are not).
 */
static void srcu_rs_test_self_nmi(struct srcu_rs_test_nmi *t)
{
	int i;

	lockdep_assert_irqs_disabled();
	this_cpu_write(srcu_rs_test_nmi_pending, 1);
	atomic_long_inc(&t->sent);
	__apic_send_IPI_mask(cpumask_of(smp_processor_id()), NMI_VECTOR);
	for (i = 0; i < 10000 && this_cpu_read(srcu_rs_test_nmi_pending); i++)
		udelay(1);
	if (this_cpu_read(srcu_rs_test_nmi_pending))
		atomic_long_inc(&t->late);
}

#ifdef CONFIG_SRCU_RS_GENERIC_PERCPU
/* Between the load and the store of a per-CPU increment on the test's domain. */
static void srcu_rs_test_nmi_window_fn(struct srcu_rs *ssp, unsigned long slot)
{
	struct srcu_rs_test_nmi *t = container_of(ssp, struct srcu_rs_test_nmi, ssp);

	this_cpu_write(srcu_rs_test_nmi_window, 1);
	srcu_rs_test_self_nmi(t);
	this_cpu_write(srcu_rs_test_nmi_window, 0);
}
#endif

static int srcu_rs_test_gp_thread(void *arg)
{
	struct srcu_rs_test_nmi *t = arg;

	/*
	 * At least one grace period, even when the readers are done before
	 * this thread first runs: the case expects gps > 0.
	 */
	do {
		synchronize_srcu_rs(&t->ssp);
		atomic_long_inc(&t->gps);
	} while (!READ_ONCE(t->gp_stop));
	complete(&t->gp_done);
	return 0;
}
#endif

/*
 * NMI readers while grace periods run: every srcu_rs_read_lock() in task
 * and NMI context is counted exactly.  With CONFIG_SRCU_RS_GENERIC_PERCPU,
 * each NMI is sent from inside the task's load/add/store of its per-CPU
 * increment (srcu_rs_generic_window()), where a reader that used the
 * per-CPU half in NMI (srcu_rs.fault=4) would lose counts.
 */
static void srcu_rs_test_nmi_readers(struct kunit *test)
{
#ifdef CONFIG_X86_LOCAL_APIC
	const bool window = IS_ENABLED(CONFIG_SRCU_RS_GENERIC_PERCPU);
	const unsigned long n = 500;
	unsigned long before, locked, nmi_locks, i;
	struct task_struct *gp_task;
	struct srcu_rs_test_nmi *t;
	long gps_readers;
	bool finished;
	int idx, ret;

	/* Not test-managed: it is leaked if its grace periods cannot end. */
	t = kzalloc(sizeof(*t), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, t);
	if (init_srcu_rs(&t->ssp)) {
		kfree(t);
		KUNIT_FAIL(test, "init_srcu_rs() failed");
		return;
	}
	init_completion(&t->gp_done);
	WRITE_ONCE(srcu_rs_test_nmi, t);
	ret = register_nmi_handler(NMI_LOCAL, srcu_rs_test_nmi_handler, 0,
				   "srcu_rs_test");
	if (ret) {
		WRITE_ONCE(srcu_rs_test_nmi, NULL);
		cleanup_srcu_rs(&t->ssp);
		kfree(t);
		KUNIT_FAIL(test, "register_nmi_handler() failed: %d", ret);
		return;
	}
	gp_task = kthread_run(srcu_rs_test_gp_thread, t, "srcu_rs_test_gp");
	if (IS_ERR(gp_task)) {
		complete(&t->gp_done);
		KUNIT_FAIL(test, "kthread_run() failed: %ld", PTR_ERR(gp_task));
	}
#ifdef CONFIG_SRCU_RS_GENERIC_PERCPU
	ret = srcu_rs_set_generic_window(&t->ssp, srcu_rs_test_nmi_window_fn);
	KUNIT_EXPECT_EQ(test, ret, 0);
#endif
	before = srcu_rs_readers_locked(&t->ssp);
	gps_readers = atomic_long_read(&t->gps);
	for (i = 0; i < n; i++) {
		unsigned long flags;

		idx = srcu_rs_read_lock(&t->ssp);
		if (!window) {
			/* An NMI reader nested in this task's reader. */
			local_irq_save(flags);
			srcu_rs_test_self_nmi(t);
			local_irq_restore(flags);
		}
		srcu_rs_read_unlock(&t->ssp, idx);
		if (i % 32 == 31)
			cond_resched();
	}
	gps_readers = atomic_long_read(&t->gps) - gps_readers;
#ifdef CONFIG_SRCU_RS_GENERIC_PERCPU
	srcu_rs_set_generic_window(NULL, NULL);
#endif
	/* Late NMIs still count: let them land before the handler goes. */
	for (i = 0; i < 50; i++) {
		if (atomic_long_read(&t->handled) == atomic_long_read(&t->sent))
			break;
		msleep(20);
	}
	WRITE_ONCE(t->gp_stop, true);
	finished = wait_for_completion_timeout(&t->gp_done, 30 * HZ);
	unregister_nmi_handler(NMI_LOCAL, "srcu_rs_test");
	WRITE_ONCE(srcu_rs_test_nmi, NULL);

	locked = srcu_rs_readers_locked(&t->ssp) - before;
	nmi_locks = atomic_long_read(&t->nmi_locks);
	kunit_info(test, "%lu task and %lu NMI readers, %lu counted; NMIs sent %ld, handled %ld, late %ld, in the generic window %ld; grace periods %ld (%ld during the readers)\n",
		   n, nmi_locks, locked, atomic_long_read(&t->sent),
		   atomic_long_read(&t->handled), atomic_long_read(&t->late),
		   atomic_long_read(&t->in_window), atomic_long_read(&t->gps),
		   gps_readers);
	KUNIT_EXPECT_EQ_MSG(test, locked, n + nmi_locks,
			    "reader counts lost: %lu counted, %lu task + %lu NMI locks",
			    locked, n, nmi_locks);
	KUNIT_EXPECT_GT(test, nmi_locks, 0UL);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&t->handled),
			atomic_long_read(&t->sent));
	if (window)
		KUNIT_EXPECT_GT_MSG(test, atomic_long_read(&t->in_window), 0L,
				    "no NMI landed between the load and the store");
	else
		kunit_info(test, "this_cpu_inc() is one instruction here: no load/store window to hit (CONFIG_SRCU_RS_GENERIC_PERCPU=n)\n");
	KUNIT_EXPECT_TRUE_MSG(test, finished,
			      "grace periods stopped completing (a lost reader count?); leaking the domain");
	KUNIT_EXPECT_GT(test, atomic_long_read(&t->gps), 0L);
	if (finished) {
		cleanup_srcu_rs(&t->ssp);
		kfree(t);
	}
#else
	kunit_skip(test, "self-NMIs need the x86 local APIC");
#endif
}

static struct kunit_case srcu_rs_test_cases[] = {
	KUNIT_CASE(srcu_rs_test_gp_waits_for_reader),
	KUNIT_CASE(srcu_rs_test_nested_cross_cpu),
	KUNIT_CASE(srcu_rs_test_hardirq),
	KUNIT_CASE(srcu_rs_test_polling),
	KUNIT_CASE(srcu_rs_test_cleanup_refusal),
	KUNIT_CASE(srcu_rs_test_readers_locked),
	KUNIT_CASE(srcu_rs_test_early_boot),
	KUNIT_CASE(srcu_rs_test_nmi_readers),
	{}
};

static struct kunit_suite srcu_rs_test_suite = {
	.name = "srcu_rs",
	.test_cases = srcu_rs_test_cases,
};
kunit_test_suite(srcu_rs_test_suite);

MODULE_DESCRIPTION("KUnit tests for srcu_rs");
MODULE_LICENSE("GPL");
