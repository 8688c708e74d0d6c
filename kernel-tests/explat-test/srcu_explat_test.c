// SPDX-License-Identifier: GPL-2.0-only
/*
 * srcu expedited-latency test: times synchronize_srcu_rs_expedited() on an srcu_rs domain of its
 * own against synchronize_srcu_expedited() on an srcu_struct of its own, alternating one call of
 * each, for secs seconds. The harness loads it while kvm-irq-stress churns GSI routing (each
 * KVM_SET_GSI_ROUTING ends in synchronize_srcu_expedited() on kvm->irq_srcu, itself srcu_rs on
 * a patched kernel), so both domains are timed on the same loaded machine. Optional readers
 * (readers=N kthreads) hold sections of reader_us microseconds on both domains.
 *
 * Built against the kernel's O= tree:  make -C <tree> O=<out> M=<this dir> modules
 * Load:  insmod srcu_explat_test.ko secs=10
 * The test runs inside module init and prints one line:
 *   srcu_explat_test: srcu_rs n=... median_ns=... p99_ns=... srcu n=... median_ns=... p99_ns=...
 *   ratio_median=... ratio_p99=...
 * (ratios srcu_rs / srcu). Without CONFIG_SRCU_RS the module times srcu alone. Everything is
 * torn down before init returns; rmmod only unloads the code.
 */
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/srcu.h>
#ifdef CONFIG_SRCU_RS
#include <linux/srcu_rs.h>
#endif

static int secs = 10;
module_param(secs, int, 0444);
MODULE_PARM_DESC(secs, "test duration in seconds");
static int readers;
module_param(readers, int, 0444);
MODULE_PARM_DESC(readers, "reader kthreads holding sections on both domains");
static int reader_us = 20;
module_param(reader_us, int, 0444);
MODULE_PARM_DESC(reader_us, "length of each reader section, microseconds");

/* Samples kept per domain: later ones overwrite the oldest (a ring). */
#define EL_SAMPLES	8192
#define EL_MAX_READERS	8

static struct srcu_struct el_srcu;
#ifdef CONFIG_SRCU_RS
static struct srcu_rs el_rs;
#endif
static u64 *el_rs_ns, *el_srcu_ns;
static struct task_struct *el_reader[EL_MAX_READERS];

static int el_reader_fn(void *arg)
{
	int idx;

	while (!kthread_should_stop()) {
		idx = srcu_read_lock(&el_srcu);
		udelay(reader_us);
		srcu_read_unlock(&el_srcu, idx);
#ifdef CONFIG_SRCU_RS
		idx = srcu_rs_read_lock(&el_rs);
		udelay(reader_us);
		srcu_rs_read_unlock(&el_rs, idx);
#endif
		cond_resched();
	}
	return 0;
}

static int el_cmp(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

/* The sample at @permille of the @n sorted samples @v. */
static u64 el_quantile(u64 *v, unsigned int n, unsigned int permille)
{
	unsigned int i;

	if (!n)
		return 0;
	i = (unsigned int)((u64)(n - 1) * permille / 1000);
	return v[i];
}

static void el_ratio(char *buf, size_t len, u64 a, u64 b)
{
	u64 r = b ? div64_u64(a * 1000, b) : 0;

	snprintf(buf, len, "%llu.%03llu", r / 1000, r % 1000);
}

static int __init el_init(void)
{
	unsigned long deadline = jiffies + (unsigned long)secs * HZ;
	unsigned int n_rs = 0, n_srcu = 0, i, nr, ns;
	char rm[24], r99[24];
	int ret, nreaders = min(max(readers, 0), EL_MAX_READERS);
	u64 t;

	el_rs_ns = kcalloc(EL_SAMPLES, sizeof(u64), GFP_KERNEL);
	el_srcu_ns = kcalloc(EL_SAMPLES, sizeof(u64), GFP_KERNEL);
	if (!el_rs_ns || !el_srcu_ns) {
		ret = -ENOMEM;
		goto out_free;
	}
	ret = init_srcu_struct(&el_srcu);
	if (ret)
		goto out_free;
#ifdef CONFIG_SRCU_RS
	ret = init_srcu_rs(&el_rs);
	if (ret)
		goto out_srcu;
#endif
	for (i = 0; i < nreaders; i++) {
		el_reader[i] = kthread_run(el_reader_fn, NULL, "srcu_explat_r%u", i);
		if (IS_ERR(el_reader[i])) {
			ret = PTR_ERR(el_reader[i]);
			el_reader[i] = NULL;
			goto out_readers;
		}
	}
	while (time_before(jiffies, deadline)) {
#ifdef CONFIG_SRCU_RS
		t = ktime_get_ns();
		synchronize_srcu_rs_expedited(&el_rs);
		el_rs_ns[n_rs++ % EL_SAMPLES] = ktime_get_ns() - t;
#endif
		t = ktime_get_ns();
		synchronize_srcu_expedited(&el_srcu);
		el_srcu_ns[n_srcu++ % EL_SAMPLES] = ktime_get_ns() - t;
		cond_resched();
	}
	nr = min_t(unsigned int, n_rs, EL_SAMPLES);
	ns = min_t(unsigned int, n_srcu, EL_SAMPLES);
	sort(el_rs_ns, nr, sizeof(u64), el_cmp, NULL);
	sort(el_srcu_ns, ns, sizeof(u64), el_cmp, NULL);
	el_ratio(rm, sizeof(rm), el_quantile(el_rs_ns, nr, 500), el_quantile(el_srcu_ns, ns, 500));
	el_ratio(r99, sizeof(r99), el_quantile(el_rs_ns, nr, 990),
		 el_quantile(el_srcu_ns, ns, 990));
	pr_info("srcu_explat_test: secs=%d readers=%d reader_us=%d srcu_rs n=%u median_ns=%llu p99_ns=%llu srcu n=%u median_ns=%llu p99_ns=%llu ratio_median=%s ratio_p99=%s\n",
		secs, nreaders, reader_us, n_rs, el_quantile(el_rs_ns, nr, 500),
		el_quantile(el_rs_ns, nr, 990), n_srcu, el_quantile(el_srcu_ns, ns, 500),
		el_quantile(el_srcu_ns, ns, 990),
		IS_ENABLED(CONFIG_SRCU_RS) ? rm : "-", IS_ENABLED(CONFIG_SRCU_RS) ? r99 : "-");
	ret = 0;
out_readers:
	for (i = 0; i < nreaders; i++)
		if (el_reader[i])
			kthread_stop(el_reader[i]);
#ifdef CONFIG_SRCU_RS
	cleanup_srcu_rs(&el_rs);
out_srcu:
#endif
	cleanup_srcu_struct(&el_srcu);
out_free:
	kfree(el_rs_ns);
	kfree(el_srcu_ns);
	return ret;
}

/* Everything is torn down in init already: the result is the printed line. */
static void __exit el_exit(void)
{
}

module_init(el_init);
module_exit(el_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("srcu_rs vs srcu expedited grace-period latency");
