// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! Reading the guest console (phase markers, KUnit, rcutorture, KVM stress, notifier test, refscale, proof
//! counters, kvm-unit-tests) and writing the results table, JSON and JUnit XML.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Status {
    #[serde(rename = "PASS")]
    Pass,
    #[serde(rename = "FAIL")]
    Fail,
    /// not run here (e.g. not asked for, or no kvm-unit-tests tree)
    #[serde(rename = "SKIP")]
    Skip,
    /// the thing measured does not exist (e.g. srcu_rs counters on the stock kernel): never a pass
    #[serde(rename = "N/A")]
    NotAvailable,
    #[serde(rename = "INFO")]
    Info,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Skip => "SKIP",
            Status::NotAvailable => "N/A",
            Status::Info => "INFO",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub phase: String,
    pub kernel: String,
    pub status: Status,
    pub secs: f64,
    pub detail: String,
}

/// One phase's slice of the console, between `SRCUTEST: BEGIN x` and `SRCUTEST: END x rc= secs=`.
#[derive(Debug, Default, Clone)]
pub struct PhaseLog {
    pub lines: Vec<String>,
    pub ended: bool,
    pub rc: i32,
    pub secs: f64,
}

pub fn split_phases(console: &str) -> (Vec<String>, BTreeMap<String, PhaseLog>) {
    let mut pre = Vec::new();
    let mut phases: BTreeMap<String, PhaseLog> = BTreeMap::new();
    let mut cur: Option<String> = None;
    for l in console.lines() {
        if let Some(i) = l.find("SRCUTEST: BEGIN ") {
            let name = l[i + 16..].trim().to_string();
            phases.insert(name.clone(), PhaseLog::default());
            cur = Some(name);
            continue;
        }
        if let Some(i) = l.find("SRCUTEST: END ") {
            let rest = &l[i + 14..];
            let name = rest.split_whitespace().next().unwrap_or("").to_string();
            if let Some(p) = phases.get_mut(&name) {
                p.ended = true;
                p.rc = kv(rest, "rc").and_then(|v| v.parse().ok()).unwrap_or(-1);
                p.secs = kv(rest, "secs").and_then(|v| v.parse().ok()).unwrap_or(0.0);
            }
            cur = None;
            continue;
        }
        match &cur {
            Some(n) => phases.get_mut(n).unwrap().lines.push(l.to_string()),
            None => pre.push(l.to_string()),
        }
    }
    (pre, phases)
}

/// `key=value` from a line of space-separated pairs.
pub fn kv(line: &str, key: &str) -> Option<String> {
    line.split_whitespace().find_map(|w| {
        w.strip_prefix(&format!("{key}="))
            .map(|v| v.trim_matches('"').to_string())
    })
}

/// Kernel warnings, oopses, panics and stalls.
pub fn kernel_problems(lines: &[String]) -> Vec<String> {
    const PAT: &[&str] = &[
        "BUG:",
        "WARNING:",
        "Oops",
        "Kernel panic",
        "general protection fault",
        "detected stall",
        "self-detected stall",
        "UBSAN:",
        "KASAN:",
        "hung_task",
        "blocked for more than",
        "Call Trace:",
    ];
    // Not problems: arch/x86/kernel/cpu/bugs.c's boot notices about the CPU's speculation mitigations
    // (`... WARNING: See https://kernel.org/doc/html/latest/admin-guide/hw-vuln/srso.html ...`), printed for the
    // emulated EPYC's missing microcode on the stock and the patched kernel alike when they are built with the
    // mitigations fragment. A WARN() splat reads `WARNING: CPU: ...`.
    // And arch/powerpc/kernel/nvram_64.c's notice about the pseries NVRAM QEMU gives a guest booted with its
    // Virtual Open Firmware (`x-vof=on`): all zeroes, which SLOF would have formatted.
    const NOTICES: &[&str] = &[
        "kernel.org/doc/html/latest/admin-guide/hw-vuln/",
        "WARNING: nvram corruption detected: 0-length partition",
    ];
    lines
        .iter()
        .filter(|l| PAT.iter().any(|p| l.contains(p)) && !NOTICES.iter().any(|n| l.contains(n)))
        .take(10)
        .cloned()
        .collect()
}

/// The boot log without the KUnit `suite` block (from its `# Subtest:` header to its `ok`/`not ok` line), and how
/// many kernel warnings that block held.
pub fn without_kunit_suite(lines: &[String], suite: &str) -> (Vec<String>, usize) {
    let start = lines.iter().position(|l| {
        body(l).trim_start().starts_with("# Subtest:") && body(l).trim_end().ends_with(suite)
    });
    let Some(start) = start else {
        return (lines.to_vec(), 0);
    };
    let end = lines[start..]
        .iter()
        .position(|l| {
            let b = body(l);
            !b.starts_with(' ')
                && (b.starts_with("ok ") || b.starts_with("not ok "))
                && b.trim_end().ends_with(suite)
        })
        .map(|e| start + e)
        .unwrap_or(lines.len() - 1);
    let warnings = lines[start..=end]
        .iter()
        .filter(|l| l.contains("WARNING:") || l.contains("BUG:"))
        .count();
    let mut out = lines[..start].to_vec();
    out.extend_from_slice(&lines[end + 1..]);
    (out, warnings)
}

/// Strips the `[    1.234567] ` printk prefix.
fn body(l: &str) -> &str {
    if l.starts_with('[') {
        if let Some(i) = l.find("] ") {
            return &l[i + 2..];
        }
    }
    l
}

pub struct Judged {
    pub status: Status,
    pub detail: String,
}

