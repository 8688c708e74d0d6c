// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! The exact tally: per-GSI send and arrival state, the routing sequence counter, the error counters, and the
//! one-outstanding signal protocol (`Shared::signal`) that judges every arrival.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::*};
use std::sync::{Condvar, Mutex, RwLock};
use std::time::{Duration, Instant};

use anyhow::Result;
use kvm_bindings::{kvm_irq_routing_entry, KvmIrqRouting, KVM_IRQ_ROUTING_MSI};
use kvm_ioctls::VmFd;

use crate::image::{GSI_BASE, VEC_BASE};
use crate::Delivery;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    Irqfd,
    Line,
    Churn,
}

/// Arrival state of one GSI, written by the vCPU thread.
#[derive(Default)]
pub(crate) struct Arrival {
    pub(crate) count: u64,
    pub(crate) vector: u32,
    pub(crate) seq: u64,
}

pub(crate) struct Gsi {
    pub(crate) index: u32,
    pub(crate) gsi: u32,
    pub(crate) kind: Kind,
    pub(crate) outstanding: AtomicBool,
    /// Microseconds after `Shared::epoch` of the outstanding signal's send.
    pub(crate) sent_at_us: AtomicU64,
    /// The routing sequence counter when the outstanding signal was sent.
    pub(crate) sent_seq: AtomicU64,
    pub(crate) arrival: Mutex<Arrival>,
    pub(crate) cv: Condvar,
    pub(crate) sent: AtomicU64,
    pub(crate) judged: AtomicU64,
    pub(crate) transitional: AtomicU64,
}

#[derive(Default)]
pub(crate) struct Errors {
    pub(crate) lost: AtomicU64,
    pub(crate) duplicate: AtomicU64,
    pub(crate) wrong_vector: AtomicU64,
    pub(crate) unexpected: AtomicU64,
    pub(crate) guest_fault: AtomicU64,
    pub(crate) ioctl: AtomicU64,
}

pub(crate) struct Shared {
    pub(crate) vm: VmFd,
    pub(crate) per_gsi: u32,
    pub(crate) gsis: Vec<Gsi>,
    /// Odd while a routing generation's ioctls are in flight; `seq / 2` is the current generation when even.
    pub(crate) seq: AtomicU64,
    pub(crate) stop: AtomicBool,
    pub(crate) errors: Errors,
    pub(crate) routing_generations: AtomicU64,
    pub(crate) routing_ioctls: AtomicU64,
    pub(crate) irqfd_assign: AtomicU64,
    pub(crate) irqfd_deassign: AtomicU64,
    pub(crate) irqfd_close: AtomicU64,
    pub(crate) spurious: AtomicU64,
    pub(crate) vcpu_exits: AtomicU64,
    pub(crate) samples: Mutex<Vec<String>>,
    /// Time base of `load_end_us`.
    pub(crate) epoch: Instant,
    /// When the signallers and updaters stop, microseconds after `epoch` (see `signal` for why lost is
    /// judged against it).
    pub(crate) load_end_us: AtomicU64,
    /// Longest time from a send to its arrival, microseconds.
    pub(crate) max_wait_us: AtomicU64,
    /// Signals that waited a second or more (starved behind higher vectors).
    pub(crate) starved: AtomicU64,
    /// APIC probes, and what they found and repaired (see `repair_apic`).
    pub(crate) apic_probes: AtomicU64,
    pub(crate) apic_stuck: AtomicU64,
    pub(crate) vcpu_restored: AtomicU64,
    pub(crate) halted_pending: AtomicU64,
    pub(crate) isr_requeued: AtomicU64,
    pub(crate) isr_cleared: AtomicU64,
    pub(crate) reinjected: AtomicU64,
    /// When (µs since `epoch`) the vCPU state was last restored; 0: never.
    pub(crate) restored_at_us: AtomicU64,
    pub(crate) probe_after_us: u64,
    pub(crate) repair: bool,
    pub(crate) delivery: Delivery,
    /// Held shared by every send, exclusively by the `polled` poller while it reads and rewrites the local APIC
    /// (`KVM_SET_LAPIC` would overwrite an IRR bit set in between). Sends still run concurrently with each other
    /// and with every updater.
    pub(crate) send_gate: RwLock<()>,
    /// `polled`: local APIC reads, and those that found a pending vector.
    pub(crate) polls: AtomicU64,
    pub(crate) polls_found: AtomicU64,
}

impl Shared {
    pub(crate) fn vector(&self, index: u32, generation: u64) -> u32 {
        VEC_BASE + index * self.per_gsi + (generation % self.per_gsi as u64) as u32
    }

    pub(crate) fn note(&self, msg: String) {
        let mut s = self.samples.lock().unwrap();
        if s.len() < 20 {
            eprintln!("kvm-irq-stress: {msg}");
            s.push(msg);
        }
    }

    pub(crate) fn routing_table(&self, generation: u64) -> Result<KvmIrqRouting> {
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
    pub(crate) fn arrive(&self, v: u32) {
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
    pub(crate) fn signal(&self, g: &Gsi, send: &dyn Fn() -> std::io::Result<()>) -> bool {
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

pub(crate) static LOST_MS: AtomicU64 = AtomicU64::new(15000);

impl Gsi {
    fn new(index: u32, kind: Kind) -> Gsi {
        Gsi {
            index,
            gsi: GSI_BASE + index,
            kind,
            outstanding: AtomicBool::new(false),
            sent_at_us: AtomicU64::new(0),
            sent_seq: AtomicU64::new(0),
            arrival: Mutex::new(Arrival::default()),
            cv: Condvar::new(),
            sent: AtomicU64::new(0),
            judged: AtomicU64::new(0),
            transitional: AtomicU64::new(0),
        }
    }
}

/// How the tested GSIs are made up, and how the receiver treats them (from the command line).
pub(crate) struct Setup {
    pub(crate) irqfd_gsis: u32,
    pub(crate) line_gsis: u32,
    pub(crate) churn_gsis: u32,
    pub(crate) probe_after_ms: u64,
    pub(crate) repair: bool,
    pub(crate) delivery: Delivery,
}

impl Shared {
    /// The tally for `vm`: GSIs `GSI_BASE..`, irqfd ones first, then `KVM_IRQ_LINE`, then churned; each gets
    /// `per_gsi` vectors of its own.
    pub(crate) fn new(vm: VmFd, per_gsi: u32, s: &Setup) -> Shared {
        let ngsi = s.irqfd_gsis + s.line_gsis + s.churn_gsis;
        let gsis = (0..ngsi)
            .map(|i| {
                let kind = if i < s.irqfd_gsis {
                    Kind::Irqfd
                } else if i < s.irqfd_gsis + s.line_gsis {
                    Kind::Line
                } else {
                    Kind::Churn
                };
                Gsi::new(i, kind)
            })
            .collect();
        Shared {
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
            probe_after_us: s.probe_after_ms * 1000,
            repair: s.repair,
            delivery: s.delivery,
            send_gate: RwLock::new(()),
            polls: AtomicU64::new(0),
            polls_found: AtomicU64::new(0),
        }
    }
}
