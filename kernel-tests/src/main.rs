// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! srcu-rs-kernel-tests: the main job. Builds the stock and the srcu-rs (patched) Linux 6.12 kernels from one
//! config fragment, boots each under QEMU (TCG, `-cpu EPYC -smp 2`, kvm_amd nested inside) with a busybox
//! initramfs, runs the in-guest tests and writes a results table, JSON and JUnit XML.

mod guest;
mod host;
mod kbuild;
mod report;

use std::collections::BTreeMap;
use std::fs;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use report::{Row, Status};
use serde::Serialize;

#[derive(Parser)]
#[command(
    version,
    about = "Build, boot and test the stock and srcu-rs Linux 6.12 kernels under QEMU"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
#[allow(clippy::large_enum_variant)]
enum Cmd {
    /// The main job: tree, kernels, initramfs, boot, in-guest tests, results.
    Run(RunArgs),
    /// Only check the host (tools, QEMU version, busybox-static).
    Check,
    /// apt-get install what the job needs (Debian 12; QEMU 10 from bookworm-backports, which must be in the APT
    /// sources already); needs root.
    InstallDeps,
}

#[derive(Args, Clone)]
struct RunArgs {
    /// Your own Linux 6.12 source tree (default: Debian's linux-source-6.12, unpacked into the work directory).
    #[arg(long)]
    tree: Option<PathBuf>,
    /// Work directory for trees, O= builds, initramfs (default: ~/.cache/srcu-rs/kernel-tests).
    #[arg(long, env = "SRCU_RS_WORK")]
    work: Option<PathBuf>,
    /// Results directory (default: <repo>/results/kernel-tests-<unix time>).
    #[arg(long)]
    results: Option<PathBuf>,
    /// Bounded CI tier: the patched kernel (build, boot, KUnit, short rcutorture, KVM irq stress, notifier test) and
    /// the patched-generic test-options kernel (KUnit only, then KUnit with srcu_rs.fault=4, which must fail).
    #[arg(long)]
    ci: bool,
    /// A built kvm-unit-tests tree: its x86 tests run inside the guest on both kernels.
    #[arg(long = "kvm-unit-tests", env = "KVM_UNIT_TESTS")]
    kvm_unit_tests: Option<PathBuf>,
    /// kvm-unit-tests tests to run (comma-separated; default: the list in the README).
    #[arg(long, value_delimiter = ',')]
    kut_tests: Vec<String>,
    /// Kernels to build and test: stock, patched, their -lockdep/-kasan builds, patched-generic (default: all;
    /// --ci: patched,patched-generic).
    #[arg(long, value_delimiter = ',')]
    kernels: Vec<String>,
    /// rcutorture duration per kernel, seconds (default 180; --ci 60).
    #[arg(long)]
    torture_secs: Option<u64>,
    /// KVM irq stress duration, seconds (default 60; --ci 30).
    #[arg(long)]
    kvm_secs: Option<u64>,
    /// srcu notifier test duration, seconds (default 30; --ci 15).
    #[arg(long)]
    notifier_secs: Option<u64>,
    /// refscale runs per scale_type (>= 10).
    #[arg(long, default_value_t = 10)]
    refscale_nruns: u32,
    /// make -j.
    #[arg(long, default_value_t = 2)]
    jobs: usize,
    /// Extra kernel command-line words for the patched kernel (e.g. a test-only fault switch of the series).
    #[arg(long)]
    patched_append: Option<String>,
    /// Extra arguments for the in-guest KVM irq stress program, comma-separated (e.g. `--updaters,6`).
    #[arg(long, default_value = "")]
    kvm_args: String,
    /// QEMU TCG threading for the outer VM: multi (default; vCPUs run in parallel) or single.
    #[arg(long, default_value = "multi", value_parser = ["multi", "single"])]
    tcg_threads: String,
    /// Extra QEMU arguments for the outer VM, space-separated (e.g. `-d cpu_reset -D /tmp/qemu.log`).
    #[arg(long, default_value = "", allow_hyphen_values = true)]
    qemu_args: String,
    /// Full job without the lockdep/PROVE_RCU and KASAN kernel pairs (stock, patched, patched-generic).
    #[arg(long)]
    no_debug_variants: bool,
    /// Run only these in-guest phases (kunit, rcutorture, kvmpoll, kvmstress, notifier, refscale, kut); default: all.
    #[arg(long, value_delimiter = ',')]
    phases: Vec<String>,
    /// Skip the broken-variant checks (patched kernel booted with srcu_rs.fault=N must fail rcutorture or the KVM
    /// stress; patched-generic booted with srcu_rs.fault=4 must fail the KUnit NMI readers case).
    #[arg(long)]
    no_broken_check: bool,
    /// srcu-core fault number for the broken-variant check (2 = the grace period skips its second scan).
    #[arg(long, default_value_t = 2)]
    broken_fault: u32,
    /// Repository root (default: the checkout this binary was built from).
    #[arg(long)]
    repo: Option<PathBuf>,
}

#[derive(Serialize)]
struct Summary {
    result: &'static str,
    mode: &'static str,
    started_unix: u64,
    total_secs: f64,
    host: BTreeMap<String, String>,
    phase_secs: BTreeMap<String, f64>,
    builds: BTreeMap<String, BuildInfo>,
    rows: Vec<Row>,
    refscale: BTreeMap<String, BTreeMap<String, Vec<f64>>>,
    kvm_irq_stress: BTreeMap<String, BTreeMap<String, String>>,
    kvm_unit_tests: BTreeMap<String, BTreeMap<String, String>>,
}

#[derive(Serialize, Clone, Default)]
struct BuildInfo {
    release: String,
    tree: String,
    out: String,
    config_secs: f64,
    build_wall_secs: f64,
    build_cpu_secs: f64,
    bzimage_bytes: u64,
    initramfs_bytes: u64,
    srcu_rs: String,
}

struct Progress {
    tty: bool,
    bar: Option<ProgressBar>,
    t0: Instant,
}

impl Progress {
    fn new() -> Self {
        Progress {
            tty: std::io::stderr().is_terminal(),
            bar: None,
            t0: Instant::now(),
        }
    }
    fn begin(&mut self, what: &str) {
        eprintln!("[{:>6.0}s] ==> {what}", self.t0.elapsed().as_secs_f64());
        if self.tty {
            let b = ProgressBar::new_spinner();
            b.set_style(
                ProgressStyle::with_template("  {spinner} [{elapsed}] {wide_msg}").unwrap(),
            );
            b.enable_steady_tick(Duration::from_millis(200));
            self.bar = Some(b);
        }
    }
    fn tick(&self, msg: &str) {
        if let Some(b) = &self.bar {
            b.set_message(msg.chars().take(150).collect::<String>());
        }
    }
    fn say(&self, msg: &str) {
        match &self.bar {
            Some(b) => b.println(format!("    {msg}")),
            None => eprintln!("    {msg}"),
        }
    }
    fn end(&mut self, what: &str, secs: f64) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
        eprintln!(
            "[{:>6.0}s] <== {what} ({secs:.1} s)",
            self.t0.elapsed().as_secs_f64()
        );
    }
}