pub fn judge_kunit(p: &PhaseLog, suite: &str) -> Judged {
    let lines: Vec<&str> = p
        .lines
        .iter()
        .filter_map(|l| l.strip_prefix("KUNIT: "))
        .collect();
    let top = lines.iter().find(|l| {
        let t = l.trim_start();
        (t.starts_with("ok ") || t.starts_with("not ok "))
            && t.split_whitespace()
                .nth(if t.starts_with("ok") { 2 } else { 3 })
                == Some(suite)
    });
    let (mut pass, mut fail, mut skip) = (0, 0, 0);
    let mut in_suite = false;
    let mut failed = Vec::new();
    // a case that could not show what it tests skips with `# SKIP INCONCLUSIVE: <why>`: never a pass
    let mut inconclusive = Vec::new();
    // what a case measured, worth keeping in the row (the NMI readers case's system resets on powerpc, the
    // concurrent updaters' calls/s and scans against in-tree SRCU, the expedited latencies)
    const FIGURE_MARKERS: [&str; 3] = [
        ": system resets:",
        ": srcu_rs calls=",
        ": expedited no readers:",
    ];
    let mut figures = Vec::new();
    for l in &lines {
        let t = l.trim();
        // a suite's own header is indented once; parameterised cases nest their own "# Subtest:" deeper
        if t.starts_with("# Subtest:") && l.starts_with("    #") {
            in_suite = t.trim_start_matches("# Subtest:").trim() == suite;
        }
        if in_suite && t.starts_with("# ") && FIGURE_MARKERS.iter().any(|m| t.contains(m)) {
            figures.push(t.trim_start_matches("# ").to_string());
        }
        if in_suite && l.starts_with("    ") {
            if t.starts_with("ok ") {
                if t.contains("# SKIP INCONCLUSIVE") {
                    skip += 1;
                    inconclusive.push(t.to_string());
                } else if t.contains("# SKIP") {
                    skip += 1
                } else {
                    pass += 1
                }
            } else if t.starts_with("not ok ") {
                fail += 1;
                failed.push(t.to_string());
            }
        }
    }
    let figures = if figures.is_empty() {
        String::new()
    } else {
        format!("; {}", figures.join("; "))
    };
    match top {
        None => Judged {
            status: Status::Fail,
            detail: format!("KUnit suite `{suite}` did not run (not in the boot log)"),
        },
        Some(t) if t.trim_start().starts_with("not ok") || fail > 0 => Judged {
            status: Status::Fail,
            detail: format!(
                "pass:{pass} fail:{fail} skip:{skip}; {}{figures}",
                failed.join("; ")
            ),
        },
        Some(_) if pass == 0 => Judged {
            status: Status::Fail,
            detail: format!("no test case passed (skip:{skip})"),
        },
        Some(_) if !inconclusive.is_empty() => Judged {
            status: Status::Info,
            detail: format!(
                "INCONCLUSIVE: pass:{pass} fail:0 skip:{skip}; {}{figures}",
                inconclusive.join("; ")
            ),
        },
        Some(_) => Judged {
            status: Status::Pass,
            detail: format!("pass:{pass} fail:0 skip:{skip}{figures}"),
        },
    }
}

