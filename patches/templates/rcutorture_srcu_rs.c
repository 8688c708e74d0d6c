#ifdef CONFIG_SRCU_RS
/*
 * Definitions for srcu_rs torture testing: a statically defined domain
 * (srcu_rs) and a dynamically initialised one (srcu_rsd).  srcu_rs has one
 * reader API for every context, so the irq (timer) readers use it as is.
 * srcu_rs also has the hand-off readers of srcu_rs_updown below.
 */

DEFINE_STATIC_SRCU_RS(srcu_rs_ctl);
static struct srcu_rs srcu_rs_ctld;
static struct srcu_rs *srcu_rs_ctlp = &srcu_rs_ctl;

static int srcu_rs_torture_read_lock(void)
{
	return srcu_rs_read_lock(srcu_rs_ctlp);
}

static void srcu_rs_torture_read_unlock(int idx)
{
	srcu_rs_read_unlock(srcu_rs_ctlp, idx);
}

static int torture_srcu_rs_read_lock_held(void)
{
	return srcu_rs_read_lock_held(srcu_rs_ctlp);
}

static unsigned long srcu_rs_torture_completed(void)
{
	return srcu_rs_batches_completed(srcu_rs_ctlp);
}

static void srcu_rs_torture_deferred_free(struct rcu_torture *rp)
{
	call_srcu_rs(srcu_rs_ctlp, &rp->rtort_rcu, rcu_torture_cb);
}

static void srcu_rs_torture_synchronize(void)
{
	synchronize_srcu_rs(srcu_rs_ctlp);
}

static void srcu_rs_torture_synchronize_expedited(void)
{
	synchronize_srcu_rs_expedited(srcu_rs_ctlp);
}

static unsigned long srcu_rs_torture_get_gp_state(void)
{
	return get_state_synchronize_srcu_rs(srcu_rs_ctlp);
}

static unsigned long srcu_rs_torture_start_gp_poll(void)
{
	return start_poll_synchronize_srcu_rs(srcu_rs_ctlp);
}

static bool srcu_rs_torture_poll_gp_state(unsigned long oldstate)
{
	return poll_state_synchronize_srcu_rs(srcu_rs_ctlp, oldstate);
}

static void srcu_rs_torture_call(struct rcu_head *head,
				 rcu_callback_t func)
{
	call_srcu_rs(srcu_rs_ctlp, head, func);
}

static void srcu_rs_torture_barrier(void)
{
	srcu_rs_barrier(srcu_rs_ctlp);
}

static void srcu_rs_torture_stats(void)
{
	pr_alert("%s%s srcu_rs batches completed: %lu\n", torture_type,
		 TORTURE_FLAG, srcu_rs_batches_completed(srcu_rs_ctlp));
}

static void srcu_rs_torture_init(void)
{
	rcu_sync_torture_init();
	WARN_ON(init_srcu_rs(&srcu_rs_ctld));
	srcu_rs_ctlp = &srcu_rs_ctld;
}

static void srcu_rs_torture_cleanup(void)
{
	cleanup_srcu_rs(&srcu_rs_ctld);
	srcu_rs_ctlp = &srcu_rs_ctl; /* In case of a later rcutorture run. */
}

/* srcu_rs_updown=1: srcu_rs_down_read() sections ended by another kthread or an hrtimer. */
torture_param(int, srcu_rs_updown, 0,
	      "Hand srcu_rs_down_read() sections to a kthread and a hardirq (torture_type=srcu_rs)");

/*
 * The hand-off readers: one kthread enters srcu_rs_down_read() sections,
 * fetches rcu_torture_current in each, and hands each section to another
 * kthread (after 0-2 jiffies) or to a hardirq hrtimer (after 0-1 ms).  That
 * context checks the element as rcu_torture_one_read() does at the end of a
 * reader (its pipe count goes to the Reader Pipe) and ends the section with
 * srcu_rs_up_read().
 */
