// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! The grace-period sequence number (kernel/rcu/rcu.h's `rcu_seq_*`).
//!
//! The low [`STATE_BITS`] bits hold the [`crate::GpState`]; the rest counts grace periods. One
//! grace period advances the number by `1 << STATE_BITS`. All comparisons are wrap-safe
//! ([`ulong_cmp_ge`]), and a fresh domain starts [`INITIAL`], a hundred grace periods before
//! the counter wraps, so every test crosses the wrap early (srcutree.h's
//! `SRCU_GP_SEQ_INITIAL_VAL`).

/// Bits of the sequence number that hold the state (`RCU_SEQ_CTR_SHIFT`).
pub const STATE_BITS: u32 = 2;
/// Mask of the state bits (`RCU_SEQ_STATE_MASK`).
pub const STATE_MASK: usize = (1 << STATE_BITS) - 1;
/// One grace period's worth of sequence (the tests step the sequence by it).
#[cfg(test)]
pub(crate) const ONE_GP: usize = 1 << STATE_BITS;
/// The initial sequence value: idle, 100 grace periods before wrap-around.
pub const INITIAL: usize = 0usize.wrapping_sub(100) << STATE_BITS;

/// `ULONG_CMP_GE(a, b)`: `a` is at or after `b`, modulo wrap.
#[inline(always)]
pub const fn ulong_cmp_ge(a: usize, b: usize) -> bool {
    usize::MAX / 2 >= a.wrapping_sub(b)
}

/// `ULONG_CMP_LT(a, b)`: `a` is before `b`, modulo wrap.
#[inline(always)]
pub const fn ulong_cmp_lt(a: usize, b: usize) -> bool {
    usize::MAX / 2 < a.wrapping_sub(b)
}

/// The state bits of `seq` (`rcu_seq_state()`).
#[inline(always)]
pub const fn state(seq: usize) -> usize {
    seq & STATE_MASK
}

/// The value `seq` has once the grace period in progress ends (`rcu_seq_endval()`); for an idle
/// `seq` that is `seq + ONE_GP`, i.e. the end of the next one.
#[inline(always)]
pub const fn end_of_current(seq: usize) -> usize {
    (seq | STATE_MASK).wrapping_add(1)
}

/// The value at which a full grace period that *starts after now* has ended (`rcu_seq_snap()`):
/// one already in progress does not count.
#[inline(always)]
pub const fn snap(seq: usize) -> usize {
    seq.wrapping_add(2 * STATE_MASK + 1) & !STATE_MASK
}

/// The broken snapshot of [`crate::Fault::AcceptStartedGp`]: accepts the end of a grace period
/// already in progress, or the last one ended.
#[inline(always)]
pub const fn snap_accepting_started(seq: usize) -> usize {
    seq.wrapping_add(STATE_MASK) & !STATE_MASK
}

/// Whether the grace period named by cookie `s` has ended once the sequence reads `seq`
/// (`rcu_seq_done()`).
#[inline(always)]
pub const fn done(seq: usize, s: usize) -> bool {
    ulong_cmp_ge(seq, s)
}

/// Grace periods ended between [`INITIAL`] and `seq` (wrapping), for statistics.
#[inline(always)]
pub const fn completed_since_init(seq: usize) -> usize {
    seq.wrapping_sub(INITIAL) >> STATE_BITS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initial_is_idle_and_wraps_within_100_gps() {
        assert_eq!(state(INITIAL), 0);
        let mut s = INITIAL;
        for _ in 0..100 {
            s = end_of_current(s);
        }
        assert_eq!(s, 0, "100 grace periods from INITIAL wrap the counter to zero");
    }

    #[test]
    fn snap_needs_a_full_grace_period_across_the_wrap() {
        // Walk the sequence through the wrap, state by state.
        let mut seq = INITIAL.wrapping_add(99 * ONE_GP); // one GP before the wrap
        let idle_snap = snap(seq);
        assert_eq!(idle_snap, end_of_current(seq));
        assert!(!done(seq, idle_snap));
        seq = seq.wrapping_add(1); // SCAN1 of the last GP before wrap
        let busy_snap = snap(seq);
        assert_eq!(busy_snap, ONE_GP, "an in-progress GP does not count: need the next one");
        seq = end_of_current(seq); // wraps to 0
        assert_eq!(seq, 0);
        assert!(done(seq, idle_snap), "idle snapshot satisfied across the wrap");
        assert!(!done(seq, busy_snap), "busy snapshot not satisfied by the GP it overlapped");
        seq = end_of_current(seq.wrapping_add(1));
        assert!(done(seq, busy_snap));
    }

    #[test]
    fn wrap_safe_comparisons() {
        assert!(ulong_cmp_ge(0, usize::MAX));
        assert!(ulong_cmp_lt(usize::MAX, 0));
        assert!(ulong_cmp_ge(5, 5));
        assert!(!ulong_cmp_lt(5, 5));
        assert!(ulong_cmp_lt(INITIAL, INITIAL.wrapping_add(ONE_GP)));
        assert!(!ulong_cmp_lt(2, 0) && ulong_cmp_ge(2, 0));
        // The boundary, as the kernel's ULONG_CMP_GE/LT: half the range ahead is still "after".
        assert!(ulong_cmp_ge(usize::MAX / 2, 0) && !ulong_cmp_lt(usize::MAX / 2, 0));
        assert!(!ulong_cmp_ge(usize::MAX / 2 + 1, 0) && ulong_cmp_lt(usize::MAX / 2 + 1, 0));
    }

    #[test]
    fn broken_snapshot_accepts_the_current_grace_period() {
        let idle = INITIAL;
        assert_eq!(snap_accepting_started(idle), idle, "already done: no GP waited");
        assert_eq!(snap_accepting_started(idle + 1), idle + ONE_GP, "in progress accepted");
        assert_eq!(snap(idle + 1), idle + 2 * ONE_GP);
    }
}
