// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! srcu-rs-kernel-tests: the main job. Builds the stock and the srcu-rs (patched) Linux 6.12 kernels from one
//! config fragment, boots each under QEMU (TCG, `-cpu EPYC -smp 2`, kvm_amd nested inside) with a busybox
//! initramfs, runs the in-guest tests and writes a results table, JSON and JUnit XML.
//!
//! `run` resolves its options once into a [`plan::Plan`] (kernels, boots with their command lines and budgets,
//! broken-variant checks), then carries it out step by step ([`job::Job`]); `run --dry-run` prints it.

mod dryrun;
mod guest;
mod host;
mod job;
mod judge;
mod kbuild;
mod plan;
mod progress;
mod report;
mod results;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};

use plan::{ArchName, Kernel, Phase, TcgThreads};

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
    /// Only check the host (tools, cross tools, QEMU versions, busybox-static).
    Check,
    /// apt-get install what the job needs (Debian 12; QEMU 10 from bookworm-backports, which must be in the APT
    /// sources already; the ppc64el dpkg architecture for the ppc64le guests' busybox); needs root.
    InstallDeps,
}

#[derive(Args, Clone)]
pub struct RunArgs {
    /// Print every tree, build and boot command of the plan (QEMU command lines included) and exit; touches nothing.
    #[arg(long)]
    dry_run: bool,
    /// Your own Linux 6.12 source tree (default: Debian's linux-source-6.12, unpacked into the work directory).
    #[arg(long)]
    tree: Option<PathBuf>,
    /// Work directory for trees, O= builds, initramfs (default: ~/.cache/srcu-rs/kernel-tests).
    #[arg(long, env = "SRCU_RS_WORK")]
    work: Option<PathBuf>,
    /// Results directory (default: <repo>/results/kernel-tests-<unix time>).
    #[arg(long)]
    results: Option<PathBuf>,
    /// Bounded CI tier: the patched kernel (build, boot, KUnit, short rcutorture, KVM irq stress, notifier test),
    /// the patched-generic test-options kernel (KUnit only, then KUnit with srcu_rs.fault=4, which must fail) and
    /// the ppc64le-patched kernel (KUnit with real NMIs, rcutorture 30 s, notifier test, fault=4 and fault=2).
    #[arg(long)]
    ci: bool,
    /// A built kvm-unit-tests tree: its x86 tests run inside the guest on both kernels.
    #[arg(long = "kvm-unit-tests", env = "KVM_UNIT_TESTS")]
    kvm_unit_tests: Option<PathBuf>,
    /// kvm-unit-tests tests to run (comma-separated; default: the list in the README).
    #[arg(long, value_delimiter = ',')]
    kut_tests: Vec<String>,
    /// Kernels to build and test (comma-separated; default: all; --ci: patched,patched-generic,ppc64le-patched).
    #[arg(long, value_delimiter = ',')]
    kernels: Vec<Kernel>,
    /// Only the kernels of these architectures (comma-separated; default: all).
    #[arg(long, value_delimiter = ',')]
    arches: Vec<ArchName>,
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
    /// QEMU TCG threading for the outer VM (kvm-unit-tests boots always run single-threaded).
    #[arg(long, value_enum, default_value_t = TcgThreads::Multi)]
    tcg_threads: TcgThreads,
    /// Extra QEMU arguments for the outer VM, space-separated (e.g. `-d cpu_reset -D /tmp/qemu.log`).
    #[arg(long, default_value = "", allow_hyphen_values = true)]
    qemu_args: String,
    /// Full job without the lockdep/PROVE_RCU and KASAN kernel pairs (stock, patched, patched-generic and the
    /// ppc64le pair).
    #[arg(long)]
    no_debug_variants: bool,
    /// Run only these in-guest phases (comma-separated; default: all).
    #[arg(long, value_delimiter = ',')]
    phases: Vec<Phase>,
    /// Skip the broken-variant checks (patched kernels booted with srcu_rs.fault=N must fail rcutorture or the KVM
    /// stress; patched-generic and ppc64le-patched booted with srcu_rs.fault=4 must fail the KUnit NMI readers
    /// case).
    #[arg(long)]
    no_broken_check: bool,
    /// srcu-core fault number for the broken-variant check (2 = the grace period skips its second scan).
    #[arg(long, default_value_t = 2)]
    broken_fault: u32,
    /// Repository root (default: the checkout this binary was built from).
    #[arg(long)]
    repo: Option<PathBuf>,
}