#define SRCU_RS_UPDOWN_SLOTS	16

enum {
	SRCU_RS_UPDOWN_FREE,	/* the down kthread may use the slot */
	SRCU_RS_UPDOWN_TASK,	/* the up kthread ends it after @deadline */
	SRCU_RS_UPDOWN_IRQ,	/* the slot's hrtimer ends it */
};

/**
 * struct srcu_rs_updown - an srcu_rs_down_read() section being handed off
 * @timer: ends the section in hardirq (SRCU_RS_UPDOWN_IRQ).
 * @p: the element the section fetched.
 * @deadline: jiffies after which the up kthread ends it (SRCU_RS_UPDOWN_TASK).
 * @idx: the section's index.
 * @state: SRCU_RS_UPDOWN_*; set with release once the fields above are.
 */
struct srcu_rs_updown {
	struct hrtimer timer;
	struct rcu_torture *p;
	unsigned long deadline;
	int idx;
	int state;
};

static struct srcu_rs_updown srcu_rs_updowns[SRCU_RS_UPDOWN_SLOTS];
static struct task_struct *srcu_rs_down_task;
static struct task_struct *srcu_rs_up_task;
static bool srcu_rs_updown_down_done;
static atomic_long_t srcu_rs_updown_to_task;
static atomic_long_t srcu_rs_updown_to_irq;
static atomic_long_t srcu_rs_updown_by_task;
static atomic_long_t srcu_rs_updown_by_irq;
static atomic_long_t srcu_rs_updown_wrong_ctx;

/* End @u's section as a reader ends one: its element's pipe count is kept. */
static void srcu_rs_updown_end(struct srcu_rs_updown *u)
{
	int pipe_count = READ_ONCE(u->p->rtort_pipe_count);

	if (pipe_count > RCU_TORTURE_PIPE_LEN)
		pipe_count = RCU_TORTURE_PIPE_LEN;
	this_cpu_inc(rcu_torture_count[pipe_count]);
	srcu_rs_up_read(&srcu_rs_ctl, u->idx);
	/* The section is over: pairs with the down kthread's acquire of @state. */
	smp_store_release(&u->state, SRCU_RS_UPDOWN_FREE);
}

static enum hrtimer_restart srcu_rs_updown_timer(struct hrtimer *t)
{
	struct srcu_rs_updown *u = container_of(t, struct srcu_rs_updown, timer);

	if (!in_hardirq())
		atomic_long_inc(&srcu_rs_updown_wrong_ctx);
	srcu_rs_updown_end(u);
	atomic_long_inc(&srcu_rs_updown_by_irq);
	return HRTIMER_NORESTART;
}

