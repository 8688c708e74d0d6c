// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! What the program prints besides its progress: the VM's `irq_srcu` proof counters, the host activity around
//! the run, and the machine-parseable result line.

use std::collections::BTreeMap;

/// Reads the srcu_rs debugfs file of the VM's `irq_srcu` (`srcu_rs/kvm-<pid>-<fd>`, one line
/// `readers=N grace_periods=M scans=S`, present only on a kernel whose `kvm->irq_srcu` runs on srcu_rs),
/// prints it as `SRCU_RS_STAT <when> kvm/irq_srcu: ...` (or `SRCU_RS_STAT <when> none`) and returns the
/// readers and grace periods.
pub(crate) fn print_stat(when: &str, path: &str) -> Option<(u64, u64)> {
    let parsed = std::fs::read_to_string(path).ok().and_then(|text| {
        let line = text.lines().next()?.trim().to_string();
        let field = |k: &str| {
            line.split_whitespace()
                .find_map(|t| t.strip_prefix(k)?.strip_prefix('=')?.parse::<u64>().ok())
        };
        Some((line.clone(), field("readers")?, field("grace_periods")?))
    });
    match parsed {
        Some((line, r, g)) => {
            println!("SRCU_RS_STAT {when} kvm/irq_srcu: {line}");
            Some((r, g))
        }
        None => {
            println!("SRCU_RS_STAT {when} none");
            None
        }
    }
}

/// KVM's per-VM exit and injection counters (debugfs, summed over the VM's vCPUs) whose rate per signal is
/// compared between kernels: every nested #VMEXIT is a trip through TCG's SVM emulation, the code that fails
/// (see `repair_apic`), so a kernel that makes more of them meets more of its failures.
pub(crate) const KVM_STATS: &[&str] = &[
    "exits",
    "irq_exits",
    "halt_exits",
    "irq_window_exits",
    "irq_injections",
    "request_irq_exits",
    "signal_exits",
];

/// A snapshot of what the host (L1 for this program) did around the VM: the VM's KVM counters and the
/// interrupts L1's CPUs took (`/proc/interrupts`, summed over CPUs, by row: LOC, RES, CAL, TLB, IWI, NMI, ...).
pub(crate) fn activity(vm_dir: &str) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for s in KVM_STATS {
        if let Some(v) = std::fs::read_to_string(format!("{vm_dir}/{s}"))
            .ok()
            .and_then(|t| t.trim().parse().ok())
        {
            m.insert(format!("kvm.{s}"), v);
        }
    }
    if let Ok(text) = std::fs::read_to_string("/proc/interrupts") {
        let ncpu = text
            .lines()
            .next()
            .map(|h| h.split_whitespace().count())
            .unwrap_or(0);
        for l in text.lines().skip(1) {
            let mut it = l.split_whitespace();
            let Some(name) = it.next().and_then(|n| n.strip_suffix(':')) else {
                continue;
            };
            // only the architectural rows (LOC, RES, ...): device lines are numbered
            if name.chars().all(|c| c.is_ascii_digit()) {
                continue;
            }
            let sum: u64 = it.take(ncpu).filter_map(|v| v.parse::<u64>().ok()).sum();
            m.insert(format!("l1.{name}"), sum);
        }
    }
    m
}

/// Prints `KVM_IRQ_STRESS_ACTIVITY` with each counter's growth over the run and per signal sent.
pub(crate) fn print_activity(
    before: &BTreeMap<String, u64>,
    after: &BTreeMap<String, u64>,
    signals: u64,
) {
    let mut line = format!("KVM_IRQ_STRESS_ACTIVITY: signals={signals}");
    for (k, a) in after {
        let Some(b) = before.get(k) else { continue };
        let d = a.saturating_sub(*b);
        if d == 0 {
            continue;
        }
        line.push_str(&format!(
            " {k}={d} {k}_per_signal={:.2}",
            d as f64 / signals.max(1) as f64
        ));
    }
    println!("{line}");
}

