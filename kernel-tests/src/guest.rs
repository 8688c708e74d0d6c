// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! In-guest programs, the initramfs, and booting a kernel under QEMU with a hard timeout.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::host::{self, run_logged, HostError};
use crate::kbuild;
use crate::plan::{Arch, Userspace};

pub const GUEST_INIT: &str = include_str!("../guest/init");

/// A test module of kernel-tests/ that the initramfs carries in `lib/modules/extra/<name>.ko`, built against
/// each kernel that has what it needs (the notifier test is built earlier, with the kernel: see `job`).
struct TestModule {
    /// The module's name: its source is `<name>.c`.
    name: &'static str,
    kbuild: &'static str,
    src: &'static str,
    /// Built only for kernels with `CONFIG_SRCU_RS=y`.
    needs_srcu_rs: bool,
}

const TEST_MODULES: &[TestModule] = &[
    TestModule {
        name: "srcu_explat_test",
        kbuild: include_str!("../explat-test/Kbuild"),
        src: include_str!("../explat-test/srcu_explat_test.c"),
        needs_srcu_rs: true,
    },
    TestModule {
        name: "srcu_rs_lifetime_test",
        kbuild: include_str!("../lifetime-test/Kbuild"),
        src: include_str!("../lifetime-test/srcu_rs_lifetime_test.c"),
        needs_srcu_rs: true,
    },
];

/// Builds the in-guest Rust programs static (`-C target-feature=+crt-static` on x86_64-unknown-linux-gnu),
/// into the checkout's own `target/` (cargo's freshness check follows the source paths it last built from, so a
/// target directory shared by two checkouts can keep the other checkout's binary).
pub fn build_guest_programs(repo: &Path, log: &Path) -> Result<PathBuf> {
    run_logged(&mut guest_programs_command(repo), log, &mut |_| {}).context(
        "building kvm-irq-stress (needs the x86_64-unknown-linux-gnu std and libc6-dev)",
    )?;
    let bin = guest_program(repo);
    if !host::elf_is_static(&bin)? {
        bail!("{} is not static", bin.display());
    }
    Ok(bin)
}

fn guest_target_dir(repo: &Path) -> PathBuf {
    repo.join("target/guest-static")
}

/// The static kvm-irq-stress binary [`guest_programs_command`] builds.
pub fn guest_program(repo: &Path) -> PathBuf {
    guest_target_dir(repo).join("x86_64-unknown-linux-gnu/release/kvm-irq-stress")
}

/// `cargo build` of the in-guest program, static.
pub fn guest_programs_command(repo: &Path) -> Command {
    let mut c = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    c.args([
        "build",
        "--release",
        "--bin",
        "kvm-irq-stress",
        "--target",
        "x86_64-unknown-linux-gnu",
        "--manifest-path",
    ])
    .arg(repo.join(GUEST_MANIFEST))
    .arg("--target-dir")
    .arg(guest_target_dir(repo))
    .env("RUSTFLAGS", "-C target-feature=+crt-static")
    .env_remove("CARGO_TARGET_DIR")
    .env_remove("CARGO_BUILD_TARGET");
    c
}

/// The in-guest KVM stress program's crate.
pub const GUEST_MANIFEST: &str = "kernel-tests/kvm-irq-stress/Cargo.toml";

/// `make modules_install` of the O= build into the initramfs staging directory (stripped with the
/// architecture's `strip`; runs depmod).
pub fn modules_install_command(tree: &Path, out: &Path, arch: &Arch, stage: &Path) -> Command {
    let mut c = kbuild::make_command(tree, out, arch);
    c.arg("-s")
        .arg(format!("INSTALL_MOD_PATH={}", stage.display()))
        .arg("INSTALL_MOD_STRIP=1")
        .arg("modules_install");
    c
}