fn main() {
    let cli = Cli::parse();
    let r = match cli.cmd {
        Cmd::Check => check().map(|_| true),
        Cmd::InstallDeps => install_deps().map(|_| true),
        Cmd::Run(a) => run(a),
    };
    match r {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(2);
        }
    }
}

/// Debian packages the job needs (besides QEMU 10 from bookworm-backports and the kernel source).
const DEB_PACKAGES: &[&str] = &[
    "make",
    "gcc",
    "binutils",
    "flex",
    "bison",
    "bc",
    "perl",
    "libelf-dev",
    "cpio",
    "gzip",
    "xz-utils",
    "tar",
    "ccache",
    "busybox-static",
    "libc6-dev",
];

fn install_deps() -> Result<()> {
    let apt = |args: &[&str]| -> Result<()> {
        let st = std::process::Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .context("apt-get")?;
        if !st.success() {
            bail!("apt-get {} failed ({st})", args.join(" "));
        }
        Ok(())
    };
    apt(&["update"])?;
    let mut args = vec!["install", "-y", "--no-install-recommends"];
    args.extend(DEB_PACKAGES);
    apt(&args)?;
    let pinned = format!("{}={}", kbuild::SOURCE_PACKAGE, kbuild::SOURCE_VERSION);
    if apt(&["install", "-y", "--no-install-recommends", &pinned]).is_err() {
        eprintln!(
            "note: {pinned} is not in the archive any more; installing the current {}",
            kbuild::SOURCE_PACKAGE
        );
        apt(&[
            "install",
            "-y",
            "--no-install-recommends",
            kbuild::SOURCE_PACKAGE,
        ])?;
    }
    if host::qemu().is_err() {
        apt(&["install", "-y", "--no-install-recommends", "-t", "bookworm-backports", "qemu-system-x86"]).context(
            "QEMU 10 comes from bookworm-backports: add bookworm-backports to the APT sources, then run this again",
        )?;
    }
    check()
}

fn check() -> Result<()> {
    host::check_host()?;
    let (q, v) = host::qemu()?;
    let bb = host::busybox()?;
    println!(
        "host OK: QEMU {v} ({}), busybox {}, CC={}",
        q.display(),
        bb.display(),
        kbuild::cc()
    );
    Ok(())
}

/// Kernels: the two under comparison, their lockdep/PROVE_RCU and KASAN builds (run separately so their
/// cost never confounds timings or the stock-vs-patched diff), and the patched test-options kernel
/// `patched-generic` (SRCU_RS_GENERIC_PERCPU: KUnit only, for the NMI readers case and its broken check).
const KERNELS: &[&str] = &[
    "stock",
    "patched",
    "stock-lockdep",
    "patched-lockdep",
    "stock-kasan",
    "patched-kasan",
    "patched-generic",
];

/// The srcu-core fault the patched-generic broken check boots with (Fault::NmiInPercpuHalf), and the KUnit
/// case that must catch it.
const GENERIC_FAULT: u32 = 4;
const NMI_CASE: &str = "srcu_rs_test_nmi_readers";

fn base(k: &str) -> &str {
    k.split('-').next().unwrap_or(k)
}

fn variant(k: &str) -> &str {
    k.split_once('-').map(|x| x.1).unwrap_or("")
}

struct Plan {
    phases: Vec<&'static str>,
    torture_type: &'static str,
    refscale_types: Vec<&'static str>,
}

