// SPDX-License-Identifier: GPL-2.0-only
/*
 * srcu_rs lifetime test: a module with a static srcu_rs domain
 * (DEFINE_STATIC_SRCU_RS) and a static notifier head
 * (SRCU_NOTIFIER_HEAD_STATIC, an srcu_rs domain under CONFIG_SRCU_RS) that
 * is unloaded with a callback and polled grace periods still pending: its
 * exit function queues them and returns.  The callback's rcu_head, its
 * function and both domains (their delayed work included) live in module
 * memory, which is freed right after the module notifier's
 * MODULE_STATE_GOING.  srcu_rs's notifier must finish them and take the
 * domains off its lists first; with srcu_rs.shim_fault=2 it does nothing,
 * and KASAN (CONFIG_KASAN_VMALLOC) reports the freed module memory that
 * srcu_rs still reaches (pending work, or the list entry the next load of
 * this module links after).
 *
 * Built against the kernel's O= tree:  make -C <tree> O=<out> M=<this dir> modules
 * The harness loads and unloads it twice:
 *   insmod srcu_rs_lifetime_test.ko; rmmod srcu_rs_lifetime_test
 * Lines:  srcu_rs_lifetime_test: result=PASS|FAIL ...   (init)
 *         srcu_rs_lifetime_test: exit pending=... (exit: what is left pending)
 */
#include <linux/module.h>
#include <linux/notifier.h>
#include <linux/srcu_rs.h>

#ifndef CONFIG_SRCU_RS
#error "srcu_rs_lifetime_test needs CONFIG_SRCU_RS=y"
#endif

DEFINE_STATIC_SRCU_RS(lt_srcu);
SRCU_NOTIFIER_HEAD_STATIC(lt_head);

static struct rcu_head lt_rh;
static int lt_calls;

static void lt_cb(struct rcu_head *rhp)
{
	WRITE_ONCE(lt_calls, READ_ONCE(lt_calls) + 1);
}

static int lt_notifier_cb(struct notifier_block *nb, unsigned long action,
			  void *data)
{
	WRITE_ONCE(lt_calls, READ_ONCE(lt_calls) + 1);
	return NOTIFY_OK;
}

static struct notifier_block lt_nb = {
	.notifier_call = lt_notifier_cb,
};

static int __init lt_init(void)
{
	int idx, calls;

	/* Use both domains once: a reader, a grace period, a chain call. */
	idx = srcu_rs_read_lock(&lt_srcu);
	srcu_rs_read_unlock(&lt_srcu, idx);
	synchronize_srcu_rs(&lt_srcu);
	if (srcu_notifier_chain_register(&lt_head, &lt_nb))
		goto fail;
	srcu_notifier_call_chain(&lt_head, 0, NULL);
	srcu_notifier_chain_unregister(&lt_head, &lt_nb);
	calls = READ_ONCE(lt_calls);
	pr_info("srcu_rs_lifetime_test: result=%s calls=%d\n",
		calls == 1 ? "PASS" : "FAIL", calls);
	return 0;
fail:
	pr_info("srcu_rs_lifetime_test: result=FAIL register\n");
	return 0;
}

static void __exit lt_exit(void)
{
	unsigned long c1, c2;

	/* Left pending on purpose: the module notifier must finish these. */
	c1 = start_poll_synchronize_srcu_rs(&lt_srcu);
	call_srcu_rs(&lt_srcu, &lt_rh, lt_cb);
	c2 = start_poll_synchronize_srcu_rs(&lt_head.srcu);
	pr_info("srcu_rs_lifetime_test: exit pending=%d,%d\n",
		!poll_state_synchronize_srcu_rs(&lt_srcu, c1),
		!poll_state_synchronize_srcu_rs(&lt_head.srcu, c2));
}

module_init(lt_init);
module_exit(lt_exit);
MODULE_DESCRIPTION("srcu_rs: module-static domains unloaded with work pending");
MODULE_LICENSE("GPL");
