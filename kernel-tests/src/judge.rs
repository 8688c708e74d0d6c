// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! One boot and its judgement: QEMU run with the boot's budget, the console split into phases, one row per
//! phase (plus the boot, guest and outer-VM rows), and the verdicts that read several rows (a broken variant
//! caught or not, kvm-unit-tests stock vs patched).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;

use crate::guest::{self, BootOutcome};
use crate::host;
use crate::plan::{
    self, Boot, BrokenCheck, CaughtBy, Layout, Phase, PhaseParams, HANDOFF_TORTURE_TYPE,
};
use crate::progress::Progress;
use crate::report::{self, Judged, PhaseLog, Row, Status};

/// What every boot shares: the QEMU binary, where files go, the user's extra QEMU arguments.
pub struct BootEnv<'a> {
    pub qemu: &'a Path,
    pub layout: &'a Layout,
    pub qemu_args: &'a str,
}

pub struct BootResult {
    pub rows: Vec<Row>,
    pub secs: f64,
    /// QEMU logged a triple fault of the outer VM (L1) itself: see `Job::boot_once_more_after_triple_fault`.
    pub triple_fault: bool,
    pub refscale: Option<BTreeMap<String, Vec<f64>>>,
    /// The KVM stress result line's fields, per stress phase (`kvmpoll`, `kvmstress`).
    pub stress: BTreeMap<String, BTreeMap<String, String>>,
    pub kut: Option<BTreeMap<String, (String, f64)>>,
}

/// The console and the files of one finished boot, as the judges read them.
struct Console<'a> {
    boot: &'a Boot,
    outcome: BootOutcome,
    clog: PathBuf,
    qlog: PathBuf,
    secs: f64,
}

/// Boots `b` with `initrd` and judges what its console shows.
pub fn boot_and_judge(
    p: &mut Progress,
    env: &BootEnv,
    b: &Boot,
    initrd: &Path,
) -> Result<BootResult> {
    let name = format!("boot+tests {}", b.name());
    p.begin(&name);
    let t = Instant::now();
    let clog = env.layout.console_log(b);
    let qlog = env.layout.qemu_log(b);
    let _ = fs::remove_file(&qlog);
    let image = env.layout.image(b.kernel);
    let cmd = plan::qemu_command(
        env.qemu,
        b.kernel.spec().arch,
        b,
        &image,
        initrd,
        &qlog,
        env.qemu_args,
    );
    let k = b.name();
    let pr = &*p;
    let mut cur = String::from("booting");
    let outcome = guest::boot(cmd, b.budget, &clog, &mut |l| {
        if let Some(i) = l.find("SRCUTEST: BEGIN ") {
            cur = l[i + 16..].trim().to_string();
            pr.say(&format!("{k}: {cur} ..."));
        } else if let Some(i) = l.find("SRCUTEST: END ") {
            pr.say(&format!("{k}: {}", l[i + 14..].trim()));
        }
        pr.tick(&format!("{k} [{cur}] {l}"));
    })?;
    let c = Console {
        boot: b,
        outcome,
        clog,
        qlog,
        secs: t.elapsed().as_secs_f64(),
    };
    let result = judge(&c);
    p.end(&name, c.secs);
    Ok(result)
}

fn judge(c: &Console) -> BootResult {
    let (pre, phases) = report::split_phases(&c.outcome.console);
    let mut r = BootResult {
        rows: vec![boot_row(c, &pre)],
        secs: c.secs,
        triple_fault: false,
        refscale: None,
        stress: BTreeMap::new(),
        kut: None,
    };
    for ph in &c.boot.phases {
        phase_rows(c, *ph, phases.get(ph.name()), &mut r);
    }
    r.rows.extend(guest_row(c));
    r.rows.extend(kasan_row(c));
    r.triple_fault = fs::read_to_string(&c.qlog)
        .map(|l| l.contains("Triple fault"))
        .unwrap_or(false);
    if r.triple_fault {
        r.rows.push(row(
            c,
            "outer VM",
            Status::Fail,
            c.secs,
            format!(
                "QEMU logged a triple fault of the outer VM (L1) itself: {}",
                c.qlog.display()
            ),
        ));
    }
    r
}

fn row(c: &Console, phase: &str, status: Status, secs: f64, detail: String) -> Row {
    Row {
        phase: phase.into(),
        kernel: c.boot.name(),
        status,
        secs,
        detail,
    }
}