fn run(a: RunArgs) -> Result<bool> {
    let started = Instant::now();
    let started_unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let repo = match &a.repo {
        Some(r) => r.clone(),
        None => Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .unwrap()
            .to_path_buf(),
    };
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/tmp".into());
    let work = a
        .work
        .clone()
        .unwrap_or_else(|| home.join(".cache/srcu-rs/kernel-tests"));
    let results = a.results.clone().unwrap_or_else(|| {
        repo.join("results")
            .join(format!("kernel-tests-{started_unix}"))
    });
    fs::create_dir_all(&work).with_context(|| format!("create {}", work.display()))?;
    fs::create_dir_all(&results).with_context(|| format!("create {}", results.display()))?;
    let work = fs::canonicalize(&work)?;
    let results = fs::canonicalize(&results)?;
    let mode = if a.ci { "ci" } else { "full" };
    let kernels: Vec<String> = if !a.kernels.is_empty() {
        a.kernels.clone()
    } else if a.ci {
        vec!["patched".into(), "patched-generic".into()]
    } else if a.no_debug_variants {
        vec!["stock".into(), "patched".into(), "patched-generic".into()]
    } else {
        KERNELS.iter().map(|k| k.to_string()).collect()
    };
    for k in &kernels {
        if !KERNELS.contains(&k.as_str()) {
            bail!("unknown kernel `{k}` ({})", KERNELS.join(", "));
        }
    }
    let any_patched = kernels.iter().any(|k| base(k) == "patched");
    let torture_secs = a.torture_secs.unwrap_or(if a.ci { 60 } else { 180 });
    let kvm_secs = a.kvm_secs.unwrap_or(if a.ci { 30 } else { 60 });
    let notifier_secs = a.notifier_secs.unwrap_or(if a.ci { 15 } else { 30 });
    if a.refscale_nruns < 10 {
        bail!("--refscale-nruns must be at least 10");
    }

    let mut p = Progress::new();
    let mut rows: Vec<Row> = Vec::new();
    let mut phase_secs: BTreeMap<String, f64> = BTreeMap::new();
    let mut builds: BTreeMap<String, BuildInfo> = BTreeMap::new();
    let mut hostinfo: BTreeMap<String, String> = BTreeMap::new();
    let mut refscale: BTreeMap<String, BTreeMap<String, Vec<f64>>> = BTreeMap::new();
    let mut stress: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut kutm: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let log = |n: &str| results.join(n);

    // ---- host --------------------------------------------------------------------------------------------
    p.begin("host checks");
    let t = Instant::now();
    host::check_host()?;
    let (qemu, qver) = host::qemu()?;
    host::busybox()?;
    hostinfo.insert("qemu".into(), qver.clone());
    hostinfo.insert("cc".into(), kbuild::cc());
    hostinfo.insert("work".into(), work.display().to_string());
    hostinfo.insert("results".into(), results.display().to_string());
    hostinfo.insert("repo".into(), repo.display().to_string());
    if let Ok(s) = fs::read_to_string("/proc/cpuinfo") {
        hostinfo.insert("cpus".into(), s.matches("processor\t").count().to_string());
    }
    let series = kbuild::find_series(&repo);
    hostinfo.insert(
        "series".into(),
        match &series {
            Some(kbuild::Series::Cli { stamp, .. }) => format!("srcu-rs-patches CLI ({stamp})"),
            Some(kbuild::Series::Files { files, stamp }) => {
                format!("{} patch files ({stamp})", files.len())
            }
            None => "absent".into(),
        },
    );
    if any_patched && series.is_none() {
        bail!(
            "the srcu-rs patch series is not in {} (neither the srcu-rs-patches CLI in patches/ nor \
             patches/linux-6.12/*.patch): the patched kernel cannot be built; run with --kernels stock to test the \
             harness on the stock kernel",
            repo.display()
        );
    }
    p.say(&format!(
        "QEMU {qver}; CC={}; work {}; results {}",
        kbuild::cc(),
        work.display(),
        results.display()
    ));
    phase_secs.insert("host".into(), t.elapsed().as_secs_f64());
    p.end("host checks", t.elapsed().as_secs_f64());

    // ---- trees -------------------------------------------------------------------------------------------
    p.begin("tree");
    let t = Instant::now();
    let tlog = log("tree.log");
    let stock_tree = {
        let p2 = &p;
        kbuild::stock_tree(a.tree.as_deref(), &work, &tlog, &mut |m| p2.say(m))?
    };
    let version = kbuild::tree_version(&stock_tree)?;
    hostinfo.insert("linux".into(), version.clone());
    p.say(&format!(
        "stock tree {} (Linux {version})",
        stock_tree.display()
    ));
    let mut trees: BTreeMap<String, PathBuf> = BTreeMap::new();
    trees.insert("stock".into(), stock_tree.clone());
    if any_patched {
        let s = series.as_ref().unwrap();
        let p2 = &p;
        let pt = kbuild::patched_tree(&stock_tree, &work, s, &tlog, &mut |m| p2.say(m))?;
        p.say(&format!("patched tree {}", pt.display()));
        trees.insert("patched".into(), pt);
    }
    phase_secs.insert("tree".into(), t.elapsed().as_secs_f64());
    rows.push(Row {
        phase: "tree".into(),
        kernel: "-".into(),
        status: Status::Pass,
        secs: t.elapsed().as_secs_f64(),
        detail: format!("Linux {version}: {}", stock_tree.display()),
    });
    p.end("tree", t.elapsed().as_secs_f64());

    // ---- kernels -----------------------------------------------------------------------------------------
    let frag = repo.join("kernel-tests/config/srcu-rs.fragment");
    let srcu_rs_frag = work.join("srcu-rs-on.fragment");
    fs::write(
        &srcu_rs_frag,
        "# generated by srcu-rs-kernel-tests: what the patched kernel adds to the shared fragment:\n\
         # SRCU_RS and its own test options (KUnit suite; srcu_rs.fault= for the broken-variant check, 0 = off)\n\
         CONFIG_SRCU_RS=y\nCONFIG_SRCU_RS_KUNIT_TEST=y\nCONFIG_SRCU_RS_FAULT_INJECTION=y\n",
    )?;
    let mut outs: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut kos: BTreeMap<String, PathBuf> = BTreeMap::new();
    for k in &kernels {
        let name = format!("build {k}");
        p.begin(&name);
        let t = Instant::now();
        let tree = &trees[base(k)];
        let out = work.join(format!("out-{k}"));
        let blog = log(&format!("build-{k}.log"));
        let _ = fs::remove_file(&blog);
        let mut frags = vec![frag.clone()];
        let mut required: Vec<&str> = if base(k) == "patched" {
            frags.push(srcu_rs_frag.clone());
            vec!["SRCU_RS", "SRCU_RS_KUNIT_TEST"]
        } else {
            vec![]
        };
        match variant(k) {
            "lockdep" => {
                frags.push(repo.join("kernel-tests/config/lockdep.fragment"));
                required.extend(["PROVE_LOCKING", "PROVE_RCU"]);
            }
            "kasan" => {
                frags.push(repo.join("kernel-tests/config/kasan.fragment"));
                required.push("KASAN");
            }
            "generic" => {
                frags.push(repo.join("kernel-tests/config/generic-percpu.fragment"));
                required.extend(["SRCU_RS_GENERIC_PERCPU", "SRCU_RS_FAULT_INJECTION"]);
            }
            _ => {}
        }
        let tc = Instant::now();
        let dropped = kbuild::configure(tree, &out, &frags, &required, &blog)?;
        let config_secs = tc.elapsed().as_secs_f64();
        for d in &dropped {
            p.say(&format!(
                "note: fragment option not in the final .config: {d}"
            ));
        }
        let pr = &p;
        let mut last = Instant::now();
        let timed = kbuild::build(tree, &out, a.jobs, &blog, &mut |l| {
            if last.elapsed() > Duration::from_millis(100) {
                pr.tick(l);
                last = Instant::now();
            }
        })?;
        let ko = kbuild::build_ext_module(
            tree,
            &out,
            &repo.join("kernel-tests/notifier-test"),
            &work.join(format!("notifier-{k}")),
            &blog,
        )?;
        kos.insert(k.clone(), ko);
        let bz = out.join("arch/x86/boot/bzImage");
        let info = BuildInfo {
            release: kbuild::kernel_release(&out)?,
            tree: tree.display().to_string(),
            out: out.display().to_string(),
            config_secs,
            build_wall_secs: timed.wall.as_secs_f64(),
            build_cpu_secs: timed.cpu.as_secs_f64(),
            bzimage_bytes: fs::metadata(&bz).map(|m| m.len()).unwrap_or(0),
            initramfs_bytes: 0,
            srcu_rs: kbuild::config_value(&out, "SRCU_RS"),
        };
        rows.push(Row {
            phase: "build".into(),
            kernel: k.clone(),
            status: Status::Pass,
            secs: t.elapsed().as_secs_f64(),
            detail: format!(
                "{} SRCU_RS={}: config {:.0} s, make {:.0} s wall / {:.0} CPU-s, bzImage {} KiB",
                info.release,
                info.srcu_rs,
                config_secs,
                info.build_wall_secs,
                info.build_cpu_secs,
                info.bzimage_bytes / 1024
            ),
        });
        p.say(&rows.last().unwrap().detail);
        builds.insert(k.clone(), info);
        outs.insert(k.clone(), out);
        phase_secs.insert(name.clone(), t.elapsed().as_secs_f64());
        p.end(&name, t.elapsed().as_secs_f64());
    }

    // ---- initramfs ---------------------------------------------------------------------------------------
    p.begin("initramfs");
    let t = Instant::now();
    let glog = log("initramfs.log");
    let stress_bin = guest::build_guest_programs(&repo, &glog)?;
    let kut_tests = match &a.kvm_unit_tests {
        Some(d) => Some(guest::kut_plan(d, &a.kut_tests)?),
        None => None,
    };
    let mut images: BTreeMap<String, PathBuf> = BTreeMap::new();
    for k in &kernels {
        let img = work.join(format!("initramfs-{k}.cpio.gz"));
        let inp = guest::InitramfsInputs {
            tree: &trees[base(k)],
            out: &outs[k],
            stress: &stress_bin,
            notifier_ko: &kos[k],
            kut: match (&a.kvm_unit_tests, &kut_tests) {
                (Some(d), Some(ts)) => Some((d.as_path(), ts.as_slice())),
                _ => None,
            },
        };
        let size = guest::build_initramfs(&inp, &work.join(format!("stage-{k}")), &img, &glog)?;
        builds.get_mut(k).unwrap().initramfs_bytes = size;
        p.say(&format!("{k}: {} ({} KiB)", img.display(), size / 1024));
        images.insert(k.clone(), img);
    }
    phase_secs.insert("initramfs".into(), t.elapsed().as_secs_f64());
    rows.push(Row {
        phase: "initramfs".into(),
        kernel: "-".into(),
        status: Status::Pass,
        secs: t.elapsed().as_secs_f64(),
        detail: "busybox-static, kvm-irq-stress (static), srcu_notifier_test.ko, modules".into(),
    });
    p.end("initramfs", t.elapsed().as_secs_f64());

    // ---- boots -------------------------------------------------------------------------------------------
    let mut kut_by_kernel: BTreeMap<String, BTreeMap<String, (String, f64)>> = BTreeMap::new();
    let kut_names: Vec<String> = kut_tests.iter().flatten().map(|t| t.name.clone()).collect();
    for k in &kernels {
        let patched = base(k) == "patched";
        let mut plan = Plan {
            phases: vec![],
            torture_type: if patched { "srcu_rs" } else { "srcu" },
            refscale_types: vec![],
        };
        if patched {
            plan.phases.push("kunit");
        }
        // the test-options kernel exists for its KUnit cases (and would confound every other phase)
        if variant(k) != "generic" {
            plan.phases
                .extend(["rcutorture", "kvmpoll", "kvmstress", "notifier"]);
        }
        // refscale only on the plain kernels: lockdep and KASAN would swamp the read-side cost
        if !a.ci && variant(k).is_empty() {
            plan.refscale_types = if patched {
                vec!["srcu", "srcu_rs"]
            } else if !kernels.iter().any(|x| x == "patched") {
                vec!["srcu"]
            } else {
                vec![]
            };
            if !plan.refscale_types.is_empty() {
                plan.phases.push("refscale");
            }
        }
        if !a.phases.is_empty() {
            plan.phases.retain(|ph| a.phases.iter().any(|x| x == ph));
        }
        // kvm-unit-tests get a boot of their own (see `kut_boot_threads`).
        let run_kut = kut_tests.is_some()
            && variant(k).is_empty()
            && (a.phases.is_empty() || a.phases.iter().any(|x| x == "kut"));
        let extra = if patched {
            a.patched_append.clone().unwrap_or_default()
        } else {
            String::new()
        };
        let boot = |p: &mut Progress, suffix: &str, plan: &Plan, more: &str| {
            let extra = format!("{extra} {more}");
            boot_and_judge(
                p,
                &qemu,
                k,
                &outs[k],
                &images[k],
                plan,
                &a,
                torture_secs,
                kvm_secs,
                notifier_secs,
                kut_tests.as_ref().map(|v| v.len()).unwrap_or(0),
                extra.trim(),
                &results,
                suffix,
            )
        };
        // only kvm-unit-tests asked for: no empty boot before them
        if !plan.phases.is_empty() || !run_kut {
            let outcome = boot_once_more_after_triple_fault(&mut p, k, "", |p, suffix| {
                boot(p, suffix, &plan, "")
            })?;
            phase_secs.insert(format!("boot+tests {k}"), outcome.secs);
            rows.extend(outcome.rows);
            if let Some(r) = outcome.refscale {
                refscale.insert(k.clone(), r);
            }
            for (ph, s) in outcome.stress {
                stress.insert(format!("{k} {ph}"), s);
            }
        }
        if run_kut {
            kut_boot(
                &mut p,
                k,
                &plan,
                &kut_names,
                &boot,
                &mut rows,
                &mut phase_secs,
                &mut kut_by_kernel,
            )?;
        }
    }

    // ---- broken variant: the patched kernel with a deliberately broken grace period must be caught ----------
    if kernels.iter().any(|k| k == "patched") && !a.no_broken_check {
        if kbuild::config_value(&outs["patched"], "SRCU_RS_FAULT_INJECTION") != "y" {
            rows.push(Row {
                phase: format!("broken variant srcu_rs.fault={}", a.broken_fault),
                kernel: "patched".into(),
                status: Status::NotAvailable,
                secs: 0.0,
                detail: "CONFIG_SRCU_RS_FAULT_INJECTION is not in the patched .config (the series lacks it)".into(),
            });
        } else {
            // The guest-delivery stress is left out: it cannot fail here (INCONCLUSIVE at worst) and its
            // emulator failures can take the outer VM down.
            let plan = Plan {
                phases: vec!["rcutorture", "kvmpoll"],
                torture_type: "srcu_rs",
                refscale_types: vec![],
            };
            let extra = format!(
                "srcu_rs.fault={} {}",
                a.broken_fault,
                a.patched_append.clone().unwrap_or_default()
            );
            let broken_boot = |p: &mut Progress, suffix: &str| {
                boot_and_judge(
                    p,
                    &qemu,
                    "patched",
                    &outs["patched"],
                    &images["patched"],
                    &plan,
                    &a,
                    torture_secs.min(60),
                    kvm_secs.min(30),
                    0,
                    0,
                    extra.trim(),
                    &results,
                    suffix,
                )
            };
            // an outer-VM triple fault is TCG's, not the broken grace period's: the first attempt's failures
            // become INFO, so they cannot count as catching it below
            let o = boot_once_more_after_triple_fault(
                &mut p,
                "patched-broken",
                "-broken",
                broken_boot,
            )?;
            phase_secs.insert("boot+tests patched-broken".into(), o.secs);
            // only rcutorture, the KVM stress or a hung/dead guest count as catching it (not, e.g., a boot warning
            // that the non-broken kernel shows too)
            let caught: Vec<String> = o
                .rows
                .iter()
                .filter(|r| {
                    r.status == Status::Fail
                        && (r.phase.starts_with("rcutorture")
                            || r.phase.starts_with("KVM irq stress")
                            || r.phase == "guest")
                })
                .map(|r| format!("{}: {}", r.phase, r.detail))
                .collect();
            rows.extend(as_evidence(o.rows));
            rows.push(Row {
                phase: format!("broken variant srcu_rs.fault={} detected", a.broken_fault),
                kernel: "patched-broken".into(),
                status: if caught.is_empty() {
                    Status::Fail
                } else {
                    Status::Pass
                },
                secs: o.secs,
                detail: if caught.is_empty() {
                    "rcutorture and the KVM stress both passed on a deliberately broken srcu_rs"
                        .into()
                } else {
                    format!(
                        "caught by {}",
                        caught
                            .iter()
                            .map(|c| c.chars().take(160).collect::<String>())
                            .collect::<Vec<_>>()
                            .join(" | ")
                    )
                },
            });
        }
    }

    // ---- broken variant of the test-options kernel: NMI readers counted in the per-CPU half -----------------
    if kernels.iter().any(|k| k == "patched-generic") && !a.no_broken_check {
        let plan = Plan {
            phases: vec!["kunit"],
            torture_type: "srcu_rs",
            refscale_types: vec![],
        };
        let extra = format!(
            "srcu_rs.fault={GENERIC_FAULT} {}",
            a.patched_append.clone().unwrap_or_default()
        );
        let o = boot_and_judge(
            &mut p,
            &qemu,
            "patched-generic",
            &outs["patched-generic"],
            &images["patched-generic"],
            &plan,
            &a,
            0,
            0,
            0,
            0,
            extra.trim(),
            &results,
            "-broken",
        )?;
        phase_secs.insert("boot+tests patched-generic-broken".into(), o.secs);
        let (caught, detail) = generic_broken_verdict(&o.rows);
        rows.extend(as_evidence(o.rows));
        rows.push(Row {
            phase: format!("broken variant srcu_rs.fault={GENERIC_FAULT} detected"),
            kernel: "patched-generic-broken".into(),
            status: if caught { Status::Pass } else { Status::Fail },
            secs: o.secs,
            detail,
        });
    }

    // ---- kvm-unit-tests: stock vs patched, with one retry of a regression ----------------------------------
    if let Some(tests) = &kut_tests {
        let empty = BTreeMap::new();
        let stock = kut_by_kernel.get("stock").unwrap_or(&empty).clone();
        let mut patched = kut_by_kernel.get("patched").cloned();
        if let (Some(pt), true) = (&patched, !stock.is_empty()) {
            let regress: Vec<String> = tests
                .iter()
                .filter(|t| {
                    stock.get(&t.name).map(|r| r.0 == "PASS").unwrap_or(false)
                        && pt.get(&t.name).map(|r| r.0 != "PASS").unwrap_or(true)
                })
                .map(|t| t.name.clone())
                .collect();
            if !regress.is_empty() {
                p.say(&format!(
                    "kvm-unit-tests passing on stock but not on patched: {} -- retrying once",
                    regress.join(",")
                ));
                let retry: Vec<guest::KutTest> = tests
                    .iter()
                    .filter(|t| regress.contains(&t.name))
                    .cloned()
                    .collect();
                let img = work.join("initramfs-patched-kut-retry.cpio.gz");
                let inp = guest::InitramfsInputs {
                    tree: &trees["patched"],
                    out: &outs["patched"],
                    stress: &stress_bin,
                    notifier_ko: &kos["patched"],
                    kut: Some((a.kvm_unit_tests.as_deref().unwrap(), &retry)),
                };
                guest::build_initramfs(&inp, &work.join("stage-kut-retry"), &img, &glog)?;
                let plan = Plan {
                    phases: vec!["kut"],
                    torture_type: "srcu_rs",
                    refscale_types: vec![],
                };
                let o = boot_and_judge(
                    &mut p,
                    &qemu,
                    "patched",
                    &outs["patched"],
                    &img,
                    &plan,
                    &a,
                    0,
                    0,
                    0,
                    retry.len(),
                    &a.patched_append.clone().unwrap_or_default(),
                    &results,
                    "-kut-retry",
                )?;
                if let Some(kr) = o.kut {
                    let mut pt2 = pt.clone();
                    for (n, r) in kr {
                        pt2.insert(
                            n.clone(),
                            (
                                format!(
                                    "{} (retry; first {})",
                                    r.0,
                                    pt.get(&n).map(|x| x.0.clone()).unwrap_or_default()
                                ),
                                r.1,
                            ),
                        );
                    }
                    patched = Some(pt2);
                }
            }
        }
        for t in tests {
            let s = stock.get(&t.name).cloned();
            let pt = patched.as_ref().and_then(|m| m.get(&t.name).cloned());
            let mut m = BTreeMap::new();
            m.insert(
                "stock".into(),
                s.as_ref().map(|x| x.0.clone()).unwrap_or("-".into()),
            );
            m.insert(
                "patched".into(),
                pt.as_ref().map(|x| x.0.clone()).unwrap_or("-".into()),
            );
            kutm.insert(t.name.clone(), m);
            let spass = s.as_ref().map(|x| x.0 == "PASS");
            let ppass = pt.as_ref().map(|x| x.0.starts_with("PASS"));
            let status = match (spass, ppass) {
                (Some(true), Some(false)) => Status::Fail,
                (_, Some(true)) | (Some(true), None) => Status::Pass,
                (Some(false), Some(false)) => Status::Info, // fails on stock already: a diff only
                (Some(false), None) | (None, Some(false)) => Status::Info,
                _ => Status::Skip,
            };
            rows.push(Row {
                phase: format!("kvm-unit-tests {}", t.name),
                kernel: "stock vs patched".into(),
                status,
                secs: pt.as_ref().or(s.as_ref()).map(|x| x.1).unwrap_or(0.0),
                detail: format!(
                    "stock {} / patched {}",
                    s.map(|x| x.0).unwrap_or("not run".into()),
                    pt.map(|x| x.0).unwrap_or("not run".into())
                ),
            });
        }
    } else {
        rows.push(Row {
            phase: "kvm-unit-tests".into(),
            kernel: "-".into(),
            status: Status::Skip,
            secs: 0.0,
            detail: "no tree given (--kvm-unit-tests DIR or KVM_UNIT_TESTS)".into(),
        });
    }

    // ---- refscale side by side ---------------------------------------------------------------------------
    if let Some(r) = refscale.get("patched") {
        let (s, rs) = (r.get("srcu"), r.get("srcu_rs"));
        match (s, rs) {
            (Some(s), Some(rs)) if s.len() >= 10 && rs.len() >= 10 => rows.push(Row {
                phase: "refscale srcu vs srcu_rs".into(),
                kernel: "patched".into(),
                status: Status::Info,
                secs: 0.0,
                detail: format!(
                    "read-side pair ns, median (mean) of {}/{} runs: srcu {:.2} ({:.2}), srcu_rs {:.2} ({:.2}); ratio srcu_rs/srcu {:.2}",
                    s.len(),
                    rs.len(),
                    report::median(s),
                    report::mean(s),
                    report::median(rs),
                    report::mean(rs),
                    report::median(rs) / report::median(s)
                ),
            }),
            _ => rows.push(Row {
                phase: "refscale srcu vs srcu_rs".into(),
                kernel: "patched".into(),
                status: Status::Fail,
                secs: 0.0,
                detail: format!("missing runs: srcu {} runs, srcu_rs {} runs", s.map(|v| v.len()).unwrap_or(0), rs.map(|v| v.len()).unwrap_or(0)),
            }),
        }
    }

    // ---- output ------------------------------------------------------------------------------------------
    let total = started.elapsed().as_secs_f64();
    let failed = rows.iter().any(|r| r.status == Status::Fail);
    let summary = Summary {
        result: if failed { "FAIL" } else { "PASS" },
        mode,
        started_unix,
        total_secs: total,
        host: hostinfo,
        phase_secs: phase_secs.clone(),
        builds,
        rows: rows.clone(),
        refscale,
        kvm_irq_stress: stress,
        kvm_unit_tests: kutm,
    };
    fs::write(
        results.join("summary.json"),
        serde_json::to_string_pretty(&summary)?,
    )?;
    fs::write(results.join("junit.xml"), report::junit(&rows, total))?;
    let mut table = report::table(&rows);
    table.push_str("\nphase times (s): ");
    table.push_str(
        &phase_secs
            .iter()
            .map(|(k, v)| format!("{k} {v:.0}"))
            .collect::<Vec<_>>()
            .join(", "),
    );
    table.push_str(&format!("; total {total:.0}\n"));
    fs::write(results.join("results.md"), &table)?;
    println!("\n{table}");
    let pass = rows.iter().filter(|r| r.status == Status::Pass).count();
    let fail = rows.iter().filter(|r| r.status == Status::Fail).count();
    let skip = rows
        .iter()
        .filter(|r| matches!(r.status, Status::Skip | Status::NotAvailable))
        .count();
    println!("kernel-tests ({mode}): {pass} passed, {fail} failed, {skip} skipped");
    println!("results: {}", results.display());
    Ok(!failed)
}

