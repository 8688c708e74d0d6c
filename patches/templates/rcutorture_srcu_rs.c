#ifdef CONFIG_SRCU_RS
/*
 * Definitions for srcu_rs torture testing: a statically defined domain
 * (srcu_rs) and a dynamically initialised one (srcu_rsd).  srcu_rs has one
 * reader API for every context, so the irq (timer) readers use it as is.
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

/* Grace-period data for rcutorture's stall and writer-state reports. */
static void srcu_rs_torture_get_gp_data(int *flags, unsigned long *gp_seq)
{
	*flags = 0;
	*gp_seq = srcu_rs_batches_completed(srcu_rs_ctlp);
}

static struct rcu_torture_ops srcu_rs_ops = {
	.ttype		= SRCU_FLAVOR,
	.init		= rcu_sync_torture_init,
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