/// One kvm-unit-tests test as run inside the guest.
#[derive(Debug, Clone)]
pub struct KutTest {
    pub name: String,
    pub smp: String,
    pub file: String,
    pub qemu_args: String,
    pub test_args: String,
}

/// Tests run by default (all pass on a stock kernel here) plus the five that fail on stock already under TCG's SVM
/// (compared stock vs patched only). Left out: x2apic/xapic (hang at "starting broadcast"), sieve (130 s),
/// svm (needs 4 GiB in L2 and a third nesting level).
pub const KUT_DEFAULT: &[&str] = &[
    "ioapic",
    "smptest",
    "tsc",
    "tsc_adjust",
    "vmexit_cpuid",
    "vmexit_vmcall",
    "vmexit_mov_from_cr8",
    "vmexit_mov_to_cr8",
    "vmexit_inl_pmtimer",
    "vmexit_ipi",
    "realmode",
    "hypercall",
    "idt_test",
    "memory",
    "rmap_chain",
    "umip",
    "smap",
    "syscall",
    "setjmp",
    "pcid-enabled",
    "pcid-disabled",
    "s3",
    "msr",
    "eventinj",
    "xsave",
    "debug",
    // last: now and then it makes the outer QEMU abort (see `kut_boot` in main.rs)
    "emulator",
];

