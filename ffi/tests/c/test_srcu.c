/* SPDX-License-Identifier: MIT OR GPL-2.0-only */
/*
 * C tests of libsrcu_rs.a through include/srcu_rs.h. Run by ffi/tests/run-c-tests.sh.
 *
 *   test_srcu <test> [seconds]      test: api badinput deadlk sigtorture updaters callbacks
 *                                         polling fork forkreaders forkidle destroy layout port
 *                                         held all
 *
 * Built twice: as is (every srcu_rs_read_lock/unlock is the header's static-inline reader) and
 * with -DTEST_NO_INLINE (SRCU_RS_NO_INLINE: every reader calls the library); each also with
 * -DSRCU_RS_DEBUG_HELD (index-returning readers counted for srcu_rs_read_held(): test held).
 *
 * Exit status 0: pass. Anything else: fail (a poisoned read, a reader not waited for, wrong
 * accounting, or the watchdog's SIGALRM on a hang).
 */
#define _GNU_SOURCE
#ifdef TEST_NO_INLINE /* every reader calls the library's exported functions */
#define SRCU_RS_NO_INLINE
#endif
#include <srcu_rs.h>
#include <srcu_rs/static.h> /* the *_inline names, for the layout test in both builds */

#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHECK(cond)                                                                          \
	do {                                                                                 \
		if (!(cond)) {                                                               \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			exit(1);                                                             \
		}                                                                            \
	} while (0)

static double seconds = 2.0;
/* Where a test stands, for the watchdog's message (set by tests that can block). */
static volatile sig_atomic_t watchdog_phase;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
	while (nanosleep(&ts, &ts) != 0)
		;
}

