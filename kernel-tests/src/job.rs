// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! Carrying out a plan, one function per step: host checks, trees, kernel builds (with the gate), initramfs
//! images, boots, then the cross-boot verdicts. The results files are rewritten after every step.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::guest::{self, KutTest};
use crate::judge::{self, BootEnv, BootResult};
use crate::kbuild::{self, PinnedSource, Series};
use crate::plan::{Boot, Kernel, Layout, Options, Plan, Purpose, Source, Userspace};
use crate::progress::Progress;
use crate::report::{self, Row, Status};
use crate::results::{BuildInfo, Results};
use crate::RunArgs;

/// Everything a run needs, resolved from the options before any work: nothing here has touched the disk.
pub struct Setup {
    pub repo: PathBuf,
    pub layout: Layout,
    pub user_tree: Option<PathBuf>,
    pub opts: Options,
    pub plan: Plan,
    pub jobs: usize,
    pub qemu_args: String,
    pub kut_dir: Option<PathBuf>,
    pub series: Option<Series>,
    /// The pinned kernel source (when the stock tree is Debian's, not `--tree`).
    pub pin: Option<PinnedSource>,
    pub started_unix: u64,
}

impl Setup {
    pub fn resolve(a: &RunArgs, repo: PathBuf) -> Result<Setup> {
        let started_unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs();
        let kut_tests = match &a.kvm_unit_tests {
            Some(d) => Some(guest::kut_plan(d, &a.kut_tests)?),
            None => None,
        };
        let opts = Options {
            ci: a.ci,
            kernels: a.kernels.clone(),
            arches: a.arches.clone(),
            phases: a.phases.clone(),
            no_debug_variants: a.no_debug_variants,
            torture_secs: a.torture_secs,
            kvm_secs: a.kvm_secs,
            notifier_secs: a.notifier_secs,
            refscale_nruns: a.refscale_nruns,
            patched_append: a.patched_append.clone().unwrap_or_default(),
            kvm_args: a.kvm_args.clone(),
            tcg_threads: a.tcg_threads,
            no_broken_check: a.no_broken_check,
            broken_fault: a.broken_fault,
            kut_tests,
        };
        let plan = Plan::resolve(&opts)?;
        let series = kbuild::find_series(&repo);
        if plan.any_patched() && series.is_none() {
            bail!(
                "the srcu-rs patch series is not in {} (neither the srcu-rs-patches CLI in patches/ nor \
                 patches/linux-6.12/*.patch): the patched kernel cannot be built; run with --kernels stock to test \
                 the harness on the stock kernel",
                repo.display()
            );
        }
        let pin = match &a.tree {
            Some(_) => None,
            None => Some(PinnedSource::read(&repo)?),
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
        Ok(Setup {
            layout: Layout {
                work: std::path::absolute(&work)?,
                results: std::path::absolute(&results)?,
            },
            user_tree: a.tree.clone(),
            opts,
            plan,
            jobs: a.jobs,
            qemu_args: a.qemu_args.clone(),
            kut_dir: a.kvm_unit_tests.clone(),
            series,
            pin,
            started_unix,
            repo,
        })
    }

    pub fn stock_tree(&self) -> PathBuf {
        self.user_tree
            .clone()
            .unwrap_or_else(|| kbuild::stock_dir(&self.layout.work))
    }

    pub fn tree(&self, source: Source) -> PathBuf {
        match source {
            Source::Stock => self.stock_tree(),
            Source::Patched => kbuild::patched_dir(&self.layout.work),
        }
    }

    pub fn fragments(&self, k: Kernel) -> Vec<PathBuf> {
        let dir = self.repo.join("kernel-tests/config");
        let spec = k.spec();
        spec.fragments
            .iter()
            .chain(spec.variant)
            .map(|f| dir.join(f))
            .collect()
    }

    pub fn notifier_dir(&self, k: Kernel) -> PathBuf {
        self.layout.work.join(format!("notifier-{}", k.name()))
    }
}

/// A run being carried out.
pub struct Job {
    s: Setup,
    p: Progress,
    r: Results,
    /// The outer VM's QEMU and the guest's busybox, per architecture name.
    qemu: BTreeMap<&'static str, PathBuf>,
    busybox: BTreeMap<&'static str, PathBuf>,
    kos: BTreeMap<Kernel, PathBuf>,
    /// The in-guest KVM stress program (when an architecture with KVM phases is in the plan).
    stress_bin: Option<PathBuf>,
    kut_by_kernel: BTreeMap<Kernel, BTreeMap<String, (String, f64)>>,
}

impl Job {
    /// Makes the work and results directories: the first thing a run writes.
    pub fn start(mut s: Setup) -> Result<Job> {
        for d in [&s.layout.work, &s.layout.results] {
            fs::create_dir_all(d).with_context(|| format!("create {}", d.display()))?;
        }
        s.layout.work = fs::canonicalize(&s.layout.work)?;
        s.layout.results = fs::canonicalize(&s.layout.results)?;
        let r = Results::new(s.plan.mode(), s.started_unix);
        Ok(Job {
            s,
            p: Progress::new(),
            r,
            qemu: BTreeMap::new(),
            busybox: BTreeMap::new(),
            kos: BTreeMap::new(),
            stress_bin: None,
            kut_by_kernel: BTreeMap::new(),
        })
    }