pub fn judge_rcutorture(p: &PhaseLog, torture_type: &str) -> Judged {
    let end = p
        .lines
        .iter()
        .rev()
        .find(|l| l.contains(&format!("{torture_type}-torture:--- End of test:")));
    let pipe = p
        .lines
        .iter()
        .rev()
        // rcutorture prefixes the line with "!!! " when the pipe shows an error
        .find(|l| l.contains(&format!("{torture_type}-torture:")) && l.contains("Reader Pipe:"));
    let pipe_vals: Vec<u64> = pipe
        .map(|l| {
            l.split("Reader Pipe:")
                .nth(1)
                .unwrap_or("")
                .split_whitespace()
                .filter_map(|w| w.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    let beyond1: u64 = pipe_vals.iter().skip(2).sum();
    let readers: u64 = pipe_vals.iter().sum();
    let rtc = p
        .lines
        .iter()
        .rev()
        .find(|l| l.contains(&format!("{torture_type}-torture: rtc:")));
    let gps = rtc
        .and_then(|l| {
            l.split_whitespace()
                .skip_while(|w| *w != "VER:")
                .nth(1)
                .map(str::to_string)
        })
        .unwrap_or_default();
    let detail = format!(
        "Reader Pipe [{}] (beyond 1: {beyond1}), {readers} reader passes, {gps} grace-period versions",
        pipe_vals.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(" ")
    );
    match end {
        None => Judged {
            status: Status::Fail,
            detail: format!("no `End of test` line for {torture_type}; {detail}"),
        },
        Some(l) if !l.contains("End of test: SUCCESS") => Judged {
            status: Status::Fail,
            detail: format!("{}; {detail}", body(l)),
        },
        Some(_) if pipe_vals.is_empty() => Judged {
            status: Status::Fail,
            detail: "no Reader Pipe line".into(),
        },
        Some(_) if beyond1 > 0 => Judged {
            status: Status::Fail,
            detail: format!("Reader Pipe entries beyond 1; {detail}"),
        },
        Some(_) => Judged {
            status: Status::Pass,
            detail: format!("SUCCESS; {detail}"),
        },
    }
}

/// The KUnit `srcu_rs_down_read()` hand-off cases, one per context pair, with the line each prints:
/// (case, context pair in its `hand-off <pair>:` line).
const KUNIT_HANDOFFS: [(&str, &str); 3] = [
    ("srcu_rs_test_updown_task", "task_to_task"),
    ("srcu_rs_test_updown_hardirq", "task_to_hardirq"),
    ("srcu_rs_test_updown_nmi", "nmi_to_task"),
];

/// The KUnit hand-off row: each case passed with every section handed off ended where it was handed, no reader
/// index left unbalanced and a grace period ended after the last `srcu_rs_up_read()`. A case that skipped (the
/// NMI one where this architecture has no NMI hand-off) makes the row INFO, never PASS.
pub fn judge_kunit_handoffs(p: &PhaseLog) -> Judged {
    let lines: Vec<&str> = p
        .lines
        .iter()
        .filter_map(|l| l.strip_prefix("KUNIT: "))
        .map(str::trim)
        .collect();
    let (mut bad, mut skipped, mut shown) = (Vec::new(), Vec::new(), Vec::new());
    for (case, pair) in KUNIT_HANDOFFS {
        let result = lines.iter().find(|t| {
            let mut w = t.split_whitespace();
            let first = w.next();
            let name = if first == Some("not") {
                w.nth(2)
            } else {
                w.nth(1)
            };
            (first == Some("ok") || first == Some("not")) && name == Some(case)
        });
        let figures = lines
            .iter()
            .find_map(|t| t.split_once(&format!(": hand-off {pair}: ")).map(|x| x.1));
        let num = |k: &str| {
            figures
                .and_then(|f| kv(f, k))
                .and_then(|v| v.parse::<i64>().ok())
        };
        match result {
            None => bad.push(format!("{case}: did not run")),
            Some(t) if t.starts_with("not ok") => bad.push(format!(
                "{case}: failed ({pair} {})",
                figures.unwrap_or("no figures")
            )),
            Some(t) if t.contains("# SKIP") => skipped.push(format!(
                "{pair} skipped ({})",
                t.split("# SKIP").nth(1).unwrap_or("").trim()
            )),
            Some(_) => {
                let handed = num("handed").unwrap_or(0);
                let ok = handed > 0
                    && num("ended") == Some(handed)
                    && num("ended_there") == Some(handed)
                    && num("index0_held") == Some(0)
                    && num("index1_held") == Some(0)
                    && num("gp_ended") == Some(1);
                let f = format!("{pair} {}", figures.unwrap_or("no figures"));
                if ok {
                    shown.push(f)
                } else {
                    bad.push(f)
                }
            }
        }
    }
    let detail = shown
        .iter()
        .chain(&skipped)
        .chain(&bad)
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    let status = if !bad.is_empty() {
        Status::Fail
    } else if !skipped.is_empty() {
        Status::Info
    } else {
        Status::Pass
    };
    Judged { status, detail }
}

/// The row of rcutorture's hand-off readers (`srcu_rs_updown=1`): sections were handed both to the up kthread
/// and to the hrtimer, every one was ended there, and none in the wrong context. Their pipe counts are in the
/// torture type's own Reader Pipe row.
pub fn judge_rcutorture_handoffs(p: &PhaseLog, torture_type: &str) -> Judged {
    let line = p.lines.iter().rev().find_map(|l| {
        l.split_once(&format!(
            "{torture_type}-torture: srcu_rs up_read hand-offs: "
        ))
        .map(|x| x.1)
    });
    let Some(line) = line else {
        return Judged {
            status: Status::Fail,
            detail: format!("no `srcu_rs up_read hand-offs` line for {torture_type}"),
        };
    };
    let num = |k: &str| kv(line, k).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    let (to_task, to_irq) = (num("to_task"), num("to_hardirq"));
    let ok = to_task > 0
        && to_irq > 0
        && num("ended_by_task") == to_task
        && num("ended_by_hardirq") == to_irq
        && kv(line, "wrong_context").as_deref() == Some("0");
    Judged {
        status: if ok { Status::Pass } else { Status::Fail },
        detail: format!("{line} (pipe counts in the {torture_type} row's Reader Pipe)"),
    }
}

pub fn judge_kvmstress(p: &PhaseLog) -> (Judged, BTreeMap<String, String>) {
    let line = p
        .lines
        .iter()
        .rev()
        .find_map(|l| l.find("KVM_IRQ_STRESS: ").map(|i| l[i + 16..].to_string()));
    let Some(line) = line else {
        return (
            Judged {
                status: Status::Fail,
                detail: "no KVM_IRQ_STRESS result line".into(),
            },
            BTreeMap::new(),
        );
    };
    let mut m: BTreeMap<String, String> = line
        .split_whitespace()
        .filter_map(|w| {
            w.split_once('=')
                .map(|(a, b)| (a.to_string(), b.to_string()))
        })
        .collect();
    // What L1 did per signal (kvm-irq-stress's `activity`): nested exits and L1's own interrupts, to compare the
    // kernels' load on TCG's SVM emulation.
    let act = p.lines.iter().rev().find_map(|l| {
        l.find("KVM_IRQ_STRESS_ACTIVITY: ")
            .map(|i| l[i + 25..].to_string())
    });
    let mut per_signal = Vec::new();
    for w in act.as_deref().unwrap_or("").split_whitespace() {
        if let Some((k, v)) = w.split_once('=') {
            m.insert(format!("activity.{k}"), v.to_string());
            if let Some(name) = k.strip_suffix("_per_signal") {
                if [
                    "kvm.exits",
                    "kvm.irq_exits",
                    "l1.LOC",
                    "l1.RES",
                    "l1.CAL",
                    "l1.IWI",
                ]
                .contains(&name)
                {
                    per_signal.push(format!("{name} {v}"));
                }
            }
        }
    }
    let g = |k: &str| m.get(k).cloned().unwrap_or_default();
    // `polled`: no guest ran, so there was nothing to probe or repair; say how the APIC was read instead
    let receiver = if g("delivery") == "polled" {
        format!(
            "local APIC polled {} times, {} found vectors",
            g("apic_polls"),
            g("apic_polls_found")
        )
    } else {
        format!(
            "local APIC: {} stuck in-service found by {} probes ({} requeued, {} cleared), vCPU state restored {} times \
             ({} re-injected)",
            g("apic_stuck"),
            g("apic_probes"),
            g("isr_requeued"),
            g("isr_cleared"),
            g("vcpu_restored"),
            g("reinjected")
        )
    };
    let detail = format!(
        "signals {} = arrived {} (judged {}, transitional {}; irqfd {}, KVM_IRQ_LINE {}, churn {}), routing generations {} \
         ({} ioctls), irqfd assign {} / deassign {} / close {}, lost {} dup {} wrong-vector {}; max wait {} ms \
         ({} starved >= 1 s); {receiver}",
        g("signals"),
        g("arrived"),
        g("judged"),
        g("transitional"),
        g("irqfd_signals"),
        g("irq_line_signals"),
        g("churn_signals"),
        g("routing_generations"),
        g("routing_ioctls"),
        g("irqfd_assign"),
        g("irqfd_deassign"),
        g("irqfd_close"),
        g("lost"),
        g("duplicate"),
        g("wrong_vector"),
        g("max_wait_ms"),
        g("starved"),
    );
    let detail = if per_signal.is_empty() {
        detail
    } else {
        format!("{detail}; per signal: {}", per_signal.join(", "))
    };
    // Failures of TCG's SVM emulation that the program found and repaired (see kvm-irq-stress's
    // `repair_apic`): a run that still has errors after them says nothing about irq_srcu either way.
    let emulator: u64 = ["apic_stuck", "vcpu_restored", "reinjected"]
        .iter()
        .map(|k| g(k).parse::<u64>().unwrap_or(0))
        .sum();
    let (status, detail) = if g("result") == "PASS" && p.rc == 0 {
        (Status::Pass, detail)
    } else if g("result") == "ERROR" {
        (Status::Fail, format!("error: {}", line))
    } else if g("result") == "FAIL" && emulator > 0 {
        (
            Status::Info,
            format!("INCONCLUSIVE: the nested-SVM emulation failed under the load ({emulator} repairs); {detail}"),
        )
    } else {
        (Status::Fail, detail)
    };
    (Judged { status, detail }, m)
}

pub fn judge_notifier(p: &PhaseLog) -> Judged {
    let line = p.lines.iter().rev().find_map(|l| {
        l.find("srcu_notifier_test: result=")
            .map(|i| l[i + 20..].to_string())
    });
    match line {
        None => Judged {
            status: Status::Fail,
            detail: format!("no srcu_notifier_test result line (insmod rc={})", p.rc),
        },
        Some(l) => Judged {
            status: if kv(&l, "result").as_deref() == Some("PASS") && p.rc == 0 {
                Status::Pass
            } else {
                Status::Fail
            },
            detail: l.trim().to_string(),
        },
    }
}

/// The expedited-latency module's line (`srcu_explat_test: ... srcu_rs n=.. median_ns=.. p99_ns=.. srcu n=..
/// median_ns=.. p99_ns=.. ratio_median=.. ratio_p99=..`) and the routing churn that ran meanwhile (the stress's
/// `routing_generations`). A benchmark: INFO with the figures, FAIL only if the module or the stress did not run.
pub fn judge_explat(p: &PhaseLog) -> Judged {
    let find = |pat: &str| {
        p.lines
            .iter()
            .rev()
            .find_map(|l| l.find(pat).map(|i| l[i + pat.len()..].to_string()))
    };
    let Some(line) = find("srcu_explat_test: ") else {
        return Judged {
            status: Status::Fail,
            detail: format!("no srcu_explat_test line (rc={})", p.rc),
        };
    };
    // the line names two domains with the same keys: split it at each one's name
    let side = |name: &str| -> String {
        let s = line.split(&format!(" {name} ")).nth(1).unwrap_or("");
        let us = |k: &str| {
            kv(s, k)
                .and_then(|v| v.parse::<f64>().ok())
                .map_or("?".to_string(), |ns| format!("{:.1}", ns / 1000.0))
        };
        format!(
            "{name} median {} µs, p99 {} µs (n={})",
            us("median_ns"),
            us("p99_ns"),
            kv(s, "n").unwrap_or_else(|| "?".into())
        )
    };
    let churn = find("KVM_IRQ_STRESS: ")
        .and_then(|s| kv(&s, "routing_generations"))
        .unwrap_or_else(|| "?".into());
    Judged {
        status: if p.rc == 0 { Status::Info } else { Status::Fail },
        detail: format!(
            "{}; {}; ratio srcu_rs/srcu median {}, p99 {}; {churn} routing generations meanwhile",
            side("srcu_rs"),
            side("srcu"),
            kv(&line, "ratio_median").unwrap_or_else(|| "?".into()),
            kv(&line, "ratio_p99").unwrap_or_else(|| "?".into()),
        ),
    }
}

/// Lines of `p` that contain `pat`.
fn count(p: &PhaseLog, pat: &str) -> usize {
    p.lines.iter().filter(|l| l.contains(pat)).count()
}

/// The lifetime test module, loaded and unloaded twice: each load's result line PASS, each unload's exit line
/// (what it left pending), and srcu_rs's module notifier finishing and tearing down the module's domains each time.
pub fn judge_lifetime(p: &PhaseLog) -> Judged {
    const ROUNDS: usize = 2;
    const EXIT: &str = "srcu_rs_lifetime_test: exit pending=";
    let loaded = count(p, "srcu_rs_lifetime_test: result=PASS");
    let pending: Vec<String> = p
        .lines
        .iter()
        .filter_map(|l| l.find(EXIT).map(|i| l[i + EXIT.len()..].trim().to_string()))
        .collect();
    let torn_down = count(p, "module srcu_rs_lifetime_test: 2 static domain(s) finished and torn down");
    let ok = loaded == ROUNDS && pending.len() == ROUNDS && torn_down == ROUNDS && p.rc == 0;
    Judged {
        status: if ok { Status::Pass } else { Status::Fail },
        detail: format!(
            "{loaded}/{ROUNDS} loads PASS; unloads with pending (domain, notifier head) = {}; module notifier \
             finished and tore down both domains {torn_down}/{ROUNDS} times; rc={}",
            if pending.is_empty() { "none".into() } else { pending.join(" ") },
            p.rc
        ),
    }
}

/// rcutorture's duplicate call_srcu_rs() test (`object_debug=1`): call_srcu_rs() reported and leaked the duplicate,
/// the duplicate callback never ran, and rcutorture went on to a successful end.
pub fn judge_objdebug(p: &PhaseLog) -> Judged {
    let complete = count(p, "Duplicate call_srcu_rs() test complete") > 0;
    let leaked = count(p, "call_srcu_rs(): Leaked duplicate callback") > 0;
    let odebug = count(p, "object type: rcu_head") > 0;
    let invoked = count(p, "duplicated callback was invoked") > 0;
    let success = count(p, "End of test: SUCCESS") > 0;
    let ok = complete && leaked && !invoked && success && p.rc == 0;
    Judged {
        status: if ok { Status::Pass } else { Status::Fail },
        detail: format!(
            "duplicate reported and leaked: {}; debug-objects report: {}; duplicate invoked: {}; test complete: {}; \
             rcutorture SUCCESS: {}; rc={}",
            yes(leaked),
            yes(odebug),
            yes(invoked),
            yes(complete),
            yes(success),
            p.rc
        ),
    }
}

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// `lines` without the WARN splats (`[ cut here ]` to `---[ end trace`) of a duplicate call_srcu_rs(): its own
/// and debugobjects' report of the rcu_head, which the objdebug phase provokes on purpose.
pub fn without_duplicate_call_splats(lines: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].contains("[ cut here ]") {
            if let Some(e) = lines[i..].iter().position(|l| l.contains("---[ end trace")) {
                let block = &lines[i..=i + e];
                if block.iter().any(|l| {
                    l.contains("call_srcu_rs(): Leaked duplicate callback")
                        || l.contains("object type: rcu_head")
                }) {
                    i += e + 1;
                    continue;
                }
            }
        }
        out.push(lines[i].clone());
        i += 1;
    }
    out
}

/// refscale per type: the `Runs Time(ns)` table printed after END OF TEST.
pub fn refscale_runs(p: &PhaseLog) -> BTreeMap<String, Vec<f64>> {
    let mut out: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut cur: Option<String> = None;
    let mut in_table = false;
    for l in &p.lines {
        if let Some(i) = l.find("SRCUTEST: REFSCALE type=") {
            cur = Some(l[i + 24..].trim().to_string());
            in_table = false;
            continue;
        }
        let b = body(l);
        if b.starts_with("Runs\tTime(ns)") || b.starts_with("Runs Time(ns)") {
            in_table = true;
            continue;
        }
        if in_table {
            let w: Vec<&str> = b.split_whitespace().collect();
            if w.len() == 2 && w[0].parse::<u32>().is_ok() {
                if let (Some(t), Ok(v)) = (&cur, w[1].parse::<f64>()) {
                    out.entry(t.clone()).or_default().push(v);
                }
                continue;
            }
            in_table = false;
        }
    }
    out
}

pub fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

pub fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    if s.is_empty() {
        0.0
    } else if s.len() % 2 == 1 {
        s[s.len() / 2]
    } else {
        (s[s.len() / 2 - 1] + s[s.len() / 2]) / 2.0
    }
}

