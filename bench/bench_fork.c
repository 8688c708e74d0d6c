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
 * during a synchronize deadlocks. With BENCH_FORK_LOAD=n, n extra
 * processes spin at nice 0 for the whole run (a loaded machine). Prints the median ms per
 * round (BENCH_RUNS runs of ROUNDS rounds).
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
#include <signal.h>
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

static struct srcu_rs *dom;
static atomic_int stop, with_sync, with_readers;

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
	srcu_rs_call(dom, &h, srcu_cb);
	pid_t pid = fork();
	if (pid == 0) {
		struct srcu_rs_head hc;
		srcu_rs_call(dom, &hc, srcu_cb);
		srcu_rs_barrier(dom); /* also runs the parent's callback, copied into the child */
		srcu_rs_synchronize(dom);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	srcu_rs_barrier(dom);
	return (now() - t0) * 1e3;
}

static double urcu_round(void)
{
	struct rcu_head h;
	int status;
	double t0 = now();
	urcu_memb_call_rcu(&h, urcu_cb);
	urcu_memb_call_rcu_before_fork();
	pid_t pid = fork();
	if (pid == 0) {
		struct rcu_head hc;
		urcu_memb_call_rcu_after_fork_child();
		urcu_memb_call_rcu(&hc, urcu_cb);
		urcu_memb_barrier();
		urcu_memb_synchronize_rcu();
		_exit(0);
	}
	urcu_memb_call_rcu_after_fork_parent();
	waitpid(pid, &status, 0);
	urcu_memb_barrier();
	return (now() - t0) * 1e3;
}

static double run(int urcu, int runs)
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
	dom = srcu_rs_create();
	if (!dom)
		return 1;
	urcu_memb_register_thread();
	double s = run(0, runs), u = run(1, runs);
	atomic_store(&with_readers, 1);
	double sr = run(0, runs);
	atomic_store(&with_sync, 1);
	double su = run(0, runs);
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
	urcu_memb_unregister_thread();
	return 0;
}