    /// Every step in order; an error ends the run with a FAIL row saying where, the rows before it kept.
    pub fn carry_out(mut self) -> Result<bool> {
        if let Err(e) = self.steps() {
            self.r.abort(&self.s.layout.results, &e);
            eprintln!("results so far: {}", self.s.layout.results.display());
            return Err(e);
        }
        let ok = self.r.finish(&self.s.layout.results)?;
        println!("\n{}", self.r.table());
        let count = |f: &dyn Fn(Status) -> bool| self.r.rows.iter().filter(|r| f(r.status)).count();
        println!(
            "kernel-tests ({}): {} passed, {} failed, {} skipped",
            self.s.plan.mode(),
            count(&|s| s == Status::Pass),
            count(&|s| s == Status::Fail),
            count(&|s| matches!(s, Status::Skip | Status::NotAvailable))
        );
        println!("results: {}", self.s.layout.results.display());
        Ok(ok)
    }

    fn steps(&mut self) -> Result<()> {
        self.host()?;
        self.save("trees")?;
        self.trees()?;
        self.save("builds")?;
        for k in self.s.plan.kernels.clone() {
            self.build(k)?;
            self.save(&format!("built {}", k.name()))?;
        }
        self.initramfs()?;
        let n = self.s.plan.boots.len();
        for (i, b) in self.s.plan.boots.clone().iter().enumerate() {
            self.r.progress = format!("boot {}/{n} {}", i + 1, b.name());
            self.save(&self.r.progress.clone())?;
            self.p.say(&format!(
                "boot {}/{n}: {} ({}; budget {} s, TCG {}{})",
                i + 1,
                b.name(),
                phase_list(b),
                b.budget.as_secs(),
                b.tcg.name(),
                if b.one_insn_per_tb {
                    ", one instruction per TB"
                } else {
                    ""
                }
            ));
            match &b.purpose {
                Purpose::Tests => self.tests_boot(b)?,
                Purpose::KvmUnitTests => self.kut_boot(b)?,
                Purpose::Broken(_) => self.broken_boot(b)?,
            }
        }
        self.r.progress = format!("boot {n}/{n} done; verdicts");
        self.kut_verdicts()?;
        self.refscale_rows();
        Ok(())
    }

    fn save(&mut self, progress: &str) -> Result<()> {
        self.r.progress = progress.to_string();
        self.r.write(&self.s.layout.results)
    }

    fn log(&self, name: &str) -> PathBuf {
        self.s.layout.results.join(name)
    }

