// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! The program's threads: the receiver (the vCPU thread running the guest, or the APIC poller), one signaller
//! per GSI, the routing updaters, and the main thread's watch over them (progress, APIC probes, kicks).

use std::sync::atomic::{AtomicBool, Ordering::*};
use std::sync::{Arc, Barrier};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::Result;
use kvm_bindings::kvm_sregs;
use kvm_ioctls::{VcpuExit, VcpuFd};
use vmm_sys_util::eventfd::EventFd;
use vmm_sys_util::signal::{register_signal_handler, Killable, SIGRTMIN};

use crate::image::{PORT_FAULT, PORT_READY, PORT_SPURIOUS, PORT_VECTOR};
use crate::poll::poll_apic;
use crate::repair::{
    kick_handler, kick_requests, repair_apic, simulate_lost_injection, DUMP, PROBE, SIMULATE,
};
use crate::tally::{Kind, Shared};
use crate::vm::vcpu_state;
use crate::Delivery;

/// The receiver's state, shared with the main thread.
pub(crate) struct Guest {
    /// Cleared when the guest faulted or the receiver stopped: the main thread then stops the load.
    pub(crate) ok: Arc<AtomicBool>,
    /// Set once the guest (or the poller) has software-enabled the local APIC: interrupts sent before are dropped.
    pub(crate) ready: Arc<AtomicBool>,
}

/// Starts the receiver: the vCPU thread (`guest`; it never returns, the process exits under it) or the APIC
/// poller (`polled`).
pub(crate) fn spawn_receiver(
    mut vcpu: VcpuFd,
    sh: &Arc<Shared>,
    initial_sregs: kvm_sregs,
    guest: &Guest,
) -> Result<JoinHandle<()>> {
    // On the first lost signal the main thread kicks the vCPU out of KVM_RUN with a signal and the vCPU thread
    // prints the local APIC's IRR/ISR, to tell a stuck guest (an ISR bit never EOIed) from a lost injection.
    register_signal_handler(SIGRTMIN(), kick_handler)
        .map_err(|e| anyhow::anyhow!("signal handler: {e}"))?;
    let (sh, guest_ok, guest_ready) = (sh.clone(), guest.ok.clone(), guest.ready.clone());
    let handle = if sh.delivery == Delivery::Polled {
        thread::Builder::new()
            .name("apic-poller".into())
            .spawn(move || {
                if let Err(e) = poll_apic(&vcpu, &sh, &guest_ready) {
                    sh.errors.guest_fault.fetch_add(1, Relaxed);
                    sh.note(format!("APIC poller: {e:#}"));
                    guest_ok.store(false, SeqCst);
                }
            })?
    } else {
        thread::Builder::new()
            .name("vcpu0".into())
            .spawn(move || run_vcpu(&mut vcpu, &sh, &initial_sregs, &guest_ok, &guest_ready))?
    };
    Ok(handle)
}

/// The vCPU thread: runs the guest, counts what it reports, serves the main thread's kicks.
fn run_vcpu(
    vcpu: &mut VcpuFd,
    sh: &Shared,
    initial_sregs: &kvm_sregs,
    guest_ok: &AtomicBool,
    guest_ready: &AtomicBool,
) {
    loop {
        let exit = vcpu.run();
        sh.vcpu_exits.fetch_add(1, Relaxed);
        if matches!(exit, Ok(VcpuExit::Shutdown)) {
            // A triple fault of a vCPU whose state the emulator replaced with L1's (see `repair_apic`)
            // is repaired like the halted form; any other is fatal.
            let before = sh.vcpu_restored.load(Relaxed);
            sh.note("vCPU exit Shutdown (triple fault): probing its state".into());
            repair_apic(vcpu, sh, initial_sregs);
            if sh.repair && sh.vcpu_restored.load(Relaxed) > before {
                continue;
            }
            sh.errors.guest_fault.fetch_add(1, Relaxed);
            sh.note(format!(
                "unexpected vCPU exit Shutdown: {}",
                vcpu_state(vcpu)
            ));
            guest_ok.store(false, SeqCst);
            return;
        }
        // Kicked out of KVM_RUN by the main thread: serve what it asked for (see `kick_requests`).
        if matches!(&exit, Err(e) if e.errno() == libc::EINTR) {
            if SIMULATE.load(SeqCst) && simulate_lost_injection(vcpu, sh) {
                SIMULATE.store(false, SeqCst);
            }
            if PROBE.swap(false, SeqCst) {
                repair_apic(vcpu, sh, initial_sregs);
            }
            if DUMP.swap(false, SeqCst) {
                println!(
                    "kvm-irq-stress: vCPU state at the lost signal: {}",
                    vcpu_state(vcpu)
                );
            }
            continue;
        }
        match exit {
            Ok(VcpuExit::IoOut(PORT_VECTOR, data)) => sh.arrive(data[0] as u32),
            Ok(VcpuExit::IoOut(PORT_READY, _)) => guest_ready.store(true, SeqCst),
            Ok(VcpuExit::IoOut(PORT_SPURIOUS, _)) => {
                sh.spurious.fetch_add(1, Relaxed);
            }
            Ok(VcpuExit::IoOut(PORT_FAULT, data)) => {
                sh.errors.guest_fault.fetch_add(1, Relaxed);
                sh.note(format!("guest exception vector {}", data[0]));
                guest_ok.store(false, SeqCst);
                return;
            }
            Ok(VcpuExit::Intr) => {}
            Err(e) if e.errno() == libc::EAGAIN => {}
            Ok(other) => {
                let what = format!("{other:?}");
                sh.errors.guest_fault.fetch_add(1, Relaxed);
                // the guest's state, to tell a guest bug from a host one
                let regs = vcpu.get_regs().map(|r| {
                    format!(
                        "rip={:#x} rsp={:#x} rflags={:#x} rax={:#x}",
                        r.rip, r.rsp, r.rflags, r.rax
                    )
                });
                let sregs =
                    vcpu.get_sregs().map(|s| {
                        format!(
                    "cr0={:#x} cs.base={:#x} idt={:#x}/{:#x} gdt={:#x}/{:#x} apic_base={:#x}",
                    s.cr0, s.cs.base, s.idt.base, s.idt.limit, s.gdt.base, s.gdt.limit, s.apic_base
                )
                    });
                sh.note(format!("unexpected vCPU exit {what}: {regs:?} {sregs:?}"));
                guest_ok.store(false, SeqCst);
                return;
            }
            Err(e) => {
                sh.errors.guest_fault.fetch_add(1, Relaxed);
                sh.note(format!("KVM_RUN failed: {e}"));
                guest_ok.store(false, SeqCst);
                return;
            }
        }
    }
}