static int nr_threads_in_process(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* Signal-safe failure report. */
static void die_async(const char *msg)
{
	ssize_t r = write(2, msg, strlen(msg));
	(void)r;
	_exit(2);
}

/* ---------------------------------------------------------------- api */

static atomic_int simple_cb_runs;
static void simple_cb(struct srcu_rs_head *h)
{
	(void)h;
	atomic_fetch_add(&simple_cb_runs, 1);
}

static void test_api(void)
{
	struct srcu_rs *s = srcu_rs_create();
	struct srcu_rs_head h;
	unsigned long c;
	int i, j;

	CHECK(s);
	i = srcu_rs_read_lock(s);
	CHECK(i == 0 || i == 1);
	j = srcu_rs_read_lock(s); /* nesting */
	CHECK(j == 0 || j == 1);
	CHECK(srcu_rs_read_unlock(s, j) == 0);
	CHECK(srcu_rs_read_unlock(s, i) == 0);
	CHECK(srcu_rs_synchronize(s) == 0);
	CHECK(srcu_rs_synchronize_expedited(s) == 0);
	CHECK(srcu_rs_completed_grace_periods(s) >= 2);
	c = srcu_rs_get_state(s);
	CHECK(!srcu_rs_poll_state(s, c));
	CHECK(srcu_rs_synchronize(s) == 0);
	CHECK(srcu_rs_poll_state(s, c));
	CHECK(srcu_rs_call(s, &h, simple_cb) == 0);
	CHECK(srcu_rs_barrier(s) == 0);
	CHECK(atomic_load(&simple_cb_runs) == 1);
	CHECK(srcu_rs_destroy(s) == 0);
	printf("api: features=%#x (rseq=%d membarrier=%d)\n", srcu_rs_features(),
	       !!(srcu_rs_features() & SRCU_RS_FEATURE_RSEQ),
	       !!(srcu_rs_features() & SRCU_RS_FEATURE_MEMBARRIER));
	if (getenv("SRCU_RS_DISABLE_RSEQ"))
		CHECK(!(srcu_rs_features() & SRCU_RS_FEATURE_RSEQ));
	if (getenv("EXPECT_NO_RSEQ"))
		CHECK(!(srcu_rs_features() & SRCU_RS_FEATURE_RSEQ));
}

/* ---------------------------------------------------------------- badinput */


static atomic_int blocker_started, blocker_release;
static void blocking_cb(struct srcu_rs_head *h)
{
	(void)h;
	atomic_store(&blocker_started, 1);
	while (!atomic_load(&blocker_release))
		sleep_us(100);
}

static void test_badinput(void)
{
	struct srcu_rs *s = srcu_rs_create();
	struct srcu_rs_head h;
	int i;

	CHECK(s);
	CHECK(srcu_rs_destroy(NULL) == -EINVAL);
	CHECK(srcu_rs_read_lock(NULL) == -EINVAL);
	CHECK(srcu_rs_read_unlock(NULL, 0) == -EINVAL);
	CHECK(srcu_rs_synchronize(NULL) == -EINVAL);
	CHECK(srcu_rs_synchronize_expedited(NULL) == -EINVAL);
	CHECK(srcu_rs_call(NULL, &h, simple_cb) == -EINVAL);
	CHECK(srcu_rs_call(s, NULL, simple_cb) == -EINVAL);
	CHECK(srcu_rs_call(s, &h, NULL) == -EINVAL);
	CHECK(srcu_rs_barrier(NULL) == -EINVAL);
	errno = 0;
	CHECK(srcu_rs_get_state(NULL) == 0 && errno == EINVAL);
	errno = 0;
	CHECK(srcu_rs_start_poll(NULL) == 0 && errno == EINVAL);
	errno = 0;
	CHECK(!srcu_rs_poll_state(NULL, 0) && errno == EINVAL);

	/* Out-of-range indexes are refused and count nothing: synchronize still completes. */
	CHECK(srcu_rs_read_unlock(s, 2) == -EINVAL);
	CHECK(srcu_rs_read_unlock(s, -1) == -EINVAL);
	CHECK(srcu_rs_read_unlock(s, 0x7fffffff) == -EINVAL);
	CHECK(srcu_rs_synchronize(s) == 0);

	/* destroy with a live reader: -EBUSY, and the domain stays usable. */
	i = srcu_rs_read_lock(s);
	CHECK(srcu_rs_destroy(s) == -EBUSY);
	CHECK(srcu_rs_read_unlock(s, i) == 0);
	CHECK(srcu_rs_synchronize(s) == 0);

	/* destroy with a callback queued or running: -EBUSY. */
	CHECK(srcu_rs_call(s, &h, blocking_cb) == 0);
	CHECK(srcu_rs_destroy(s) == -EBUSY); /* queued (or already running) */
	while (!atomic_load(&blocker_started))
		sleep_us(100);
	CHECK(srcu_rs_destroy(s) == -EBUSY); /* running */
	atomic_store(&blocker_release, 1);
	CHECK(srcu_rs_barrier(s) == 0);

	/* destroy with a requested grace period that cannot end (a reader holds it): -EBUSY. */
	i = srcu_rs_read_lock(s);
	unsigned long c = srcu_rs_start_poll(s);
	CHECK(srcu_rs_destroy(s) == -EBUSY);
	CHECK(srcu_rs_read_unlock(s, i) == 0);
	while (!srcu_rs_poll_state(s, c))
		sleep_us(100);
	CHECK(srcu_rs_destroy(s) == 0);
}

/* ---------------------------------------------------------------- deadlk */

static struct srcu_rs *deadlk_s;
static atomic_int deadlk_sync_ret = 1, deadlk_exp_ret = 1, deadlk_barrier_ret = 1, deadlk_destroy_ret = 1;
static void deadlk_cb(struct srcu_rs_head *h)
{
	(void)h;
	atomic_store(&deadlk_sync_ret, srcu_rs_synchronize(deadlk_s));
	atomic_store(&deadlk_exp_ret, srcu_rs_synchronize_expedited(deadlk_s));
	atomic_store(&deadlk_barrier_ret, srcu_rs_barrier(deadlk_s));
	atomic_store(&deadlk_destroy_ret, srcu_rs_destroy(deadlk_s));
}

static void test_deadlk(void)
{
	struct srcu_rs_head h;
	deadlk_s = srcu_rs_create();
	CHECK(deadlk_s);
	CHECK(srcu_rs_call(deadlk_s, &h, deadlk_cb) == 0);
	CHECK(srcu_rs_barrier(deadlk_s) == 0);
	CHECK(deadlk_sync_ret == -EDEADLK);
	CHECK(deadlk_exp_ret == -EDEADLK);
	CHECK(deadlk_barrier_ret == -EDEADLK);
	CHECK(deadlk_destroy_ret == -EBUSY);
	CHECK(srcu_rs_destroy(deadlk_s) == 0);
}

/* ---------------------------------------------------------------- sigtorture */

#define LIVE 0x4c4956454c495645ul
#define POISON 0xdeaddeaddeaddeadul

struct obj {
	unsigned long magic;
	unsigned long payload[7];
	struct srcu_rs_head head;
};

static struct srcu_rs *ts;
static _Atomic(struct obj *) gp_obj;
static atomic_int stop_flag;
static atomic_ulong handler_reads, thread_reads, updates;

static void check_obj(struct obj *p)
{
	if (!p)
		return;
	for (int k = 0; k < 4; k++) {
		if (__atomic_load_n(&p->magic, __ATOMIC_RELAXED) != LIVE)
			die_async("sigtorture: reader saw a poisoned or freed object\n");
		__asm__ __volatile__("" ::: "memory");
	}
}

static void reader_signal(int sig)
{
	int saved = errno;
	int idx;
	(void)sig;
	idx = srcu_rs_read_lock(ts);
	if (idx < 0)
		die_async("read_lock failed in handler\n");
	check_obj(atomic_load_explicit(&gp_obj, memory_order_consume));
	if (srcu_rs_read_unlock(ts, idx) != 0)
		die_async("read_unlock failed in handler\n");
	atomic_fetch_add_explicit(&handler_reads, 1, memory_order_relaxed);
	errno = saved;
}

static void *reader_thread(void *arg)
{
	timer_t t;
	struct sigevent sev;
	struct itimerspec its;
	long interval_ns = (long)(intptr_t)arg;

	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = SIGUSR1;
	sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
	CHECK(timer_create(CLOCK_MONOTONIC, &sev, &t) == 0);
	its.it_interval.tv_sec = 0;
	its.it_interval.tv_nsec = interval_ns;
	its.it_value = its.it_interval;
	CHECK(timer_settime(t, 0, &its, NULL) == 0);

	while (!atomic_load_explicit(&stop_flag, memory_order_relaxed)) {
		int idx = srcu_rs_read_lock(ts);
		struct obj *p = atomic_load_explicit(&gp_obj, memory_order_consume);
		check_obj(p);
		for (int k = 0; k < 20; k++)
			__asm__ __volatile__("pause" ::: "memory");
		check_obj(p);
		CHECK(srcu_rs_read_unlock(ts, idx) == 0);
		atomic_fetch_add_explicit(&thread_reads, 1, memory_order_relaxed);
	}
	timer_delete(t);
	return NULL;
}

static struct obj *new_obj(void)
{
	struct obj *o = malloc(sizeof(*o));
	CHECK(o);
	o->magic = LIVE;
	return o;
}

static void poison_free(struct obj *o)
{
	__atomic_store_n(&o->magic, POISON, __ATOMIC_RELAXED);
	free(o);
}

static void poison_free_cb(struct srcu_rs_head *h)
{
	poison_free((struct obj *)((char *)h - offsetof(struct obj, head)));
}

static void *updater_thread(void *arg)
{
	unsigned long n = (unsigned long)(uintptr_t)arg;
	while (!atomic_load_explicit(&stop_flag, memory_order_relaxed)) {
		struct obj *old = atomic_exchange(&gp_obj, new_obj());
		unsigned long c;
		switch (n++ % 4) {
		case 0:
			CHECK(srcu_rs_synchronize(ts) == 0);
			poison_free(old);
			break;
		case 1:
			CHECK(srcu_rs_synchronize_expedited(ts) == 0);
			poison_free(old);
			break;
		case 2:
			CHECK(srcu_rs_call(ts, &old->head, poison_free_cb) == 0);
			break;
		default:
			c = srcu_rs_start_poll(ts);
			while (!srcu_rs_poll_state(ts, c))
				sleep_us(50);
			poison_free(old);
		}
		atomic_fetch_add_explicit(&updates, 1, memory_order_relaxed);
	}
	return NULL;
}

static void test_sigtorture(void)
{
	pthread_t r[2], u[2];
	struct sigaction sa;
	sigset_t block;
	double t0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = reader_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
	ts = srcu_rs_create();
	CHECK(ts);
	atomic_store(&gp_obj, new_obj());
	/* Updaters never take the signal: only reader threads are its targets. */
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	t0 = now();
	for (int i = 0; i < 2; i++)
		CHECK(pthread_create(&r[i], NULL, reader_thread, (void *)(intptr_t)(20000 + 13000 * i)) == 0);
	pthread_sigmask(SIG_BLOCK, &block, NULL);
	for (int i = 0; i < 2; i++)
		CHECK(pthread_create(&u[i], NULL, updater_thread, (void *)(uintptr_t)(i * 2)) == 0);
	/*
	 * Run for the requested time, then on until both sides have done
	 * some work: under valgrind the threads are serialised and a short
	 * run can end before any update finished. Bounded at 120 s.
	 */
	while (now() - t0 < seconds ||
	       ((atomic_load(&handler_reads) < 10 || atomic_load(&updates) < 10) &&
		now() - t0 < 120.0))
		sleep_us(10000);
	atomic_store(&stop_flag, 1);
	for (int i = 0; i < 2; i++) {
		pthread_join(r[i], NULL);
		pthread_join(u[i], NULL);
	}
	CHECK(srcu_rs_barrier(ts) == 0);
	poison_free(atomic_load(&gp_obj));
	CHECK(srcu_rs_destroy(ts) == 0);
	printf("sigtorture: %.1fs, %lu thread reads, %lu signal-handler reads, %lu updates, "
	       "%lu rseq fallbacks\n",
	       now() - t0, thread_reads, handler_reads, updates, srcu_rs_rseq_fallbacks());
	CHECK(handler_reads > 0 && updates > 0);
}

/* ---------------------------------------------------------------- updaters */

#define NUPD 8

struct pair {
	pthread_t upd, rdr;
	atomic_int go, locked, done, quit;
	unsigned long calls, violations;
};

static struct srcu_rs *us;
static struct pair pairs[NUPD];

static void *pair_reader(void *arg)
{
	struct pair *p = arg;
	unsigned int seed = (unsigned int)(uintptr_t)p;
	for (;;) {
		while (!atomic_load(&p->go) && !atomic_load(&p->quit))
			sched_yield();
		if (atomic_load(&p->quit))
			return NULL;
		atomic_store(&p->go, 0);
		int idx = srcu_rs_read_lock(us);
		atomic_store(&p->locked, 1);
		sleep_us(rand_r(&seed) % 300);
		atomic_store(&p->done, 1);
		CHECK(srcu_rs_read_unlock(us, idx) == 0);
	}
}

static void *pair_updater(void *arg)
{
	struct pair *p = arg;
	double t0 = now();
	while (now() - t0 < seconds) {
		atomic_store(&p->locked, 0);
		atomic_store(&p->done, 0);
		atomic_store(&p->go, 1);
		while (!atomic_load(&p->locked))
			sched_yield();
		/* Our own reader entered before this call: we must wait for it. */
		if (p->calls % 2)
			CHECK(srcu_rs_synchronize(us) == 0);
		else
			CHECK(srcu_rs_synchronize_expedited(us) == 0);
		if (!atomic_load(&p->done))
			p->violations++;
		p->calls++;
		while (atomic_load(&p->go)) /* let the reader finish before the next round */
			sched_yield();
		while (!atomic_load(&p->done))
			sched_yield();
	}
	atomic_store(&p->quit, 1);
	return NULL;
}

static void test_updaters(void)
{
	unsigned long calls = 0, viol = 0, gps;
	us = srcu_rs_create();
	CHECK(us);
	for (int i = 0; i < NUPD; i++) {
		CHECK(pthread_create(&pairs[i].rdr, NULL, pair_reader, &pairs[i]) == 0);
		CHECK(pthread_create(&pairs[i].upd, NULL, pair_updater, &pairs[i]) == 0);
	}
	for (int i = 0; i < NUPD; i++) {
		pthread_join(pairs[i].upd, NULL);
		pthread_join(pairs[i].rdr, NULL);
		calls += pairs[i].calls;
		viol += pairs[i].violations;
	}
	gps = srcu_rs_completed_grace_periods(us);
	printf("updaters: %d updaters, %lu synchronize calls, %lu grace periods (%.2f per call), "
	       "%lu returned before their own reader\n",
	       NUPD, calls, gps, calls ? (double)gps / calls : 0.0, viol);
	CHECK(viol == 0);
	CHECK(calls >= NUPD);
	CHECK(srcu_rs_destroy(us) == 0);
}

/* ---------------------------------------------------------------- callbacks */

#define CB_THREADS 4
#define CB_PER_THREAD 3000

struct cbobj {
	struct srcu_rs_head head;
	unsigned long cookie;
	atomic_int *reader_done; /* a reader that was active at call time, or NULL */
	int thread;
};

static struct srcu_rs *cs;
static atomic_ulong cb_invoked[CB_THREADS];
static atomic_ulong cb_bad;

static void cb_func(struct srcu_rs_head *h)
{
	struct cbobj *o = (struct cbobj *)h;
	if (!srcu_rs_poll_state(cs, o->cookie))
		atomic_fetch_add(&cb_bad, 1);
	if (o->reader_done && !atomic_load(o->reader_done))
		atomic_fetch_add(&cb_bad, 1);
	atomic_fetch_add(&cb_invoked[o->thread], 1);
	free(o);
}

static void *cb_thread(void *arg)
{
	int t = (int)(intptr_t)arg;
	unsigned long queued = 0;
	atomic_int rdone;
	for (int i = 0; i < CB_PER_THREAD; i++) {
		struct cbobj *o = malloc(sizeof(*o));
		int idx = -1;
		CHECK(o);
		o->thread = t;
		o->reader_done = NULL;
		if (i % 100 == 0) {
			atomic_store(&rdone, 0);
			idx = srcu_rs_read_lock(cs);
			o->reader_done = &rdone;
		}
		o->cookie = srcu_rs_get_state(cs);
		CHECK(srcu_rs_call(cs, &o->head, cb_func) == 0);
		queued++;
		if (idx >= 0) {
			sleep_us(200);
			atomic_store(&rdone, 1);
			CHECK(srcu_rs_read_unlock(cs, idx) == 0);
			/* rdone lives on our stack: make sure its callback ran before reuse. */
			CHECK(srcu_rs_barrier(cs) == 0);
		}
		if (i % 500 == 499) {
			CHECK(srcu_rs_barrier(cs) == 0);
			CHECK(atomic_load(&cb_invoked[t]) == queued);
		}
	}
	CHECK(srcu_rs_barrier(cs) == 0);
	CHECK(atomic_load(&cb_invoked[t]) == queued);
	return NULL;
}

static void test_callbacks(void)
{
	pthread_t th[CB_THREADS];
	unsigned long total = 0;
	cs = srcu_rs_create();
	CHECK(cs);
	for (int i = 0; i < CB_THREADS; i++)
		CHECK(pthread_create(&th[i], NULL, cb_thread, (void *)(intptr_t)i) == 0);
	for (int i = 0; i < CB_THREADS; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < CB_THREADS; i++)
		total += cb_invoked[i];
	CHECK(srcu_rs_barrier(cs) == 0);
	printf("callbacks: %lu invoked, %lu early, %lu grace periods\n", total, cb_bad,
	       srcu_rs_completed_grace_periods(cs));
	CHECK(total == CB_THREADS * CB_PER_THREAD);
	CHECK(cb_bad == 0);
	CHECK(srcu_rs_destroy(cs) == 0);
}

/* ---------------------------------------------------------------- polling */

static void test_polling(void)
{
	struct srcu_rs *s = srcu_rs_create();
	unsigned long c1, c2;
	double t0;
	int idx;

	CHECK(s);
	/* get_state requests nothing. */
	c1 = srcu_rs_get_state(s);
	sleep_us(20000);
	CHECK(!srcu_rs_poll_state(s, c1));
	/* start_poll: the callback thread drives it, but not past a reader that predates it. */
	idx = srcu_rs_read_lock(s);
	c2 = srcu_rs_start_poll(s);
	sleep_us(30000);
	CHECK(!srcu_rs_poll_state(s, c2));
	CHECK(srcu_rs_read_unlock(s, idx) == 0);
	t0 = now();
	while (!srcu_rs_poll_state(s, c2)) {
		CHECK(now() - t0 < 10.0);
		sleep_us(100);
	}
	CHECK(srcu_rs_poll_state(s, c1)); /* c1 names an earlier (or the same) grace period */
	/* A cookie polls true after synchronize, and stays true. */
	c1 = srcu_rs_get_state(s);
	CHECK(srcu_rs_synchronize(s) == 0);
	CHECK(srcu_rs_poll_state(s, c1));
	CHECK(srcu_rs_poll_state(s, c2));
	/* Many polls in flight. */
	for (int i = 0; i < 200; i++) {
		unsigned long c = srcu_rs_start_poll(s);
		t0 = now();
		while (!srcu_rs_poll_state(s, c)) {
			CHECK(now() - t0 < 10.0);
			sched_yield();
		}
	}
	printf("polling: %lu grace periods\n", srcu_rs_completed_grace_periods(s));
	CHECK(srcu_rs_destroy(s) == 0);
}

/* ---------------------------------------------------------------- fork */

/* A new domain whose callback thread has run one callback (h) and is idle. */
static struct srcu_rs *domain_with_callback_thread(struct srcu_rs_head *h)
{
	struct srcu_rs *s = srcu_rs_create();

	CHECK(s);
	atomic_store(&simple_cb_runs, 0);
	CHECK(srcu_rs_call(s, h, simple_cb) == 0); /* starts the callback thread */
	CHECK(srcu_rs_barrier(s) == 0);
	return s;
}

static void test_fork(void)
{
	struct srcu_rs_head h[4];
	struct srcu_rs *s = domain_with_callback_thread(&h[0]);
	int status;
	pid_t pid;

	int idx = srcu_rs_read_lock(s);
	CHECK(srcu_rs_call(s, &h[1], simple_cb) == 0); /* pending across fork */
	CHECK(srcu_rs_read_unlock(s, idx) == 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		/* Child: one thread; the library restarted the callback thread. */
		if (srcu_rs_call(s, &h[2], simple_cb) != 0 || srcu_rs_barrier(s) != 0 ||
		    srcu_rs_synchronize(s) != 0 || atomic_load(&simple_cb_runs) < 3 ||
		    srcu_rs_destroy(s) != 0)
			_exit(3);
		_exit(0);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(srcu_rs_call(s, &h[3], simple_cb) == 0);
	CHECK(srcu_rs_barrier(s) == 0);
	CHECK(atomic_load(&simple_cb_runs) == 3);
	CHECK(srcu_rs_destroy(s) == 0);
	printf("fork: child and parent both completed grace periods and callbacks\n");
}

/* ---------------------------------------------------------------- forkreaders */

/*
 * Fork while other threads are inside readers (tight loops, and one in a long section): those
 * threads do not exist in the child, so their readers must not hold up the child's grace
 * periods. The forking thread's own index-free reader does: the child waits for it until it
 * exits it.
 */
static struct srcu_rs *fr_s;
static atomic_int fr_stop;

static void *fr_reader(void *arg)
{
	long sleep = (long)(intptr_t)arg;
	while (!atomic_load(&fr_stop)) {
		int idx = srcu_rs_read_lock(fr_s);
		if (sleep)
			sleep_us(sleep);
		CHECK(srcu_rs_read_unlock(fr_s, idx) == 0);
	}
	return NULL;
}

/*
 * Wait for a forkreaders child, bounded: the child arms its own alarm only once fork() has
 * returned in it, so a child stuck in the fork handlers would block a plain waitpid() forever.
 */
static int fr_wait_child(pid_t pid, int round)
{
	int status;

	for (int ms = 0; ms < 30000; ms += 10) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		CHECK(r >= 0);
		if (r == pid)
			return status;
		sleep_us(10000);
	}
	fprintf(stderr, "fork test: child %d still running after 30 s in round %d "
		"(stuck before its own alarm: in fork()'s child handlers?); killing it\n",
		(int)pid, round);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	exit(1);
}

static void test_forkreaders(void)
{
	pthread_t t[3];
	int rounds = 0, status;
	double t0;

	fr_s = srcu_rs_create();
	CHECK(fr_s);
	for (int i = 0; i < 3; i++)
		CHECK(pthread_create(&t[i], NULL, fr_reader, (void *)(intptr_t)(i == 2 ? 200000 : 0)) == 0);
	sleep_us(10000);
	t0 = now();
	while (now() - t0 < seconds / 2 || rounds < 10) {
		pid_t pid;
		watchdog_phase = 1; /* forking */
		CHECK(srcu_rs_read_enter(fr_s) == 0);
		pid = fork();
		CHECK(pid >= 0);
		if (pid == 0) {
			unsigned long c;
			/* a child stuck on a lost reader fails, it does not hang the test */
			signal(SIGALRM, SIG_DFL);
			alarm(10);
			c = srcu_rs_start_poll(fr_s);
			sleep_us(5000);
			if (srcu_rs_poll_state(fr_s, c)) /* our own reader must hold it up */
				_exit(4);
			if (srcu_rs_read_exit(fr_s) != 0 || srcu_rs_synchronize(fr_s) != 0 ||
			    srcu_rs_synchronize_expedited(fr_s) != 0 || !srcu_rs_poll_state(fr_s, c))
				_exit(3);
			_exit(0);
		}
		CHECK(srcu_rs_read_exit(fr_s) == 0);
		watchdog_phase = 2; /* waiting for the child */
		status = fr_wait_child(pid, rounds);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "forkreaders: child %s %d in round %d\n",
				WIFEXITED(status) ? "exited with" : "killed by signal",
				WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), rounds);
			exit(1);
		}
		rounds++;
	}
	atomic_store(&fr_stop, 1);
	watchdog_phase = 3; /* joining the reader threads */
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	watchdog_phase = 4; /* the parent's own grace period */
	CHECK(srcu_rs_synchronize(fr_s) == 0);
	CHECK(srcu_rs_destroy(fr_s) == 0);
	watchdog_phase = 0;
	printf("forkreaders: %d forks with readers running in 3 other threads; every child's grace "
	       "periods ended\n", rounds);
}

