/* SPDX-License-Identifier: MIT OR GPL-2.0-only */
/*
 * srcu_rs vs liburcu (flavor memb, reader threads registered), in one run:
 *   - ns per read lock+unlock pair, 1 and 2 threads: empty, and around a pointer chase of
 *     CHASE_NODES nodes, both with inline readers (srcu_rs's default header, liburcu's
 *     _LGPL_SOURCE); and empty with the out-of-line functions of both;
 *   - synchronize latency with 2 registered reader threads present but idle;
 *   - throughput of 8 concurrent updaters (and, for srcu_rs, grace periods per call).
 * Every figure is the median of BENCH_RUNS runs (default 7). BENCH_PART=update runs only the
 * update-side rows (synchronize and updaters), BENCH_PART=read only the read pairs. Run: make bench
 * (repo root), e.g. BENCH_PART=update make bench.
 */
#define _GNU_SOURCE
#include <srcu_rs.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chase.h"
#include "stats.h"

struct chase_node *chase_head;

void urcu_inline_pairs(long n);
long urcu_inline_chase(long n);
void urcu_call_pairs(long n);
void urcu_register(void);
void urcu_unregister(void);
void urcu_sync(void);
void srcu_call_pairs(struct srcu_rs *s, long n);
void srcu_inline_pairs(struct srcu_rs *s, long n);
long srcu_inline_chase(struct srcu_rs *s, long n);
static volatile long chase_sink;

static struct srcu_rs *dom;
static int runs = 7;

/* ------------------------------------------------------------ read pairs */

enum impl { SRCU_INLINE, SRCU_CALL, URCU_INLINE, URCU_CALL, SRCU_CHASE, URCU_CHASE, NR_IMPL };

struct rd {
	enum impl impl;
	long n;
	pthread_barrier_t *bar;
	double ns;
};

static void pairs(enum impl impl, long n)
{
	switch (impl) {
	case SRCU_INLINE: srcu_inline_pairs(dom, n); break;
	case SRCU_CALL: srcu_call_pairs(dom, n); break;
	case URCU_INLINE: urcu_inline_pairs(n); break;
	case URCU_CALL: urcu_call_pairs(n); break;
	case SRCU_CHASE: chase_sink = srcu_inline_chase(dom, n); break;
	case URCU_CHASE: chase_sink = urcu_inline_chase(n); break;
	case NR_IMPL: break;
	}
}

static void *read_thread(void *arg)
{
	struct rd *r = arg;
	int urcu = r->impl == URCU_INLINE || r->impl == URCU_CALL || r->impl == URCU_CHASE;
	if (urcu)
		urcu_register();
	pairs(r->impl, r->n / 20); /* warm up */
	pthread_barrier_wait(r->bar);
	double t0 = now();
	pairs(r->impl, r->n);
	r->ns = (now() - t0) * 1e9 / r->n;
	if (urcu)
		urcu_unregister();
	return NULL;
}

/* One sample: ns per pair, averaged over the threads. */
static double read_pair_sample(enum impl impl, int nthreads)
{
	pthread_t t[2];
	struct rd r[2];
	pthread_barrier_t bar;
	double sum = 0;
	pthread_barrier_init(&bar, NULL, nthreads);
	for (int i = 0; i < nthreads; i++) {
		r[i] = (struct rd){ impl, impl == SRCU_CHASE || impl == URCU_CHASE ? 5000000 : 20000000, &bar, 0 };
		pthread_create(&t[i], NULL, read_thread, &r[i]);
	}
	for (int i = 0; i < nthreads; i++) {
		pthread_join(t[i], NULL);
		sum += r[i].ns;
	}
	pthread_barrier_destroy(&bar);
	return sum / nthreads;
}

/*
 * rp[impl][nthreads]: the median of `runs` samples. The samples of all implementations are
 * interleaved (run k of each, then run k + 1), so that a change of the machine's load during
 * the benchmark hits srcu_rs and liburcu alike.
 */