    fn host(&mut self) -> Result<()> {
        self.p.begin("host checks");
        let t = Instant::now();
        let arches = self.s.plan.arches();
        crate::host::check_host(&arches)?;
        let mut qvers = Vec::new();
        let mut ccs = Vec::new();
        for arch in &arches {
            let (qemu, qver) = crate::host::qemu(arch)?;
            qvers.push(format!("{} {qver}", arch.qemu));
            ccs.push(kbuild::cc(arch));
            self.qemu.insert(arch.name, qemu);
            if arch.userspace == Userspace::Host {
                self.busybox.insert(arch.name, crate::host::busybox()?);
            }
        }
        let (qver, cc) = (qvers.join(", "), ccs.join(", "));
        let h = &mut self.r.host;
        h.insert("qemu".into(), qver.clone());
        h.insert("cc".into(), cc.clone());
        h.insert("work".into(), self.s.layout.work.display().to_string());
        h.insert(
            "results".into(),
            self.s.layout.results.display().to_string(),
        );
        h.insert("repo".into(), self.s.repo.display().to_string());
        if let Ok(s) = fs::read_to_string("/proc/cpuinfo") {
            h.insert("cpus".into(), s.matches("processor\t").count().to_string());
        }
        h.insert(
            "series".into(),
            match &self.s.series {
                Some(Series::Cli { stamp, .. }) => format!("srcu-rs-patches CLI ({stamp})"),
                Some(Series::Files { files, stamp }) => {
                    format!("{} patch files ({stamp})", files.len())
                }
                None => "absent".into(),
            },
        );
        self.p.say(&format!(
            "QEMU {qver}; CC={cc}; work {}; results {}",
            self.s.layout.work.display(),
            self.s.layout.results.display()
        ));
        self.r
            .phase_secs
            .insert("host".into(), t.elapsed().as_secs_f64());
        self.p.end("host checks", t.elapsed().as_secs_f64());
        Ok(())
    }

    fn trees(&mut self) -> Result<()> {
        self.p.begin("tree");
        let t = Instant::now();
        let tlog = self.log("tree.log");
        let p = &self.p;
        let stock = kbuild::stock_tree(
            self.s.user_tree.as_deref(),
            self.s.pin.as_ref(),
            &self.s.layout.work,
            &tlog,
            &mut |m| p.say(m),
        )?;
        let version = kbuild::tree_version(&stock)?;
        self.r.host.insert("linux".into(), version.clone());
        p.say(&format!("stock tree {} (Linux {version})", stock.display()));
        if self.s.plan.any_patched() {
            let series = self.s.series.as_ref().expect("resolve checked the series");
            let pt = kbuild::patched_tree(&stock, &self.s.layout.work, series, &tlog, &mut |m| {
                p.say(m)
            })?;
            p.say(&format!("patched tree {}", pt.display()));
        }
        let secs = t.elapsed().as_secs_f64();
        self.r.phase_secs.insert("tree".into(), secs);
        self.r.rows.push(Row {
            phase: "tree".into(),
            kernel: "-".into(),
            status: Status::Pass,
            secs,
            detail: format!("Linux {version}: {}", stock.display()),
        });
        self.p.end("tree", secs);
        Ok(())
    }

