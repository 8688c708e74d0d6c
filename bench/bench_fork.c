/* SPDX-License-Identifier: MIT OR GPL-2.0-only */
/*
 * Fork-heavy workload, srcu_rs against liburcu memb in one process (`make -C bench fork`):
 * each round queues a callback, forks, and the child queues one, waits for it
 * (barrier) and for a grace period, and exits; the parent waits for the child and for its own
 * callback. Meanwhile two more threads of the parent are idle (not registered with liburcu), or
 * run readers in a loop, or readers and synchronize. liburcu memb runs only the idle case: its
 * child inherits the registry of the parent's reader threads, and one copied inside a reader
 * never leaves it, so the child's grace periods never end (seen here as a hang in
 * urcu_memb_barrier()); and it has no fork hook for its grace-period lock, so a child forked
 * during a synchronize deadlocks. Last, both libraries run a round whose parent queues nothing
 * and whose child only synchronizes. With BENCH_FORK_LOAD=n, n extra processes spin at nice 0
 * for the whole run (a loaded machine). Prints the median over BENCH_RUNS runs of the mean ms per
 * round (ROUNDS rounds); BENCH_FORK_PHASES=1 adds baselines without either library and each
 * phase's median and 90th percentile (see enum phase).
 *
 * liburcu needs its call_rcu fork hooks called by hand (urcu_memb_call_rcu_before_fork() & co);
 * srcu_rs registers pthread_atfork handlers itself.
 */
#define _GNU_SOURCE
#include <srcu_rs.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <urcu/urcu-memb.h>

#include "stats.h"

/* liburcu's call_rcu fork hooks (the memb flavor's names). */
void urcu_memb_call_rcu_before_fork(void);
void urcu_memb_call_rcu_after_fork_parent(void);
void urcu_memb_call_rcu_after_fork_child(void);

#define ROUNDS 100

/*
 * BENCH_FORK_PHASES=1: where a round's time goes. Timestamps (CLOCK_MONOTONIC, shared by
 * parent and child) from this program's own pthread_atfork handlers, registered once before
 * srcu_rs_create() (their prepare runs last, their child handler first) and once after (prepare
 * first, child handler last), so the difference is srcu_rs's handlers; the child writes its
 * timestamps and its context switches to a shared page.
 */
enum phase {
	T_START,        /* before the round's call */
	T_PREP_OUTER,   /* first prepare handler (before srcu_rs's) */
	T_PREP_INNER,   /* last prepare handler (after srcu_rs's) */
	T_PARENT_INNER, /* first parent handler: fork() returned in the parent */
	T_PARENT_OUTER, /* last parent handler (after srcu_rs's) */
	T_CHILD_INNER,  /* first child handler: the child runs */
	T_CHILD_OUTER,  /* last child handler (after srcu_rs's) */
	T_CHILD_CALL,   /* child: srcu_rs_call / urcu call_rcu returned */
	T_CHILD_BARRIER,
	T_CHILD_SYNC,   /* child: about to _exit */
	T_WAITED,       /* parent: waitpid returned */
	T_END,          /* parent: its barrier returned */
	NR_T
};

struct timeline {
	double t[NR_T];
	long child_vcsw, child_ivcsw; /* the child's voluntary and involuntary context switches */
};

static struct timeline *tl;     /* shared page, NULL unless BENCH_FORK_PHASES */
static int handlers_stamp;      /* the atfork handlers record (srcu_rs rounds only) */

static void stamp(enum phase p)
{
	if (tl)
		tl->t[p] = now();
}
static void hstamp(enum phase p)
{
	if (handlers_stamp)
		stamp(p);
}
static void prep_outer(void) { hstamp(T_PREP_OUTER); }
static void prep_inner(void) { hstamp(T_PREP_INNER); }
static void parent_inner(void) { hstamp(T_PARENT_INNER); }
static void parent_outer(void) { hstamp(T_PARENT_OUTER); }
static void child_inner(void) { hstamp(T_CHILD_INNER); }
static void child_outer(void) { hstamp(T_CHILD_OUTER); }

static void child_counts(void)
{
	struct rusage ru;
	if (tl && getrusage(RUSAGE_SELF, &ru) == 0) {
		tl->child_vcsw = ru.ru_nvcsw;
		tl->child_ivcsw = ru.ru_nivcsw;
	}
}