static void read_pairs_ns(double rp[][3])
{
	static double v[NR_IMPL][3][64];
	for (int k = 0; k < runs; k++)
		for (int nt = 1; nt <= 2; nt++)
			for (int impl = 0; impl < NR_IMPL; impl++)
				v[impl][nt][k] = read_pair_sample(impl, nt);
	for (int nt = 1; nt <= 2; nt++)
		for (int impl = 0; impl < NR_IMPL; impl++)
			rp[impl][nt] = median(v[impl][nt], runs);
}

/* ------------------------------------------------------------ synchronize latency */

static atomic_int idle_stop;
static void *idle_reader(void *arg)
{
	int urcu = (int)(long)arg;
	if (urcu) {
		urcu_register();
		urcu_inline_pairs(10);
	} else {
		srcu_call_pairs(dom, 10);
	}
	while (!atomic_load(&idle_stop))
		usleep(1000);
	if (urcu)
		urcu_unregister();
	return NULL;
}

enum sync_kind { SRCU_SYNC, SRCU_SYNC_EXP, URCU_SYNC };

static void do_sync(enum sync_kind k)
{
	switch (k) {
	case SRCU_SYNC: srcu_rs_synchronize(dom); break;
	case SRCU_SYNC_EXP: srcu_rs_synchronize_expedited(dom); break;
	case URCU_SYNC: urcu_sync(); break;
	}
}

/*
 * sl[kind]: us per call, the median of `runs` samples of 300 calls, with 2 idle reader threads of
 * each library present throughout (srcu_rs's have read once, liburcu's are registered). The
 * samples of the three kinds are interleaved, as in read_pairs_ns.
 */
static void sync_latency_us(double sl[3])
{
	pthread_t t[4];
	static double v[3][64];
	atomic_store(&idle_stop, 0);
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, idle_reader, (void *)(long)(i >= 2));
	usleep(20000);
	for (int r = 0; r < runs; r++)
		for (int k = 0; k < 3; k++) {
			const int n = 300;
			double t0 = now();
			for (int i = 0; i < n; i++)
				do_sync(k);
			v[k][r] = (now() - t0) * 1e6 / n;
		}
	atomic_store(&idle_stop, 1);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	for (int k = 0; k < 3; k++)
		sl[k] = median(v[k], runs);
}

/* ------------------------------------------------------------ 8 updaters */

#define NUPD 8
struct upd {
	enum sync_kind k;
	double until;
	long calls;
	pthread_barrier_t *bar;
};

static void *updater(void *arg)
{
	struct upd *u = arg;
	pthread_barrier_wait(u->bar);
	while (now() < u->until) {
		do_sync(u->k);
		u->calls++;
	}
	return NULL;
}

static atomic_int busy_stop;
static int busy_sleep_us; /* 0: back-to-back short sections; else sections sleeping this long */
void urcu_sleeping_section(int us);
static void *busy_reader(void *arg)
{
	int urcu = (int)(long)arg;
	if (urcu)
		urcu_register();
	while (!atomic_load_explicit(&busy_stop, memory_order_relaxed)) {
		if (busy_sleep_us && urcu) {
			urcu_sleeping_section(busy_sleep_us);
		} else if (busy_sleep_us) {
			int idx = srcu_rs_read_lock(dom);
			usleep(busy_sleep_us);
			srcu_rs_read_unlock(dom, idx);
		} else if (urcu) {
			urcu_inline_pairs(1);
		} else {
			srcu_inline_pairs(dom, 1);
		}
	}
	if (urcu)
		urcu_unregister();
	return NULL;
}