/// The boot itself: /init started, two CPUs, /dev/kvm, and no kernel problem before the first phase (warnings
/// inside the KUnit suite's own run are judged by KUnit: a test may provoke one on purpose).
fn boot_row(c: &Console, pre: &[String]) -> Row {
    let console = &c.outcome.console;
    let online = console.lines().find_map(|l| {
        l.find("SRCUTEST: INFO cpus_online=")
            .map(|i| l[i..].to_string())
    });
    let cpus: u32 = online
        .as_deref()
        .and_then(|l| report::kv(l, "cpus_online"))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let kvm = online
        .as_deref()
        .and_then(|l| report::kv(l, "kvm"))
        .unwrap_or_default();
    let init_seen = console.contains("SRCUTEST: INIT");
    let (pre, kunit_warnings) = report::without_kunit_suite(pre, "srcu_rs");
    let problems = report::kernel_problems(&pre);
    let needs_kvm = c.boot.kernel.spec().arch.kvm;
    let ok = init_seen && cpus >= 2 && (kvm == "yes" || !needs_kvm) && problems.is_empty();
    let detail = if !init_seen {
        format!(
            "/init never started; last console lines:\n{}",
            host::tail_lines(&c.clog, 15)
        )
    } else {
        let mut d = if needs_kvm {
            format!("{cpus} CPUs online, /dev/kvm {kvm}")
        } else {
            format!("{cpus} CPUs online")
        };
        if kunit_warnings > 0 {
            d.push_str(&format!(
                "; {kunit_warnings} kernel warning(s) inside the KUnit srcu_rs run (judged by KUnit)"
            ));
        }
        if !problems.is_empty() {
            d.push_str(&format!("; kernel problems: {}", problems.join(" / ")));
        }
        d
    };
    row(
        c,
        "boot",
        if ok { Status::Pass } else { Status::Fail },
        0.0,
        detail,
    )
}

/// A phase's rows (one per rcutorture torture type; for the KVM stress, its srcu_rs counters row too).
fn phase_rows(c: &Console, ph: Phase, log: Option<&PhaseLog>, r: &mut BootResult) {
    let params = &c.boot.params;
    let labels = ph.labels(params);
    let Some(pl) = log else {
        let why = if c.outcome.timed_out {
            "not reached: guest killed at the timeout"
        } else {
            "not reached (guest died earlier)"
        };
        for label in &labels {
            r.rows.push(row(c, label, Status::Fail, 0.0, why.into()));
        }
        return;
    };
    if !pl.ended {
        if ph == Phase::Kut {
            // keep what finished; the test that was running when the guest died is marked DIED
            let mut k = report::kut_results(pl);
            if let Some(running) = report::kut_running(pl) {
                k.entry(running).or_insert(("DIED".into(), 0.0));
            }
            r.kut = Some(k);
        }
        let how = if c.outcome.timed_out {
            format!("guest hung: killed after {} s", c.boot.budget.as_secs())
        } else {
            "guest died".into()
        };
        let last: Vec<String> = pl.lines.iter().rev().take(8).rev().cloned().collect();
        let detail = format!("{how} during this phase; last lines: {}", last.join(" / "));
        for label in &labels {
            r.rows
                .push(row(c, label, Status::Fail, 0.0, detail.clone()));
        }
        return;
    }
    let judged = judge_phase(ph, params, pl, r);
    let problems = if ph == Phase::Objdebug {
        // the duplicate call_srcu_rs() is reported on purpose: its splats are what the phase checks
        report::kernel_problems(&report::without_duplicate_call_splats(&pl.lines))
    } else {
        report::kernel_problems(&pl.lines)
    };
    for (label, mut j) in labels.iter().zip(judged) {
        if !problems.is_empty() {
            j.status = Status::Fail;
            j.detail = format!("kernel problems: {}; {}", problems.join(" / "), j.detail);
        }
        r.rows.push(row(c, label, j.status, pl.secs, j.detail));
    }
    if let Some(m) = r.stress.get(ph.name()) {
        // proof that the kernel runs on srcu_rs: the domain's counters across the stress
        let j = report::judge_proof(m, !c.boot.kernel.spec().patched());
        let phase = if ph == Phase::Kvmpoll {
            "srcu_rs counters (polled)"
        } else {
            "srcu_rs counters"
        };
        r.rows.push(row(c, phase, j.status, 0.0, j.detail));
    }
}