/* The intervals printed, as differences of two timestamps. */
static const struct {
	const char *name;
	enum phase from, to;
} intervals[] = {
	{ "parent: call", T_START, T_PREP_OUTER },
	{ "srcu_rs prepare handler", T_PREP_OUTER, T_PREP_INNER },
	{ "fork() in the parent", T_PREP_INNER, T_PARENT_INNER },
	{ "srcu_rs parent handler", T_PARENT_INNER, T_PARENT_OUTER },
	{ "child first runs (after prepare)", T_PREP_INNER, T_CHILD_INNER },
	{ "srcu_rs child handler", T_CHILD_INNER, T_CHILD_OUTER },
	{ "child: call", T_CHILD_OUTER, T_CHILD_CALL },
	{ "child: barrier", T_CHILD_CALL, T_CHILD_BARRIER },
	{ "child: synchronize", T_CHILD_BARRIER, T_CHILD_SYNC },
	{ "child exit -> waitpid returns", T_CHILD_SYNC, T_WAITED },
	{ "parent: barrier", T_WAITED, T_END },
	{ "round", T_START, T_END },
};
#define NR_INTERVALS (sizeof(intervals) / sizeof(intervals[0]))

/* Per measured round: each interval (ms) and the child's context switches. */
static double iv[NR_INTERVALS][64 * ROUNDS], vcsw[64 * ROUNDS], ivcsw[64 * ROUNDS];
static int nr_samples;

static void record_round(void)
{
	if (!tl || nr_samples >= 64 * ROUNDS)
		return;
	for (size_t i = 0; i < NR_INTERVALS; i++) {
		double a = tl->t[intervals[i].from], b = tl->t[intervals[i].to];
		iv[i][nr_samples] = a > 0 && b > 0 ? (b - a) * 1e3 : 0;
	}
	vcsw[nr_samples] = tl->child_vcsw;
	ivcsw[nr_samples] = tl->child_ivcsw;
	nr_samples++;
	memset(tl, 0, sizeof(*tl));
}

static void print_phases(const char *what)
{
	if (!tl || !nr_samples)
		return;
	printf("phases, %s: median (p90) ms over %d rounds\n", what, nr_samples);
	for (size_t i = 0; i < NR_INTERVALS; i++) {
		double m = median(iv[i], nr_samples), p90 = iv[i][nr_samples * 9 / 10];
		printf("  %-36s %8.3f (%8.3f)\n", intervals[i].name, m, p90);
	}
	printf("  %-36s %8.1f / %.1f\n", "child context switches (vol / invol)",
	       median(vcsw, nr_samples), median(ivcsw, nr_samples));
	nr_samples = 0;
}

static struct srcu_rs *dom;
static atomic_int stop, with_sync, with_readers;
/* The child only synchronizes and exits; the parent queues nothing before forking (its
 * callback thread exists but is idle). */
static int child_sync_only;

static void srcu_cb(struct srcu_rs_head *h) { (void)h; }
static void urcu_cb(struct rcu_head *h) { (void)h; }

static void *srcu_worker(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		int idx;
		if (!atomic_load_explicit(&with_readers, memory_order_relaxed)) {
			usleep(1000);
			continue;
		}
		idx = srcu_rs_read_lock(dom);
		srcu_rs_read_unlock(dom, idx);
		if (atomic_load_explicit(&with_sync, memory_order_relaxed))
			srcu_rs_synchronize(dom);
	}
	return NULL;
}

static void *urcu_worker(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop))
		usleep(1000); /* not registered: see the top of this file */
	return NULL;
}