/// Proof that `kvm->irq_srcu` runs on srcu_rs: the counters of the VM's domain in srcu_rs's debugfs
/// (`srcu_rs/kvm-<pid>-<fd>`, registered by `kvm_init_irq_srcu()`), as deltas over the
/// stress run in its result line (`srcu_readers=`, `srcu_grace_periods=`, `none` when the file is absent).
/// On the patched kernel they must exist and grow in step with the stress: every signal takes the read lock
/// at least once (`irqfd_wakeup` or `kvm_set_irq`), and every routing generation needs a grace period of its
/// own (its updaters start only after the previous generation's returned). On the stock kernel they must be
/// absent.
pub fn judge_proof(stress: &BTreeMap<String, String>, stock: bool) -> Judged {
    let num = |k: &str| stress.get(k).and_then(|v| v.parse::<u64>().ok());
    let (readers, gps) = (num("srcu_readers"), num("srcu_grace_periods"));
    let (signals, gens) = (
        num("signals").unwrap_or(0),
        num("routing_generations").unwrap_or(0),
    );
    match (readers, gps) {
        (None, None) if stock => Judged {
            status: Status::Pass,
            detail: "absent, as expected on the stock kernel".into(),
        },
        (None, _) | (_, None) if !stock => Judged {
            status: Status::Fail,
            detail: "no srcu_rs debugfs counters for the VM's irq_srcu".into(),
        },
        (Some(r), Some(g)) if !stock => {
            let ok = r >= signals && g >= gens && r > 0 && g > 0;
            Judged {
                status: if ok { Status::Pass } else { Status::Fail },
                detail: format!(
                    "VM irq_srcu: {r} read-side locks for {signals} signals (needs >=), {g} grace periods for {gens} \
                     routing generations (needs >=)"
                ),
            }
        }
        _ => Judged {
            status: Status::Fail,
            detail: "srcu_rs counters present on the stock kernel".into(),
        },
    }
}