/// A finished phase's judges, one per row of [`Phase::labels`].
fn judge_phase(ph: Phase, params: &PhaseParams, pl: &PhaseLog, r: &mut BootResult) -> Vec<Judged> {
    let one = match ph {
        Phase::Kunit => {
            return vec![
                report::judge_kunit(pl, "srcu_rs"),
                report::judge_kunit_handoffs(pl),
            ]
        }
        Phase::Rcutorture => {
            return params
                .torture_types
                .iter()
                .flat_map(|t| {
                    let mut v = vec![report::judge_rcutorture(pl, t)];
                    if *t == HANDOFF_TORTURE_TYPE {
                        v.push(report::judge_rcutorture_handoffs(pl, t));
                    }
                    v
                })
                .collect()
        }
        Phase::Kvmstress | Phase::Kvmpoll => {
            let (j, m) = report::judge_kvmstress(pl);
            r.stress.insert(ph.name().to_string(), m);
            j
        }
        Phase::Notifier => report::judge_notifier(pl),
        Phase::Explat => report::judge_explat(pl),
        Phase::Lifetime => report::judge_lifetime(pl),
        Phase::Objdebug => report::judge_objdebug(pl),
        Phase::Refscale => {
            let runs = report::refscale_runs(pl);
            let enough = params.refscale_types.iter().all(|t| {
                runs.get(*t)
                    .is_some_and(|v| v.len() >= params.refscale_nruns as usize)
            });
            let detail = params
                .refscale_types
                .iter()
                .map(|t| match runs.get(*t) {
                    Some(v) => format!("{t}: {} runs, median {:.2} ns", v.len(), report::median(v)),
                    None => format!("{t}: no runs"),
                })
                .collect::<Vec<_>>()
                .join("; ");
            r.refscale = Some(runs);
            Judged {
                status: if enough && pl.rc == 0 {
                    Status::Info
                } else {
                    Status::Fail
                },
                detail,
            }
        }
        Phase::Kut => {
            let k = report::kut_results(pl);
            let detail = format!(
                "{} tests: {} pass",
                k.len(),
                k.values().filter(|v| v.0 == "PASS").count()
            );
            r.kut = Some(k);
            Judged {
                status: Status::Info,
                detail,
            }
        }
    };
    vec![one]
}

/// The KASAN row of a KASAN kernel's boot: every report on the whole console, the KUnit run's included (a
/// report from a work item is not KUnit's to judge: it fails no case).
fn kasan_row(c: &Console) -> Option<Row> {
    if !c.boot.kernel.spec().kasan() {
        return None;
    }
    let reports: Vec<&str> = c
        .outcome
        .console
        .lines()
        .filter(|l| l.contains("BUG: KASAN:"))
        .collect();
    let (status, detail) = match reports.first() {
        None => (Status::Pass, "no KASAN report on the console".to_string()),
        Some(first) => (
            Status::Fail,
            format!("{} report(s); first: {}", reports.len(), first.trim()),
        ),
    };
    Some(row(c, KASAN_ROW, status, 0.0, detail))
}

/// The phase column of [`kasan_row`].
const KASAN_ROW: &str = "KASAN reports";

/// The guest row: present only when the guest hung or did not reach DONE.
fn guest_row(c: &Console) -> Option<Row> {
    if c.outcome.timed_out {
        Some(row(
            c,
            "guest",
            Status::Fail,
            c.secs,
            format!(
                "hung: killed after {} s; log {}",
                c.boot.budget.as_secs(),
                c.clog.display()
            ),
        ))
    } else if !c.outcome.console.contains("SRCUTEST: DONE") {
        Some(row(
            c,
            "guest",
            Status::Fail,
            c.secs,
            format!(
                "did not reach DONE (qemu exit {:?}); log {}",
                c.outcome.exit,
                c.clog.display()
            ),
        ))
    } else {
        None
    }
}

/// The rows of a boot of a deliberately broken kernel: they are expected to fail, so they are evidence (INFO),
/// not the verdict, which is the "broken variant ... detected" row that follows them.
pub fn as_evidence(rows: Vec<Row>) -> impl Iterator<Item = Row> {
    rows.into_iter().map(|mut r| {
        if r.status == Status::Fail || r.status == Status::Pass {
            r.detail = format!("(expected to fail) {} {}", r.status.as_str(), r.detail);
            r.status = Status::Info;
        }
        r
    })
}