    fn build(&mut self, k: Kernel) -> Result<()> {
        let spec = k.spec();
        let name = format!("build {}", k.name());
        self.p.begin(&name);
        let t = Instant::now();
        let tree = self.s.tree(spec.source);
        let out = self.s.layout.out(k);
        let work = self.s.layout.work.clone();
        let blog = self.log(&format!("build-{}.log", k.name()));
        let _ = fs::remove_file(&blog);
        let tc = Instant::now();
        let dropped = kbuild::configure(
            &tree,
            &out,
            spec.arch,
            &self.s.fragments(k),
            spec.required,
            &blog,
        )?;
        let config_secs = tc.elapsed().as_secs_f64();
        for d in &dropped {
            self.p.say(&format!(
                "note: fragment option not in the final .config: {d}"
            ));
        }
        let make_from = fs::metadata(&blog).map(|m| m.len()).unwrap_or(0);
        let pr = &self.p;
        let mut last = Instant::now();
        let timed = kbuild::build(
            &tree,
            &out,
            spec.arch,
            &work,
            self.s.jobs,
            &blog,
            &mut |l| {
                if last.elapsed() > Duration::from_millis(100) {
                    pr.tick(l);
                    last = Instant::now();
                }
            },
        )?;
        let gate = if spec.gated {
            Some(kbuild::gate(
                &self.s.repo,
                &out,
                spec.arch,
                &blog,
                make_from,
            )?)
        } else {
            None
        };
        let src = self.s.repo.join("kernel-tests/notifier-test");
        let ko = kbuild::build_ext_module(
            &tree,
            &out,
            spec.arch,
            &work,
            &src,
            &self.s.notifier_dir(k),
            &blog,
        )?;
        self.kos.insert(k, ko);
        let info = BuildInfo {
            release: kbuild::kernel_release(&out)?,
            tree: tree.display().to_string(),
            out: out.display().to_string(),
            config_secs,
            build_wall_secs: timed.wall.as_secs_f64(),
            build_cpu_secs: timed.cpu.as_secs_f64(),
            bzimage_bytes: fs::metadata(self.s.layout.image(k))
                .map(|m| m.len())
                .unwrap_or(0),
            initramfs_bytes: 0,
            srcu_rs: kbuild::config_value(&out, "SRCU_RS"),
        };
        let mut detail = format!(
            "{} {} SRCU_RS={}: config {:.0} s, make {:.0} s wall / {:.0} CPU-s, {} {} KiB",
            spec.arch.name,
            info.release,
            info.srcu_rs,
            config_secs,
            info.build_wall_secs,
            info.build_cpu_secs,
            spec.arch
                .image
                .rsplit('/')
                .next()
                .unwrap_or(spec.arch.image),
            info.bzimage_bytes / 1024
        );
        if let Some(g) = gate {
            detail.push_str("; ");
            detail.push_str(&g);
        }
        self.p.say(&detail);
        self.r.rows.push(Row {
            phase: "build".into(),
            kernel: k.name().into(),
            status: Status::Pass,
            secs: t.elapsed().as_secs_f64(),
            detail,
        });
        self.r.builds.insert(k.name().into(), info);
        self.r
            .phase_secs
            .insert(name.clone(), t.elapsed().as_secs_f64());
        self.p.end(&name, t.elapsed().as_secs_f64());
        Ok(())
    }