/// Reads x86/unittests.cfg of a built kvm-unit-tests tree.
pub fn kut_plan(kut: &Path, only: &[String]) -> Result<Vec<KutTest>> {
    let cfg = fs::read_to_string(kut.join("x86/unittests.cfg")).with_context(|| {
        format!(
            "{}: not a built kvm-unit-tests tree (x86/unittests.cfg)",
            kut.display()
        )
    })?;
    let mut tests = Vec::new();
    let mut cur: Option<(String, Vec<(String, String)>)> = None;
    let flush = |cur: &mut Option<(String, Vec<(String, String)>)>, tests: &mut Vec<KutTest>| {
        if let Some((name, kv)) = cur.take() {
            let get = |k: &str| {
                kv.iter()
                    .find(|(a, _)| a == k)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            let arch = get("arch");
            if !arch.is_empty() && arch != "x86_64" {
                return;
            }
            let mut params = get("extra_params");
            if params.is_empty() {
                params = get("qemu_params");
            }
            let mut test_args = get("test_args");
            if let Some(i) = params.find("-append") {
                let rest = params[i + 7..].trim_start();
                if let Some(r) = rest.strip_prefix('"') {
                    if let Some(j) = r.find('"') {
                        test_args = r[..j].to_string();
                        params = format!("{} {}", &params[..i], &r[j + 1..]);
                    }
                }
            }
            let smp = get("smp").replace("$MAX_SMP", "2");
            let smp = if smp.is_empty() { "1".into() } else { smp };
            tests.push(KutTest {
                name,
                smp,
                file: get("file"),
                qemu_args: params.split_whitespace().collect::<Vec<_>>().join(" "),
                test_args: test_args.trim_matches('"').to_string(),
            });
        }
    };
    for l in cfg.lines() {
        let l = l.trim();
        if l.starts_with('#') || l.is_empty() {
            continue;
        }
        if l.starts_with('[') && l.ends_with(']') {
            flush(&mut cur, &mut tests);
            cur = Some((l[1..l.len() - 1].to_string(), Vec::new()));
        } else if let (Some((_, kv)), Some((k, v))) = (cur.as_mut(), l.split_once('=')) {
            kv.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    flush(&mut cur, &mut tests);
    let want: Vec<String> = if only.is_empty() {
        KUT_DEFAULT.iter().map(|s| s.to_string()).collect()
    } else {
        only.to_vec()
    };
    let mut out = Vec::new();
    for w in &want {
        match tests.iter().find(|t| &t.name == w) {
            Some(t)
                if !t.file.is_empty()
                    && kut.join("x86").join(&t.file).exists()
                    && !t.qemu_args.contains('$') =>
            {
                out.push(t.clone())
            }
            _ => {}
        }
    }
    if out.is_empty() {
        bail!(
            "none of the kvm-unit-tests tests [{}] found built in {}",
            want.join(","),
            kut.display()
        );
    }
    Ok(out)
}

/// Where a foreign architecture's busybox is unpacked in the work directory.
pub fn foreign_busybox_dir(work: &Path, dpkg_arch: &str) -> PathBuf {
    work.join(format!("busybox-{dpkg_arch}"))
}

/// `apt-get download busybox-static:<arch>` (into `debs`, the current directory) and `dpkg-deb -x` of it into
/// `dir`: Debian's static busybox of a foreign architecture, never installed (installing it would replace the
/// host's own busybox, which the x86_64 initramfs uses).
pub fn foreign_busybox_commands(work: &Path, dpkg_arch: &str) -> (Command, PathBuf) {
    let debs = work.join(format!("debs-{dpkg_arch}"));
    let mut c = Command::new("apt-get");
    c.current_dir(&debs)
        .arg("download")
        .arg(format!("busybox-static:{dpkg_arch}"));
    (c, debs)
}

/// The foreign architecture's static busybox (see [`foreign_busybox_commands`]), downloaded once into the work
/// directory; checked to be a static ELF file of `elf_machine`.
pub fn foreign_busybox(
    work: &Path,
    dpkg_arch: &str,
    elf_machine: u16,
    log: &Path,
) -> Result<PathBuf> {
    let dir = foreign_busybox_dir(work, dpkg_arch);
    let bin = dir.join("bin/busybox");
    if !bin.exists() {
        let (mut download, debs) = foreign_busybox_commands(work, dpkg_arch);
        let _ = fs::remove_dir_all(&debs);
        fs::create_dir_all(&debs)?;
        host::need("apt-get", "apt")?;
        host::need("dpkg-deb", "dpkg")?;
        run_logged(&mut download, log, &mut |_| {}).with_context(|| {
            format!(
                "apt-get download busybox-static:{dpkg_arch}: the {dpkg_arch} packages must be known to apt                  (as root: dpkg --add-architecture {dpkg_arch} && apt-get update; `install-deps` does it)"
            )
        })?;
        let deb = fs::read_dir(&debs)?
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "deb"))
            .with_context(|| format!("apt-get download left no .deb in {}", debs.display()))?;
        let tmp = work.join(format!("busybox-{dpkg_arch}.tmp"));
        let _ = fs::remove_dir_all(&tmp);
        run_logged(
            Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&tmp),
            log,
            &mut |_| {},
        )?;
        let _ = fs::remove_dir_all(&dir);
        fs::rename(&tmp, &dir)?;
    }
    if !host::elf_is_static(&bin)? || host::elf_machine(&bin)? != elf_machine {
        bail!(HostError::MissingTool {
            tool: format!(
                "a static {dpkg_arch} busybox ({} is not one; remove {} to download it again)",
                bin.display(),
                dir.display()
            ),
            package: format!("busybox-static:{dpkg_arch} (apt-get download, never install)"),
        });
    }
    Ok(bin)
}

pub struct InitramfsInputs<'a> {
    pub arch: &'static Arch,
    pub tree: &'a Path,
    pub out: &'a Path,
    /// The static busybox of the kernel's architecture.
    pub busybox: &'a Path,
    /// The in-guest KVM stress program (architectures with KVM phases).
    pub stress: Option<&'a Path>,
    pub notifier_ko: &'a Path,
    pub kut: Option<(&'a Path, &'a [KutTest])>,
}

fn copy_into(stage: &Path, src: &Path) -> Result<()> {
    let rel = src.strip_prefix("/").unwrap_or(src);
    let dst = stage.join(rel);
    fs::create_dir_all(dst.parent().unwrap())?;
    fs::copy(src, &dst).with_context(|| format!("copy {}", src.display()))?;
    Ok(())
}

