// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! Kicking the vCPU thread out of `KVM_RUN` to serve the main thread's requests, the local APIC register
//! helpers, and the repair of what TCG's SVM emulation breaks at the L1/L2 world switch (see `repair_apic`).

use std::sync::atomic::{AtomicBool, Ordering::*};

use kvm_bindings::KVM_MP_STATE_HALTED;

use crate::image::{CODE, IDLE_HLT, MEM_SIZE, STACK_TOP, STUBS, STUB_LEN, VEC_BASE};
use crate::tally::{Gsi, Shared};

/// Set once a signal is lost: the vCPU thread prints the vCPU and local APIC state.
pub(crate) static DUMP: AtomicBool = AtomicBool::new(false);

pub(crate) extern "C" fn kick_handler(
    _: libc::c_int,
    _: *mut libc::siginfo_t,
    _: *mut libc::c_void,
) {
}

/// Set by the main thread before it kicks the vCPU thread out of `KVM_RUN` to probe the local APIC.
pub(crate) static PROBE: AtomicBool = AtomicBool::new(false);
/// `--simulate-lost-injection`: set by the main thread; the vCPU thread moves a pending vector from IRR to ISR.
pub(crate) static SIMULATE: AtomicBool = AtomicBool::new(false);

/// Requests the main thread makes of the vCPU thread, served when a `SIGRTMIN` kick interrupts `KVM_RUN`.
pub(crate) fn kick_requests() -> impl Iterator<Item = &'static AtomicBool> {
    [&PROBE, &SIMULATE, &DUMP].into_iter()
}

/// Makes the first emulator failure `repair_apic` handles, on purpose: the highest pending vector goes from IRR
/// to ISR without its handler running (a lost injection). Returns false while nothing is pending.
pub(crate) fn simulate_lost_injection(vcpu: &kvm_ioctls::VcpuFd, sh: &Shared) -> bool {
    // as the emulator does it: the vCPU is about to take the interrupt (outside every handler, nothing in service)
    let (Ok(mut lapic), Ok(regs)) = (vcpu.get_lapic(), vcpu.get_regs()) else {
        return false;
    };
    if (STUBS as u64..(STUBS + 256 * STUB_LEN) as u64).contains(&regs.rip)
        || !apic_bits(&lapic.regs, APIC_ISR).is_empty()
    {
        return false;
    }
    let Some(&v) = apic_bits(&lapic.regs, APIC_IRR).last() else {
        return false;
    };
    apic_set_bit(&mut lapic.regs, APIC_IRR, v, false);
    apic_set_bit(&mut lapic.regs, APIC_ISR, v, true);
    match vcpu.set_lapic(&lapic) {
        Ok(()) => {
            sh.note(format!(
                "simulated a lost injection: vector {v:#x} moved from IRR to ISR"
            ));
            true
        }
        Err(_) => false,
    }
}

/// The 32-bit local APIC register at byte offset `o` of a `kvm_lapic_state`.
pub(crate) fn apic_word(regs: &[libc::c_char], o: usize) -> u32 {
    u32::from_le_bytes([
        regs[o] as u8,
        regs[o + 1] as u8,
        regs[o + 2] as u8,
        regs[o + 3] as u8,
    ])
}

/// The vectors set in the 256-bit register (ISR, IRR, TMR) at byte offset `base`.
pub(crate) fn apic_bits(regs: &[libc::c_char], base: usize) -> Vec<u32> {
    (0..256u32)
        .filter(|v| apic_word(regs, base + (*v as usize / 32) * 16) & (1 << (v % 32)) != 0)
        .collect()
}

pub(crate) fn apic_set_bit(regs: &mut [libc::c_char], base: usize, vector: u32, on: bool) {
    let o = base + (vector as usize / 32) * 16 + (vector as usize % 32) / 8;
    let m = 1u8 << (vector % 8);
    let b = regs[o] as u8;
    regs[o] = (if on { b | m } else { b & !m }) as libc::c_char;
}

pub(crate) const APIC_ISR: usize = 0x100;
pub(crate) const APIC_IRR: usize = 0x200;
pub(crate) const APIC_SVR: usize = 0xF0;