/* Enter sections and hand them off; at the end, wait until all ended. */
static int srcu_rs_updown_down(void *arg)
{
	DEFINE_TORTURE_RANDOM(rand);
	struct srcu_rs_updown *u;
	int i;

	VERBOSE_TOROUT_STRING("srcu_rs hand-off down kthread started");
	do {
		for (i = 0; i < SRCU_RS_UPDOWN_SLOTS; i++) {
			u = &srcu_rs_updowns[i];
			/* Pairs with srcu_rs_updown_end()'s release: the slot is ours. */
			if (smp_load_acquire(&u->state) != SRCU_RS_UPDOWN_FREE)
				continue;
			u->idx = srcu_rs_down_read(&srcu_rs_ctl);
			/* No lockdep ownership: srcu_rs_read_lock_held() cannot see it. */
			u->p = rcu_dereference_check(rcu_torture_current, true);
			if (!u->p) {
				srcu_rs_up_read(&srcu_rs_ctl, u->idx);
				continue;
			}
			if (u->p->rtort_mbtest == 0)
				atomic_inc(&n_rcu_torture_mberror);
			if (torture_random(&rand) & 0x1) {
				u->deadline = jiffies + torture_random(&rand) % 3;
				atomic_long_inc(&srcu_rs_updown_to_task);
				/* Publishes the slot; pairs with the up kthread's acquire. */
				smp_store_release(&u->state, SRCU_RS_UPDOWN_TASK);
			} else {
				u->state = SRCU_RS_UPDOWN_IRQ;
				atomic_long_inc(&srcu_rs_updown_to_irq);
				hrtimer_start(&u->timer,
					      ns_to_ktime((torture_random(&rand) % 1000) *
							  NSEC_PER_USEC),
					      HRTIMER_MODE_REL_HARD);
			}
		}
		torture_hrtimeout_us(500, 500 * NSEC_PER_USEC, &rand);
		stutter_wait("srcu_rs_updown_down");
	} while (!torture_must_stop());
	/* Pairs with the up kthread's acquire: it then sees every hand-off. */
	smp_store_release(&srcu_rs_updown_down_done, true);
	for (i = 0; i < SRCU_RS_UPDOWN_SLOTS; i++)
		/* Pairs with srcu_rs_updown_end()'s release. */
		while (smp_load_acquire(&srcu_rs_updowns[i].state) !=
		       SRCU_RS_UPDOWN_FREE)
			schedule_timeout_uninterruptible(1);
	torture_kthread_stopping("srcu_rs_updown_down");
	return 0;
}

/* End the sections handed to a task, until the down kthread is done. */
static int srcu_rs_updown_up(void *arg)
{
	struct srcu_rs_updown *u;
	bool last;
	int i;

	VERBOSE_TOROUT_STRING("srcu_rs hand-off up kthread started");
	do {
		/* Pairs with the down kthread's release: its last hand-offs are seen. */
		last = smp_load_acquire(&srcu_rs_updown_down_done);
		for (i = 0; i < SRCU_RS_UPDOWN_SLOTS; i++) {
			u = &srcu_rs_updowns[i];
			/* Pairs with the down kthread's release of the slot. */
			if (smp_load_acquire(&u->state) != SRCU_RS_UPDOWN_TASK ||
			    (!last && time_before(jiffies, u->deadline)))
				continue;
			srcu_rs_updown_end(u);
			atomic_long_inc(&srcu_rs_updown_by_task);
		}
		if (!last)
			schedule_timeout_idle(1);
	} while (!last);
	torture_kthread_stopping("srcu_rs_updown_up");
	return 0;
}

static void srcu_rs_torture_updown_init(void)
{
	int i;

	rcu_sync_torture_init();
	if (!srcu_rs_updown)
		return;
	for (i = 0; i < SRCU_RS_UPDOWN_SLOTS; i++) {
		hrtimer_init(&srcu_rs_updowns[i].timer, CLOCK_MONOTONIC,
			     HRTIMER_MODE_REL_HARD);
		srcu_rs_updowns[i].timer.function = srcu_rs_updown_timer;
		srcu_rs_updowns[i].state = SRCU_RS_UPDOWN_FREE;
	}
	WRITE_ONCE(srcu_rs_updown_down_done, false);
	WARN_ON_ONCE(torture_create_kthread(srcu_rs_updown_up, NULL,
					    srcu_rs_up_task));
	WARN_ON_ONCE(torture_create_kthread(srcu_rs_updown_down, NULL,
					    srcu_rs_down_task));
}

static void srcu_rs_torture_updown_cleanup(void)
{
	/* The down kthread returns once the up kthread and the timers ended all. */
	torture_stop_kthread(srcu_rs_updown_down, srcu_rs_down_task);
	torture_stop_kthread(srcu_rs_updown_up, srcu_rs_up_task);
}