/* ---------------------------------------------------------------- forkidle */

/* Wait (bounded: fr_wait_child) for a child; fail with what its exit status says. */
static void forkidle_wait(pid_t pid, const char *what)
{
	int status;

	CHECK(pid > 0);
	status = fr_wait_child(pid, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "forkidle: %s: child %s %d\n", what,
			WIFEXITED(status) ? "exited with" : "killed by signal",
			WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		exit(1);
	}
}

/*
 * The child of a parent whose callback thread has nothing to do gets no callback thread: it has
 * one thread until it calls srcu_rs_call/barrier/start_poll (its exit then waits for no other
 * thread). A child that inherits work -- a queued callback (test fork) or a polled grace period
 * in flight (here) -- gets one at once, which finishes that work with no call from the child.
 * The broken child handler that always restarts the thread (SRCU_RS_FORK_EAGER_WORKER=1 in a
 * fault-injection build) must fail here.
 */
static void test_forkidle(void)
{
	struct srcu_rs_head h[2];
	struct srcu_rs *s = domain_with_callback_thread(&h[0]);
	unsigned long c;
	pid_t pid;
	double t0;

	CHECK(nr_threads_in_process() == 2);
	pid = fork();
	if (pid == 0) {
		if (nr_threads_in_process() != 1)
			_exit(4); /* a callback thread with nothing to do */
		if (srcu_rs_synchronize(s) != 0 || nr_threads_in_process() != 1)
			_exit(5);
		if (srcu_rs_call(s, &h[1], simple_cb) != 0 || srcu_rs_barrier(s) != 0 ||
		    atomic_load(&simple_cb_runs) != 2 || nr_threads_in_process() != 2)
			_exit(6); /* started on first use, and it works */
		if (srcu_rs_destroy(s) != 0 || nr_threads_in_process() != 1)
			_exit(7);
		_exit(0);
	}
	forkidle_wait(pid, "idle domain");
	/* A polled grace period in flight at the fork, held up by this thread's index-free reader
	 * (which the child inherits): the child's new thread completes it once the child leaves. */
	CHECK(srcu_rs_read_enter(s) == 0);
	c = srcu_rs_start_poll(s);
	pid = fork();
	if (pid == 0) {
		if (nr_threads_in_process() != 2)
			_exit(8);
		if (srcu_rs_read_exit(s) != 0)
			_exit(9);
		t0 = now();
		while (!srcu_rs_poll_state(s, c))
			if (now() - t0 > 10)
				_exit(10); /* nobody drives the grace period */
			else
				sleep_us(1000);
		_exit(0);
	}
	CHECK(srcu_rs_read_exit(s) == 0);
	forkidle_wait(pid, "polled grace period in flight");
	CHECK(srcu_rs_synchronize(s) == 0 && srcu_rs_poll_state(s, c));
	CHECK(srcu_rs_destroy(s) == 0);
	printf("forkidle: no callback thread in a child with nothing for it; one at once for a "
	       "polled grace period in flight\n");
}

