// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! KVM irq stress: drives every `kvm->irq_srcu` reader and updater that userspace can reach, and checks with
//! exact equality that every interrupt arrives once, on the vector of the route that was current.
//!
//! The VM has the in-kernel irqchip (`KVM_CREATE_IRQCHIP`) and one vCPU running a tiny 32-bit protected-mode
//! guest (no paging) whose IDT stubs report each vector with `out 0x10, al` and then EOI the local APIC.
//! Every tested GSI has an MSI route to APIC 0; routing generation `k` gives GSI `g` the vector
//! `BASE + g * PER_GSI + k % PER_GSI`, so a vector names both the GSI and the generation.
//!
//! Threads:
//! * irqfd signallers: `write(2)` on an eventfd bound with `KVM_IRQFD` (`irqfd_wakeup` takes the `irq_srcu`
//!   read lock with IRQs off under the eventfd wait-queue lock);
//! * `KVM_IRQ_LINE` drivers (`kvm_set_irq`, a short `irq_srcu` read section);
//! * irqfd churners: assign a fresh eventfd, signal it once, then deassign it with `KVM_IRQFD_FLAG_DEASSIGN` or
//!   by closing it (both end in `irqfd_shutdown` → `synchronize_srcu_expedited`);
//! * routing updaters: several threads install the same next-generation table with `KVM_SET_GSI_ROUTING` at
//!   once (`synchronize_srcu_expedited` from many updaters), generation after generation.
//!
//! Two ways to receive the interrupts (`--delivery`):
//! * `guest` (default): the vCPU runs the guest above, which takes each interrupt and reports it. On a
//!   machine whose nested virtualization is emulated (QEMU TCG's SVM), the injection into the guest itself
//!   sometimes fails; `repair_apic` finds and repairs those failures and a run that needed one is reported
//!   INCONCLUSIVE.
//! * `polled`: the vCPU never runs. A poller thread plays the guest's part on the vCPU's in-kernel local APIC:
//!   it reads IRR with `KVM_GET_LAPIC`, reports each pending vector as an arrival and clears it with
//!   `KVM_SET_LAPIC`. Every `irq_srcu` reader and updater runs exactly as in `guest` mode (the route lookup and
//!   delivery into the APIC happen in the sender's syscall), but no interrupt is ever injected into a guest, so
//!   the emulator's injection path is out of the picture and the tally can gate. `KVM_SET_LAPIC` rewrites the
//!   whole register page, so the poller excludes sends while it reads and rewrites it (`Shared::send_gate`):
//!   an IRR bit set in between would be overwritten, not lost by the kernel.
//!
//! Exact tally: each GSI has at most one interrupt outstanding (its signaller waits for the guest's port write
//! before sending again). A sequence counter is odd while a generation's ioctls are in flight and becomes even
//! when the first of them returns. A signal is *judged* when the counter was even and unchanged from before the
//! send until the vCPU thread saw the arrival: it must arrive exactly once, on the current generation's vector
//! (equality). Other signals (*transitional*) must arrive exactly once on the vector of one of the generations
//! that were current while they were in flight. Lost (no arrival `--lost-ms` after the later of the send and the
//! end of the load: while the load runs the local APIC's fixed priorities may starve a GSI's lower vectors
//! behind the others, so only a signal still missing once nothing competes is lost), duplicate, wrong-vector
//! and unexpected arrivals
//! are errors. The last line printed is machine-parseable:
//! `KVM_IRQ_STRESS: result=PASS|FAIL key=value ...`.
//!
//! Modules: `vm` (the VM and its vCPU), `image` (the guest), `tally` (the exact tally), `threads` (receiver,
//! signallers, updaters, the main thread's watch), `repair` (kicks, APIC helpers, emulator repairs), `poll`
//! (`polled` delivery), `report` (proof counters, host activity, the result line).

#![deny(unsafe_code)]

mod image;
mod poll;
mod repair;
mod report;
mod tally;
mod threads;
// kvm-ioctls makes guest-memory registration unsafe: the only unsafe code, each block with its SAFETY comment
#[allow(unsafe_code)]
mod vm;

use std::sync::atomic::{AtomicBool, Ordering::*};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Parser, ValueEnum};

use image::VEC_BASE;
use report::{activity, print_activity, print_stat, ResultLine};
use tally::{Kind, Shared, LOST_MS};
use threads::Guest;

