// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! `--delivery polled`: the poller that plays the guest's part on the vCPU's in-kernel local APIC.

use std::sync::atomic::{AtomicBool, Ordering::*};
use std::thread;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::image::SPURIOUS_VECTOR;
use crate::repair::{apic_bits, apic_set_bit, APIC_IRR, APIC_ISR, APIC_SVR, DUMP, SIMULATE};
use crate::tally::Shared;
use crate::vm::vcpu_state;

/// `polled` delivery: plays the guest's part on the local APIC of a vCPU that never runs (see the module
/// documentation). Software-enables the APIC, sets `ready`, then reports and clears IRR bits for ever; returns
/// only when the APIC cannot be read or written, or finds a vector in service (nothing can accept one).
///
/// With `SIMULATE` set (`--simulate-lost-injection`), it clears one pending vector without reporting it: a
/// lost interrupt, which the tally must fail on.
pub(crate) fn poll_apic(vcpu: &kvm_ioctls::VcpuFd, sh: &Shared, ready: &AtomicBool) -> Result<()> {
    let mut lapic = vcpu.get_lapic().context("KVM_GET_LAPIC")?;
    let svr = (0x100 | SPURIOUS_VECTOR as u32).to_le_bytes();
    for (i, b) in svr.iter().enumerate() {
        lapic.regs[APIC_SVR + i] = *b as libc::c_char;
    }
    vcpu.set_lapic(&lapic)
        .context("KVM_SET_LAPIC (software enable)")?;
    ready.store(true, SeqCst);
    loop {
        let (pending, dropped) = {
            let _gate = sh.send_gate.write().unwrap();
            let mut lapic = vcpu.get_lapic().context("KVM_GET_LAPIC")?;
            let isr = apic_bits(&lapic.regs, APIC_ISR);
            if !isr.is_empty() {
                bail!("local APIC of a vCPU that never ran has vectors in service: {isr:x?}");
            }
            let mut pending = apic_bits(&lapic.regs, APIC_IRR);
            if !pending.is_empty() {
                for &v in &pending {
                    apic_set_bit(&mut lapic.regs, APIC_IRR, v, false);
                }
                vcpu.set_lapic(&lapic).context("KVM_SET_LAPIC")?;
            }
            let dropped = if !pending.is_empty() && SIMULATE.swap(false, SeqCst) {
                pending.pop()
            } else {
                None
            };
            (pending, dropped)
        };
        sh.polls.fetch_add(1, Relaxed);
        if let Some(v) = dropped {
            sh.note(format!(
                "simulated a lost interrupt: vector {v:#x} cleared from IRR unreported"
            ));
        }
        if DUMP.swap(false, SeqCst) {
            println!(
                "kvm-irq-stress: vCPU state at the lost signal: {}",
                vcpu_state(vcpu)
            );
        }
        if pending.is_empty() && dropped.is_none() {
            // nothing pending: let the senders in
            thread::sleep(Duration::from_micros(50));
            continue;
        }
        sh.polls_found.fetch_add(1, Relaxed);
        for v in pending {
            sh.arrive(v);
        }
    }
}