fn main() {
    let cli = Cli::parse();
    let r = match cli.cmd {
        Cmd::Check => check().map(|_| true),
        Cmd::InstallDeps => install_deps(&default_repo()).map(|_| true),
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

/// The checkout this binary was built from.
fn default_repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("kernel-tests/ sits in the repository root")
        .to_path_buf()
}

/// The run: its plan resolved from the options (refused before any work when they do not make one), then either
/// printed (`--dry-run`) or carried out.
fn run(a: RunArgs) -> Result<bool> {
    let job = job::Setup::resolve(&a, a.repo.clone().unwrap_or_else(default_repo))?;
    if a.dry_run {
        print!("{}", dryrun::render(&job));
        return Ok(true);
    }
    job::Job::start(job)?.carry_out()
}

fn install_deps(repo: &Path) -> Result<()> {
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
    let install = |pkgs: &[String], more: &[&str]| -> Result<()> {
        let mut args = vec!["install", "-y", "--no-install-recommends"];
        args.extend(more);
        args.extend(pkgs.iter().map(String::as_str));
        apt(&args)
    };
    // the ppc64le guests' busybox is Debian's ppc64el busybox-static, downloaded (never installed) by the run
    for arch in plan::ARCHES {
        if let plan::Userspace::Debian { dpkg_arch, .. } = arch.userspace {
            let known =
                host::sh(std::process::Command::new("dpkg").arg("--print-foreign-architectures"))?;
            if !known.split_whitespace().any(|a| a == dpkg_arch) {
                let st = std::process::Command::new("dpkg")
                    .args(["--add-architecture", dpkg_arch])
                    .status()
                    .context("dpkg --add-architecture")?;
                if !st.success() {
                    bail!("dpkg --add-architecture {dpkg_arch} failed ({st})");
                }
            }
        }
    }
    apt(&["update"])?;
    install(&kbuild::debian_packages(repo, "kernel")?, &[])?;
    let pin = kbuild::PinnedSource::read(repo)?;
    if install(&[pin.pinned()], &[]).is_err() {
        eprintln!(
            "note: {} is not in the archive any more; installing the current {}",
            pin.pinned(),
            pin.package
        );
        install(std::slice::from_ref(&pin.package), &[])?;
    }
    if plan::ARCHES.iter().any(|a| host::qemu(a).is_err()) {
        install(&kbuild::debian_packages(repo, "backports")?, &["-t", "bookworm-backports"]).context(
            "QEMU 10 comes from bookworm-backports: add bookworm-backports to the APT sources, then run this again",
        )?;
    }
    check()
}

fn check() -> Result<()> {
    host::check_host(plan::ARCHES)?;
    let bb = host::busybox()?;
    for arch in plan::ARCHES {
        let (q, v) = host::qemu(arch)?;
        println!(
            "{}: QEMU {v} ({}), CC={}",
            arch.name,
            q.display(),
            kbuild::cc(arch)
        );
    }
    println!("host OK: busybox {}", bb.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<RunArgs, clap::Error> {
        let mut v = vec!["srcu-rs-kernel-tests", "run"];
        v.extend(args);
        Cli::try_parse_from(v).map(|c| match c.cmd {
            Cmd::Run(a) => a,
            _ => unreachable!(),
        })
    }

    #[test]
    fn bad_option_values_are_refused_with_the_valid_ones() {
        let e = parse(&["--phases", "kunit,bogus"]).err().unwrap();
        assert_eq!(e.exit_code(), 2);
        assert!(
            e.to_string().contains("possible values: kunit, rcutorture"),
            "{e}"
        );
        let e = parse(&["--kernels", "patched,bogus"]).err().unwrap();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("patched-generic"), "{e}");
        assert!(parse(&["--tcg-threads", "many"]).is_err());
        let a = parse(&["--ci", "--kernels", "patched", "--phases", "kunit"]).unwrap();
        assert_eq!(a.kernels, [Kernel::Patched]);
    }

    /// kernel-tests/README.md documents every option of `run` (its options table).
    #[test]
    fn readme_documents_every_option() {
        let readme = include_str!("../README.md");
        let cmd = Cli::command();
        let run = cmd.find_subcommand("run").unwrap();
        for a in run.get_arguments() {
            if let Some(long) = a.get_long() {
                if long == "help" {
                    continue;
                }
                assert!(
                    readme.contains(&format!("| `--{long}")),
                    "README lacks --{long}"
                );
            }
        }
    }

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    /// `run --dry-run ARGS` into a fresh temporary work and results directory: the plan's text; the directories
    /// must not exist afterwards.
    fn dry_run(args: &[&str]) -> String {
        let tmp = std::env::temp_dir().join(format!(
            "srcu-rs-dry-{}-{}",
            std::process::id(),
            args.join("_").replace(['-', ','], "")
        ));
        let (work, results) = (tmp.join("work"), tmp.join("results"));
        let mut v = vec!["--dry-run", "--work", work.to_str().unwrap(), "--results"];
        v.push(results.to_str().unwrap());
        v.extend(args);
        let setup = job::Setup::resolve(&parse(&v).unwrap(), default_repo()).unwrap();
        let out = dryrun::render(&setup);
        assert!(!tmp.exists(), "the dry run created {}", tmp.display());
        out
    }

    /// The dry run prints the plan's commands, QEMU's included, and creates nothing.
    #[test]
    fn dry_run_prints_every_boot_and_touches_nothing() {
        let out = dry_run(&["--ci", "--arches", "x86_64"]);
        assert_eq!(
            out.matches("qemu-system-x86_64 -accel tcg,thread=multi")
                .count(),
            6,
            "{out}"
        );
        assert!(
            out.contains(
                "# boot 1/6 patched: kunit,rcutorture,kvmpoll,kvmstress,explat,notifier,lifetime; budget 750 s"
            ),
            "{out}"
        );
        assert!(
            out.contains("# boot 4/6 patched-fault9: kunit; budget 210 s"),
            "{out}"
        );
        assert!(
            out.contains("# boot 6/6 patched-generic-broken: kunit; budget 210 s"),
            "{out}"
        );
        assert!(out.contains("srcu_rs.fault=2"), "{out}");
        assert!(
            out.contains(" tinyconfig")
                && out.contains("merge_config.sh")
                && out.contains("bzImage modules")
        );
        assert!(out.contains("mitigations.fragment") && out.contains("kvm-modules.fragment"));
        assert!(out.contains("check-readers.sh"), "{out}");
    }

    /// The ppc64le rows' dry run: cross build, the ppc64el busybox, the pseries QEMU command.
    #[test]
    fn ppc64le_dry_run() {
        let out = dry_run(&["--kernels", "ppc64le-stock,ppc64le-patched"]);
        assert!(out.contains("ARCH=powerpc CROSS_COMPILE=powerpc64le-linux-gnu- -j2 'CC=ccache powerpc64le-linux-gnu-gcc' vmlinux modules")
            || out.contains("ARCH=powerpc CROSS_COMPILE=powerpc64le-linux-gnu- -j2 CC=powerpc64le-linux-gnu-gcc vmlinux modules"), "{out}");
        assert!(out.contains("ppc64le.fragment") && !out.contains("mitigations.fragment"));
        assert!(
            out.contains("apt-get download busybox-static:ppc64el"),
            "{out}"
        );
        assert!(!out.contains("kvm-irq-stress") || out.contains("kvm-irq-stress (x86_64)"));
        assert_eq!(
            out.matches("qemu-system-ppc64 -accel tcg,thread=multi")
                .count(),
            5,
            "{out}"
        );
        assert_eq!(out.matches("one-insn-per-tb=on").count(), 2, "{out}");
        assert!(!out.contains("qemu-system-x86_64 -accel"), "{out}");
        assert!(!out.contains("check-readers.sh"), "{out}");
    }
}