static double updaters_throughput(enum sync_kind k, int busy, double *gp_per_call)
{
	double v[64], g[64];
	pthread_t br[2];
	atomic_store(&busy_stop, 0);
	for (int i = 0; i < busy; i++)
		pthread_create(&br[i], NULL, busy_reader, (void *)(long)(k == URCU_SYNC));
	for (int r = 0; r < runs; r++) {
		pthread_t t[NUPD];
		struct upd u[NUPD];
		pthread_barrier_t bar;
		unsigned long gp0 = srcu_rs_completed_grace_periods(dom);
		long calls = 0;
		double t0 = now(), dur = 0.3;
		pthread_barrier_init(&bar, NULL, NUPD);
		for (int i = 0; i < NUPD; i++) {
			u[i] = (struct upd){ k, t0 + dur, 0, &bar };
			pthread_create(&t[i], NULL, updater, &u[i]);
		}
		for (int i = 0; i < NUPD; i++) {
			pthread_join(t[i], NULL);
			calls += u[i].calls;
		}
		pthread_barrier_destroy(&bar);
		double el = now() - t0;
		v[r] = calls / el;
		g[r] = calls ? (double)(srcu_rs_completed_grace_periods(dom) - gp0) / calls : 0;
	}
	atomic_store(&busy_stop, 1);
	for (int i = 0; i < busy; i++)
		pthread_join(br[i], NULL);
	if (gp_per_call)
		*gp_per_call = median(g, runs);
	return median(v, runs);
}

static void print_load(const char *when)
{
	char buf[128];
	load_average(buf, sizeof(buf));
	printf("load average %s: %s\n", when, buf);
}

static void read_row(const char *what, int nt, enum impl a, enum impl b, double rp[][3], const char *goal)
{
	printf("| %s, %d thread%s (ns/pair) | %.2f | %.2f | %.2f | %s |\n", what, nt, nt > 1 ? "s" : "",
	       rp[a][nt], rp[b][nt], rp[a][nt] / rp[b][nt], goal);
}

/* BENCH_PART: "all" (default), "read" or "update"; anything else is refused. */
static int part_read = 1, part_update = 1;
static int parse_part(void)
{
	const char *p = getenv("BENCH_PART");
	if (!p || !*p || !strcmp(p, "all"))
		return 0;
	if (!strcmp(p, "read")) {
		part_update = 0;
		return 0;
	}
	if (!strcmp(p, "update")) {
		part_read = 0;
		return 0;
	}
	fprintf(stderr, "bench: unknown BENCH_PART '%s'; valid values: all, read, update\n", p);
	return -1;
}