    fn initramfs_inputs<'a>(
        &'a self,
        k: Kernel,
        tree: &'a Path,
        out: &'a Path,
        kut: Option<&'a [KutTest]>,
    ) -> guest::InitramfsInputs<'a> {
        let arch = k.spec().arch;
        guest::InitramfsInputs {
            arch,
            tree,
            out,
            busybox: &self.busybox[arch.name],
            stress: self.stress_bin.as_deref().filter(|_| arch.kvm),
            notifier_ko: &self.kos[&k],
            kut: self.s.kut_dir.as_deref().zip(kut),
        }
    }

    fn initramfs(&mut self) -> Result<()> {
        self.p.begin("initramfs");
        let t = Instant::now();
        let glog = self.log("initramfs.log");
        let mut contents = Vec::new();
        for arch in self.s.plan.arches() {
            match arch.userspace {
                Userspace::Host => {
                    self.stress_bin = Some(guest::build_guest_programs(&self.s.repo, &glog)?);
                    contents.push(format!(
                        "{}: busybox-static, kvm-irq-stress (static), srcu_notifier_test.ko, modules",
                        arch.name
                    ));
                }
                Userspace::Debian {
                    dpkg_arch,
                    elf_machine,
                } => {
                    let bb =
                        guest::foreign_busybox(&self.s.layout.work, dpkg_arch, elf_machine, &glog)?;
                    self.busybox.insert(arch.name, bb);
                    contents.push(format!(
                        "{}: busybox-static:{dpkg_arch} (downloaded, not installed), srcu_notifier_test.ko, modules",
                        arch.name
                    ));
                }
            }
        }
        for k in self.s.plan.kernels.clone() {
            let img = self.s.layout.initramfs(k);
            let (tree, out) = (self.s.tree(k.spec().source), self.s.layout.out(k));
            let inp = self.initramfs_inputs(k, &tree, &out, self.s.plan.kut_tests.as_deref());
            let stage = self.s.layout.work.join(format!("stage-{}", k.name()));
            let size = guest::build_initramfs(&inp, &stage, &img, &glog)?;
            self.r
                .builds
                .get_mut(k.name())
                .expect("built")
                .initramfs_bytes = size;
            self.p.say(&format!(
                "{}: {} ({} KiB)",
                k.name(),
                img.display(),
                size / 1024
            ));
        }
        let secs = t.elapsed().as_secs_f64();
        self.r.phase_secs.insert("initramfs".into(), secs);
        self.r.rows.push(Row {
            phase: "initramfs".into(),
            kernel: "-".into(),
            status: Status::Pass,
            secs,
            detail: contents.join("; "),
        });
        self.p.end("initramfs", secs);
        Ok(())
    }

    /// One boot, judged.
    fn boot(&mut self, b: &Boot, initrd: &Path) -> Result<BootResult> {
        let env = BootEnv {
            qemu: &self.qemu[b.kernel.spec().arch.name],
            layout: &self.s.layout,
            qemu_args: &self.s.qemu_args,
        };
        judge::boot_and_judge(&mut self.p, &env, b, initrd)
    }

    /// Boots `b`, and once more (suffix `<suffix>-retry`) when the outer VM itself triple-faulted (no oops, no
    /// panic: the CPU could not even deliver a double fault). That comes from TCG's SVM emulation swapping L1 and
    /// L2 state, the same failure kvm-irq-stress repairs inside L2 (see its `repair_apic`), not from the kernel
    /// under test. The first attempt's rows stay in the table, marked `(1st)`, its failures as INFO.
    fn boot_once_more_after_triple_fault(&mut self, b: &Boot) -> Result<BootResult> {
        let initrd = self.s.layout.initramfs(b.kernel);
        let mut outcome = self.boot(b, &initrd)?;
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
        self.p.say(&format!(
            "{}: the outer VM triple-faulted; booting once more",
            b.name()
        ));
        let again = b.again(&format!("{}-retry", b.suffix), "");
        let mut retry = self.boot(&again, &initrd)?;
        retry.rows.splice(0..0, first);
        retry.secs += outcome.secs;
        Ok(retry)
    }

    fn tests_boot(&mut self, b: &Boot) -> Result<()> {
        let o = self.boot_once_more_after_triple_fault(b)?;
        let k = b.kernel.name();
        self.r
            .phase_secs
            .insert(format!("boot+tests {}", b.name()), o.secs);
        self.r.rows.extend(o.rows);
        if let Some(r) = o.refscale {
            self.r.refscale.insert(k.into(), r);
        }
        for (ph, s) in o.stress {
            self.r.kvm_irq_stress.insert(format!("{k} {ph}"), s);
        }
        Ok(())
    }

    /// A broken variant's boot: its rows become evidence (INFO) and one row says whether it was caught.
    fn broken_boot(&mut self, b: &Boot) -> Result<()> {
        let Purpose::Broken(check) = &b.purpose else {
            unreachable!("broken_boot takes a broken-variant boot")
        };
        if kbuild::config_value(&self.s.layout.out(b.kernel), "SRCU_RS_FAULT_INJECTION") != "y" {
            self.r.rows.push(Row {
                phase: format!("broken variant {}", check.switch_arg()),
                kernel: b.kernel.name().into(),
                status: Status::NotAvailable,
                secs: 0.0,
                detail: format!(
                    "CONFIG_SRCU_RS_FAULT_INJECTION is not in the {} .config (the series lacks it)",
                    b.kernel.name()
                ),
            });
            return Ok(());
        }
        let o = if check.retry_triple_fault {
            self.boot_once_more_after_triple_fault(b)?
        } else {
            let initrd = self.s.layout.initramfs(b.kernel);
            self.boot(b, &initrd)?
        };
        self.r
            .phase_secs
            .insert(format!("boot+tests {}", b.name()), o.secs);
        let (caught, detail) = judge::broken_verdict(check, &b.params, &o.rows);
        self.r.rows.extend(judge::as_evidence(o.rows));
        self.r.rows.push(Row {
            phase: format!("broken variant {} detected", check.switch_arg()),
            kernel: b.name(),
            status: if caught { Status::Pass } else { Status::Fail },
            secs: o.secs,
            detail,
        });
        Ok(())
    }

    /// Boots a kernel for kvm-unit-tests alone (single-threaded TCG, see `plan::boot`) and records its rows and
    /// per-test results. When the outer QEMU itself aborts in a test (QEMU 10.0.2's TCG asserts in
    /// `tcg_handle_interrupt` on the `emulator` test now and then, in both threading modes, on either kernel),
    /// that test is recorded as DIED and the tests after it run in a new boot, at most twice.
    fn kut_boot(&mut self, b: &Boot) -> Result<()> {
        let k = b.kernel;
        let names: Vec<String> = self
            .s
            .plan
            .kut_tests
            .iter()
            .flatten()
            .map(|t| t.name.clone())
            .collect();
        let initrd = self.s.layout.initramfs(k);
        let mut results: BTreeMap<String, (String, f64)> = BTreeMap::new();
        let mut pending = names;
        for attempt in 1..=3 {
            let (suffix, only) = if attempt == 1 {
                (b.suffix.clone(), String::new())
            } else {
                (
                    format!("{}{attempt}", b.suffix),
                    format!("srcutest.kut_only={}", pending.join(",")),
                )
            };
            let boot = b.again(&suffix, &only);
            let mut o = self.boot(&boot, &initrd)?;
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
                self.p.say(&format!(
                    "{}: the outer QEMU aborted during kvm-unit-tests (a TCG bug); {} test(s) left{}",
                    k.name(),
                    pending.len(),
                    if resume { ", booting again for them" } else { "" }
                ));
                for r in &mut o.rows {
                    if r.status == Status::Fail {
                        r.status = Status::Info;
                        r.detail = format!(
                            "(outer QEMU aborted, not the guest kernel; the test running is DIED{}) {}",
                            if resume { ", the rest run in a new boot" } else { "" },
                            r.detail
                        );
                    }
                }
            }
            self.r.phase_secs.insert(
                format!("boot+kvm-unit-tests {}{}", k.name(), &suffix[4..]),
                o.secs,
            );
            self.r.rows.extend(o.rows);
            if !resume {
                break;
            }
            self.save(&format!("{} kvm-unit-tests boot {}", k.name(), attempt + 1))?;
        }
        self.kut_by_kernel.insert(k, results);
        Ok(())
    }

    /// kvm-unit-tests that passed on stock but not on patched get one more boot of their own; then one row per
    /// test compares the two kernels.
    fn kut_verdicts(&mut self) -> Result<()> {
        let Some(tests) = self.s.plan.kut_tests.clone() else {
            if !self.s.plan.arches().iter().any(|a| a.kvm) {
                return Ok(());
            }
            self.r.rows.push(Row {
                phase: "kvm-unit-tests".into(),
                kernel: "-".into(),
                status: Status::Skip,
                secs: 0.0,
                detail: "no tree given (--kvm-unit-tests DIR or KVM_UNIT_TESTS)".into(),
            });
            return Ok(());
        };
        let stock = self
            .kut_by_kernel
            .get(&Kernel::Stock)
            .cloned()
            .unwrap_or_default();
        let mut patched = self.kut_by_kernel.get(&Kernel::Patched).cloned();
        if let (Some(pt), false) = (&patched, stock.is_empty()) {
            let regress: Vec<KutTest> = tests
                .iter()
                .filter(|t| {
                    stock.get(&t.name).is_some_and(|r| r.0 == "PASS")
                        && pt.get(&t.name).is_none_or(|r| r.0 != "PASS")
                })
                .cloned()
                .collect();
            if !regress.is_empty() {
                patched = Some(self.kut_retry(pt, &regress)?);
            }
        }
        for t in &tests {
            let row = judge::kut_row(
                &t.name,
                stock.get(&t.name),
                patched.as_ref().and_then(|m| m.get(&t.name)),
            );
            let mut m = BTreeMap::new();
            let first = |r: Option<&(String, f64)>| r.map(|x| x.0.clone()).unwrap_or("-".into());
            m.insert("stock".to_string(), first(stock.get(&t.name)));
            m.insert(
                "patched".to_string(),
                first(patched.as_ref().and_then(|m| m.get(&t.name))),
            );
            self.r.kvm_unit_tests.insert(t.name.clone(), m);
            self.r.rows.push(row);
        }
        Ok(())
    }

    fn kut_retry(
        &mut self,
        first: &BTreeMap<String, (String, f64)>,
        retry: &[KutTest],
    ) -> Result<BTreeMap<String, (String, f64)>> {
        let names: Vec<&str> = retry.iter().map(|t| t.name.as_str()).collect();
        self.p.say(&format!(
            "kvm-unit-tests passing on stock but not on patched: {} -- retrying once",
            names.join(",")
        ));
        let img = self
            .s
            .layout
            .work
            .join("initramfs-patched-kut-retry.cpio.gz");
        let (tree, out) = (
            self.s.tree(Source::Patched),
            self.s.layout.out(Kernel::Patched),
        );
        let inp = self.initramfs_inputs(Kernel::Patched, &tree, &out, Some(retry));
        let stage = self.s.layout.work.join("stage-kut-retry");
        guest::build_initramfs(&inp, &stage, &img, &self.log("initramfs.log"))?;
        let b = self.s.plan.kut_retry_boot(&self.s.opts, retry.len());
        let o = self.boot(&b, &img)?;
        let mut merged = first.clone();
        for (n, r) in o.kut.unwrap_or_default() {
            let was = first.get(&n).map(|x| x.0.clone()).unwrap_or_default();
            merged.insert(n, (format!("{} (retry; first {was})", r.0), r.1));
        }
        Ok(merged)
    }

    /// refscale side by side, one row per patched kernel that measured it: srcu_rs against the in-tree readers
    /// (srcu; on ppc64le also srcu-nmisafe) in the same boot, as ratios of medians.
    fn refscale_rows(&mut self) {
        let measured: Vec<(Kernel, Vec<&'static str>)> = self
            .s
            .plan
            .boots
            .iter()
            .filter(|b| b.phases.contains(&crate::plan::Phase::Refscale))
            .filter(|b| b.params.refscale_types.contains(&"srcu_rs"))
            .map(|b| (b.kernel, b.params.refscale_types.clone()))
            .collect();
        for (k, types) in measured {
            let runs = self.r.refscale.get(k.name()).cloned().unwrap_or_default();
            let row = refscale_row(k.name(), &types, &runs);
            self.r.rows.push(row);
        }
    }
}

