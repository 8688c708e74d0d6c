// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests for srcu_rs: nested and cross-CPU readers, hardirq readers and
 * callbacks queued from hardirq (irq_work), polling, cleanup refusal,
 * grace periods that must wait for a reader, and the reader statistics.
 */

#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/delay.h>
#include <linux/irq_work.h>
#include <linux/sched.h>
#include <linux/srcu_rs.h>

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

static struct kunit_case srcu_rs_test_cases[] = {
	KUNIT_CASE(srcu_rs_test_gp_waits_for_reader),
	KUNIT_CASE(srcu_rs_test_nested_cross_cpu),
	KUNIT_CASE(srcu_rs_test_hardirq),
	KUNIT_CASE(srcu_rs_test_polling),
	KUNIT_CASE(srcu_rs_test_cleanup_refusal),
	KUNIT_CASE(srcu_rs_test_readers_locked),
	{}
};

static struct kunit_suite srcu_rs_test_suite = {
	.name = "srcu_rs",
	.test_cases = srcu_rs_test_cases,
};
kunit_test_suite(srcu_rs_test_suite);

MODULE_DESCRIPTION("KUnit tests for srcu_rs");
MODULE_LICENSE("GPL");