/// Starts one signaller per GSI, each sending until `end` (or until the run stops).
pub(crate) fn spawn_signallers(sh: &Arc<Shared>, end: Instant) -> Result<Vec<JoinHandle<()>>> {
    let mut handles = Vec::new();
    for i in 0..sh.gsis.len() {
        let sh = sh.clone();
        let name = format!("{:?}-{}", sh.gsis[i].kind, sh.gsis[i].gsi).to_lowercase();
        handles.push(
            thread::Builder::new()
                .name(name)
                .spawn(move || signaller(&sh, i, end))?,
        );
    }
    Ok(handles)
}

/// GSI `i`'s signaller: irqfd (one eventfd, bound once), `KVM_IRQ_LINE`, or irqfd churn (assign, signal once,
/// deassign or close).
fn signaller(sh: &Shared, i: usize, end: Instant) {
    let kind = sh.gsis[i].kind;
    let g = &sh.gsis[i];
    match kind {
        Kind::Irqfd => {
            let efd = match EventFd::new(libc::EFD_NONBLOCK) {
                Ok(e) => e,
                Err(e) => return sh.note(format!("eventfd: {e}")),
            };
            if let Err(e) = sh.vm.register_irqfd(&efd, g.gsi) {
                sh.errors.ioctl.fetch_add(1, Relaxed);
                return sh.note(format!("KVM_IRQFD gsi {}: {e}", g.gsi));
            }
            sh.irqfd_assign.fetch_add(1, Relaxed);
            while Instant::now() < end && !sh.stop.load(Relaxed) {
                if !sh.signal(g, &|| efd.write(1)) {
                    break;
                }
            }
        }
        Kind::Line => {
            while Instant::now() < end && !sh.stop.load(Relaxed) {
                let send = || {
                    sh.vm
                        .set_irq_line(g.gsi, true)
                        .map_err(std::io::Error::from)
                };
                if !sh.signal(g, &send) {
                    break;
                }
            }
        }
        Kind::Churn => {
            let mut n = 0u64;
            while Instant::now() < end && !sh.stop.load(Relaxed) {
                let efd = match EventFd::new(libc::EFD_NONBLOCK) {
                    Ok(e) => e,
                    Err(e) => return sh.note(format!("eventfd: {e}")),
                };
                if let Err(e) = sh.vm.register_irqfd(&efd, g.gsi) {
                    sh.errors.ioctl.fetch_add(1, Relaxed);
                    return sh.note(format!("KVM_IRQFD assign gsi {}: {e}", g.gsi));
                }
                sh.irqfd_assign.fetch_add(1, Relaxed);
                if !sh.signal(g, &|| efd.write(1)) {
                    break;
                }
                n += 1;
                if n.is_multiple_of(2) {
                    if let Err(e) = sh.vm.unregister_irqfd(&efd, g.gsi) {
                        sh.errors.ioctl.fetch_add(1, Relaxed);
                        return sh.note(format!("KVM_IRQFD deassign gsi {}: {e}", g.gsi));
                    }
                    sh.irqfd_deassign.fetch_add(1, Relaxed);
                } else {
                    // closing the eventfd sends EPOLLHUP: irqfd_wakeup deactivates the irqfd
                    sh.irqfd_close.fetch_add(1, Relaxed);
                }
                drop(efd);
            }
        }
    }
}