fn copy_tree_deref(src: &Path, dst: &Path) -> Result<()> {
    let st = Command::new("cp").arg("-rL").arg(src).arg(dst).status()?;
    if !st.success() {
        bail!("cp -rL {} {}", src.display(), dst.display());
    }
    Ok(())
}

/// Build `m` (written into `dir`) against the kernel's O= build.
fn build_test_module(inp: &InitramfsInputs, m: &TestModule, dir: &Path, log: &Path) -> Result<PathBuf> {
    let _ = fs::remove_dir_all(dir);
    fs::create_dir_all(dir)?;
    fs::write(dir.join("Kbuild"), m.kbuild)?;
    fs::write(dir.join(format!("{}.c", m.name)), m.src)?;
    let work = dir.parent().unwrap_or(dir);
    kbuild::build_module_in(inp.tree, inp.out, inp.arch, work, dir, m.name, log)
}

pub fn build_initramfs(
    inp: &InitramfsInputs,
    stage: &Path,
    image: &Path,
    log: &Path,
) -> Result<u64> {
    let _ = fs::remove_dir_all(stage);
    for d in [
        "bin",
        "proc",
        "sys",
        "dev",
        "tmp",
        "lib/modules/extra",
        "usr/bin",
        "usr/share",
    ] {
        fs::create_dir_all(stage.join(d))?;
    }
    symlink("bin", stage.join("sbin"))?;
    fs::copy(inp.busybox, stage.join("bin/busybox"))?;
    if inp.arch.userspace == Userspace::Host {
        let list = host::sh(Command::new(inp.busybox).arg("--list"))?;
        for a in list.lines().filter(|a| *a != "busybox" && !a.is_empty()) {
            let _ = symlink("busybox", stage.join("bin").join(a));
        }
    } else {
        // a foreign busybox cannot list its applets here: /init installs them (`busybox --install -s`)
        symlink("busybox", stage.join("bin/sh"))?;
    }
    fs::write(stage.join("init"), GUEST_INIT)?;
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(stage.join("init"), fs::Permissions::from_mode(0o755))?;
    if let Some(stress) = inp.stress {
        fs::copy(stress, stage.join("bin/kvm-irq-stress"))?;
        let _ = Command::new("strip")
            .arg(stage.join("bin/kvm-irq-stress"))
            .status();
    }
    fs::copy(
        inp.notifier_ko,
        stage.join("lib/modules/extra/srcu_notifier_test.ko"),
    )?;
    let srcu_rs = kbuild::config_value(inp.out, "SRCU_RS") == "y";
    for m in TEST_MODULES.iter().filter(|m| srcu_rs || !m.needs_srcu_rs) {
        let ko = build_test_module(inp, m, &stage.with_extension(m.name), log)?;
        fs::copy(&ko, stage.join(format!("lib/modules/extra/{}.ko", m.name)))?;
    }
    run_logged(
        &mut modules_install_command(inp.tree, inp.out, inp.arch, stage),
        log,
        &mut |_| {},
    )?;
    if let Some((kut, tests)) = inp.kut {
        // QEMU for the in-guest VMs: the host's binary, its libraries and firmware.
        let q = host::which("qemu-system-x86_64").context("qemu-system-x86_64")?;
        copy_into(stage, &fs::canonicalize(&q)?)?;
        if !stage.join("usr/bin/qemu-system-x86_64").exists() {
            fs::copy(&q, stage.join("usr/bin/qemu-system-x86_64"))?;
        }
        let ldd = host::sh(Command::new("ldd").arg(&q))?;
        for l in ldd.lines() {
            let p = l.split_whitespace().find(|w| w.starts_with('/'));
            if let Some(p) = p {
                let p = Path::new(p);
                let rel = p.strip_prefix("/").unwrap();
                let dst = stage.join(rel);
                fs::create_dir_all(dst.parent().unwrap())?;
                fs::copy(p, &dst)?;
            }
        }
        for fw in [
            "/usr/share/qemu",
            "/usr/share/seabios",
            "/usr/lib/ipxe/qemu",
        ] {
            if Path::new(fw).exists() {
                let dst = stage.join(fw.trim_start_matches('/'));
                fs::create_dir_all(dst.parent().unwrap())?;
                copy_tree_deref(Path::new(fw), &dst)?;
            }
        }
        fs::create_dir_all(stage.join("kut/x86"))?;
        let mut plan = String::new();
        for t in tests {
            fs::copy(
                kut.join("x86").join(&t.file),
                stage.join("kut/x86").join(&t.file),
            )?;
            plan.push_str(&format!(
                "{}|{}|{}|{}|{}\n",
                t.name, t.smp, t.file, t.qemu_args, t.test_args
            ));
        }
        fs::write(stage.join("kut/plan"), plan)?;
    }
    // newc cpio, gzip
    let sh = format!(
        "cd '{}' && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 | gzip -6 > '{}'",
        stage.display(),
        image.display()
    );
    run_logged(Command::new("sh").arg("-c").arg(sh), log, &mut |_| {})?;
    Ok(fs::metadata(image)?.len())
}