/* ---------------------------------------------------------------- destroy */

static void test_destroy(void)
{
	int before = nr_threads_in_process();
	for (int round = 0; round < 3; round++) {
		struct srcu_rs *s = srcu_rs_create();
		struct srcu_rs_head h;
		CHECK(s);
		CHECK(srcu_rs_call(s, &h, simple_cb) == 0);
		CHECK(nr_threads_in_process() == before + 1);
		CHECK(srcu_rs_barrier(s) == 0);
		CHECK(srcu_rs_destroy(s) == 0);
		/* The thread is joined; the kernel may list it a moment longer while it is reaped. */
		for (int k = 0; k < 1000 && nr_threads_in_process() != before; k++)
			sleep_us(1000);
		CHECK(nr_threads_in_process() == before);
	}
	printf("destroy: no thread left behind (%d thread(s))\n", before);
}

/* ---------------------------------------------------------------- layout */

static void test_layout(void)
{
	struct srcu_rs *s = srcu_rs_create();
	const struct srcu_rs_layout_v3 *l;
	size_t d[5];
	unsigned long c;
	int a, b;

	CHECK(s);
	l = (const void *)s;
	CHECK(srcu_rs_layout_v3_describe(s, d) == 5);
	CHECK(srcu_rs_layout_v3_describe(NULL, d) == -EINVAL);
	CHECK(d[0] == SRCU_RS_LAYOUT_VERSION && d[1] == SRCU_RS_LAYOUT_V3_FAST_COUNTERS);
	CHECK(d[2] == SRCU_RS_LAYOUT_V3_CPU_SHIFT && d[3] == SRCU_RS_LAYOUT_V3_PERCPU_HALF);
	/* The fast path is on exactly when rseq and membarrier both are. */
	CHECK(d[4] == ((srcu_rs_features() & (SRCU_RS_FEATURE_RSEQ | SRCU_RS_FEATURE_MEMBARRIER)) ==
		       (SRCU_RS_FEATURE_RSEQ | SRCU_RS_FEATURE_MEMBARRIER)));
	CHECK(!!l->fast_counters == !!d[4]);
	if (getenv("EXPECT_FAST_IF_KERNEL") && SRCU_RSEQ_SUPPORTED &&
	    (srcu_rs_features() & SRCU_RS_FEATURE_RSEQ))
		CHECK(l->fast_counters);
	/* Inline lock, library unlock, and the reverse: the grace period waits for both. */
	a = srcu_rs_read_lock_inline(s);
	b = (srcu_rs_read_lock)(s);
	c = srcu_rs_start_poll(s);
	sleep_us(20000);
	CHECK(!srcu_rs_poll_state(s, c));
	CHECK((srcu_rs_read_unlock)(s, a) == 0);
	sleep_us(20000);
	CHECK(!srcu_rs_poll_state(s, c));
	CHECK(srcu_rs_read_unlock_inline(s, b) == 0);
	CHECK(srcu_rs_synchronize(s) == 0);
	CHECK(srcu_rs_poll_state(s, c));
	CHECK(srcu_rs_read_unlock_inline(s, 2) == -EINVAL);
	CHECK(srcu_rs_read_unlock_inline(NULL, 0) == -EINVAL);
	CHECK(srcu_rs_read_lock_inline(NULL) == -EINVAL);
	/* Function pointers name the exported functions. */
	{
		int (*lock)(struct srcu_rs *) = &srcu_rs_read_lock;
		int (*unlock)(struct srcu_rs *, int) = &srcu_rs_read_unlock;
		a = lock(s);
		CHECK(a == 0 || a == 1);
		CHECK(unlock(s, a) == 0);
		CHECK(unlock(s, 5) == -EINVAL);
	}
	printf("layout: v%d, fast path %s, inline and library readers mixed\n", SRCU_RS_LAYOUT_VERSION,
	       l->fast_counters ? "on" : "off");
	CHECK(srcu_rs_destroy(s) == 0);
}