/// Starts the routing updaters: `updaters` threads install each generation at once.
pub(crate) fn spawn_updaters(
    sh: &Arc<Shared>,
    updaters: usize,
    end: Instant,
    gap: Duration,
) -> Result<Vec<JoinHandle<()>>> {
    let barrier = Arc::new(Barrier::new(updaters.max(1)));
    let mut handles = Vec::new();
    for u in 0..updaters {
        let (sh, barrier) = (sh.clone(), barrier.clone());
        handles.push(
            thread::Builder::new()
                .name(format!("routing-{u}"))
                .spawn(move || updater(&sh, &barrier, end, gap))?,
        );
    }
    Ok(handles)
}

/// One routing updater: generation after generation, together with the others, until `end`.
fn updater(sh: &Shared, barrier: &Barrier, end: Instant, gap: Duration) {
    let mut generation = 0u64;
    loop {
        generation += 1;
        // everyone decides together whether to go on
        let go = Instant::now() < end && !sh.stop.load(Relaxed);
        if barrier.wait().is_leader() {
            if go {
                sh.seq.store(2 * generation - 1, SeqCst);
            } else {
                sh.stop.store(true, SeqCst);
            }
        }
        barrier.wait();
        if sh.stop.load(SeqCst) && sh.seq.load(SeqCst) != 2 * generation - 1 {
            return;
        }
        let table = match sh.routing_table(generation) {
            Ok(t) => t,
            Err(e) => {
                sh.note(format!("{e}"));
                sh.stop.store(true, SeqCst);
                return;
            }
        };
        match sh.vm.set_gsi_routing(&table) {
            Ok(()) => {
                sh.routing_ioctls.fetch_add(1, Relaxed);
                // the first return makes generation `generation` current
                if sh
                    .seq
                    .compare_exchange(2 * generation - 1, 2 * generation, SeqCst, SeqCst)
                    .is_ok()
                {
                    sh.routing_generations.fetch_add(1, Relaxed);
                }
            }
            Err(e) => {
                sh.errors.ioctl.fetch_add(1, Relaxed);
                sh.note(format!("KVM_SET_GSI_ROUTING generation {generation}: {e}"));
                sh.stop.store(true, SeqCst);
            }
        }
        barrier.wait();
        if sh.seq.load(SeqCst) % 2 == 1 {
            // every ioctl of this generation failed: leave the counter even so nothing is judged wrongly
            sh.seq.store(2 * generation, SeqCst);
        }
        thread::sleep(gap);
    }
}

/// The main thread while the load runs: stops it when the guest failed, asks for the lost-injection simulation
/// halfway, probes the local APIC for a signal outstanding too long, kicks the vCPU thread until it serves a
/// request, and prints progress every 5 s. Returns when every signaller and updater has.
pub(crate) fn watch(
    sh: &Shared,
    handles: &[JoinHandle<()>],
    receiver: &JoinHandle<()>,
    guest_ok: &AtomicBool,
    simulate_lost_injection: bool,
    secs: u64,
    start: Instant,
) {
    // Progress every 5 s (the run's console log shows the stress is alive).
    let mut next_report = start + Duration::from_secs(5);
    let mut dumped = false;
    let probe_after_us = sh.probe_after_us;
    let mut next_probe_us = 0u64;
    let mut simulated = false;
    while handles.iter().any(|h| !h.is_finished()) {
        thread::sleep(Duration::from_millis(100));
        if !guest_ok.load(SeqCst) {
            sh.stop.store(true, SeqCst);
        }
        if simulate_lost_injection && !simulated && start.elapsed() >= Duration::from_secs(secs / 2)
        {
            SIMULATE.store(true, SeqCst);
            simulated = true;
        }
        // a signal outstanding for long: probe the local APIC (at most every 500 ms)
        let now_us = sh.epoch.elapsed().as_micros() as u64;
        let waiting = sh.gsis.iter().any(|g| {
            g.outstanding.load(SeqCst)
                && now_us.saturating_sub(g.sent_at_us.load(SeqCst)) >= probe_after_us
        });
        // (`polled`: no guest, nothing to probe)
        if waiting && now_us >= next_probe_us && sh.delivery == Delivery::Guest {
            next_probe_us = now_us + 500_000;
            PROBE.store(true, SeqCst);
        }
        if sh.errors.lost.load(Relaxed) > 0 && !dumped {
            DUMP.store(true, SeqCst);
            dumped = true;
        }
        // A request stays set until the vCPU thread serves it: kick until then (a signal that lands while
        // the thread is outside KVM_RUN does not interrupt it). The poller serves its requests unasked.
        if sh.delivery == Delivery::Guest && kick_requests().any(|f| f.load(SeqCst)) {
            let _ = receiver.kill(SIGRTMIN());
        }
        if Instant::now() >= next_report {
            next_report += Duration::from_secs(5);
            let sent: u64 = sh.gsis.iter().map(|g| g.sent.load(Relaxed)).sum();
            println!(
                "kvm-irq-stress: t={:.0}s signals={sent} routing_generations={} irqfd_assign={}",
                start.elapsed().as_secs_f64(),
                sh.routing_generations.load(Relaxed),
                sh.irqfd_assign.load(Relaxed)
            );
        }
    }
}