pub fn kut_results(p: &PhaseLog) -> BTreeMap<String, (String, f64)> {
    let mut m = BTreeMap::new();
    for l in &p.lines {
        if let Some(i) = l.find("SRCUTEST: KUT_RESULT ") {
            let r = &l[i..];
            if let (Some(n), Some(res)) = (kv(r, "name"), kv(r, "result")) {
                m.insert(
                    n,
                    (
                        res,
                        kv(r, "secs").and_then(|s| s.parse().ok()).unwrap_or(0.0),
                    ),
                );
            }
        }
    }
    m
}

/// The kvm-unit-tests test whose output was the last seen in a phase that never ended (the guest died in it).
pub fn kut_running(p: &PhaseLog) -> Option<String> {
    let done = kut_results(p);
    p.lines.iter().rev().find_map(|l| {
        let i = l.find("SRCUTEST: KUT_START ")?;
        let name = kv(&l[i..], "name")?;
        (!done.contains_key(&name)).then_some(name)
    })
}

pub fn table(rows: &[Row]) -> String {
    let mut s = String::new();
    let w0 = rows.iter().map(|r| r.phase.len()).max().unwrap_or(5).max(5);
    let w1 = rows
        .iter()
        .map(|r| r.kernel.len())
        .max()
        .unwrap_or(6)
        .max(6);
    let _ = writeln!(
        s,
        "| {:w0$} | {:w1$} | result | time (s) | detail |",
        "phase", "kernel"
    );
    let _ = writeln!(
        s,
        "|{}|{}|--------|----------|--------|",
        "-".repeat(w0 + 2),
        "-".repeat(w1 + 2)
    );
    for r in rows {
        let _ = writeln!(
            s,
            "| {:w0$} | {:w1$} | {:6} | {:>8} | {} |",
            r.phase,
            r.kernel,
            r.status.as_str(),
            if r.secs > 0.0 {
                format!("{:.1}", r.secs)
            } else {
                "".into()
            },
            r.detail.replace('|', "/")
        );
    }
    s
}

