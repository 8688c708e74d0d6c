/* SPDX-License-Identifier: MIT OR GPL-2.0-only */
/*
 * srcu_rs example: a configuration object read by threads and by a signal handler, replaced
 * by an updater that frees the old one after a grace period (synchronously or with a callback).
 * Build: make (see Makefile); run: ./srcu_example
 */
#define _GNU_SOURCE
#include <srcu_rs.h>

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <unistd.h>

struct config {
	int version;
	struct srcu_rs_head rcu; /* for srcu_rs_call() */
};

static struct srcu_rs *domain;
static _Atomic(struct config *) current;
static atomic_int done;
static atomic_long reads;

static int read_version(void)
{
	int idx = srcu_rs_read_lock(domain); /* no registration, async-signal-safe */
	int v = atomic_load_explicit(&current, memory_order_acquire)->version;
	srcu_rs_read_unlock(domain, idx);
	return v;
}

static void on_alarm(int sig)
{
	(void)sig;
	if (read_version() >= 0) /* a reader in a signal handler */
		atomic_fetch_add(&reads, 1);
}

static void *reader(void *arg)
{
	(void)arg;
	while (!atomic_load(&done))
		if (read_version() >= 0)
			atomic_fetch_add(&reads, 1);
	return NULL;
}

static void free_config(struct srcu_rs_head *h)
{
	/* Runs on the library's callback thread after a grace period. */
	free((char *)h - offsetof(struct config, rcu));
}

int main(void)
{
	struct itimerval it = { { 0, 1000 }, { 0, 1000 } };
	pthread_t t[2];
	int i;

	domain = srcu_rs_create();
	if (!domain) {
		perror("srcu_rs_create");
		return 1;
	}
	struct config *c = calloc(1, sizeof(*c));
	atomic_store(&current, c);
	signal(SIGALRM, on_alarm);
	setitimer(ITIMER_REAL, &it, NULL);
	for (i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, reader, NULL);

	for (i = 1; i <= 1000; i++) {
		struct config *n = calloc(1, sizeof(*n));
		n->version = i;
		struct config *old = atomic_exchange(&current, n);
		if (i % 2) {
			srcu_rs_synchronize(domain); /* every reader of `old` has finished */
			free(old);
		} else {
			srcu_rs_call(domain, &old->rcu, free_config);
		}
	}
	atomic_store(&done, 1);
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	setitimer(ITIMER_REAL, &(struct itimerval){ 0 }, NULL);
	signal(SIGALRM, SIG_IGN);

	srcu_rs_barrier(domain); /* every queued free_config has run */
	free(atomic_load(&current));
	if (srcu_rs_destroy(domain) != 0) {
		fprintf(stderr, "srcu_rs_destroy failed\n");
		return 1;
	}
	printf("srcu_example: 1000 updates, %ld reads, final version 1000\n", atomic_load(&reads));
	return 0;
}