static void srcu_rs_torture_updown_stats(void)
{
	srcu_rs_torture_stats();
	if (!srcu_rs_updown)
		return;
	pr_alert("%s%s srcu_rs up_read hand-offs: to_task=%ld to_hardirq=%ld ended_by_task=%ld ended_by_hardirq=%ld wrong_context=%ld\n",
		 torture_type, TORTURE_FLAG,
		 atomic_long_read(&srcu_rs_updown_to_task),
		 atomic_long_read(&srcu_rs_updown_to_irq),
		 atomic_long_read(&srcu_rs_updown_by_task),
		 atomic_long_read(&srcu_rs_updown_by_irq),
		 atomic_long_read(&srcu_rs_updown_wrong_ctx));
}

/* Grace-period data for rcutorture's stall and writer-state reports. */
static void srcu_rs_torture_get_gp_data(int *flags, unsigned long *gp_seq)
{
	*flags = 0;
	*gp_seq = srcu_rs_batches_completed(srcu_rs_ctlp);
}

static struct rcu_torture_ops srcu_rs_ops = {
	.ttype		= SRCU_FLAVOR,
	.init		= srcu_rs_torture_updown_init,
	.cleanup	= srcu_rs_torture_updown_cleanup,
	.readlock	= srcu_rs_torture_read_lock,
	.read_delay	= srcu_read_delay,
	.readunlock	= srcu_rs_torture_read_unlock,
	.readlock_held	= torture_srcu_rs_read_lock_held,
	.get_gp_seq	= srcu_rs_torture_completed,
	.deferred_free	= srcu_rs_torture_deferred_free,
	.sync		= srcu_rs_torture_synchronize,
	.exp_sync	= srcu_rs_torture_synchronize_expedited,
	.same_gp_state	= same_state_synchronize_srcu_rs,
	.get_comp_state = get_completed_synchronize_srcu_rs,
	.get_gp_state	= srcu_rs_torture_get_gp_state,
	.start_gp_poll	= srcu_rs_torture_start_gp_poll,
	.poll_gp_state	= srcu_rs_torture_poll_gp_state,
	.poll_active	= NUM_ACTIVE_SRCU_POLL_OLDSTATE,
	.call		= srcu_rs_torture_call,
	.cb_barrier	= srcu_rs_torture_barrier,
	.stats		= srcu_rs_torture_updown_stats,
	.cbflood_max	= 50000,
	.irq_capable	= 1,
	.debug_objects	= 1,
	.get_gp_data	= srcu_rs_torture_get_gp_data,
	.name		= "srcu_rs"
};

static struct rcu_torture_ops srcu_rsd_ops = {
	.ttype		= SRCU_FLAVOR,
	.init		= srcu_rs_torture_init,
	.cleanup	= srcu_rs_torture_cleanup,
	.readlock	= srcu_rs_torture_read_lock,
	.read_delay	= srcu_read_delay,
	.readunlock	= srcu_rs_torture_read_unlock,
	.readlock_held	= torture_srcu_rs_read_lock_held,
	.get_gp_seq	= srcu_rs_torture_completed,
	.deferred_free	= srcu_rs_torture_deferred_free,
	.sync		= srcu_rs_torture_synchronize,
	.exp_sync	= srcu_rs_torture_synchronize_expedited,
	.same_gp_state	= same_state_synchronize_srcu_rs,
	.get_comp_state = get_completed_synchronize_srcu_rs,
	.get_gp_state	= srcu_rs_torture_get_gp_state,
	.start_gp_poll	= srcu_rs_torture_start_gp_poll,
	.poll_gp_state	= srcu_rs_torture_poll_gp_state,
	.poll_active	= NUM_ACTIVE_SRCU_POLL_OLDSTATE,
	.call		= srcu_rs_torture_call,
	.cb_barrier	= srcu_rs_torture_barrier,
	.stats		= srcu_rs_torture_stats,
	.cbflood_max	= 50000,
	.irq_capable	= 1,
	.debug_objects	= 1,
	.get_gp_data	= srcu_rs_torture_get_gp_data,
	.name		= "srcu_rsd"
};
#endif /* CONFIG_SRCU_RS */

