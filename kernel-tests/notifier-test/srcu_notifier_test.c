// SPDX-License-Identifier: GPL-2.0-only
/*
 * srcu notifier test: register/unregister blocks on a static and a dynamic srcu_notifier_head while other
 * threads call the chains. After srcu_notifier_chain_unregister() returns (a grace period of the head's
 * SRCU domain), the block's magic is poisoned and the block is parked in a quarantine ring before kfree(),
 * so a reader that still reaches it sees the poison (bad_magic) instead of freed memory. Each head also
 * carries a permanent anchor block: every call of the chain must invoke it exactly once.
 *
 * Built against the kernel's O= tree:  make -C <tree> O=<out> M=<this dir> modules
 * Load:  insmod srcu_notifier_test.ko secs=10 callers=2 registrars=2
 * The test runs inside module init and prints one line:
 *   srcu_notifier_test: result=PASS|FAIL ...
 * The module then stays loaded (rmmod cleans up the static head).
 */
#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/notifier.h>
#include <linux/random.h>
#include <linux/slab.h>

static int secs = 10;
module_param(secs, int, 0444);
MODULE_PARM_DESC(secs, "test duration in seconds");
static int callers = 2;
module_param(callers, int, 0444);
MODULE_PARM_DESC(callers, "threads calling the chains");
static int registrars = 2;
module_param(registrars, int, 0444);
MODULE_PARM_DESC(registrars, "threads registering and unregistering blocks");

#define NT_MAGIC	0x5352435552534e54ULL	/* "SRCURSNT" */
#define NT_POISON	0x6b6b6b6b6b6b6b6bULL
#define NT_QUARANTINE	32

struct nt_block {
	u64 magic;
	struct notifier_block nb;
};

struct nt_call {
	int anchor_hits;
};

SRCU_NOTIFIER_HEAD_STATIC(nt_static_head);
static struct srcu_notifier_head nt_dynamic_head;

static atomic64_t nt_calls, nt_callbacks, nt_registers, nt_unregisters, nt_bad_magic, nt_anchor_errors,
	nt_alloc_fail;
static unsigned long nt_deadline;
static atomic_t nt_running;
static DECLARE_COMPLETION(nt_done);

static int nt_block_cb(struct notifier_block *nb, unsigned long action, void *data)
{
	struct nt_block *b = container_of(nb, struct nt_block, nb);

	if (READ_ONCE(b->magic) != NT_MAGIC) {
		atomic64_inc(&nt_bad_magic);
		WARN_ONCE(1, "srcu_notifier_test: callback on an unregistered block (magic %llx)\n",
			  (unsigned long long)READ_ONCE(b->magic));
	}
	atomic64_inc(&nt_callbacks);
	/* readers of an srcu notifier chain may sleep */
	if ((action & 63) == 0)
		usleep_range(10, 50);
	return NOTIFY_OK;
}

static int nt_anchor_cb(struct notifier_block *nb, unsigned long action, void *data)
{
	struct nt_call *c = data;

	c->anchor_hits++;
	return NOTIFY_OK;
}

static struct notifier_block nt_static_anchor = { .notifier_call = nt_anchor_cb, .priority = 1 };
static struct notifier_block nt_dynamic_anchor = { .notifier_call = nt_anchor_cb, .priority = 1 };

static void nt_thread_done(void)
{
	if (atomic_dec_and_test(&nt_running))
		complete(&nt_done);
}

static int nt_caller(void *arg)
{
	unsigned long i = (unsigned long)arg;

	while (time_before(jiffies, nt_deadline)) {
		struct srcu_notifier_head *h = (i & 1) ? &nt_static_head : &nt_dynamic_head;
		struct nt_call c = { 0 };

		srcu_notifier_call_chain(h, i, &c);
		atomic64_inc(&nt_calls);
		if (c.anchor_hits != 1) {
			atomic64_inc(&nt_anchor_errors);
			WARN_ONCE(1, "srcu_notifier_test: anchor called %d times in one call\n", c.anchor_hits);
		}
		i += 1;
		cond_resched();
	}
	nt_thread_done();
	return 0;
}