int main(void)
{
	double rp[NR_IMPL][3];
	struct chase_node nodes[CHASE_NODES];
	if (getenv("BENCH_RUNS"))
		runs = atoi(getenv("BENCH_RUNS"));
	if (runs < 1 || runs > 64)
		runs = 7;
	if (parse_part())
		return 2;
	for (int i = 0; i < CHASE_NODES; i++)
		nodes[i] = (struct chase_node){ i + 1 < CHASE_NODES ? &nodes[i + 1] : NULL, i };
	chase_head = &nodes[0];
	dom = srcu_rs_create();
	if (!dom) {
		perror("srcu_rs_create");
		return 1;
	}
	urcu_register(); /* the main thread too, so liburcu never sees an empty registry */
	printf("srcu_rs features: rseq=%d membarrier=%d; %ld CPUs online; median of %d runs\n",
	       !!(srcu_rs_features() & SRCU_RS_FEATURE_RSEQ),
	       !!(srcu_rs_features() & SRCU_RS_FEATURE_MEMBARRIER), sysconf(_SC_NPROCESSORS_ONLN), runs);
	print_load("at start");
	if (part_read)
		read_pairs_ns(rp);

	double sl[3] = { 0 }, gpc = 0, gpc_exp = 0, gpc_busy = 0, gpc_sleep = 0;
	double thr_srcu = 0, thr_srcu_exp = 0, thr_urcu = 1, thr_srcu_busy = 0, thr_urcu_busy = 1, thr_srcu_sleep = 0,
	       thr_urcu_sleep = 1;
	if (part_update) {
		sync_latency_us(sl);
		thr_srcu = updaters_throughput(SRCU_SYNC, 0, &gpc);
		thr_srcu_exp = updaters_throughput(SRCU_SYNC_EXP, 0, &gpc_exp);
		thr_urcu = updaters_throughput(URCU_SYNC, 0, NULL);
		thr_srcu_busy = updaters_throughput(SRCU_SYNC, 2, &gpc_busy);
		thr_urcu_busy = updaters_throughput(URCU_SYNC, 2, NULL);
		busy_sleep_us = 50;
		thr_srcu_sleep = updaters_throughput(SRCU_SYNC, 2, &gpc_sleep);
		thr_urcu_sleep = updaters_throughput(URCU_SYNC, 2, NULL);
	}
	urcu_unregister();
	print_load("at end");
	printf("\n");

	printf("| measurement | srcu_rs | liburcu memb | srcu_rs / liburcu | goal |\n");
	printf("|---|---:|---:|---:|---:|\n");
	if (part_read) {
		for (int nt = 1; nt <= 2; nt++)
			read_row("read pair, empty loop, inline (srcu_rs default header)", nt, SRCU_INLINE, URCU_INLINE,
				 rp, nt == 1 ? "<= 1.5" : "-");
		for (int nt = 1; nt <= 2; nt++)
			read_row("read pair around a 4-node pointer chase, inline", nt, SRCU_CHASE, URCU_CHASE, rp,
				 "<= 1.0");
		for (int nt = 1; nt <= 2; nt++)
			read_row("read pair, empty loop, out-of-line (SRCU_RS_NO_INLINE; liburcu without _LGPL_SOURCE)",
				 nt, SRCU_CALL, URCU_CALL, rp, "<= 0.4");
	}
	if (part_update) {
		printf("| synchronize, 2 idle readers of each library (us/call) | %.2f | %.2f | %.2f | <= 1.0 |\n",
		       sl[SRCU_SYNC], sl[URCU_SYNC], sl[SRCU_SYNC] / sl[URCU_SYNC]);
		printf("| synchronize_expedited, same (us/call) | %.2f | %.2f | %.2f | <= 1.0 |\n", sl[SRCU_SYNC_EXP],
		       sl[URCU_SYNC], sl[SRCU_SYNC_EXP] / sl[URCU_SYNC]);
		printf("| 8 updaters, synchronize (calls/s) | %.0f | %.0f | %.2f | >= 1.0 |\n", thr_srcu, thr_urcu,
		       thr_srcu / thr_urcu);
		printf("| 8 updaters, synchronize_expedited (calls/s) | %.0f | %.0f | %.2f | >= 1.0 |\n", thr_srcu_exp,
		       thr_urcu, thr_srcu_exp / thr_urcu);
		printf("| 8 updaters: grace periods per synchronize call (srcu_rs) | %.3f (expedited %.3f) | - | - | - |\n",
		       gpc, gpc_exp);
		printf("| 8 updaters + 2 busy readers, synchronize (calls/s) | %.0f | %.0f | %.2f | >= 1.0 |\n",
		       thr_srcu_busy, thr_urcu_busy, thr_srcu_busy / thr_urcu_busy);
		printf("| 8 updaters + 2 busy readers: grace periods per call (srcu_rs) | %.3f | - | - | - |\n",
		       gpc_busy);
		printf("| 8 updaters + 2 readers in 50 us sleeping sections, synchronize (calls/s) | %.0f | %.0f | %.2f | - |\n",
		       thr_srcu_sleep, thr_urcu_sleep, thr_srcu_sleep / thr_urcu_sleep);
		printf("| 8 updaters + 2 sleeping readers: grace periods per call (srcu_rs) | %.3f | - | - | - |\n",
		       gpc_sleep);
	}
	if (srcu_rs_destroy(dom) != 0)
		return 1;
	return 0;
}