/// The patched-generic kernel booted with srcu_rs.fault=4 is caught only when KUnit reports the NMI readers case
/// as failed (`not ok N srcu_rs_test_nmi_readers`): a guest that died, or another case failing, does not count.
fn generic_broken_verdict(rows: &[Row]) -> (bool, String) {
    let kunit = rows.iter().find(|r| r.phase == "KUnit srcu_rs");
    match kunit {
        Some(r)
            if r.status == Status::Fail
                && r.detail.split("; ").any(|c| {
                    c.starts_with("not ok ") && c.split_whitespace().nth(3) == Some(NMI_CASE)
                }) =>
        {
            (
                true,
                format!(
                    "caught by KUnit {NMI_CASE}: {}",
                    r.detail.chars().take(200).collect::<String>()
                ),
            )
        }
        Some(r) => (
            false,
            format!(
                "KUnit {NMI_CASE} did not fail on a deliberately broken srcu_rs: {} {}",
                r.status.as_str(),
                r.detail
            ),
        ),
        None => (false, "no KUnit row".into()),
    }
}

struct BootResult {
    rows: Vec<Row>,
    secs: f64,
    /// QEMU logged a triple fault of the outer VM (L1) itself: see `run`'s retry.
    triple_fault: bool,
    refscale: Option<BTreeMap<String, Vec<f64>>>,
    /// The KVM stress result line's fields, per stress phase (`kvmpoll`, `kvmstress`).
    stress: BTreeMap<String, BTreeMap<String, String>>,
    kut: Option<BTreeMap<String, (String, f64)>>,
}