static int nt_registrar(void *arg)
{
	struct nt_block *ring[NT_QUARANTINE] = { NULL };
	unsigned long i = (unsigned long)arg;
	unsigned int r = 0, k;

	while (time_before(jiffies, nt_deadline)) {
		struct srcu_notifier_head *h = (i & 1) ? &nt_static_head : &nt_dynamic_head;
		struct nt_block *b = kmalloc(sizeof(*b), GFP_KERNEL);

		if (!b) {
			atomic64_inc(&nt_alloc_fail);
			msleep(1);
			continue;
		}
		b->magic = NT_MAGIC;
		b->nb.notifier_call = nt_block_cb;
		b->nb.priority = get_random_u32_below(3);
		if (srcu_notifier_chain_register(h, &b->nb)) {
			kfree(b);
			continue;
		}
		atomic64_inc(&nt_registers);
		usleep_range(20, 200);
		srcu_notifier_chain_unregister(h, &b->nb);
		atomic64_inc(&nt_unregisters);
		/* after the grace period no reader may reach b: poison it, free it later */
		WRITE_ONCE(b->magic, NT_POISON);
		kfree(ring[r]);
		ring[r] = b;
		r = (r + 1) % NT_QUARANTINE;
		i += 1;
	}
	for (k = 0; k < NT_QUARANTINE; k++)
		kfree(ring[k]);
	nt_thread_done();
	return 0;
}

static int __init nt_init(void)
{
	unsigned long t;
	bool pass;
	int i;

	srcu_init_notifier_head(&nt_dynamic_head);
	srcu_notifier_chain_register(&nt_static_head, &nt_static_anchor);
	srcu_notifier_chain_register(&nt_dynamic_head, &nt_dynamic_anchor);

	t = jiffies;
	nt_deadline = t + secs * HZ;
	atomic_set(&nt_running, 1 + callers + registrars);
	for (i = 0; i < callers; i++)
		if (IS_ERR(kthread_run(nt_caller, (void *)(unsigned long)i, "nt_caller/%d", i)))
			nt_thread_done();
	for (i = 0; i < registrars; i++)
		if (IS_ERR(kthread_run(nt_registrar, (void *)(unsigned long)i, "nt_registrar/%d", i)))
			nt_thread_done();
	nt_thread_done();
	wait_for_completion(&nt_done);

	srcu_notifier_chain_unregister(&nt_static_head, &nt_static_anchor);
	srcu_notifier_chain_unregister(&nt_dynamic_head, &nt_dynamic_anchor);
	srcu_cleanup_notifier_head(&nt_dynamic_head);

	pass = !atomic64_read(&nt_bad_magic) && !atomic64_read(&nt_anchor_errors) &&
	       atomic64_read(&nt_calls) > 0 && atomic64_read(&nt_registers) > 0 &&
	       atomic64_read(&nt_registers) == atomic64_read(&nt_unregisters);
	pr_info("srcu_notifier_test: result=%s secs=%u calls=%lld callbacks=%lld registers=%lld unregisters=%lld bad_magic=%lld anchor_errors=%lld alloc_fail=%lld callers=%d registrars=%d\n",
		pass ? "PASS" : "FAIL", jiffies_to_msecs(jiffies - t) / 1000,
		(long long)atomic64_read(&nt_calls), (long long)atomic64_read(&nt_callbacks),
		(long long)atomic64_read(&nt_registers), (long long)atomic64_read(&nt_unregisters),
		(long long)atomic64_read(&nt_bad_magic), (long long)atomic64_read(&nt_anchor_errors),
		(long long)atomic64_read(&nt_alloc_fail), callers, registrars);
	return 0;
}

static void __exit nt_exit(void)
{
	srcu_cleanup_notifier_head(&nt_static_head);
}

module_init(nt_init);
module_exit(nt_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("srcu_notifier_head register/unregister/call stress with poison-after-unregister");