fn xml(s: &str) -> String {
    s.chars()
        .filter(|c| *c == '\n' || *c == '\t' || !c.is_control())
        .collect::<String>()
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub fn junit(rows: &[Row], total_secs: f64) -> String {
    let mut by_kernel: BTreeMap<&str, Vec<&Row>> = BTreeMap::new();
    for r in rows {
        by_kernel.entry(&r.kernel).or_default().push(r);
    }
    let fails = rows.iter().filter(|r| r.status == Status::Fail).count();
    let skips = rows
        .iter()
        .filter(|r| matches!(r.status, Status::Skip | Status::NotAvailable))
        .count();
    let mut s = String::new();
    let _ = writeln!(s, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    let _ = writeln!(
        s,
        "<testsuites name=\"srcu-rs-kernel-tests\" tests=\"{}\" failures=\"{fails}\" skipped=\"{skips}\" time=\"{total_secs:.1}\">",
        rows.len()
    );
    for (k, rs) in by_kernel {
        let f = rs.iter().filter(|r| r.status == Status::Fail).count();
        let sk = rs
            .iter()
            .filter(|r| matches!(r.status, Status::Skip | Status::NotAvailable))
            .count();
        let _ = writeln!(
            s,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{f}\" skipped=\"{sk}\">",
            xml(k),
            rs.len()
        );
        for r in rs {
            let _ = write!(
                s,
                "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.1}\"",
                xml(k),
                xml(&r.phase),
                r.secs
            );
            match r.status {
                Status::Fail => {
                    let _ = writeln!(
                        s,
                        ">\n      <failure message=\"{}\"/>\n    </testcase>",
                        xml(&r.detail)
                    );
                }
                Status::Skip | Status::NotAvailable => {
                    let _ = writeln!(
                        s,
                        ">\n      <skipped message=\"{}: {}\"/>\n    </testcase>",
                        r.status.as_str(),
                        xml(&r.detail)
                    );
                }
                _ => {
                    let _ = writeln!(
                        s,
                        ">\n      <system-out>{}</system-out>\n    </testcase>",
                        xml(&r.detail)
                    );
                }
            }
        }
        let _ = writeln!(s, "  </testsuite>");
    }
    let _ = writeln!(s, "</testsuites>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phase(lines: &[&str], rc: i32) -> PhaseLog {
        PhaseLog {
            lines: lines.iter().map(|l| l.to_string()).collect(),
            ended: true,
            rc,
            secs: 1.0,
        }
    }

    #[test]
    fn lifetime_needs_both_rounds_torn_down() {
        let round = [
            "[ 1.0] srcu_rs_lifetime_test: result=PASS calls=1",
            "[ 1.1] srcu_rs_lifetime_test: exit pending=1,1",
            "[ 1.2] srcu_rs: module srcu_rs_lifetime_test: 2 static domain(s) finished and torn down",
        ];
        let both: Vec<&str> = round.iter().chain(round.iter()).copied().collect();
        assert_eq!(judge_lifetime(&phase(&both, 0)).status, Status::Pass);
        // the broken variant: the notifier did nothing
        let skipped: Vec<&str> = both.iter().filter(|l| !l.contains("torn down")).copied().collect();
        assert_eq!(judge_lifetime(&phase(&skipped, 0)).status, Status::Fail);
        assert_eq!(judge_lifetime(&phase(&round, 0)).status, Status::Fail);
        assert_eq!(judge_lifetime(&phase(&both, 1)).status, Status::Fail);
    }

    #[test]
    fn objdebug_splats_are_expected_and_nothing_else() {
        let lines = [
            "[ 2.0] rcutorture: WARN: Duplicate call_srcu_rs() test starting.",
            "[ 2.1] ------------[ cut here ]------------",
            "[ 2.1] ODEBUG: activate active (active state 1) object: 0000 object type: rcu_head hint: 0x0",
            "[ 2.1] WARNING: CPU: 0 PID: 90 at lib/debugobjects.c:514 debug_print_object+0x1/0x2",
            "[ 2.1] Call Trace:",
            "[ 2.1] ---[ end trace 0000000000000000 ]---",
            "[ 2.2] ------------[ cut here ]------------",
            "[ 2.2] call_srcu_rs(): Leaked duplicate callback",
            "[ 2.2] WARNING: CPU: 0 PID: 90 at kernel/rcu/srcu_rs.c:700 call_srcu_rs+0x1/0x2",
            "[ 2.2] ---[ end trace 0000000000000000 ]---",
            "[ 2.3] rcutorture: WARN: Duplicate call_srcu_rs() test complete.",
            "[ 2.4] ------------[ cut here ]------------",
            "[ 2.4] WARNING: CPU: 1 PID: 91 at kernel/rcu/srcu_rs.c:100 elsewhere+0x1/0x2",
            "[ 2.4] ---[ end trace 0000000000000000 ]---",
            "[ 9.0] srcu_rs-torture: End of test: SUCCESS: nreaders=2",
        ];
        let p = phase(&lines, 0);
        let left = without_duplicate_call_splats(&p.lines);
        assert_eq!(kernel_problems(&left), vec![p.lines[12].clone()], "only the unrelated WARN is left");
        assert_eq!(judge_objdebug(&p).status, Status::Pass);
        let no_leak = phase(&["[ 2.3] rcutorture: WARN: Duplicate call_srcu_rs() test complete."], 0);
        assert_eq!(judge_objdebug(&no_leak).status, Status::Fail);
    }

    #[test]
    fn explat_reports_both_domains_and_fails_without_its_line() {
        let p = phase(
            &[
                "[   9.1] srcu_explat_test: secs=10 readers=0 reader_us=20 srcu_rs n=900 median_ns=2500 p99_ns=9100 \
                 srcu n=900 median_ns=130000 p99_ns=410000 ratio_median=0.019 ratio_p99=0.022",
                "KVM_IRQ_STRESS: result=PASS delivery=polled secs=14.0 routing_generations=321",
            ],
            0,
        );
        let j = judge_explat(&p);
        assert_eq!(j.status, Status::Info);
        assert_eq!(
            j.detail,
            "srcu_rs median 2.5 µs, p99 9.1 µs (n=900); srcu median 130.0 µs, p99 410.0 µs (n=900); \
             ratio srcu_rs/srcu median 0.019, p99 0.022; 321 routing generations meanwhile"
        );
        assert_eq!(judge_explat(&phase(&["KVM_IRQ_STRESS: result=PASS"], 0)).status, Status::Fail);
    }

    #[test]
    fn mitigation_notices_are_not_kernel_problems() {
        let l = |s: &str| vec![s.to_string()];
        assert!(kernel_problems(&l(
            "[    0.242118] WARNING: nvram corruption detected: 0-length partition"
        ))
        .is_empty());
        assert!(kernel_problems(&l("[    5.49] Speculative Return Stack Overflow: WARNING: See \
            https://kernel.org/doc/html/latest/admin-guide/hw-vuln/srso.html for mitigation options.")).is_empty());
        assert_eq!(
            kernel_problems(&l(
                "[    6.30] WARNING: CPU: 1 PID: 40 at kernel/rcu/srcu_rs.c:449"
            ))
            .len(),
            1
        );
    }

    #[test]
    fn phases_and_rcutorture() {
        let c = "[ 1.0] SRCUTEST: BEGIN rcutorture\n\
                 [ 28.1] srcu-torture: rtc: 0000000000000000 VER: 322 tfle: 0\n\
                 [ 28.1] srcu-torture: Reader Pipe:  1188716 214 0 0 0 0 0 0 0 0 0\n\
                 [ 28.2] srcu-torture:--- End of test: SUCCESS: nreaders=1\n\
                 [ 29.0] SRCUTEST: END rcutorture rc=0 secs=28.0\n";
        let (_, ph) = split_phases(c);
        let p = &ph["rcutorture"];
        assert!(p.ended && p.rc == 0 && p.secs == 28.0);
        let j = judge_rcutorture(p, "srcu");
        assert_eq!(j.status, Status::Pass, "{}", j.detail);
        let bad = c.replace("214 0 0", "214 1 0");
        let (_, ph) = split_phases(&bad);
        assert_eq!(
            judge_rcutorture(&ph["rcutorture"], "srcu").status,
            Status::Fail
        );
        let bang = c.replace(
            "srcu-torture: Reader Pipe:  1188716 214 0",
            "srcu-torture: !!! Reader Pipe:  1188716 214 284",
        );
        let (_, ph) = split_phases(&bang);
        let j = judge_rcutorture(&ph["rcutorture"], "srcu");
        assert!(
            j.status == Status::Fail && j.detail.contains("beyond 1: 284"),
            "{}",
            j.detail
        );
        // wrong torture type is not a pass
        assert_eq!(judge_rcutorture(p, "srcu_rs").status, Status::Fail);
    }

    /// The hand-off row: PASS only with every pair's figures exact; a wrong index or a failed case is a FAIL, a
    /// skipped case INFO.
    #[test]
    fn kunit_handoffs() {
        let line = |pair: &str, held: i64| {
            format!("KUNIT:         # x: hand-off {pair}: handed=200 ended=200 ended_there=200 index0_held={held} index1_held={} gp_ended=1\n", -held)
        };
        let mut c = String::from("SRCUTEST: BEGIN kunit\n");
        for (i, (case, pair)) in KUNIT_HANDOFFS.iter().enumerate() {
            c.push_str(&line(pair, 0));
            c.push_str(&format!("KUNIT:     ok {} {case}\n", i + 1));
        }
        c.push_str("SRCUTEST: END kunit rc=0 secs=1\n");
        let (_, ph) = split_phases(&c);
        let j = judge_kunit_handoffs(&ph["kunit"]);
        assert_eq!(j.status, Status::Pass, "{}", j.detail);
        let wrong = c.replace(&line("task_to_task", 0), &line("task_to_task", 1));
        let (_, ph) = split_phases(&wrong);
        assert_eq!(judge_kunit_handoffs(&ph["kunit"]).status, Status::Fail);
        let failed = c.replace(
            "ok 1 srcu_rs_test_updown_task",
            "not ok 1 srcu_rs_test_updown_task",
        );
        let (_, ph) = split_phases(&failed);
        assert_eq!(judge_kunit_handoffs(&ph["kunit"]).status, Status::Fail);
        let skipped = c.replace(
            "ok 3 srcu_rs_test_updown_nmi",
            "ok 3 srcu_rs_test_updown_nmi # SKIP no NMI",
        );
        let (_, ph) = split_phases(&skipped);
        assert_eq!(judge_kunit_handoffs(&ph["kunit"]).status, Status::Info);
    }

    #[test]
    fn rcutorture_handoffs() {
        let ok = "SRCUTEST: BEGIN rcutorture\n[ 9.0] srcu_rs-torture: srcu_rs up_read hand-offs: to_task=10 to_hardirq=12 ended_by_task=10 ended_by_hardirq=12 wrong_context=0\nSRCUTEST: END rcutorture rc=0 secs=1\n";
        let (_, ph) = split_phases(ok);
        assert_eq!(
            judge_rcutorture_handoffs(&ph["rcutorture"], "srcu_rs").status,
            Status::Pass
        );
        assert_eq!(
            judge_rcutorture_handoffs(&ph["rcutorture"], "srcu_rsd").status,
            Status::Fail
        );
        let (_, ph) = split_phases(&ok.replace("ended_by_hardirq=12", "ended_by_hardirq=11"));
        assert_eq!(
            judge_rcutorture_handoffs(&ph["rcutorture"], "srcu_rs").status,
            Status::Fail
        );
        let (_, ph) = split_phases(&ok.replace(
            "to_hardirq=12 ended_by_task=10 ended_by_hardirq=12",
            "to_hardirq=0 ended_by_task=10 ended_by_hardirq=0",
        ));
        assert_eq!(
            judge_rcutorture_handoffs(&ph["rcutorture"], "srcu_rs").status,
            Status::Fail
        );
    }

    #[test]
    fn kunit_ktap() {
        let c = "SRCUTEST: BEGIN kunit\nKUNIT: KTAP version 1\nKUNIT: 1..1\nKUNIT:     # Subtest: srcu_rs\n\
                 KUNIT:     1..2\nKUNIT:     ok 1 srcu_rs_lock\nKUNIT:     ok 2 srcu_rs_sync\n\
                 KUNIT: # srcu_rs: pass:2 fail:0 skip:0 total:2\nKUNIT: ok 1 srcu_rs\nSRCUTEST: END kunit rc=0 secs=0.1\n";
        let (_, ph) = split_phases(c);
        let j = judge_kunit(&ph["kunit"], "srcu_rs");
        assert_eq!(j.status, Status::Pass, "{}", j.detail);
        let c2 = c
            .replace("    ok 2 srcu_rs_sync", "    not ok 2 srcu_rs_sync")
            .replace("KUNIT: ok 1 srcu_rs", "KUNIT: not ok 1 srcu_rs");
        let (_, ph) = split_phases(&c2);
        assert_eq!(judge_kunit(&ph["kunit"], "srcu_rs").status, Status::Fail);
        let (_, ph) = split_phases(c);
        assert_eq!(judge_kunit(&ph["kunit"], "other").status, Status::Fail);
        // too few NMIs landed in the window: INCONCLUSIVE, not a pass; the case's figures are kept
        let c3 = c.replace(
            "    ok 2 srcu_rs_sync",
            "    # srcu_rs_sync: system resets: sent=40 handled=40 in_reader=3 min=8\nKUNIT:     \
                 ok 2 srcu_rs_sync # SKIP INCONCLUSIVE: 3 landings, fewer than 8",
        );
        let (_, ph) = split_phases(&c3);
        let j = judge_kunit(&ph["kunit"], "srcu_rs");
        assert_eq!(j.status, Status::Info, "{}", j.detail);
        assert!(
            j.detail.starts_with("INCONCLUSIVE") && j.detail.contains("sent=40"),
            "{}",
            j.detail
        );
        // the concurrent updaters' and expedited figures are kept in a passing row
        let c4 = c.replace(
            "    ok 2 srcu_rs_sync",
            "    # srcu_rs_sync: 16 callers 2000 ms: srcu_rs calls=90 gps=30; srcu calls=60\nKUNIT:     \
                 # srcu_rs_sync: expedited no readers: srcu_rs=900 ns srcu=1800 ns\nKUNIT:     ok 2 srcu_rs_sync",
        );
        let (_, ph) = split_phases(&c4);
        let j = judge_kunit(&ph["kunit"], "srcu_rs");
        assert_eq!(j.status, Status::Pass, "{}", j.detail);
        assert!(
            j.detail.contains("srcu_rs calls=90") && j.detail.contains("srcu=1800 ns"),
            "{}",
            j.detail
        );
    }

    #[test]
    fn kunit_block_excluded() {
        let l: Vec<String> = [
            "[ 1.0] boot",
            "[ 4.9]     # Subtest: srcu_rs",
            "[ 5.0] WARNING: CPU: 1 PID: 41 at kernel/rcu/srcu_rs.c:385 cleanup_srcu_rs",
            "[ 5.1] ok 1 srcu_rs",
            "[ 6.0] WARNING: elsewhere",
        ]
        .map(String::from)
        .to_vec();
        let (rest, n) = without_kunit_suite(&l, "srcu_rs");
        assert_eq!(n, 1);
        assert_eq!(
            kernel_problems(&rest),
            vec!["[ 6.0] WARNING: elsewhere".to_string()]
        );
    }

    #[test]
    fn refscale_table() {
        let c = "SRCUTEST: BEGIN refscale\n[ 1] SRCUTEST: REFSCALE type=srcu\n[ 5.0] srcu-ref-scale: END OF TEST. Calculating\n\
                 [ 5.0] Runs\tTime(ns)\n[ 5.0] 1\t159.328\n[ 5.0] 2\t129.577\n[ 6] SRCUTEST: REFSCALE type=srcu_rs\n\
                 [ 7] Runs\tTime(ns)\n[ 7] 1\t50.0\n[ 7] 2\t60.0\nSRCUTEST: END refscale rc=0 secs=9\n";
        let (_, ph) = split_phases(c);
        let r = refscale_runs(&ph["refscale"]);
        assert_eq!(r["srcu"], vec![159.328, 129.577]);
        assert_eq!(r["srcu_rs"], vec![50.0, 60.0]);
    }

    #[test]
    fn stress_line() {
        let c = "SRCUTEST: BEGIN kvmstress\nKVM_IRQ_STRESS: result=PASS signals=10 arrived=10 judged=5\nSRCUTEST: END kvmstress rc=0 secs=3\n";
        let (_, ph) = split_phases(c);
        assert_eq!(judge_kvmstress(&ph["kvmstress"]).0.status, Status::Pass);
        let (_, ph) = split_phases(&c.replace("PASS", "FAIL"));
        assert_eq!(judge_kvmstress(&ph["kvmstress"]).0.status, Status::Fail);
        // errors after an emulator failure the program repaired: inconclusive, not a pass and not a failure
        let (_, ph) = split_phases(
            &c.replace("PASS", "FAIL")
                .replace("judged=5", "judged=5 apic_stuck=1"),
        );
        assert_eq!(judge_kvmstress(&ph["kvmstress"]).0.status, Status::Info);
        let (_, ph) = split_phases(
            &c.replace("PASS", "FAIL")
                .replace("judged=5", "judged=5 apic_stuck=0"),
        );
        assert_eq!(judge_kvmstress(&ph["kvmstress"]).0.status, Status::Fail);
        // polled delivery: no guest, no repairs; the detail says how the APIC was read
        let (_, ph) = split_phases(&c.replace(
            "judged=5",
            "judged=5 delivery=polled apic_polls=40 apic_polls_found=12",
        ));
        let (j, _) = judge_kvmstress(&ph["kvmstress"]);
        assert_eq!(j.status, Status::Pass);
        assert!(
            j.detail
                .contains("local APIC polled 40 times, 12 found vectors"),
            "{}",
            j.detail
        );
        let (_, ph) = split_phases(
            &c.replace("PASS", "FAIL")
                .replace("judged=5", "judged=5 delivery=polled"),
        );
        assert_eq!(judge_kvmstress(&ph["kvmstress"]).0.status, Status::Fail);
    }

    #[test]
    fn proof() {
        let m = |l: &str| -> BTreeMap<String, String> {
            l.split_whitespace()
                .filter_map(|w| w.split_once('='))
                .map(|(a, b)| (a.into(), b.into()))
                .collect()
        };
        let ok = m("signals=100 routing_generations=10 srcu_readers=150 srcu_grace_periods=12");
        assert_eq!(judge_proof(&ok, false).status, Status::Pass);
        // the stock kernel must not have them; the patched one must
        assert_eq!(judge_proof(&ok, true).status, Status::Fail);
        let none =
            m("signals=100 routing_generations=10 srcu_readers=none srcu_grace_periods=none");
        assert_eq!(judge_proof(&none, true).status, Status::Pass);
        assert_eq!(judge_proof(&none, false).status, Status::Fail);
        // counters that do not keep up with the stress are not proof
        let few_readers =
            m("signals=100 routing_generations=10 srcu_readers=99 srcu_grace_periods=12");
        assert_eq!(judge_proof(&few_readers, false).status, Status::Fail);
        let few_gps = m("signals=100 routing_generations=10 srcu_readers=150 srcu_grace_periods=9");
        assert_eq!(judge_proof(&few_gps, false).status, Status::Fail);
    }
}