/// Whether the broken variant's boot caught it, and the verdict row's detail.
pub fn broken_verdict(check: &BrokenCheck, params: &PhaseParams, rows: &[Row]) -> (bool, String) {
    match check.caught_by {
        CaughtBy::FailedPhaseOrGuest(phases) => {
            let labels: Vec<String> = phases.iter().flat_map(|ph| ph.labels(params)).collect();
            let caught: Vec<String> = rows
                .iter()
                .filter(|r| {
                    r.status == Status::Fail && (r.phase == "guest" || labels.contains(&r.phase))
                })
                .map(|r| {
                    format!("{}: {}", r.phase, r.detail)
                        .chars()
                        .take(160)
                        .collect()
                })
                .collect();
            if caught.is_empty() {
                (
                    false,
                    format!(
                        "{} passed on a deliberately broken srcu_rs",
                        labels.join(", ")
                    ),
                )
            } else {
                (true, format!("caught by {}", caught.join(" | ")))
            }
        }
        CaughtBy::KunitCase(case) => kunit_case_verdict(rows, case),
        CaughtBy::MemoryReport(phases) => memory_report_verdict(rows, &phases.iter().flat_map(|ph| ph.labels(params)).collect::<Vec<_>>()),
    }
}

/// Caught by a KASAN report anywhere, or by a kernel problem inside one of the `labels` rows or a dead guest.
fn memory_report_verdict(rows: &[Row], labels: &[String]) -> (bool, String) {
    let short = |r: &Row| format!("{}: {}", r.phase, r.detail.chars().take(200).collect::<String>());
    if let Some(r) = rows.iter().find(|r| r.phase == KASAN_ROW && r.status == Status::Fail) {
        return (true, format!("caught by {}", short(r)));
    }
    let problem = rows.iter().find(|r| {
        r.status == Status::Fail
            && (r.phase == "guest"
                || (labels.contains(&r.phase)
                    && (r.detail.starts_with("kernel problems:") || r.detail.starts_with("guest "))))
    });
    match problem {
        Some(r) => (true, format!("caught by {}", short(r))),
        None => (
            false,
            format!(
                "no KASAN report, and no kernel problem in {} on a deliberately broken srcu_rs",
                labels.join(", ")
            ),
        ),
    }
}

/// Caught only when KUnit reports `case` as failed (`not ok N <case>`): a guest that died, or another case
/// failing, does not count.
fn kunit_case_verdict(rows: &[Row], case: &str) -> (bool, String) {
    let kunit = rows.iter().find(|r| r.phase == "KUnit srcu_rs");
    match kunit {
        Some(r)
            if r.status == Status::Fail
                && r.detail.split("; ").any(|c| {
                    c.starts_with("not ok ") && c.split_whitespace().nth(3) == Some(case)
                }) =>
        {
            (
                true,
                format!(
                    "caught by KUnit {case}: {}",
                    r.detail.chars().take(200).collect::<String>()
                ),
            )
        }
        Some(r) => (
            false,
            format!(
                "KUnit {case} did not fail on a deliberately broken srcu_rs: {} {}",
                r.status.as_str(),
                r.detail
            ),
        ),
        None => (false, "no KUnit row".into()),
    }
}