/* ---------------------------------------------------------------- port */

/*
 * Call `handler` for SIGUSR2 every `interval_ns` on the calling thread (a timer of its own:
 * SIGALRM is the watchdog's). Returns the timer, for timer_delete().
 */
static timer_t start_sigusr2_timer(void (*handler)(int), long interval_ns)
{
	struct itimerspec its = { { 0, interval_ns }, { 0, interval_ns } };
	struct sigevent sev;
	struct sigaction sa;
	timer_t t;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(SIGUSR2, &sa, NULL) == 0);
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = SIGUSR2;
	sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
	CHECK(timer_create(CLOCK_MONOTONIC, &sev, &t) == 0);
	CHECK(timer_settime(t, 0, &its, NULL) == 0);
	return t;
}

/* What a port from liburcu uses: a domain made before main(), index-free readers, read_held. */
SRCU_RS_DEFINE(port_domain);
static SRCU_RS_DEFINE(port_local);
static int port_ctor_ok;

__attribute__((constructor)) static void port_ctor(void)
{
	/* A constructor of default priority runs after SRCU_RS_DEFINE's (priority 101). */
	port_ctor_ok = port_domain && srcu_rs_read_enter(port_domain) == 0 &&
		       srcu_rs_read_held(port_domain) && srcu_rs_read_exit(port_domain) == 0 &&
		       !srcu_rs_read_held(port_domain);
}