/// The rows of a boot of a deliberately broken kernel: they are expected to fail, so they are evidence (INFO),
/// not the verdict, which is the "broken variant ... detected" row that follows them.
fn as_evidence(rows: Vec<Row>) -> impl Iterator<Item = Row> {
    rows.into_iter().map(|mut r| {
        if r.status == Status::Fail || r.status == Status::Pass {
            r.detail = format!("(expected to fail) {} {}", r.status.as_str(), r.detail);
            r.status = Status::Info;
        }
        r
    })
}

/// Runs `boot(p, suffix)`, and once more (suffix `<suffix>-retry`) when the outer VM itself triple-faulted (no
/// oops, no panic: the CPU could not even deliver a double fault). That comes from TCG's SVM emulation swapping
/// L1 and L2 state, the same failure kvm-irq-stress repairs inside L2 (see its `repair_apic`), not from the
/// kernel under test. The first attempt's rows stay in the table, marked `(1st)`, its failures as INFO.
fn boot_once_more_after_triple_fault(
    p: &mut Progress,
    name: &str,
    suffix: &str,
    mut boot: impl FnMut(&mut Progress, &str) -> Result<BootResult>,
) -> Result<BootResult> {
    let mut outcome = boot(p, suffix)?;
    if !outcome.triple_fault {
        return Ok(outcome);
    }
    for r in &mut outcome.rows {
        r.kernel.push_str(" (1st)");
        if r.status == Status::Fail {
            r.status = Status::Info;
            r.detail = format!("(outer VM triple fault, booted again) {}", r.detail);
        }
    }
    let first = std::mem::take(&mut outcome.rows);
    let secs = outcome.secs;
    p.say(&format!(
        "{name}: the outer VM triple-faulted; booting once more"
    ));
    let mut retry = boot(p, &format!("{suffix}-retry"))?;
    retry.rows.splice(0..0, first);
    retry.secs += secs;
    Ok(retry)
}