/// The last line the program prints, `KVM_IRQ_STRESS: result=PASS|FAIL key=value ...` (the harness parses it):
/// the tally and every counter of the run.
pub(crate) struct ResultLine {
    pub(crate) pass: bool,
    pub(crate) delivery: &'static str,
    pub(crate) secs: f64,
    pub(crate) signals: u64,
    pub(crate) arrived: u64,
    pub(crate) judged: u64,
    pub(crate) transitional: u64,
    pub(crate) irqfd_signals: u64,
    pub(crate) irq_line_signals: u64,
    pub(crate) churn_signals: u64,
    pub(crate) routing_generations: u64,
    pub(crate) routing_ioctls: u64,
    pub(crate) irqfd_assign: u64,
    pub(crate) irqfd_deassign: u64,
    pub(crate) irqfd_close: u64,
    pub(crate) vcpu_exits: u64,
    pub(crate) spurious: u64,
    pub(crate) lost: u64,
    pub(crate) duplicate: u64,
    pub(crate) wrong_vector: u64,
    pub(crate) unexpected: u64,
    pub(crate) guest_fault: u64,
    pub(crate) ioctl_errors: u64,
    pub(crate) tally_mismatch: u64,
    pub(crate) gsis: u64,
    pub(crate) updaters: u64,
    pub(crate) max_wait_ms: u64,
    pub(crate) starved: u64,
    pub(crate) apic_probes: u64,
    pub(crate) apic_stuck: u64,
    pub(crate) vcpu_restored: u64,
    pub(crate) halted_pending: u64,
    pub(crate) isr_requeued: u64,
    pub(crate) isr_cleared: u64,
    pub(crate) reinjected: u64,
    pub(crate) apic_polls: u64,
    pub(crate) apic_polls_found: u64,
    /// Growth of the VM's `irq_srcu` counters over the run, or `none` without the debugfs file.
    pub(crate) srcu_readers: String,
    pub(crate) srcu_grace_periods: String,
}

impl ResultLine {
    /// The counters, in the order the line prints them.
    fn counters(&self) -> [(&'static str, u64); 34] {
        [
            ("signals", self.signals),
            ("arrived", self.arrived),
            ("judged", self.judged),
            ("transitional", self.transitional),
            ("irqfd_signals", self.irqfd_signals),
            ("irq_line_signals", self.irq_line_signals),
            ("churn_signals", self.churn_signals),
            ("routing_generations", self.routing_generations),
            ("routing_ioctls", self.routing_ioctls),
            ("irqfd_assign", self.irqfd_assign),
            ("irqfd_deassign", self.irqfd_deassign),
            ("irqfd_close", self.irqfd_close),
            ("vcpu_exits", self.vcpu_exits),
            ("spurious", self.spurious),
            ("lost", self.lost),
            ("duplicate", self.duplicate),
            ("wrong_vector", self.wrong_vector),
            ("unexpected", self.unexpected),
            ("guest_fault", self.guest_fault),
            ("ioctl_errors", self.ioctl_errors),
            ("tally_mismatch", self.tally_mismatch),
            ("gsis", self.gsis),
            ("updaters", self.updaters),
            ("max_wait_ms", self.max_wait_ms),
            ("starved", self.starved),
            ("apic_probes", self.apic_probes),
            ("apic_stuck", self.apic_stuck),
            ("vcpu_restored", self.vcpu_restored),
            ("halted_pending", self.halted_pending),
            ("isr_requeued", self.isr_requeued),
            ("isr_cleared", self.isr_cleared),
            ("reinjected", self.reinjected),
            ("apic_polls", self.apic_polls),
            ("apic_polls_found", self.apic_polls_found),
        ]
    }
}

impl std::fmt::Display for ResultLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "KVM_IRQ_STRESS: result={} delivery={} secs={:.1}",
            if self.pass { "PASS" } else { "FAIL" },
            self.delivery,
            self.secs
        )?;
        for (k, v) in self.counters() {
            write!(f, " {k}={v}")?;
        }
        write!(
            f,
            " srcu_readers={} srcu_grace_periods={}",
            self.srcu_readers, self.srcu_grace_periods
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_line_keys_in_order() {
        let mut r = ResultLine {
            pass: true,
            delivery: "polled",
            secs: 30.04,
            signals: 7,
            arrived: 7,
            judged: 5,
            transitional: 2,
            irqfd_signals: 0,
            irq_line_signals: 0,
            churn_signals: 0,
            routing_generations: 0,
            routing_ioctls: 0,
            irqfd_assign: 0,
            irqfd_deassign: 0,
            irqfd_close: 0,
            vcpu_exits: 0,
            spurious: 0,
            lost: 0,
            duplicate: 0,
            wrong_vector: 0,
            unexpected: 0,
            guest_fault: 0,
            ioctl_errors: 0,
            tally_mismatch: 0,
            gsis: 7,
            updaters: 3,
            max_wait_ms: 0,
            starved: 0,
            apic_probes: 0,
            apic_stuck: 0,
            vcpu_restored: 0,
            halted_pending: 0,
            isr_requeued: 0,
            isr_cleared: 0,
            reinjected: 0,
            apic_polls: 0,
            apic_polls_found: 9,
            srcu_readers: "none".into(),
            srcu_grace_periods: "none".into(),
        };
        let s = r.to_string();
        assert!(s.starts_with(
            "KVM_IRQ_STRESS: result=PASS delivery=polled secs=30.0 signals=7 arrived=7 judged=5 "
        ));
        assert!(s.contains(" tally_mismatch=0 gsis=7 updaters=3 max_wait_ms=0 "));
        assert!(s.ends_with(
            " apic_polls=0 apic_polls_found=9 srcu_readers=none srcu_grace_periods=none"
        ));
        r.pass = false;
        assert!(r.to_string().starts_with("KVM_IRQ_STRESS: result=FAIL "));
    }
}