static atomic_int port_handler_bad, port_handler_runs;

static void port_signal(int sig)
{
	int saved = errno;
	(void)sig;
	/* The interrupted thread may be inside enter/exit of the same domain. */
	if (srcu_rs_read_enter(port_domain) != 0 || !srcu_rs_read_held(port_domain) ||
	    srcu_rs_read_exit(port_domain) != 0)
		atomic_fetch_add(&port_handler_bad, 1);
	atomic_fetch_add(&port_handler_runs, 1);
	errno = saved;
}

static void test_port(void)
{
	struct srcu_rs *s = port_domain;
	timer_t t;
	unsigned long c;
	double t0;
	int i;

	CHECK(port_ctor_ok);
	CHECK(s && port_local && s != port_local);
	CHECK(!srcu_rs_read_held(s) && !srcu_rs_read_held(NULL));
	/* Nesting across two domains; held is per domain and nesting-aware. */
	CHECK(srcu_rs_read_enter(s) == 0);
	CHECK(srcu_rs_read_enter(port_local) == 0);
	CHECK(srcu_rs_read_enter(s) == 0);
	CHECK(srcu_rs_read_held(s) && srcu_rs_read_held(port_local));
	CHECK(srcu_rs_read_exit(port_local) == -EINVAL); /* not the innermost: nothing done */
	CHECK(srcu_rs_read_exit(s) == 0);
	CHECK(srcu_rs_read_held(s));
	CHECK(srcu_rs_read_exit(port_local) == 0);
	CHECK(!srcu_rs_read_held(port_local) && srcu_rs_read_held(s));
	/* A grace period waits for an index-free reader. */
	c = srcu_rs_start_poll(s);
	sleep_us(20000);
	CHECK(!srcu_rs_poll_state(s, c));
	CHECK((srcu_rs_read_exit)(s) == 0); /* the exported function */
	CHECK(!srcu_rs_read_held(s));
	CHECK(srcu_rs_read_exit(s) == -EINVAL && srcu_rs_read_exit(NULL) == -EINVAL);
	CHECK(srcu_rs_read_enter(NULL) == -EINVAL);
	CHECK(srcu_rs_synchronize(s) == 0 && srcu_rs_poll_state(s, c));
	/* 32 levels, then -ENOSPC with nothing entered. */
	for (i = 0; i < SRCU_RS_LAYOUT_V3_STACK_DEPTH; i++)
		CHECK((i % 2 ? srcu_rs_read_enter(s) : (srcu_rs_read_enter)(s)) == 0);
	CHECK(srcu_rs_read_enter(s) == -ENOSPC);
	for (i = 0; i < SRCU_RS_LAYOUT_V3_STACK_DEPTH; i++)
		CHECK(srcu_rs_read_exit(s) == 0);
	CHECK(!srcu_rs_read_held(s) && srcu_rs_read_exit(s) == -EINVAL);
	CHECK(srcu_rs_synchronize(s) == 0);
	/* Signal-handler readers interrupting enter/exit of the same domain. */
	t = start_sigusr2_timer(port_signal, 50000);
	t0 = now();
	while (now() - t0 < seconds / 4 || (atomic_load(&port_handler_runs) < 50 && now() - t0 < 60)) {
		CHECK(srcu_rs_read_enter(s) == 0);
		CHECK(srcu_rs_read_enter(port_local) == 0);
		CHECK(srcu_rs_read_held(s));
		CHECK(srcu_rs_read_exit(port_local) == 0);
		CHECK(srcu_rs_read_exit(s) == 0);
	}
	CHECK(timer_delete(t) == 0);
	signal(SIGUSR2, SIG_DFL);
	CHECK(atomic_load(&port_handler_bad) == 0);
	CHECK(!srcu_rs_read_held(s) && srcu_rs_synchronize(s) == 0);
	printf("port: SRCU_RS_DEFINE domains ready in a constructor; index-free readers nest across "
	       "domains; %d signal-handler readers\n", atomic_load(&port_handler_runs));
}

