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

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::*};
use std::sync::{Arc, Barrier, Condvar, Mutex, RwLock};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Parser, ValueEnum};
use kvm_bindings::{
    kvm_irq_routing_entry, kvm_segment, kvm_userspace_memory_region, KvmIrqRouting,
    KVM_IRQ_ROUTING_MSI, KVM_MAX_CPUID_ENTRIES, KVM_MP_STATE_HALTED,
};
use kvm_ioctls::{Kvm, VcpuExit, VmFd};
use vmm_sys_util::eventfd::EventFd;
use vmm_sys_util::signal::{register_signal_handler, Killable, SIGRTMIN};

/// Set once a signal is lost: the vCPU thread prints the vCPU and local APIC state.
static DUMP: AtomicBool = AtomicBool::new(false);

extern "C" fn kick_handler(_: libc::c_int, _: *mut libc::siginfo_t, _: *mut libc::c_void) {}

/// IRR/ISR vectors, TPR/PPR, mp_state and rip of the vCPU.
fn vcpu_state(vcpu: &kvm_ioctls::VcpuFd) -> String {
    let bits = |regs: &[libc::c_char], base: usize| -> Vec<String> {
        apic_bits(regs, base)
            .iter()
            .map(|v| format!("{v:#x}"))
            .collect()
    };
    let lapic = match vcpu.get_lapic() {
        Ok(l) => {
            let r = &l.regs[..];
            let word = |o: usize| apic_word(r, o);
            format!(
                "IRR [{}] ISR [{}] TPR {:#x} PPR {:#x} SVR {:#x}",
                bits(r, 0x200).join(" "),
                bits(r, 0x100).join(" "),
                word(0x80),
                word(0xA0),
                word(0xF0)
            )
        }
        Err(e) => format!("KVM_GET_LAPIC: {e}"),
    };
    let mp = vcpu
        .get_mp_state()
        .map(|m| m.mp_state.to_string())
        .unwrap_or_else(|e| e.to_string());
    let rip = vcpu
        .get_regs()
        .map(|r| format!("{:#x}", r.rip))
        .unwrap_or_else(|e| e.to_string());
    format!("{lapic} mp_state {mp} rip {rip}")
}

/// Set by the main thread before it kicks the vCPU thread out of `KVM_RUN` to probe the local APIC.
static PROBE: AtomicBool = AtomicBool::new(false);
/// `--simulate-lost-injection`: set by the main thread; the vCPU thread moves a pending vector from IRR to ISR.
static SIMULATE: AtomicBool = AtomicBool::new(false);

/// Requests the main thread makes of the vCPU thread, served when a `SIGRTMIN` kick interrupts `KVM_RUN`.
fn kick_requests() -> impl Iterator<Item = &'static AtomicBool> {
    [&PROBE, &SIMULATE, &DUMP].into_iter()
}