static double srcu_round(void)
{
	struct srcu_rs_head h;
	int status;
	double t0 = now();
	stamp(T_START);
	if (!child_sync_only)
		srcu_rs_call(dom, &h, srcu_cb);
	pid_t pid = fork();
	if (pid == 0) {
		struct srcu_rs_head hc;
		if (child_sync_only) {
			srcu_rs_synchronize(dom);
			child_counts();
			stamp(T_CHILD_SYNC);
			_exit(0);
		}
		srcu_rs_call(dom, &hc, srcu_cb);
		stamp(T_CHILD_CALL);
		srcu_rs_barrier(dom); /* also runs the parent's callback, copied into the child */
		stamp(T_CHILD_BARRIER);
		srcu_rs_synchronize(dom);
		child_counts();
		stamp(T_CHILD_SYNC);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	stamp(T_WAITED);
	if (!child_sync_only)
		srcu_rs_barrier(dom);
	stamp(T_END);
	record_round();
	return (now() - t0) * 1e3;
}

static double urcu_round(void)
{
	struct rcu_head h;
	int status;
	double t0 = now();
	stamp(T_START);
	if (!child_sync_only)
		urcu_memb_call_rcu(&h, urcu_cb);
	/* liburcu's hooks are called by hand: the "srcu_rs ... handler" intervals are theirs. */
	stamp(T_PREP_OUTER);
	urcu_memb_call_rcu_before_fork();
	stamp(T_PREP_INNER);
	pid_t pid = fork();
	if (pid == 0) {
		struct rcu_head hc;
		stamp(T_CHILD_INNER);
		urcu_memb_call_rcu_after_fork_child();
		stamp(T_CHILD_OUTER);
		if (child_sync_only) {
			urcu_memb_synchronize_rcu();
			child_counts();
			stamp(T_CHILD_SYNC);
			_exit(0);
		}
		urcu_memb_call_rcu(&hc, urcu_cb);
		stamp(T_CHILD_CALL);
		urcu_memb_barrier();
		stamp(T_CHILD_BARRIER);
		urcu_memb_synchronize_rcu();
		child_counts();
		stamp(T_CHILD_SYNC);
		_exit(0);
	}
	stamp(T_PARENT_INNER);
	urcu_memb_call_rcu_after_fork_parent();
	stamp(T_PARENT_OUTER);
	waitpid(pid, &status, 0);
	stamp(T_WAITED);
	if (!child_sync_only)
		urcu_memb_barrier();
	stamp(T_END);
	record_round();
	return (now() - t0) * 1e3;
}

/*
 * The scheduler's price of one hand-off on this machine under the same load: a round trip
 * between two threads of this process through a mutex and condition variable (each side
 * sleeps until the other wakes it), as the library's callback thread and its callers do.
 */
static pthread_mutex_t pp_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pp_cond = PTHREAD_COND_INITIALIZER;
static int pp_turn, pp_stop;

static void *pingpong_peer(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&pp_lock);
	while (!pp_stop) {
		while (pp_turn != 1 && !pp_stop)
			pthread_cond_wait(&pp_cond, &pp_lock);
		pp_turn = 0;
		pthread_cond_broadcast(&pp_cond);
	}
	pthread_mutex_unlock(&pp_lock);
	return NULL;
}

static void print_handoff(void)
{
	static double rt[2000];
	int n = 2000;
	pthread_t t;
	pp_stop = 0;
	pthread_create(&t, NULL, pingpong_peer, NULL);
	for (int i = 0; i < n; i++) {
		double t0 = now();
		pthread_mutex_lock(&pp_lock);
		pp_turn = 1;
		pthread_cond_broadcast(&pp_cond);
		while (pp_turn != 0)
			pthread_cond_wait(&pp_cond, &pp_lock);
		pthread_mutex_unlock(&pp_lock);
		rt[i] = (now() - t0) * 1e3;
		if (i % 10 == 9)
			usleep(200); /* let both threads sleep, as between a round's hand-offs */
	}
	pthread_mutex_lock(&pp_lock);
	pp_stop = 1;
	pthread_cond_broadcast(&pp_cond);
	pthread_mutex_unlock(&pp_lock);
	pthread_join(t, NULL);
	double m = median(rt, n);
	printf("hand-off round trip between two threads (condvar), %d trips: median %.3f ms, "
	       "p90 %.3f ms, p99 %.3f ms\n", n, m, rt[n * 9 / 10], rt[n * 99 / 100]);
}

/*
 * The same load's price of what every round does besides the libraries: a bare fork round
 * (fork, the child _exits at once, waitpid) and a new thread's first run (pthread_create to
 * the thread's first instruction). A new task has no sleeper's credit with the scheduler, so
 * on busy CPUs it waits for a running task's time slice where a woken sleeper would not.
 */
static volatile double thread_started;
static void *note_start(void *arg)
{
	(void)arg;
	thread_started = now();
	return NULL;
}

static void *block_forever(void *arg)
{
	(void)arg;
	thread_started = now();
	for (;;)
		pause();
	return NULL;
}

static void print_baselines(void)
{
	static double bare[300], start[300], twothreads[300];
	int n = 300;
	for (int i = 0; i < n; i++) {
		double t0 = now();
		pid_t pid = fork();
		if (pid == 0) {
			pthread_t t;
			thread_started = 0;
			pthread_create(&t, NULL, block_forever, NULL);
			while (thread_started == 0)
				sched_yield();
			_exit(0);
		}
		waitpid(pid, NULL, 0);
		twothreads[i] = (now() - t0) * 1e3;
	}
	for (int i = 0; i < n; i++) {
		double t0 = now();
		pid_t pid = fork();
		if (pid == 0)
			_exit(0);
		waitpid(pid, NULL, 0);
		bare[i] = (now() - t0) * 1e3;
	}
	for (int i = 0; i < n; i++) {
		pthread_t t;
		double t0 = now();
		pthread_create(&t, NULL, note_start, NULL);
		pthread_join(t, NULL);
		start[i] = (thread_started - t0) * 1e3;
		usleep(200);
	}
	double bm = median(bare, n), sm = median(start, n), tm = median(twothreads, n);
	printf("bare fork round (fork, child _exit, waitpid; no library), %d rounds: median %.3f ms, "
	       "p90 %.3f ms\n", n, bm, bare[n * 9 / 10]);
	printf("fork round whose child starts a thread and _exits (no library), %d rounds: median %.3f "
	       "ms, p90 %.3f ms\n", n, tm, twothreads[n * 9 / 10]);
	printf("new thread's first run (pthread_create to its start), %d threads: median %.3f ms, "
	       "p90 %.3f ms\n", n, sm, start[n * 9 / 10]);
}

