// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! `run --dry-run`: the plan as the commands it would run, from the same constructors the run uses. Reads
//! nothing but the options (and the repository's series files, to name the way it applies); writes nothing.

use std::fmt::Write as _;
use std::path::PathBuf;

use crate::guest;
use crate::job::{phase_list, Setup};
use crate::kbuild::{self, Series};
use crate::plan::{self, shell_line, Purpose, Userspace};

pub fn render(s: &Setup) -> String {
    let mut o = String::new();
    let plan = &s.plan;
    let kernels: Vec<&str> = plan.kernels.iter().map(|k| k.name()).collect();
    let _ = writeln!(
        o,
        "# plan ({}): kernels {}; {} boots; work {}; results {}",
        plan.mode(),
        kernels.join(","),
        plan.boots.len(),
        s.layout.work.display(),
        s.layout.results.display()
    );
    for arch in plan.arches() {
        let tools: Vec<&str> = arch.tools.iter().map(|(t, _)| *t).collect();
        let (major, minor, _) = arch.qemu_min;
        let _ = writeln!(
            o,
            "# host ({}): check tools{}{}, {} >= {major}.{minor}{}",
            arch.name,
            if tools.is_empty() { "" } else { ", " },
            tools.join(", "),
            arch.qemu,
            match arch.userspace {
                Userspace::Host => ", the host's static busybox",
                Userspace::Debian { .. } => "",
            }
        );
    }
    trees(s, &mut o);
    for k in &plan.kernels {
        let spec = k.spec();
        let tree = s.tree(spec.source);
        let out = s.layout.out(*k);
        let required: Vec<String> = spec
            .required
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let _ = writeln!(
            o,
            "# build {} ({}; required {}{})",
            k.name(),
            spec.arch.name,
            required.join(" "),
            if spec.gated { "; gated" } else { "" }
        );
        for c in kbuild::configure_commands(&tree, &out, spec.arch, &s.fragments(*k)) {
            let _ = writeln!(o, "{}", shell_line(&c));
        }
        let _ = writeln!(
            o,
            "{}",
            shell_line(&kbuild::build_command(
                &tree,
                &out,
                spec.arch,
                &s.layout.work,
                s.jobs
            ))
        );
        if spec.gated {
            let mut gate =
                "# gate: no objtool/linker/modpost/compiler warning in the build log".to_string();
            if !spec.arch.kvm_modules.is_empty() {
                gate.push_str(&format!(
                    "; {} built; kvm.ko imports srcu_rs symbols",
                    spec.arch.kvm_modules.join(", ")
                ));
            }
            let _ = writeln!(o, "{gate}");
            if spec.arch.readers_check {
                let _ = writeln!(
                    o,
                    "{}",
                    shell_line(&kbuild::check_readers_command(&s.repo, &out))
                );
            }
        }
        let ext =
            kbuild::ext_module_command(&tree, &out, spec.arch, &s.layout.work, &s.notifier_dir(*k));
        let _ = writeln!(o, "{}", shell_line(&ext));
    }
    let _ = writeln!(
        o,
        "# initramfs: busybox, /init, srcu_notifier_test.ko, the kernel's modules, srcu_explat_test.ko and \
         srcu_rs_lifetime_test.ko (srcu_rs kernels), kvm-irq-stress (x86_64)"
    );
    for arch in plan.arches() {
        match arch.userspace {
            Userspace::Host => {
                let _ = writeln!(o, "{}", shell_line(&guest::guest_programs_command(&s.repo)));
            }
            Userspace::Debian { dpkg_arch, .. } => {
                let dir = guest::foreign_busybox_dir(&s.layout.work, dpkg_arch);
                let _ = writeln!(
                    o,
                    "# {}: Debian's busybox-static:{dpkg_arch}, downloaded once and unpacked, never installed",
                    arch.name
                );
                let (download, _) = guest::foreign_busybox_commands(&s.layout.work, dpkg_arch);
                let _ = writeln!(o, "{}", shell_line(&download));
                let _ = writeln!(
                    o,
                    "dpkg-deb -x busybox-static_*_{dpkg_arch}.deb {}",
                    dir.display()
                );
            }
        }
    }
    for k in &plan.kernels {
        let stage = s.layout.work.join(format!("stage-{}", k.name()));
        let mi = guest::modules_install_command(
            &s.tree(k.spec().source),
            &s.layout.out(*k),
            k.spec().arch,
            &stage,
        );
        let _ = writeln!(o, "{}", shell_line(&mi));
        let _ = writeln!(
            o,
            "(cd {} && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 | gzip -6 > {})",
            stage.display(),
            s.layout.initramfs(*k).display()
        );
    }
    let n = plan.boots.len();
    for (i, b) in plan.boots.iter().enumerate() {
        let what = match &b.purpose {
            Purpose::Tests => String::new(),
            Purpose::KvmUnitTests => {
                "; kvm-unit-tests (resumed in a new boot, at most twice, if QEMU aborts)".into()
            }
            Purpose::Broken(c) => format!(
                "; broken variant {}, must be caught by {:?}",
                c.switch_arg(),
                c.caught_by
            ),
        };
        let _ = writeln!(
            o,
            "# boot {}/{n} {}: {}; budget {} s; TCG {}{}{what}",
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
        );
        let arch = b.kernel.spec().arch;
        let qemu = crate::host::which(arch.qemu).unwrap_or_else(|| PathBuf::from(arch.qemu));
        let cmd = plan::qemu_command(
            &qemu,
            b.kernel.spec().arch,
            b,
            &s.layout.image(b.kernel),
            &s.layout.initramfs(b.kernel),
            &s.layout.qemu_log(b),
            &s.qemu_args,
        );
        let _ = writeln!(o, "{}", shell_line(&cmd));
    }
    o
}

fn trees(s: &Setup, o: &mut String) {
    let work = &s.layout.work;
    let stock = s.stock_tree();
    match &s.user_tree {
        Some(t) => {
            let _ = writeln!(o, "# tree: stock {} (--tree)", t.display());
        }
        None => {
            let pin = s.pin.as_ref().map(|p| p.pinned()).unwrap_or_default();
            let _ = writeln!(
                o,
                "# tree: stock {} (apt-get install {pin} if {} is missing; skipped when already unpacked)",
                stock.display(),
                kbuild::SOURCE_TARBALL
            );
            let _ = writeln!(
                o,
                "{}",
                shell_line(&kbuild::unpack_command(&work.join("unpack.tmp")))
            );
        }
    }
    if !s.plan.any_patched() {
        return;
    }
    let dir = kbuild::patched_dir(work);
    let _ = writeln!(
        o,
        "# tree: patched {} (re-made when the series changes)",
        dir.display()
    );
    let _ = writeln!(o, "{}", shell_line(&kbuild::copy_command(&stock, &dir)));
    match &s.series {
        Some(Series::Cli { manifest, .. }) => {
            let _ = writeln!(o, "{}", shell_line(&kbuild::apply_command(manifest, &dir)));
        }
        Some(Series::Files { files, .. }) => {
            let _ = writeln!(
                o,
                "git -C {} am -q --no-3way ({} patches)",
                dir.display(),
                files.len()
            );
        }
        None => {}
    }
}