#[derive(Parser, Debug)]
#[command(about = "KVM irq_srcu stress with an exact interrupt tally")]
struct Args {
    /// Seconds to run the signallers and updaters.
    #[arg(long, default_value_t = 20)]
    secs: u64,
    /// How interrupts are received: by the running guest, or by polling the vCPU's local APIC (see the
    /// module documentation).
    #[arg(long, value_enum, default_value_t = Delivery::Guest)]
    delivery: Delivery,
    /// GSIs signalled through irqfds (KVM_IRQFD + eventfd write).
    #[arg(long, default_value_t = 3)]
    irqfd_gsis: u32,
    /// GSIs driven with KVM_IRQ_LINE.
    #[arg(long, default_value_t = 2)]
    line_gsis: u32,
    /// GSIs whose irqfd is assigned, signalled once and deassigned in a loop.
    #[arg(long, default_value_t = 2)]
    churn_gsis: u32,
    /// Threads installing each routing generation concurrently (KVM_SET_GSI_ROUTING).
    #[arg(long, default_value_t = 3)]
    updaters: usize,
    /// Pause between routing generations, microseconds (lets signals be judged).
    #[arg(long, default_value_t = 2000)]
    update_gap_us: u64,
    /// Probe the local APIC when a signal has been outstanding this long (milliseconds); see `repair_apic`.
    #[arg(long, default_value_t = 2000)]
    probe_after_ms: u64,
    /// Halfway through, make one interrupt look like a lost injection (IRR to ISR without its handler running):
    /// the repair must recover it, and with `--no-apic-repair` the run must fail (checks the probe itself).
    /// With `--delivery polled`: the poller clears one pending vector unreported, and the run must fail.
    #[arg(long)]
    simulate_lost_injection: bool,
    /// Only report (do not repair) an interrupt the local APIC accepted whose handler never ran.
    #[arg(long)]
    no_apic_repair: bool,
    /// A signal that has not arrived this many milliseconds after the later of its send and the end of the
    /// load is lost.
    #[arg(long, default_value_t = 15000)]
    lost_ms: u64,
}

/// Who receives the interrupts (see the module documentation).
#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
pub(crate) enum Delivery {
    /// The vCPU runs the guest, which reports each vector with a port write.
    Guest,
    /// The vCPU never runs; a poller reads and clears IRR with `KVM_GET_LAPIC`/`KVM_SET_LAPIC`.
    Polled,
}

fn main() {
    match run() {
        Ok(pass) => std::process::exit(if pass { 0 } else { 1 }),
        Err(e) => {
            println!(
                "KVM_IRQ_STRESS: result=ERROR error=\"{}\"",
                format!("{e:#}").replace('"', "'")
            );
            std::process::exit(2);
        }
    }
}

fn run() -> Result<bool> {
    let args = Args::parse();
    LOST_MS.store(args.lost_ms, Relaxed);
    let ngsi = args.irqfd_gsis + args.line_gsis + args.churn_gsis;
    if ngsi == 0 || ngsi > 16 {
        bail!("need 1..=16 GSIs in total, got {ngsi}");
    }
    // Vectors 0x30..0xF0 are shared out between the GSIs; each GSI cycles through its own.
    let per_gsi = (0xF0 - VEC_BASE) / ngsi;
    if per_gsi < 2 {
        bail!("too many GSIs for the vector space");
    }
    let (vm, vcpu, initial_sregs) = vm::create()?;
    let setup = tally::Setup {
        irqfd_gsis: args.irqfd_gsis,
        line_gsis: args.line_gsis,
        churn_gsis: args.churn_gsis,
        probe_after_ms: args.probe_after_ms,
        repair: !args.no_apic_repair,
        delivery: args.delivery,
    };
    let sh = Arc::new(Shared::new(vm, per_gsi, &setup));
    // The VM's KVM debugfs directory (KVM's own counters) and, on the srcu_rs kernel, the proof counters of
    // its irq_srcu (readers and grace periods): srcu_rs's debugfs file, which kvm_init_irq_srcu() names as
    // the VM's directory.
    let vm_name = format!(
        "{}-{}",
        std::process::id(),
        std::os::fd::AsRawFd::as_raw_fd(&sh.vm)
    );
    let vm_dir = format!("/sys/kernel/debug/kvm/{vm_name}");
    let stat_path = format!("/sys/kernel/debug/srcu_rs/kvm-{vm_name}");
    let stat_before = print_stat("before", &stat_path);
    let activity_before = activity(&vm_dir);
    // Generation 0.
    sh.vm
        .set_gsi_routing(&sh.routing_table(0)?)
        .context("KVM_SET_GSI_ROUTING (generation 0)")?;
    sh.routing_ioctls.fetch_add(1, Relaxed);

    let guest = Guest {
        ok: Arc::new(AtomicBool::new(true)),
        ready: Arc::new(AtomicBool::new(false)),
    };
    let receiver = threads::spawn_receiver(vcpu, &sh, initial_sregs, &guest)?;
    // An interrupt sent before the guest has software-enabled its local APIC is dropped: wait for the guest.
    let t0 = Instant::now();
    while !guest.ready.load(SeqCst) {
        if !guest.ok.load(SeqCst) || t0.elapsed() > Duration::from_secs(30) {
            bail!("guest did not start (no ready port write, or the APIC poller did not enable the APIC, in 30 s)");
        }
        thread::sleep(Duration::from_millis(1));
    }

    let start = Instant::now();
    let end = start + Duration::from_secs(args.secs);
    sh.load_end_us
        .store((end - sh.epoch).as_micros() as u64, Relaxed);
    let mut handles = threads::spawn_signallers(&sh, end)?;
    let gap = Duration::from_micros(args.update_gap_us);
    handles.extend(threads::spawn_updaters(&sh, args.updaters, end, gap)?);
    threads::watch(
        &sh,
        &handles,
        &receiver,
        &guest.ok,
        args.simulate_lost_injection,
        args.secs,
        start,
    );
    for h in handles {
        let _ = h.join();
    }
    // Late or duplicate arrivals show up here.
    thread::sleep(Duration::from_millis(500));

    let stat_after = print_stat("after", &stat_path);
    let line = result_line(&sh, &args, start, ngsi, stat_before.zip(stat_after));
    print_activity(&activity_before, &activity(&vm_dir), line.signals);
    println!("{line}");
    Ok(line.pass)
}