/* ---------------------------------------------------------------- held */

/*
 * srcu_rs_read_held() for index-returning readers. Built with SRCU_RS_DEBUG_HELD (the suite's
 * test_srcu_held* binaries): nesting-aware per thread and per domain, out-of-order unlocks,
 * mixed with index-free readers, per thread, more domains than slots, signal handlers locking
 * the same domains while the thread is inside srcu_rs_read_lock/unlock. Without the macro: the
 * documented contract that index-returning readers are not seen. The broken variant
 * (SRCU_RS_TEST_HELD_UNNESTED: a flag instead of a count) must fail here.
 */
#define HELD_DOMAINS 11 /* more than SRCU_RS_LAYOUT_V3_HELD_SLOTS */
static struct srcu_rs *held_d[HELD_DOMAINS];
#ifdef SRCU_RS_DEBUG_HELD
static atomic_int held_handler_bad, held_handler_runs, held_seen_by_other;
static atomic_uint held_turn;

static void *held_other_thread(void *arg)
{
	(void)arg;
	/* Another thread holds held_d[0]: this one does not. */
	atomic_store(&held_seen_by_other, srcu_rs_read_held(held_d[0]) ? 1 : 2);
	return NULL;
}

static void held_signal(int sig)
{
	int saved = errno;
	unsigned int k = atomic_fetch_add(&held_turn, 7) % HELD_DOMAINS;
	struct srcu_rs *x = held_d[k], *y = held_d[(k + 3) % HELD_DOMAINS];
	int i, j;

	(void)sig;
	i = srcu_rs_read_lock(x);
	j = srcu_rs_read_lock(y);
	if (!srcu_rs_read_held(x) || !srcu_rs_read_held(y))
		atomic_fetch_add(&held_handler_bad, 1);
	srcu_rs_read_unlock(x, i);
	if (!srcu_rs_read_held(y))
		atomic_fetch_add(&held_handler_bad, 1);
	srcu_rs_read_unlock(y, j);
	atomic_fetch_add(&held_handler_runs, 1);
	errno = saved;
}
#endif /* SRCU_RS_DEBUG_HELD */