/// QEMU TCG threading for a boot that runs only kvm-unit-tests. QEMU 10.0.2's multi-threaded TCG aborts the
/// whole outer VM on the `emulator` test (`tcg_handle_interrupt: assertion failed: (bql_locked())`, reached from
/// its nested-SVM code without the big QEMU lock); single-threaded TCG runs it to the end. kvm-unit-tests are
/// functional tests, not the stress phases that need vCPUs running in parallel, so they lose nothing by it.
fn kut_boot_threads(plan: &Plan, requested: &str) -> String {
    if plan.phases == ["kut"] {
        "single".into()
    } else {
        requested.into()
    }
}

/// Boots kernel `k` once more for kvm-unit-tests alone (single-threaded TCG, see `kut_boot_threads`) and
/// records its rows and per-test results. When the outer QEMU itself aborts in a test (QEMU 10.0.2's TCG
/// asserts in `tcg_handle_interrupt` on the `emulator` test now and then, in both threading modes, on either
/// kernel), that test is recorded as DIED and the tests after it run in a new boot, at most twice.
#[allow(clippy::too_many_arguments)]
fn kut_boot(
    p: &mut Progress,
    k: &str,
    plan: &Plan,
    names: &[String],
    boot: &dyn Fn(&mut Progress, &str, &Plan, &str) -> Result<BootResult>,
    rows: &mut Vec<Row>,
    phase_secs: &mut BTreeMap<String, f64>,
    kut_by_kernel: &mut BTreeMap<String, BTreeMap<String, (String, f64)>>,
) -> Result<()> {
    let kplan = Plan {
        phases: vec!["kut"],
        torture_type: plan.torture_type,
        refscale_types: vec![],
    };
    let mut results: BTreeMap<String, (String, f64)> = BTreeMap::new();
    let mut pending: Vec<String> = names.to_vec();
    for attempt in 1..=3 {
        let suffix = if attempt == 1 {
            "-kut".to_string()
        } else {
            format!("-kut{attempt}")
        };
        let only = if attempt == 1 {
            String::new()
        } else {
            format!("srcutest.kut_only={}", pending.join(","))
        };
        let mut o = boot(p, &suffix, &kplan, &only)?;
        if let Some(kr) = o.kut.take() {
            results.extend(kr);
        }
        pending.retain(|n| !results.contains_key(n));
        let qemu_abort = o.rows.iter().any(|r| {
            r.status == Status::Fail
                && r.detail.contains("qemu stderr:")
                && r.detail.contains("assertion failed")
        });
        let resume = qemu_abort && !pending.is_empty() && attempt < 3;
        if qemu_abort {
            p.say(&format!(
                "{k}: the outer QEMU aborted during kvm-unit-tests (a TCG bug); {} test(s) left{}",
                pending.len(),
                if resume {
                    ", booting again for them"
                } else {
                    ""
                }
            ));
            for r in &mut o.rows {
                if r.status == Status::Fail {
                    r.status = Status::Info;
                    r.detail =
                        format!(
                        "(outer QEMU aborted, not the guest kernel; the test running is DIED{}) {}",
                        if resume { ", the rest run in a new boot" } else { "" },
                        r.detail
                    );
                }
            }
        }
        phase_secs.insert(format!("boot+kvm-unit-tests {k}{}", &suffix[4..]), o.secs);
        rows.extend(o.rows);
        if !resume {
            break;
        }
    }
    kut_by_kernel.insert(k.to_string(), results);
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn boot_and_judge(
    p: &mut Progress,
    qemu: &Path,
    k: &str,
    out: &Path,
    initrd: &Path,
    plan: &Plan,
    a: &RunArgs,
    torture_secs: u64,
    kvm_secs: u64,
    notifier_secs: u64,
    kut_count: usize,
    extra: &str,
    results: &Path,
    suffix: &str,
) -> Result<BootResult> {
    let name = format!("boot+tests {k}{suffix}");
    p.begin(&name);
    let t = Instant::now();
    let nruns = a.refscale_nruns;
    let mut append = format!(
        "console=ttyS0 panic=-1 init_on_free=1 kvm_amd.nested=1 srcutest.plan={} \
         srcutest.torture=torture_type={},irqreader=1,nreaders=2,stat_interval=15 srcutest.torture_secs={torture_secs} \
         srcutest.kvm=--secs,{kvm_secs}{kvm_args} srcutest.notifier=secs={notifier_secs},callers=2,registrars=2 \
         srcutest.refscale_types={} srcutest.refscale=nreaders=2,loops=100000,nruns={nruns} srcutest.refscale_secs=180 \
         srcutest.kut_timeout=90",
        plan.phases.join(","),
        plan.torture_type,
        plan.refscale_types.join(","),
        kvm_args = if a.kvm_args.is_empty() { String::new() } else { format!(",{}", a.kvm_args) },
    );
    if plan.phases.contains(&"kunit") {
        append.push_str(" kunit.filter_glob=srcu_rs");
    }
    if !extra.is_empty() {
        append.push(' ');
        append.push_str(extra);
    }
    // Budget: boot, then each phase with generous slack (TCG is slow and the machine is shared); never forever.
    let mut budget = 120u64;
    for ph in &plan.phases {
        budget += match *ph {
            // the NMI readers case waits up to 30 s for a grace period that a lost count keeps from ending
            "kunit" => 90,
            "rcutorture" => torture_secs + 90,
            "kvmstress" | "kvmpoll" => kvm_secs + 60,
            "notifier" => notifier_secs + 60,
            "refscale" => plan.refscale_types.len() as u64 * (180 + 20),
            "kut" => kut_count as u64 * 100,
            _ => 60,
        };
    }
    let mem = if plan.phases.contains(&"kut") {
        "3G"
    } else {
        "2G"
    };
    let clog = results.join(format!("console-{k}{suffix}.log"));
    // QEMU's own log of CPU resets: a triple fault of the outer VM shows up here, not on its console.
    let qlog = results.join(format!("qemu-{k}{suffix}.log"));
    let _ = fs::remove_file(&qlog);
    let qemu_args = format!(
        "-d cpu_reset,guest_errors -D {} {}",
        qlog.display(),
        a.qemu_args
    );
    let bz = out.join("arch/x86/boot/bzImage");
    let pr = &*p;
    let mut cur = String::from("booting");
    let outcome = guest::boot(
        qemu,
        &bz,
        initrd,
        &append,
        mem,
        &kut_boot_threads(plan, &a.tcg_threads),
        &qemu_args,
        Duration::from_secs(budget),
        &clog,
        &mut |l| {
            if let Some(i) = l.find("SRCUTEST: BEGIN ") {
                cur = l[i + 16..].trim().to_string();
                pr.say(&format!("{k}: {cur} ..."));
            } else if let Some(i) = l.find("SRCUTEST: END ") {
                pr.say(&format!("{k}: {}", l[i + 14..].trim()));
            }
            pr.tick(&format!("{k} [{cur}] {l}"));
        },
    )?;
    let secs = t.elapsed().as_secs_f64();
    let (pre, phases) = report::split_phases(&outcome.console);
    let mut rows = Vec::new();
    let kern = format!("{k}{suffix}");
    // boot
    let online = outcome.console.lines().find_map(|l| {
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
    let init_seen = outcome.console.contains("SRCUTEST: INIT");
    let done = outcome.console.contains("SRCUTEST: DONE");
    // Warnings raised inside the KUnit suite's own run are judged by KUnit (a test may provoke one on purpose).
    let (pre, kunit_warnings) = report::without_kunit_suite(&pre, "srcu_rs");
    let pre_problems = report::kernel_problems(&pre);
    rows.push(Row {
        phase: "boot".into(),
        kernel: kern.clone(),
        status: if init_seen && cpus >= 2 && kvm == "yes" && pre_problems.is_empty() {
            Status::Pass
        } else {
            Status::Fail
        },
        secs: 0.0,
        detail: if !init_seen {
            format!(
                "/init never started; last console lines:\n{}",
                host::tail_lines(&clog, 15)
            )
        } else {
            format!(
                "{cpus} CPUs online, /dev/kvm {kvm}{}{}",
                if kunit_warnings > 0 {
                    format!("; {kunit_warnings} kernel warning(s) inside the KUnit srcu_rs run (judged by KUnit)")
                } else {
                    String::new()
                },
                if pre_problems.is_empty() {
                    String::new()
                } else {
                    format!("; kernel problems: {}", pre_problems.join(" / "))
                }
            )
        },
    });
    let mut refscale = None;
    let mut stress = BTreeMap::new();
    let mut kut = None;
    for ph in &plan.phases {
        let label = match *ph {
            "kunit" => "KUnit srcu_rs".to_string(),
            "rcutorture" => format!("rcutorture {} {}s", plan.torture_type, torture_secs),
            "kvmstress" => format!("KVM irq stress {kvm_secs}s"),
            "kvmpoll" => format!("KVM irq stress, polled APIC {kvm_secs}s"),
            "notifier" => format!("srcu notifier test {notifier_secs}s"),
            "refscale" => format!("refscale {}", plan.refscale_types.join("+")),
            "kut" => "kvm-unit-tests run".to_string(),
            o => o.to_string(),
        };
        let Some(pl) = phases.get(*ph) else {
            rows.push(Row {
                phase: label,
                kernel: kern.clone(),
                status: Status::Fail,
                secs: 0.0,
                detail: if outcome.timed_out {
                    "not reached: guest killed at the timeout".into()
                } else {
                    "not reached (guest died earlier)".into()
                },
            });
            continue;
        };
        if !pl.ended {
            if *ph == "kut" {
                // keep what finished; the test that was running when the guest died is marked DIED
                let mut r = report::kut_results(pl);
                if let Some(running) = report::kut_running(pl) {
                    r.entry(running).or_insert(("DIED".into(), 0.0));
                }
                kut = Some(r);
            }
            rows.push(Row {
                phase: label,
                kernel: kern.clone(),
                status: Status::Fail,
                secs: 0.0,
                detail: format!(
                    "{} during this phase; last lines: {}",
                    if outcome.timed_out {
                        format!("guest hung: killed after {} s", budget)
                    } else {
                        "guest died".into()
                    },
                    pl.lines
                        .iter()
                        .rev()
                        .take(8)
                        .rev()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(" / ")
                ),
            });
            continue;
        }
        let problems = report::kernel_problems(&pl.lines);
        let mut j = match *ph {
            "kunit" => report::judge_kunit(pl, "srcu_rs"),
            "rcutorture" => report::judge_rcutorture(pl, plan.torture_type),
            "kvmstress" | "kvmpoll" => {
                let (j, m) = report::judge_kvmstress(pl);
                stress.insert(ph.to_string(), m);
                j
            }
            "notifier" => report::judge_notifier(pl),
            "refscale" => {
                let r = report::refscale_runs(pl);
                let ok = plan.refscale_types.iter().all(|t| {
                    r.get(*t)
                        .map(|v| v.len() >= nruns as usize)
                        .unwrap_or(false)
                });
                let d = plan
                    .refscale_types
                    .iter()
                    .map(|t| {
                        r.get(*t)
                            .map(|v| {
                                format!("{t}: {} runs, median {:.2} ns", v.len(), report::median(v))
                            })
                            .unwrap_or(format!("{t}: no runs"))
                    })
                    .collect::<Vec<_>>()
                    .join("; ");
                refscale = Some(r);
                report::Judged {
                    status: if ok && pl.rc == 0 {
                        Status::Info
                    } else {
                        Status::Fail
                    },
                    detail: d,
                }
            }
            "kut" => {
                let r = report::kut_results(pl);
                let d = format!(
                    "{} tests: {} pass",
                    r.len(),
                    r.values().filter(|v| v.0 == "PASS").count()
                );
                kut = Some(r);
                report::Judged {
                    status: Status::Info,
                    detail: d,
                }
            }
            _ => report::Judged {
                status: Status::Info,
                detail: String::new(),
            },
        };
        if !problems.is_empty() {
            j.status = Status::Fail;
            j.detail = format!("kernel problems: {}; {}", problems.join(" / "), j.detail);
        }
        rows.push(Row {
            phase: label,
            kernel: kern.clone(),
            status: j.status,
            secs: pl.secs,
            detail: j.detail,
        });
        if let Some(m) = stress.get(*ph) {
            // proof that the kernel runs on srcu_rs: the domain's counters across the stress
            let j = report::judge_proof(m, base(k) == "stock");
            let row = Row {
                phase: if *ph == "kvmpoll" {
                    "srcu_rs counters (polled)".into()
                } else {
                    "srcu_rs counters".into()
                },
                kernel: kern.clone(),
                status: j.status,
                secs: 0.0,
                detail: j.detail,
            };
            rows.push(row);
        }
    }
    if outcome.timed_out {
        rows.push(Row {
            phase: "guest".into(),
            kernel: kern.clone(),
            status: Status::Fail,
            secs,
            detail: format!("hung: killed after {budget} s; log {}", clog.display()),
        });
    } else if !done {
        rows.push(Row {
            phase: "guest".into(),
            kernel: kern.clone(),
            status: Status::Fail,
            secs,
            detail: format!(
                "did not reach DONE (qemu exit {:?}); log {}",
                outcome.exit,
                clog.display()
            ),
        });
    }
    let triple_fault = fs::read_to_string(&qlog)
        .map(|l| l.contains("Triple fault"))
        .unwrap_or(false);
    if triple_fault {
        rows.push(Row {
            phase: "outer VM".into(),
            kernel: kern.clone(),
            status: Status::Fail,
            secs,
            detail: format!(
                "QEMU logged a triple fault of the outer VM (L1) itself: {}",
                qlog.display()
            ),
        });
    }
    p.end(&name, secs);
    Ok(BootResult {
        rows,
        secs,
        triple_fault,
        refscale,
        stress,
        kut,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(generic_broken_verdict(&[caught]).0);
        let other = kunit_row(
            Status::Fail,
            "pass:7 fail:1 skip:0; not ok 7 srcu_rs_test_early_boot",
        );
        assert!(!generic_broken_verdict(&[other]).0);
        let passed = kunit_row(Status::Pass, "pass:8 fail:0 skip:0");
        assert!(!generic_broken_verdict(&[passed]).0);
        assert!(!generic_broken_verdict(&[]).0);
    }

    #[test]
    fn generic_variant_is_known() {
        assert!(KERNELS.contains(&"patched-generic"));
        assert_eq!(base("patched-generic"), "patched");
        assert_eq!(variant("patched-generic"), "generic");
    }
}
