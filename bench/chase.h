/* SPDX-License-Identifier: MIT OR GPL-2.0-only */
/* The read-side critical section of the "pointer chase" rows: follow a published list. */
#ifndef BENCH_CHASE_H
#define BENCH_CHASE_H

#define CHASE_NODES 4

struct chase_node {
	struct chase_node *next;
	long value;
};

extern struct chase_node *chase_head;

/* rcu_dereference() of every link (a plain load on x86-64), summing the values. */
static inline long chase(void)
{
	long sum = 0;
	for (struct chase_node *p = __atomic_load_n(&chase_head, __ATOMIC_CONSUME); p;
	     p = __atomic_load_n(&p->next, __ATOMIC_CONSUME))
		sum += p->value;
	return sum;
}

#endif