static void test_held(void)
{
	struct srcu_rs *a, *b;
	int i1, k;
#ifdef SRCU_RS_DEBUG_HELD
	pthread_t th;
	timer_t t;
	int i2, j, idx[HELD_DOMAINS];
	unsigned long loops = 0;
	double t0;
#endif

	for (k = 0; k < HELD_DOMAINS; k++)
		CHECK((held_d[k] = srcu_rs_create()) != NULL);
	a = held_d[0];
	b = held_d[1];
	CHECK(!srcu_rs_read_held(a) && !srcu_rs_read_held(b) && !srcu_rs_read_held(NULL));
	i1 = srcu_rs_read_lock(a);
#ifndef SRCU_RS_DEBUG_HELD
	/* The contract without SRCU_RS_DEBUG_HELD: index-returning readers are not counted. */
	CHECK(!srcu_rs_read_held(a));
	CHECK(srcu_rs_read_enter(a) == 0 && srcu_rs_read_held(a) && srcu_rs_read_exit(a) == 0);
	CHECK(srcu_rs_read_unlock(a, i1) == 0 && !srcu_rs_read_held(a));
	printf("held: without SRCU_RS_DEBUG_HELD only index-free readers are seen\n");
#else
	CHECK(srcu_rs_read_held(a) && !srcu_rs_read_held(b));
	i2 = srcu_rs_read_lock(a);
	j = srcu_rs_read_lock(b);
	CHECK(srcu_rs_read_held(a) && srcu_rs_read_held(b));
	CHECK(pthread_create(&th, NULL, held_other_thread, NULL) == 0);
	CHECK(pthread_join(th, NULL) == 0);
	CHECK(atomic_load(&held_seen_by_other) == 2); /* per thread */
	CHECK(srcu_rs_read_unlock(a, i1) == 0);       /* not in LIFO order */
	CHECK(srcu_rs_read_held(a));                  /* i2 still held: nesting-aware */
	CHECK(srcu_rs_read_unlock(b, j) == 0);
	CHECK(!srcu_rs_read_held(b) && srcu_rs_read_held(a));
	CHECK(srcu_rs_read_enter(b) == 0 && srcu_rs_read_held(b));
	j = srcu_rs_read_lock(b);
	CHECK(srcu_rs_read_exit(b) == 0 && srcu_rs_read_held(b)); /* the indexed one remains */
	CHECK(srcu_rs_read_unlock(b, j) == 0 && !srcu_rs_read_held(b));
	CHECK(srcu_rs_read_unlock(a, i2) == 0 && !srcu_rs_read_held(a));
	CHECK(srcu_rs_read_unlock(a, 2) == -EINVAL && !srcu_rs_read_held(a)); /* nothing uncounted */
	/* More domains held at once than slots: the rest is "held" for every domain, until they end. */
	for (k = 0; k < HELD_DOMAINS; k++)
		idx[k] = srcu_rs_read_lock(held_d[k]);
	for (k = 0; k < HELD_DOMAINS; k++)
		CHECK(srcu_rs_read_held(held_d[k]));
	for (k = HELD_DOMAINS - 1; k >= 0; k--) {
		CHECK(srcu_rs_read_held(held_d[k]));
		CHECK(srcu_rs_read_unlock(held_d[k], idx[k]) == 0);
	}
	for (k = 0; k < HELD_DOMAINS; k++)
		CHECK(!srcu_rs_read_held(held_d[k]));
	CHECK(srcu_rs_layout_v3_held.overflow == 0);
	/* Signal handlers lock and unlock the same domains while this thread is inside its own
	 * lock and unlock calls (slots re-claimed under it). */
	t = start_sigusr2_timer(held_signal, 30000);
	t0 = now();
	while (now() - t0 < seconds / 4 || (atomic_load(&held_handler_runs) < 100 && now() - t0 < 60)) {
		struct srcu_rs *x = held_d[loops % HELD_DOMAINS], *y = held_d[(loops + 1) % HELD_DOMAINS];
		i1 = srcu_rs_read_lock(x);
		i2 = srcu_rs_read_lock(x);
		j = srcu_rs_read_lock(y);
		CHECK(srcu_rs_read_held(x) && srcu_rs_read_held(y));
		CHECK(srcu_rs_read_unlock(x, i1) == 0);
		CHECK(srcu_rs_read_held(x));
		CHECK(srcu_rs_read_unlock(y, j) == 0);
		CHECK(srcu_rs_read_unlock(x, i2) == 0);
		CHECK(!srcu_rs_read_held(x) && !srcu_rs_read_held(y));
		loops++;
	}
	CHECK(timer_delete(t) == 0);
	signal(SIGUSR2, SIG_DFL);
	CHECK(atomic_load(&held_handler_bad) == 0);
	for (k = 0; k < HELD_DOMAINS; k++)
		CHECK(!srcu_rs_read_held(held_d[k]));
	CHECK(srcu_rs_layout_v3_held.overflow == 0);
	printf("held: SRCU_RS_DEBUG_HELD, index-returning readers nest, per thread and domain; "
	       "%lu loops, %d signal-handler readers\n", loops, atomic_load(&held_handler_runs));
#endif
	for (k = 0; k < HELD_DOMAINS; k++)
		CHECK(srcu_rs_destroy(held_d[k]) == 0);
}

/* ---------------------------------------------------------------- main */

static const char *watchdog_test = "?";

/*
 * The watchdog fired: say which test and where it stood (async-signal-safe writes only), then
 * end as SIGALRM's default action would (exit status 128 + SIGALRM).
 */
static void watchdog_fired(int sig)
{
	char phase[2] = { (char)('0' + watchdog_phase % 10), 0 };

	(void)sig;
	(void)!write(2, "watchdog: test ", 15);
	(void)!write(2, watchdog_test, strlen(watchdog_test));
	(void)!write(2, " did not finish in time, at phase ", 34);
	(void)!write(2, phase, 1);
	(void)!write(2, "\n", 1);
	_exit(128 + SIGALRM);
}

static const struct {
	const char *name;
	void (*fn)(void);
} tests[] = {
	{ "api", test_api },           { "badinput", test_badinput }, { "deadlk", test_deadlk },
	{ "sigtorture", test_sigtorture }, { "updaters", test_updaters }, { "callbacks", test_callbacks },
	{ "polling", test_polling },   { "fork", test_fork },         { "forkreaders", test_forkreaders }, { "forkidle", test_forkidle },         { "destroy", test_destroy },
	{ "layout", test_layout },     { "port", test_port },         { "held", test_held },
};

int main(int argc, char **argv)
{
	const char *which = argc > 1 ? argv[1] : "all";
	int ran = 0;

	if (argc > 2)
		seconds = atof(argv[2]);
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* Watchdog: a hang (a lost reader count stalls grace periods forever) is a failure. */
	signal(SIGALRM, watchdog_fired);
	alarm(getenv("SRCU_TEST_WATCHDOG") ? (unsigned int)atoi(getenv("SRCU_TEST_WATCHDOG"))
					   : (unsigned int)(seconds * 10 + 60));
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		if (strcmp(which, "all") && strcmp(which, tests[i].name))
			continue;
		watchdog_test = tests[i].name;
		tests[i].fn();
		ran++;
	}
	if (!ran) {
		fprintf(stderr, "unknown test %s\n", which);
		return 64;
	}
	return 0;
}