/// The refscale comparison row of one boot: each type's median (and mean), then srcu_rs's median over each
/// other type's.
fn refscale_row(kernel: &str, types: &[&str], runs: &BTreeMap<String, Vec<f64>>) -> Row {
    let phase = format!("refscale {}", types.join(" vs "));
    let got: Vec<(&str, &[f64])> = types
        .iter()
        .map(|t| (*t, runs.get(*t).map(Vec::as_slice).unwrap_or_default()))
        .collect();
    if got.iter().any(|(_, v)| v.len() < 10) {
        let counts: Vec<String> = got
            .iter()
            .map(|(t, v)| format!("{t} {} runs", v.len()))
            .collect();
        return Row {
            phase,
            kernel: kernel.into(),
            status: Status::Fail,
            secs: 0.0,
            detail: format!("missing runs: {}", counts.join(", ")),
        };
    }
    let counts: Vec<String> = got.iter().map(|(_, v)| v.len().to_string()).collect();
    let each: Vec<String> = got
        .iter()
        .map(|(t, v)| format!("{t} {:.2} ({:.2})", report::median(v), report::mean(v)))
        .collect();
    let rs = report::median(&runs["srcu_rs"]);
    let ratios: Vec<String> = got
        .iter()
        .filter(|(t, _)| *t != "srcu_rs")
        .map(|(t, v)| format!("srcu_rs/{t} {:.2}", rs / report::median(v)))
        .collect();
    Row {
        phase,
        kernel: kernel.into(),
        status: Status::Info,
        secs: 0.0,
        detail: format!(
            "read-side pair ns, median (mean) of {} runs: {}; ratio {}",
            counts.join("/"),
            each.join(", "),
            ratios.join(", ")
        ),
    }
}

pub fn phase_list(b: &Boot) -> String {
    b.phases
        .iter()
        .map(|p| p.name())
        .collect::<Vec<_>>()
        .join(",")
}