/// Makes the first emulator failure `repair_apic` handles, on purpose: the highest pending vector goes from IRR
/// to ISR without its handler running (a lost injection). Returns false while nothing is pending.
fn simulate_lost_injection(vcpu: &kvm_ioctls::VcpuFd, sh: &Shared) -> bool {
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
fn apic_word(regs: &[libc::c_char], o: usize) -> u32 {
    u32::from_le_bytes([
        regs[o] as u8,
        regs[o + 1] as u8,
        regs[o + 2] as u8,
        regs[o + 3] as u8,
    ])
}

/// The vectors set in the 256-bit register (ISR, IRR, TMR) at byte offset `base`.
fn apic_bits(regs: &[libc::c_char], base: usize) -> Vec<u32> {
    (0..256u32)
        .filter(|v| apic_word(regs, base + (*v as usize / 32) * 16) & (1 << (v % 32)) != 0)
        .collect()
}

fn apic_set_bit(regs: &mut [libc::c_char], base: usize, vector: u32, on: bool) {
    let o = base + (vector as usize / 32) * 16 + (vector as usize % 32) / 8;
    let m = 1u8 << (vector % 8);
    let b = regs[o] as u8;
    regs[o] = (if on { b | m } else { b & !m }) as libc::c_char;
}

const APIC_ISR: usize = 0x100;
const APIC_IRR: usize = 0x200;
const APIC_SVR: usize = 0xF0;

const MEM_SIZE: usize = 1 << 20;
/// Offset of the idle loop's `hlt` in the guest's main code (after the SVR write, the ready `out` and `sti`).
const IDLE_HLT: usize = 13;
const GDT: usize = 0x1000;
const IDT: usize = 0x2000;
const STUBS: usize = 0x3000;
const STUB_LEN: usize = 32;
const CODE: usize = 0x8000;
const STACK_TOP: u64 = 0xF000;
const PORT_VECTOR: u16 = 0x10;
const PORT_FAULT: u16 = 0x11;
const PORT_SPURIOUS: u16 = 0x12;
const PORT_READY: u16 = 0x13;
const VEC_BASE: u32 = 0x30;
const SPURIOUS_VECTOR: u8 = 0xFF;
const GSI_BASE: u32 = 32;

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
enum Delivery {
    /// The vCPU runs the guest, which reports each vector with a port write.
    Guest,
    /// The vCPU never runs; a poller reads and clears IRR with `KVM_GET_LAPIC`/`KVM_SET_LAPIC`.
    Polled,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Irqfd,
    Line,
    Churn,
}

/// Arrival state of one GSI, written by the vCPU thread.
#[derive(Default)]
struct Arrival {
    count: u64,
    vector: u32,
    seq: u64,
}

struct Gsi {
    index: u32,
    gsi: u32,
    kind: Kind,
    outstanding: AtomicBool,
    /// Microseconds after `Shared::epoch` of the outstanding signal's send.
    sent_at_us: AtomicU64,
    /// The routing sequence counter when the outstanding signal was sent.
    sent_seq: AtomicU64,
    arrival: Mutex<Arrival>,
    cv: Condvar,
    sent: AtomicU64,
    judged: AtomicU64,
    transitional: AtomicU64,
}

#[derive(Default)]
struct Errors {
    lost: AtomicU64,
    duplicate: AtomicU64,
    wrong_vector: AtomicU64,
    unexpected: AtomicU64,
    guest_fault: AtomicU64,
    ioctl: AtomicU64,
}

struct Shared {
    vm: VmFd,
    per_gsi: u32,
    gsis: Vec<Gsi>,
    /// Odd while a routing generation's ioctls are in flight; `seq / 2` is the current generation when even.
    seq: AtomicU64,
    stop: AtomicBool,
    errors: Errors,
    routing_generations: AtomicU64,
    routing_ioctls: AtomicU64,
    irqfd_assign: AtomicU64,
    irqfd_deassign: AtomicU64,
    irqfd_close: AtomicU64,
    spurious: AtomicU64,
    vcpu_exits: AtomicU64,
    samples: Mutex<Vec<String>>,
    /// Time base of `load_end_us`.
    epoch: Instant,
    /// When the signallers and updaters stop, microseconds after `epoch` (see `signal` for why lost is
    /// judged against it).
    load_end_us: AtomicU64,
    /// Longest time from a send to its arrival, microseconds.
    max_wait_us: AtomicU64,
    /// Signals that waited a second or more (starved behind higher vectors).
    starved: AtomicU64,
    /// APIC probes, and what they found and repaired (see `repair_apic`).
    apic_probes: AtomicU64,
    apic_stuck: AtomicU64,
    vcpu_restored: AtomicU64,
    halted_pending: AtomicU64,
    isr_requeued: AtomicU64,
    isr_cleared: AtomicU64,
    reinjected: AtomicU64,
    /// When (µs since `epoch`) the vCPU state was last restored; 0: never.
    restored_at_us: AtomicU64,
    probe_after_us: u64,
    repair: bool,
    delivery: Delivery,
    /// Held shared by every send, exclusively by the `polled` poller while it reads and rewrites the local APIC
    /// (`KVM_SET_LAPIC` would overwrite an IRR bit set in between). Sends still run concurrently with each other
    /// and with every updater.
    send_gate: RwLock<()>,
    /// `polled`: local APIC reads, and those that found a pending vector.
    polls: AtomicU64,
    polls_found: AtomicU64,
}

impl Shared {
    fn vector(&self, index: u32, generation: u64) -> u32 {
        VEC_BASE + index * self.per_gsi + (generation % self.per_gsi as u64) as u32
    }

    fn note(&self, msg: String) {
        let mut s = self.samples.lock().unwrap();
        if s.len() < 20 {
            eprintln!("kvm-irq-stress: {msg}");
            s.push(msg);
        }
    }

    fn routing_table(&self, generation: u64) -> Result<KvmIrqRouting> {
        let entries: Vec<kvm_irq_routing_entry> = self
            .gsis
            .iter()
            .map(|g| {
                let mut e = kvm_irq_routing_entry {
                    gsi: g.gsi,
                    type_: KVM_IRQ_ROUTING_MSI,
                    ..Default::default()
                };
                // Physical destination APIC 0, fixed delivery, edge.
                e.u.msi.address_lo = 0xFEE0_0000;
                e.u.msi.address_hi = 0;
                e.u.msi.data = self.vector(g.index, generation);
                e
            })
            .collect();
        KvmIrqRouting::from_entries(&entries).map_err(|e| anyhow::anyhow!("routing table: {e:?}"))
    }

    /// Vector `v` arrived (the guest reported it, or the poller found it in IRR): count it for its GSI and wake
    /// the GSI's signaller, which judges it.
    fn arrive(&self, v: u32) {
        let idx = v.checked_sub(VEC_BASE).map(|d| d / self.per_gsi);
        match idx.and_then(|i| self.gsis.get(i as usize)) {
            Some(g) => {
                let mut a = g.arrival.lock().unwrap();
                if !g.outstanding.swap(false, SeqCst) {
                    self.errors.duplicate.fetch_add(1, Relaxed);
                    self.note(format!(
                        "gsi {}: arrival on vector {v:#x} with nothing outstanding",
                        g.gsi
                    ));
                }
                a.count += 1;
                a.vector = v;
                a.seq = self.seq.load(SeqCst);
                drop(a);
                g.cv.notify_all();
            }
            None => {
                self.errors.unexpected.fetch_add(1, Relaxed);
                self.note(format!("arrival on unassigned vector {v:#x}"));
            }
        }
    }

    /// One signal on `g` under the one-outstanding rule, then the tally. Returns false to stop the thread.
    fn signal(&self, g: &Gsi, send: &dyn Fn() -> std::io::Result<()>) -> bool {
        let before = g.arrival.lock().unwrap().count;
        g.sent_at_us
            .store(self.epoch.elapsed().as_micros() as u64, SeqCst);
        g.outstanding.store(true, SeqCst);
        let s1 = self.seq.load(SeqCst);
        g.sent_seq.store(s1, SeqCst);
        let sent = {
            let _gate = self.send_gate.read().unwrap();
            send()
        };
        if let Err(e) = sent {
            self.errors.ioctl.fetch_add(1, Relaxed);
            self.note(format!("gsi {} ({:?}): send failed: {e}", g.gsi, g.kind));
            g.outstanding.store(false, SeqCst);
            return false;
        }
        g.sent.fetch_add(1, Relaxed);
        let sent_at = Instant::now();
        let lost = Duration::from_millis(LOST_MS.load(Relaxed));
        // The local APIC serves the highest pending vector first, so while the load runs a GSI with low
        // vectors can starve behind the others (each re-signals as soon as its interrupt arrives). A signal
        // is therefore lost only when it has not arrived `lost` after the later of its send and the end of
        // the load, when nothing competes with it any more.
        let load_end = self.epoch + Duration::from_micros(self.load_end_us.load(Relaxed));
        let deadline = sent_at.max(load_end) + lost;
        let mut a = g.arrival.lock().unwrap();
        while a.count == before {
            let now = Instant::now();
            if now >= deadline {
                self.errors.lost.fetch_add(1, Relaxed);
                self.note(format!(
                    "gsi {} ({:?}): signal lost (sent {:.1} s ago, seq {s1}; no arrival {:?} after the load ended)",
                    g.gsi,
                    g.kind,
                    sent_at.elapsed().as_secs_f64(),
                    lost
                ));
                return false;
            }
            a =
                g.cv.wait_timeout(a, (deadline - now).min(Duration::from_millis(100)))
                    .unwrap()
                    .0;
        }
        let waited = sent_at.elapsed().as_micros() as u64;
        self.max_wait_us.fetch_max(waited, Relaxed);
        if waited >= 1_000_000 {
            self.starved.fetch_add(1, Relaxed);
        }
        let (count, vector, s3) = (a.count, a.vector, a.seq);
        drop(a);
        if count != before + 1 {
            self.errors.duplicate.fetch_add(1, Relaxed);
            self.note(format!(
                "gsi {}: {} arrivals for one signal",
                g.gsi,
                count - before
            ));
        }
        if s1.is_multiple_of(2) && s1 == s3 {
            g.judged.fetch_add(1, Relaxed);
            let want = self.vector(g.index, s1 / 2);
            if vector != want {
                self.errors.wrong_vector.fetch_add(1, Relaxed);
                self.note(format!(
                    "gsi {} ({:?}) generation {}: arrived on vector {vector:#x}, route says {want:#x}",
                    g.gsi,
                    g.kind,
                    s1 / 2
                ));
            }
        } else {
            g.transitional.fetch_add(1, Relaxed);
            let (lo, hi) = (s1 / 2, s3.div_ceil(2));
            let ok = hi - lo + 1 >= self.per_gsi as u64
                || (lo..=hi).any(|k| self.vector(g.index, k) == vector);
            if !ok {
                self.errors.wrong_vector.fetch_add(1, Relaxed);
                self.note(format!(
                    "gsi {} ({:?}) generations {lo}..={hi}: arrived on vector {vector:#x}, not one of their routes",
                    g.gsi, g.kind
                ));
            }
        }
        true
    }
}

static LOST_MS: AtomicU64 = AtomicU64::new(15000);

fn guest_image() -> Vec<u8> {
    let mut m = vec![0u8; MEM_SIZE];
    // GDT: null, flat 32-bit code (0x08), flat 32-bit data (0x10).
    let gdt: [u64; 3] = [0, 0x00CF_9A00_0000_FFFF, 0x00CF_9200_0000_FFFF];
    for (i, d) in gdt.iter().enumerate() {
        m[GDT + i * 8..GDT + i * 8 + 8].copy_from_slice(&d.to_le_bytes());
    }
    for v in 0..256usize {
        let stub = STUBS + v * STUB_LEN;
        let code: Vec<u8> = if v < 32 {
            // exception: report it and stop
            vec![
                0xB0,
                v as u8,
                0xE6,
                PORT_FAULT as u8,
                0xFA,
                0xF4,
                0xEB,
                0xFD,
            ]
        } else if v == SPURIOUS_VECTOR as usize {
            // spurious: report, no EOI
            vec![0x50, 0xB0, v as u8, 0xE6, PORT_SPURIOUS as u8, 0x58, 0xCF]
        } else {
            // EOI first, then report: once the host sees the port write the vector is no longer in service,
            // so an in-service bit with the vCPU idle always means a handler that never ran (see
            // `repair_apic`).
            let mut c = vec![0x50]; // push eax
            c.extend_from_slice(&[0xC7, 0x05, 0xB0, 0x00, 0xE0, 0xFE, 0, 0, 0, 0]); // mov dword [EOI], 0
            c.extend_from_slice(&[0xB0, v as u8, 0xE6, PORT_VECTOR as u8]); // mov al,v; out 0x10,al
            c.extend_from_slice(&[0x58, 0xCF]); // pop eax; iretd
            c
        };
        m[stub..stub + code.len()].copy_from_slice(&code);
        // 32-bit interrupt gate, selector 0x08, DPL 0, present.
        let off = stub as u32;
        let gate: u64 = (off as u64 & 0xFFFF)
            | (0x08u64 << 16)
            | (0x8Eu64 << 40)
            | (((off as u64) >> 16) << 48);
        m[IDT + v * 8..IDT + v * 8 + 8].copy_from_slice(&gate.to_le_bytes());
    }
    // mov dword [0xFEE000F0], 0x1FF (APIC SVR: software enable, spurious vector 0xFF); out 0x13, al (ready);
    // sti; 1: hlt; jmp 1b
    let main = [
        0xC7,
        0x05,
        0xF0,
        0x00,
        0xE0,
        0xFE,
        0xFF,
        0x01,
        0x00,
        0x00,
        0xE6,
        PORT_READY as u8,
        0xFB,
        0xF4,
        0xEB,
        0xFD,
    ];
    m[CODE..CODE + main.len()].copy_from_slice(&main);
    m
}

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
fn repair_apic(vcpu: &kvm_ioctls::VcpuFd, sh: &Shared, initial_sregs: &kvm_bindings::kvm_sregs) {
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

/// `polled` delivery: plays the guest's part on the local APIC of a vCPU that never runs (see the module
/// documentation). Software-enables the APIC, sets `ready`, then reports and clears IRR bits for ever; returns
/// only when the APIC cannot be read or written, or finds a vector in service (nothing can accept one).
///
/// With `SIMULATE` set (`--simulate-lost-injection`), it clears one pending vector without reporting it: a
/// lost interrupt, which the tally must fail on.
fn poll_apic(vcpu: &kvm_ioctls::VcpuFd, sh: &Shared, ready: &AtomicBool) -> Result<()> {
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

/// Reads the VM's `irq_srcu` debugfs file (`readers=N grace_periods=M`, present only on a kernel whose
/// `kvm->irq_srcu` runs on srcu_rs), prints it as `SRCU_RS_STAT <when> kvm/irq_srcu: ...` (or
/// `SRCU_RS_STAT <when> none`) and returns the two numbers.
fn print_stat(when: &str, path: &str) -> Option<(u64, u64)> {
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
const KVM_STATS: &[&str] = &[
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
fn activity(vm_dir: &str) -> BTreeMap<String, u64> {
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
fn print_activity(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>, signals: u64) {
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

fn seg(selector: u16, type_: u8) -> kvm_segment {
    kvm_segment {
        base: 0,
        limit: 0xFFFF_FFFF,
        selector,
        type_,
        present: 1,
        dpl: 0,
        db: 1,
        s: 1,
        l: 0,
        g: 1,
        avl: 0,
        unusable: 0,
        padding: 0,
    }
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

    let kvm = Kvm::new().context("open /dev/kvm")?;
    let vm = kvm.create_vm().context("KVM_CREATE_VM")?;
    vm.create_irq_chip().context("KVM_CREATE_IRQCHIP")?;

    // Guest memory.
    let image = guest_image();
    // SAFETY: anonymous private mapping of MEM_SIZE bytes, checked below; it lives until the process exits.
    let mem = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            MEM_SIZE,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if mem == libc::MAP_FAILED {
        bail!("mmap guest memory: {}", std::io::Error::last_os_error());
    }
    // SAFETY: `mem` is a fresh writable mapping of MEM_SIZE bytes.
    unsafe { std::ptr::copy_nonoverlapping(image.as_ptr(), mem as *mut u8, MEM_SIZE) };
    let region = kvm_userspace_memory_region {
        slot: 0,
        flags: 0,
        guest_phys_addr: 0,
        memory_size: MEM_SIZE as u64,
        userspace_addr: mem as u64,
    };
    // SAFETY: the region maps memory we own for the life of the process.
    unsafe { vm.set_user_memory_region(region) }.context("KVM_SET_USER_MEMORY_REGION")?;

    let mut vcpu = vm.create_vcpu(0).context("KVM_CREATE_VCPU")?;
    let cpuid = kvm
        .get_supported_cpuid(KVM_MAX_CPUID_ENTRIES)
        .context("KVM_GET_SUPPORTED_CPUID")?;
    vcpu.set_cpuid2(&cpuid).context("KVM_SET_CPUID2")?;
    let mut sregs = vcpu.get_sregs().context("KVM_GET_SREGS")?;
    sregs.cs = seg(0x08, 0xB);
    let data = seg(0x10, 0x3);
    sregs.ds = data;
    sregs.es = data;
    sregs.fs = data;
    sregs.gs = data;
    sregs.ss = data;
    sregs.gdt.base = GDT as u64;
    sregs.gdt.limit = 3 * 8 - 1;
    sregs.idt.base = IDT as u64;
    sregs.idt.limit = 256 * 8 - 1;
    sregs.cr0 |= 1; // PE
    vcpu.set_sregs(&sregs).context("KVM_SET_SREGS")?;
    let initial_sregs = sregs;
    let mut regs = vcpu.get_regs().context("KVM_GET_REGS")?;
    regs.rip = CODE as u64;
    regs.rsp = STACK_TOP;
    regs.rflags = 2;
    vcpu.set_regs(&regs).context("KVM_SET_REGS")?;

    let mut gsis = Vec::new();
    for i in 0..ngsi {
        let kind = if i < args.irqfd_gsis {
            Kind::Irqfd
        } else if i < args.irqfd_gsis + args.line_gsis {
            Kind::Line
        } else {
            Kind::Churn
        };
        gsis.push(Gsi {
            index: i,
            gsi: GSI_BASE + i,
            kind,
            outstanding: AtomicBool::new(false),
            sent_at_us: AtomicU64::new(0),
            sent_seq: AtomicU64::new(0),
            arrival: Mutex::new(Arrival::default()),
            cv: Condvar::new(),
            sent: AtomicU64::new(0),
            judged: AtomicU64::new(0),
            transitional: AtomicU64::new(0),
        });
    }
    let sh = Arc::new(Shared {
        vm,
        per_gsi,
        gsis,
        seq: AtomicU64::new(0),
        stop: AtomicBool::new(false),
        errors: Errors::default(),
        routing_generations: AtomicU64::new(0),
        routing_ioctls: AtomicU64::new(0),
        irqfd_assign: AtomicU64::new(0),
        irqfd_deassign: AtomicU64::new(0),
        irqfd_close: AtomicU64::new(0),
        spurious: AtomicU64::new(0),
        vcpu_exits: AtomicU64::new(0),
        samples: Mutex::new(Vec::new()),
        epoch: Instant::now(),
        load_end_us: AtomicU64::new(0),
        max_wait_us: AtomicU64::new(0),
        starved: AtomicU64::new(0),
        apic_probes: AtomicU64::new(0),
        apic_stuck: AtomicU64::new(0),
        vcpu_restored: AtomicU64::new(0),
        halted_pending: AtomicU64::new(0),
        isr_requeued: AtomicU64::new(0),
        isr_cleared: AtomicU64::new(0),
        reinjected: AtomicU64::new(0),
        restored_at_us: AtomicU64::new(0),
        probe_after_us: args.probe_after_ms * 1000,
        repair: !args.no_apic_repair,
        delivery: args.delivery,
        send_gate: RwLock::new(()),
        polls: AtomicU64::new(0),
        polls_found: AtomicU64::new(0),
    });
    // Proof counters: the VM's irq_srcu readers and grace periods (the srcu_rs series' per-VM debugfs file).
    // The VM's KVM debugfs directory: KVM's own counters, and on the srcu_rs kernel the `irq_srcu` file.
    let vm_dir = format!(
        "/sys/kernel/debug/kvm/{}-{}",
        std::process::id(),
        std::os::fd::AsRawFd::as_raw_fd(&sh.vm)
    );
    let stat_path = format!("{vm_dir}/irq_srcu");
    let stat_before = print_stat("before", &stat_path);
    let activity_before = activity(&vm_dir);
    // Generation 0.
    sh.vm
        .set_gsi_routing(&sh.routing_table(0)?)
        .context("KVM_SET_GSI_ROUTING (generation 0)")?;
    sh.routing_ioctls.fetch_add(1, Relaxed);

    // vCPU thread: it never returns; the process exits under it.
    let guest_ok = Arc::new(AtomicBool::new(true));
    let guest_ready = Arc::new(AtomicBool::new(false));
    // On the first lost signal the main thread kicks the vCPU out of KVM_RUN with a signal and the vCPU thread
    // prints the local APIC's IRR/ISR, to tell a stuck guest (an ISR bit never EOIed) from a lost injection.
    register_signal_handler(SIGRTMIN(), kick_handler)
        .map_err(|e| anyhow::anyhow!("signal handler: {e}"))?;
    let vcpu_thread = if args.delivery == Delivery::Polled {
        let guest_ready = guest_ready.clone();
        let sh = sh.clone();
        let guest_ok = guest_ok.clone();
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
        let guest_ready = guest_ready.clone();
        let sh = sh.clone();
        let guest_ok = guest_ok.clone();
        thread::Builder::new()
            .name("vcpu0".into())
            .spawn(move || loop {
                let exit = vcpu.run();
                sh.vcpu_exits.fetch_add(1, Relaxed);
                if matches!(exit, Ok(VcpuExit::Shutdown)) {
                    // A triple fault of a vCPU whose state the emulator replaced with L1's (see `repair_apic`)
                    // is repaired like the halted form; any other is fatal.
                    let before = sh.vcpu_restored.load(Relaxed);
                    sh.note("vCPU exit Shutdown (triple fault): probing its state".into());
                    repair_apic(&vcpu, &sh, &initial_sregs);
                    if sh.repair && sh.vcpu_restored.load(Relaxed) > before {
                        continue;
                    }
                    sh.errors.guest_fault.fetch_add(1, Relaxed);
                    sh.note(format!("unexpected vCPU exit Shutdown: {}", vcpu_state(&vcpu)));
                    guest_ok.store(false, SeqCst);
                    return;
                }
                // Kicked out of KVM_RUN by the main thread: serve what it asked for (see `kick_requests`).
                if matches!(&exit, Err(e) if e.errno() == libc::EINTR) {
                    if SIMULATE.load(SeqCst) && simulate_lost_injection(&vcpu, &sh) {
                        SIMULATE.store(false, SeqCst);
                    }
                    if PROBE.swap(false, SeqCst) {
                        repair_apic(&vcpu, &sh, &initial_sregs);
                    }
                    if DUMP.swap(false, SeqCst) {
                        println!("kvm-irq-stress: vCPU state at the lost signal: {}", vcpu_state(&vcpu));
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
                            format!("rip={:#x} rsp={:#x} rflags={:#x} rax={:#x}", r.rip, r.rsp, r.rflags, r.rax)
                        });
                        let sregs = vcpu.get_sregs().map(|s| {
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
            })?
    };

    // An interrupt sent before the guest has software-enabled its local APIC is dropped: wait for the guest.
    let t0 = Instant::now();
    while !guest_ready.load(SeqCst) {
        if !guest_ok.load(SeqCst) || t0.elapsed() > Duration::from_secs(30) {
            bail!("guest did not start (no ready port write, or the APIC poller did not enable the APIC, in 30 s)");
        }
        thread::sleep(Duration::from_millis(1));
    }

    // Irqfd GSIs: one eventfd each, bound once.
    let mut handles = Vec::new();
    let start = Instant::now();
    let end = start + Duration::from_secs(args.secs);
    sh.load_end_us
        .store((end - sh.epoch).as_micros() as u64, Relaxed);
    for i in 0..ngsi as usize {
        let sh = sh.clone();
        let kind = sh.gsis[i].kind;
        let name = format!("{kind:?}-{}", sh.gsis[i].gsi).to_lowercase();
        handles.push(thread::Builder::new().name(name).spawn(move || {
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
        })?);
    }

    // Routing updaters: `updaters` threads install each generation at once.
    let barrier = Arc::new(Barrier::new(args.updaters.max(1)));
    for u in 0..args.updaters {
        let sh = sh.clone();
        let barrier = barrier.clone();
        let gap = Duration::from_micros(args.update_gap_us);
        handles.push(
            thread::Builder::new()
                .name(format!("routing-{u}"))
                .spawn(move || {
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
                                    .compare_exchange(
                                        2 * generation - 1,
                                        2 * generation,
                                        SeqCst,
                                        SeqCst,
                                    )
                                    .is_ok()
                                {
                                    sh.routing_generations.fetch_add(1, Relaxed);
                                }
                            }
                            Err(e) => {
                                sh.errors.ioctl.fetch_add(1, Relaxed);
                                sh.note(format!(
                                    "KVM_SET_GSI_ROUTING generation {generation}: {e}"
                                ));
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
                })?,
        );
    }

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
        if args.simulate_lost_injection
            && !simulated
            && start.elapsed() >= Duration::from_secs(args.secs / 2)
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
            let _ = vcpu_thread.kill(SIGRTMIN());
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
    for h in handles {
        let _ = h.join();
    }
    // Late or duplicate arrivals show up here.
    thread::sleep(Duration::from_millis(500));

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
    let sent: u64 = sent_by.iter().sum();
    let gens = sh.routing_generations.load(Relaxed);
    let stat_after = print_stat("after", &stat_path);
    print_activity(&activity_before, &activity(&vm_dir), sent);
    let (srcu_readers, srcu_gps) = match (stat_before, stat_after) {
        (Some(b), Some(a)) => (
            format!("{}", a.0.wrapping_sub(b.0)),
            format!("{}", a.1.wrapping_sub(b.1)),
        ),
        _ => ("none".to_string(), "none".to_string()),
    };
    // A run that exercised nothing is not a pass.
    let exercised = judged > 0 && (args.updaters == 0 || gens > 0);
    let pass = errors == 0 && exercised;
    println!(
        "KVM_IRQ_STRESS: result={} delivery={} secs={:.1} signals={sent} arrived={arrived} judged={judged} transitional={transitional} \
         irqfd_signals={} irq_line_signals={} churn_signals={} routing_generations={gens} routing_ioctls={} \
         irqfd_assign={} irqfd_deassign={} irqfd_close={} vcpu_exits={} spurious={} lost={} duplicate={} \
         wrong_vector={} unexpected={} guest_fault={} ioctl_errors={} tally_mismatch={mismatch} gsis={ngsi} \
         updaters={} max_wait_ms={} starved={} apic_probes={} apic_stuck={} vcpu_restored={} halted_pending={} isr_requeued={} isr_cleared={} reinjected={} apic_polls={} apic_polls_found={} srcu_readers={srcu_readers} srcu_grace_periods={srcu_gps}",
        if pass { "PASS" } else { "FAIL" },
        args.delivery.to_possible_value().map(|v| v.get_name().to_string()).unwrap_or_default(),
        start.elapsed().as_secs_f64(),
        sent_by[Kind::Irqfd as usize],
        sent_by[Kind::Line as usize],
        sent_by[Kind::Churn as usize],
        sh.routing_ioctls.load(Relaxed),
        sh.irqfd_assign.load(Relaxed),
        sh.irqfd_deassign.load(Relaxed),
        sh.irqfd_close.load(Relaxed),
        sh.vcpu_exits.load(Relaxed),
        sh.spurious.load(Relaxed),
        e.lost.load(Relaxed),
        e.duplicate.load(Relaxed),
        e.wrong_vector.load(Relaxed),
        e.unexpected.load(Relaxed),
        e.guest_fault.load(Relaxed),
        e.ioctl.load(Relaxed),
        args.updaters,
        sh.max_wait_us.load(Relaxed) / 1000,
        sh.starved.load(Relaxed),
        sh.apic_probes.load(Relaxed),
        sh.apic_stuck.load(Relaxed),
        sh.vcpu_restored.load(Relaxed),
        sh.halted_pending.load(Relaxed),
        sh.isr_requeued.load(Relaxed),
        sh.isr_cleared.load(Relaxed),
        sh.reinjected.load(Relaxed),
        sh.polls.load(Relaxed),
        sh.polls_found.load(Relaxed),
    );
    Ok(pass)
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