/// Probes the local APIC from the vCPU thread (outside `KVM_RUN`) and repairs what TCG's emulation of SVM breaks
/// at the L1/L2 world switch; every repair is counted and reported.
///
/// The guest's handlers EOI, then report with `out`, then `iret`, so with the vCPU outside every handler stub
/// the in-service register must be empty. Under TCG's SVM it sometimes is not: L1 KVM moved a vector from IRR
/// to ISR and injected it, and the injection was lost on the way into L2 (kvm-unit-tests' `eventinj` also fails
/// under TCG's SVM on the stock kernel); the stuck bit then masks every lower vector for ever. A stuck vector
/// never reached its report, so it is its GSI's outstanding signal: it is moved back to IRR, delivered now and
/// judged like any other (cleared if its GSI waits for nothing).
///
/// A worse form replaces the vCPU's whole register state with L1's (`rip` in L1 KVM's `__svm_vcpu_run`, a
/// 64-bit code segment), or L2 triple-faults and KVM resets the vCPU (`Shutdown` exit; APIC disabled, IRR and
/// ISR empty). The guest keeps no state between interrupts, so its idle loop and APIC enable are restored, and
/// a GSI that has waited past the probe threshold with nothing pending gets its send-time route's vector again.
///
/// None of this is `irq_srcu`'s doing: it only decides which vector and CPU an interrupt goes to, and a route
/// read from a freed or stale table shows up as a wrong, unexpected or missing vector, never as an in-service
/// bit without a handler or L1's instruction pointer in L2.
pub(crate) fn repair_apic(
    vcpu: &kvm_ioctls::VcpuFd,
    sh: &Shared,
    initial_sregs: &kvm_bindings::kvm_sregs,
) {
    sh.apic_probes.fetch_add(1, Relaxed);
    let (Ok(mut lapic), Ok(mut regs), Ok(sregs)) =
        (vcpu.get_lapic(), vcpu.get_regs(), vcpu.get_sregs())
    else {
        return;
    };
    let corrupted = regs.rip >= MEM_SIZE as u64 || sregs.cs.selector != 0x08 || sregs.cs.l != 0;
    if corrupted {
        sh.vcpu_restored.fetch_add(1, Relaxed);
        sh.note(format!(
            "vCPU state is not the guest's: rip {:#x} rsp {:#x} cs {:#x} (64-bit {}) cr3 {:#x}{}",
            regs.rip,
            regs.rsp,
            sregs.cs.selector,
            sregs.cs.l,
            sregs.cr3,
            if sh.repair {
                "; idle loop restored"
            } else {
                " (not repaired: --no-apic-repair)"
            }
        ));
        if sh.repair {
            regs.rip = (CODE + IDLE_HLT) as u64;
            regs.rsp = STACK_TOP;
            regs.rflags = 0x202;
            if let Err(e) = vcpu
                .set_sregs(initial_sregs)
                .and_then(|()| vcpu.set_regs(&regs))
            {
                sh.note(format!("restoring the vCPU failed: {e}"));
                return;
            }
        }
    }
    let in_handler = (STUBS as u64..(STUBS + 256 * STUB_LEN) as u64).contains(&regs.rip);
    if in_handler && !corrupted {
        return;
    }
    let isr = apic_bits(&lapic.regs, APIC_ISR);
    let irr = apic_bits(&lapic.regs, APIC_IRR);
    let owner = |v: u32| {
        v.checked_sub(VEC_BASE)
            .map(|d| d / sh.per_gsi)
            .and_then(|i| sh.gsis.get(i as usize))
    };
    let pending = |g: &Gsi| {
        isr.iter()
            .chain(&irr)
            .any(|&w| owner(w).is_some_and(|h| h.index == g.index))
    };
    let mut what = Vec::new();
    let (mut requeued, mut cleared, mut reinjected) = (0, 0, 0);
    // The handlers EOI before they report, so an in-service vector with the vCPU idle never reached the
    // report: it is its GSI's outstanding signal (one per GSI), delivered now by moving it back to IRR.
    for &v in &isr {
        apic_set_bit(&mut lapic.regs, APIC_ISR, v, false);
        if owner(v).is_some_and(|g| g.outstanding.load(SeqCst)) {
            apic_set_bit(&mut lapic.regs, APIC_IRR, v, true);
            requeued += 1;
            what.push(format!("{v:#x} requeued"));
        } else {
            cleared += 1;
            what.push(format!("{v:#x} cleared"));
        }
    }
    // A handler cut off between its EOI and its report consumed its interrupt, and a vCPU reset after a
    // Shutdown exit cleared IRR and ISR and disabled the APIC: a GSI that has waited past the probe threshold
    // with nothing pending, and whose signal was sent before the restore, gets the vector its route gave at
    // the send (any generation current while it was in flight is accepted for a signal sent during a routing
    // change). Checked at the restore and at every later probe, since a signal sent just before the restore
    // has not waited long enough yet at the restore itself. A GSI whose signal was sent after the last
    // restore is never re-injected: nothing but a real loss can explain it.
    let now_us = sh.epoch.elapsed().as_micros() as u64;
    if corrupted && sh.repair {
        sh.restored_at_us.store(now_us.max(1), SeqCst);
    }
    let restored_at = sh.restored_at_us.load(SeqCst);
    if restored_at > 0 {
        for g in &sh.gsis {
            let sent_at = g.sent_at_us.load(SeqCst);
            let waited = now_us.saturating_sub(sent_at);
            if g.outstanding.load(SeqCst)
                && sent_at <= restored_at
                && waited >= sh.probe_after_us
                && !pending(g)
            {
                let v = sh.vector(g.index, g.sent_seq.load(SeqCst).div_ceil(2));
                apic_set_bit(&mut lapic.regs, APIC_IRR, v, true);
                reinjected += 1;
                what.push(format!("{v:#x} re-injected"));
            }
        }
    }
    if corrupted {
        lapic.regs[APIC_SVR..APIC_SVR + 4]
            .copy_from_slice(&0x1FFu32.to_le_bytes().map(|b| b as libc::c_char));
    } else if isr.is_empty() && reinjected == 0 {
        // Halted with a deliverable interrupt pending: a wakeup that did not happen (informational: the
        // probe's own exit and re-entry makes KVM look at the IRR again).
        if !irr.is_empty()
            && vcpu
                .get_mp_state()
                .is_ok_and(|m| m.mp_state == KVM_MP_STATE_HALTED)
        {
            sh.halted_pending.fetch_add(1, Relaxed);
            sh.note(format!(
                "local APIC: halted with IRR {irr:x?} pending, ISR empty"
            ));
        }
        return;
    }
    if !isr.is_empty() {
        sh.apic_stuck.fetch_add(1, Relaxed);
    }
    let state = format!(
        "ISR {isr:x?} IRR {irr:x?} with rip {:#x} outside the handlers",
        regs.rip
    );
    if !sh.repair {
        sh.note(format!(
            "local APIC: {state} (not repaired: --no-apic-repair)"
        ));
        return;
    }
    sh.isr_requeued.fetch_add(requeued, Relaxed);
    sh.isr_cleared.fetch_add(cleared, Relaxed);
    sh.reinjected.fetch_add(reinjected, Relaxed);
    match vcpu.set_lapic(&lapic) {
        Ok(()) => sh.note(format!("local APIC: {state}: {}", what.join(", "))),
        Err(e) => sh.note(format!("local APIC: {state}: KVM_SET_LAPIC failed: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apic_register_bits() {
        let mut regs = [0 as libc::c_char; 1024];
        for v in [0x30, 0x5f, 0xa1, 0xff] {
            apic_set_bit(&mut regs, APIC_ISR, v, true);
        }
        assert_eq!(apic_bits(&regs, APIC_ISR), vec![0x30, 0x5f, 0xa1, 0xff]);
        assert!(apic_bits(&regs, APIC_IRR).is_empty());
        apic_set_bit(&mut regs, APIC_ISR, 0x5f, false);
        assert_eq!(apic_bits(&regs, APIC_ISR), vec![0x30, 0xa1, 0xff]);
        // vector 0xa1 is bit 1 of the 32-bit word at ISR + 5 * 16
        assert_eq!(apic_word(&regs, APIC_ISR + 5 * 16), 1 << 1);
    }
}