/// One kvm-unit-tests test, stock vs patched: a FAIL only when it passes on stock and not on patched.
pub fn kut_row(name: &str, stock: Option<&(String, f64)>, patched: Option<&(String, f64)>) -> Row {
    let spass = stock.map(|x| x.0 == "PASS");
    let ppass = patched.map(|x| x.0.starts_with("PASS"));
    let status = match (spass, ppass) {
        (Some(true), Some(false)) => Status::Fail,
        (_, Some(true)) | (Some(true), None) => Status::Pass,
        // fails on stock already: a diff only
        (Some(false), Some(false)) | (Some(false), None) | (None, Some(false)) => Status::Info,
        _ => Status::Skip,
    };
    let shown = |r: Option<&(String, f64)>| r.map(|x| x.0.clone()).unwrap_or("not run".into());
    Row {
        phase: format!("kvm-unit-tests {name}"),
        kernel: "stock vs patched".into(),
        status,
        secs: patched.or(stock).map(|x| x.1).unwrap_or(0.0),
        detail: format!("stock {} / patched {}", shown(stock), shown(patched)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::NMI_CASE;

    fn kunit_row(status: Status, detail: &str) -> Row {
        Row {
            phase: "KUnit srcu_rs".into(),
            kernel: "patched-generic-broken".into(),
            status,
            secs: 0.0,
            detail: detail.into(),
        }
    }

    #[test]
    fn generic_broken_needs_the_nmi_case() {
        let caught = kunit_row(
            Status::Fail,
            "pass:7 fail:1 skip:0; not ok 8 srcu_rs_test_nmi_readers",
        );
        assert!(kunit_case_verdict(&[caught], NMI_CASE).0);
        let other = kunit_row(
            Status::Fail,
            "pass:7 fail:1 skip:0; not ok 7 srcu_rs_test_early_boot",
        );
        assert!(!kunit_case_verdict(&[other], NMI_CASE).0);
        let passed = kunit_row(Status::Pass, "pass:8 fail:0 skip:0");
        assert!(!kunit_case_verdict(&[passed], NMI_CASE).0);
        assert!(!kunit_case_verdict(&[], NMI_CASE).0);
    }

    #[test]
    fn broken_grace_period_is_caught_by_its_phases_only() {
        let o = crate::plan::Options::defaults(true);
        let plan = crate::plan::Plan::resolve(&o).unwrap();
        let b = plan
            .boots
            .iter()
            .find(|b| b.name() == "patched-broken")
            .unwrap();
        let crate::plan::Purpose::Broken(check) = &b.purpose else {
            panic!()
        };
        let fail = |phase: &str| Row {
            phase: phase.into(),
            kernel: "patched-broken".into(),
            status: Status::Fail,
            secs: 0.0,
            detail: "x".into(),
        };
        assert!(broken_verdict(check, &b.params, &[fail("rcutorture srcu_rs 60s")]).0);
        assert!(broken_verdict(check, &b.params, &[fail("KVM irq stress, polled APIC 30s")]).0);
        assert!(broken_verdict(check, &b.params, &[fail("guest")]).0);
        assert!(!broken_verdict(check, &b.params, &[fail("boot")]).0);
    }

    #[test]
    fn shim_faults_are_caught_by_memory_reports_only() {
        let r = |phase: &str, status: Status, detail: &str| Row {
            phase: phase.into(),
            kernel: "patched-kasan-shim-fault2".into(),
            status,
            secs: 0.0,
            detail: detail.into(),
        };
        let labels = vec!["srcu_rs module lifetime (2 unloads, work pending)".to_string()];
        let lifetime = |status, detail| r(&labels[0], status, detail);
        let kasan_fail = r(KASAN_ROW, Status::Fail, "1 report(s); first: BUG: KASAN: slab-use-after-free");
        let kasan_pass = r(KASAN_ROW, Status::Pass, "no KASAN report on the console");
        assert!(memory_report_verdict(&[kasan_fail], &labels).0);
        let corrupt = lifetime(Status::Fail, "kernel problems: [ 9.1] WARNING: CPU: 0 PID: 9 at lib/list_debug.c:32");
        assert!(memory_report_verdict(&[kasan_pass.clone(), corrupt], &labels).0);
        // the notifier's message missing is the phase's own expectation, not a memory-safety report
        let quiet = lifetime(Status::Fail, "2/2 loads PASS; ... torn down 0/2 times; rc=0");
        assert!(!memory_report_verdict(&[kasan_pass.clone(), quiet], &labels).0);
        assert!(memory_report_verdict(&[kasan_pass, r("guest", Status::Fail, "hung")], &labels).0);
    }

    #[test]
    fn kut_stock_vs_patched() {
        let pass = ("PASS".to_string(), 1.0);
        let fail = ("FAIL".to_string(), 1.0);
        assert_eq!(kut_row("a", Some(&pass), Some(&fail)).status, Status::Fail);
        assert_eq!(kut_row("a", Some(&fail), Some(&fail)).status, Status::Info);
        assert_eq!(kut_row("a", Some(&pass), Some(&pass)).status, Status::Pass);
        assert_eq!(kut_row("a", None, None).status, Status::Skip);
    }
}
