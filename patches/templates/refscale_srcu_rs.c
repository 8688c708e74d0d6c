#ifdef CONFIG_SRCU_RS
// Definitions for srcu_rs ref scale testing.
DEFINE_STATIC_SRCU_RS(srcu_rs_refctl_scale);
static struct srcu_rs *srcu_rs_ctlp = &srcu_rs_refctl_scale;

static void srcu_rs_ref_scale_read_section(const int nloops)
{
	int i;
	int idx;

	for (i = nloops; i >= 0; i--) {
		idx = srcu_rs_read_lock(srcu_rs_ctlp);
		srcu_rs_read_unlock(srcu_rs_ctlp, idx);
	}
}

static void srcu_rs_ref_scale_delay_section(const int nloops, const int udl, const int ndl)
{
	int i;
	int idx;

	for (i = nloops; i >= 0; i--) {
		idx = srcu_rs_read_lock(srcu_rs_ctlp);
		un_delay(udl, ndl);
		srcu_rs_read_unlock(srcu_rs_ctlp, idx);
	}
}

static const struct ref_scale_ops srcu_rs_ops = {
	.init		= rcu_sync_scale_init,
	.readsection	= srcu_rs_ref_scale_read_section,
	.delaysection	= srcu_rs_ref_scale_delay_section,
	.name		= "srcu_rs"
};

// Definitions for srcu-nmisafe ref scale testing: the in-tree NMI-safe
// reader, which srcu_rs's single reader API replaces.  On architectures
// without NMI-safe per-CPU operations (NEED_SRCU_NMI_SAFE) it pays an
// atomic increment per side.  A domain of its own, as an srcu_struct may
// not mix srcu_read_lock() and srcu_read_lock_nmisafe().
DEFINE_STATIC_SRCU(srcu_nmisafe_refctl_scale);
static struct srcu_struct *srcu_nmisafe_ctlp = &srcu_nmisafe_refctl_scale;

static void srcu_nmisafe_ref_scale_read_section(const int nloops)
{
	int i;
	int idx;

	for (i = nloops; i >= 0; i--) {
		idx = srcu_read_lock_nmisafe(srcu_nmisafe_ctlp);
		srcu_read_unlock_nmisafe(srcu_nmisafe_ctlp, idx);
	}
}

static void srcu_nmisafe_ref_scale_delay_section(const int nloops, const int udl, const int ndl)
{
	int i;
	int idx;

	for (i = nloops; i >= 0; i--) {
		idx = srcu_read_lock_nmisafe(srcu_nmisafe_ctlp);
		un_delay(udl, ndl);
		srcu_read_unlock_nmisafe(srcu_nmisafe_ctlp, idx);
	}
}

static const struct ref_scale_ops srcu_nmisafe_ops = {
	.init		= rcu_sync_scale_init,
	.readsection	= srcu_nmisafe_ref_scale_read_section,
	.delaysection	= srcu_nmisafe_ref_scale_delay_section,
	.name		= "srcu-nmisafe"
};
#endif /* CONFIG_SRCU_RS */