/// The tally over every GSI (a GSI whose arrivals do not match its sends is a mismatch, and noted) and the
/// run's counters. `stat` holds the `irq_srcu` counters before and after, when the VM's domain has the file.
fn result_line(
    sh: &Shared,
    args: &Args,
    start: Instant,
    ngsi: u32,
    stat: Option<((u64, u64), (u64, u64))>,
) -> ResultLine {
    let mut sent_by = [0u64; 3];
    let (mut judged, mut transitional, mut arrived) = (0u64, 0u64, 0u64);
    let mut mismatch = 0u64;
    for g in &sh.gsis {
        let s = g.sent.load(Relaxed);
        let a = g.arrival.lock().unwrap().count;
        sent_by[g.kind as usize] += s;
        judged += g.judged.load(Relaxed);
        transitional += g.transitional.load(Relaxed);
        arrived += a;
        if a != s {
            mismatch += 1;
            sh.note(format!(
                "gsi {} ({:?}): sent {s}, arrived {a}",
                g.gsi, g.kind
            ));
        }
    }
    let e = &sh.errors;
    let errors = e.lost.load(Relaxed)
        + e.duplicate.load(Relaxed)
        + e.wrong_vector.load(Relaxed)
        + e.unexpected.load(Relaxed)
        + e.guest_fault.load(Relaxed)
        + e.ioctl.load(Relaxed)
        + mismatch;
    let gens = sh.routing_generations.load(Relaxed);
    let (srcu_readers, srcu_grace_periods) = match stat {
        Some((b, a)) => (
            a.0.wrapping_sub(b.0).to_string(),
            a.1.wrapping_sub(b.1).to_string(),
        ),
        None => ("none".to_string(), "none".to_string()),
    };
    // A run that exercised nothing is not a pass.
    let exercised = judged > 0 && (args.updaters == 0 || gens > 0);
    let load = |c: &std::sync::atomic::AtomicU64| c.load(Relaxed);
    ResultLine {
        pass: errors == 0 && exercised,
        delivery: match args.delivery {
            Delivery::Guest => "guest",
            Delivery::Polled => "polled",
        },
        secs: start.elapsed().as_secs_f64(),
        signals: sent_by.iter().sum(),
        arrived,
        judged,
        transitional,
        irqfd_signals: sent_by[Kind::Irqfd as usize],
        irq_line_signals: sent_by[Kind::Line as usize],
        churn_signals: sent_by[Kind::Churn as usize],
        routing_generations: gens,
        routing_ioctls: load(&sh.routing_ioctls),
        irqfd_assign: load(&sh.irqfd_assign),
        irqfd_deassign: load(&sh.irqfd_deassign),
        irqfd_close: load(&sh.irqfd_close),
        vcpu_exits: load(&sh.vcpu_exits),
        spurious: load(&sh.spurious),
        lost: load(&e.lost),
        duplicate: load(&e.duplicate),
        wrong_vector: load(&e.wrong_vector),
        unexpected: load(&e.unexpected),
        guest_fault: load(&e.guest_fault),
        ioctl_errors: load(&e.ioctl),
        tally_mismatch: mismatch,
        gsis: ngsi as u64,
        updaters: args.updaters as u64,
        max_wait_ms: load(&sh.max_wait_us) / 1000,
        starved: load(&sh.starved),
        apic_probes: load(&sh.apic_probes),
        apic_stuck: load(&sh.apic_stuck),
        vcpu_restored: load(&sh.vcpu_restored),
        halted_pending: load(&sh.halted_pending),
        isr_requeued: load(&sh.isr_requeued),
        isr_cleared: load(&sh.isr_cleared),
        reinjected: load(&sh.reinjected),
        apic_polls: load(&sh.polls),
        apic_polls_found: load(&sh.polls_found),
        srcu_readers,
        srcu_grace_periods,
    }
}