static double run(int urcu, int runs, const char *what)
{
	double v[64], r[ROUNDS];
	pthread_t t[2];
	for (int k = 0; k < runs; k++) {
		atomic_store(&stop, 0);
		for (int i = 0; i < 2; i++)
			pthread_create(&t[i], NULL, urcu ? urcu_worker : srcu_worker, NULL);
		for (int i = 0; i < ROUNDS; i++)
			r[i] = urcu ? urcu_round() : srcu_round();
		atomic_store(&stop, 1);
		for (int i = 0; i < 2; i++)
			pthread_join(t[i], NULL);
		double sum = 0;
		for (int i = 0; i < ROUNDS; i++)
			sum += r[i];
		v[k] = sum / ROUNDS;
	}
	print_phases(what);
	return median(v, runs);
}

int main(void)
{
	int runs = getenv("BENCH_RUNS") ? atoi(getenv("BENCH_RUNS")) : 5;
	int nload = getenv("BENCH_FORK_LOAD") ? atoi(getenv("BENCH_FORK_LOAD")) : 0;
	pid_t spinners[16];
	char load[128];
	if (runs < 1 || runs > 64)
		runs = 5;
	if (nload < 0 || nload > 16)
		nload = 0;
	load_average(load, sizeof(load));
	for (int i = 0; i < nload; i++)
		if ((spinners[i] = fork()) == 0)
			for (;;)
				__asm__ __volatile__("" ::: "memory");
	if (getenv("BENCH_FORK_PHASES") && atoi(getenv("BENCH_FORK_PHASES"))) {
		tl = mmap(NULL, sizeof(*tl), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (tl == MAP_FAILED) {
			perror("bench_fork: mmap");
			return 1;
		}
		memset(tl, 0, sizeof(*tl));
		print_baselines(); /* before any fork handler is registered */
		/* Registered before srcu_rs's handlers: prepare runs after theirs, child before. */
		pthread_atfork(prep_inner, parent_inner, child_inner);
	}
	dom = srcu_rs_create();
	if (!dom)
		return 1;
	if (tl)
		pthread_atfork(prep_outer, parent_outer, child_outer);
	urcu_memb_register_thread();
	if (tl)
		print_handoff();
	handlers_stamp = 1;
	double s = run(0, runs, "srcu_rs, 2 idle threads");
	handlers_stamp = 0;
	double u = run(1, runs, "liburcu memb, 2 idle threads");
	handlers_stamp = 1;
	atomic_store(&with_readers, 1);
	double sr = run(0, runs, "srcu_rs, 2 reader threads");
	atomic_store(&with_sync, 1);
	double su = run(0, runs, "srcu_rs, 2 reader+synchronize threads");
	atomic_store(&with_readers, 0);
	atomic_store(&with_sync, 0);
	child_sync_only = 1;
	handlers_stamp = 1;
	double cs = run(0, runs, "srcu_rs, child synchronizes only");
	handlers_stamp = 0;
	double cu = run(1, runs, "liburcu memb, child synchronizes only");
	for (int i = 0; i < nload; i++) {
		kill(spinners[i], SIGKILL);
		waitpid(spinners[i], NULL, 0);
	}
	printf("fork round: call, fork, child call+barrier+synchronize+exit, parent waitpid+barrier; "
	       "median of %d x %d rounds; %d spinning processes; load average at start %s\n",
	       runs, ROUNDS, nload, load);
	printf("| fork round, 2 idle threads (ms) | %.3f | %.3f | %.2f |\n", s, u, s / u);
	printf("| fork round, 2 reader threads (ms) | %.3f | - (child hangs) | - |\n", sr);
	printf("| fork round, 2 reader+synchronize threads (ms) | %.3f | - (child hangs) | - |\n", su);
	printf("| fork round, child only synchronizes, 2 idle threads (ms) | %.3f | %.3f | %.2f |\n", cs, cu,
	       cs / cu);
	urcu_memb_unregister_thread();
	return 0;
}