pub struct BootOutcome {
    pub console: String,
    pub timed_out: bool,
    pub exit: Option<i32>,
}

/// Runs a QEMU command (see `plan::qemu_command`), streaming the serial console to `log` and each line to
/// `tick`. The guest is killed after `timeout`.
pub fn boot(
    mut cmd: Command,
    timeout: Duration,
    log: &Path,
    tick: &mut dyn FnMut(&str),
) -> Result<BootOutcome> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut f = fs::File::create(log)?;
    writeln!(f, "$ {cmd:?}")?;
    let t0 = Instant::now();
    let mut child = cmd
        .spawn()
        .with_context(|| format!("start {:?}", cmd.get_program()))?;
    let (tx, rx) = mpsc::channel::<String>();
    let out = child.stdout.take().unwrap();
    let err = child.stderr.take().unwrap();
    let tx2 = tx.clone();
    let r1 = std::thread::spawn(move || {
        for l in BufReader::new(out).split(b'\n').map_while(|l| l.ok()) {
            let _ = tx.send(
                String::from_utf8_lossy(&l)
                    .trim_end_matches('\r')
                    .to_string(),
            );
        }
    });
    let r2 = std::thread::spawn(move || {
        for l in BufReader::new(err).split(b'\n').map_while(|l| l.ok()) {
            let _ = tx2.send(format!(
                "qemu stderr: {}",
                String::from_utf8_lossy(&l).trim_end()
            ));
        }
    });
    let mut console = String::new();
    let mut timed_out = false;
    loop {
        let left = timeout.saturating_sub(t0.elapsed());
        if left.is_zero() {
            timed_out = true;
            let _ = child.kill();
            break;
        }
        match rx.recv_timeout(left.min(Duration::from_millis(500))) {
            Ok(l) => {
                writeln!(f, "{l}")?;
                tick(&l);
                console.push_str(&l);
                console.push('\n');
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Some(_st) = child.try_wait()? {
                    // drain what is left
                    while let Ok(l) = rx.recv_timeout(Duration::from_millis(200)) {
                        writeln!(f, "{l}")?;
                        console.push_str(&l);
                        console.push('\n');
                    }
                    break;
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    let st = child.wait()?;
    let _ = r1.join();
    let _ = r2.join();
    while let Ok(l) = rx.try_recv() {
        writeln!(f, "{l}")?;
        console.push_str(&l);
        console.push('\n');
    }
    if timed_out {
        writeln!(
            f,
            "HARNESS: guest killed after the {}s timeout",
            timeout.as_secs()
        )?;
    }
    Ok(BootOutcome {
        console,
        timed_out,
        exit: st.code(),
    })
}
