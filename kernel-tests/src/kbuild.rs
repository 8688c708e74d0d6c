// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! Kernel trees (Debian linux-source-6.12 or the user's), the patched copy, configs and O= builds.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::host::{self, run_logged, HostError, Timed};
use crate::plan::Arch;

pub const SOURCE_TARBALL: &str = "/usr/src/linux-source-6.12.tar.xz";

/// The Debian kernel source package and version the series was generated on: the `debian-package:` line of
/// patches/linux-6.12/BASE, the one place the pinned version is kept.
#[derive(Clone, Debug, PartialEq)]
pub struct PinnedSource {
    pub package: String,
    pub version: String,
}

impl PinnedSource {
    pub fn read(repo: &Path) -> Result<PinnedSource> {
        let base = repo.join("patches/linux-6.12/BASE");
        let text = fs::read_to_string(&base).with_context(|| format!("read {}", base.display()))?;
        Self::parse(&text).with_context(|| {
            format!(
                "{}: no `debian-package: <package> <version>` line",
                base.display()
            )
        })
    }
    fn parse(text: &str) -> Option<PinnedSource> {
        let mut w = text
            .lines()
            .find_map(|l| l.strip_prefix("debian-package:"))?
            .split_whitespace();
        Some(PinnedSource {
            package: w.next()?.to_string(),
            version: w.next()?.to_string(),
        })
    }
    /// `package=version`, for apt-get.
    pub fn pinned(&self) -> String {
        format!("{}={}", self.package, self.version)
    }
}

/// A group of kernel-tests/packages.list (the one list of Debian packages the scripts and the harness install).
pub fn debian_packages(repo: &Path, group: &str) -> Result<Vec<String>> {
    let list = repo.join("kernel-tests/packages.list");
    let text = fs::read_to_string(&list).with_context(|| format!("read {}", list.display()))?;
    packages_in(&text, group).with_context(|| format!("{}: no `{group}:` line", list.display()))
}

fn packages_in(text: &str, group: &str) -> Option<Vec<String>> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(group)?.strip_prefix(':'))
        .map(|r| r.split_whitespace().map(str::to_string).collect())
}

/// VERSION.PATCHLEVEL.SUBLEVEL from a tree's Makefile; refuses anything but 6.12.
pub fn tree_version(tree: &Path) -> Result<String> {
    let mk = fs::read_to_string(tree.join("Makefile")).map_err(|e| HostError::WrongTree {
        path: tree.display().to_string(),
        why: format!("no readable Makefile ({e})"),
    })?;
    let get = |k: &str| {
        mk.lines()
            .find_map(|l| {
                l.strip_prefix(k)
                    .map(|r| r.trim_start_matches([' ', '=']).trim().to_string())
            })
            .unwrap_or_default()
    };
    let (v, p, s) = (get("VERSION"), get("PATCHLEVEL"), get("SUBLEVEL"));
    if v != "6" || p != "12" {
        bail!(HostError::WrongTree {
            path: tree.display().to_string(),
            why: format!("it is Linux {v}.{p}.{s}; this project's patches and config are for 6.12 (VERSION = 6, PATCHLEVEL = 12)")
        });
    }
    if !tree.join("kernel/rcu/srcutree.c").exists() || !tree.join("virt/kvm/eventfd.c").exists() {
        bail!(HostError::WrongTree {
            path: tree.display().to_string(),
            why: "not a complete kernel source tree".into()
        });
    }
    Ok(format!("{v}.{p}.{s}"))
}

/// Unpacks Debian's kernel source tarball into `tmp`.
pub fn unpack_command(tmp: &Path) -> Command {
    let mut c = Command::new("tar");
    c.arg("-C").arg(tmp).arg("-xf").arg(SOURCE_TARBALL);
    c
}

/// The stock tree's directory in the work directory (when there is no `--tree`).
pub fn stock_dir(work: &Path) -> PathBuf {
    work.join("linux-6.12")
}

/// The patched tree's directory in the work directory.
pub fn patched_dir(work: &Path) -> PathBuf {
    work.join("linux-6.12-srcu-rs")
}

/// `cp -a` of the stock tree, the patched tree's start.
pub fn copy_command(stock: &Path, dir: &Path) -> Command {
    let mut c = Command::new("cp");
    c.arg("-a").arg(stock).arg(dir);
    c
}

/// `srcu-rs-patches apply --tree DIR` (the series' own CLI), for a `Series::Cli`.
pub fn apply_command(manifest: &Path, dir: &Path) -> Command {
    let mut c = Command::new("cargo");
    c.args(["run", "--release", "-q", "--manifest-path"])
        .arg(manifest)
        .args(["--bin", "srcu-rs-patches", "--", "apply", "--tree"])
        .arg(dir);
    c
}

/// The stock tree: `--tree DIR`, or Debian's linux-source-6.12 unpacked into the work directory.
pub fn stock_tree(
    user: Option<&Path>,
    pin: Option<&PinnedSource>,
    work: &Path,
    log: &Path,
    say: &mut dyn FnMut(&str),
) -> Result<PathBuf> {
    if let Some(t) = user {
        tree_version(t)?;
        return Ok(t.to_path_buf());
    }
    let pin = pin.context("no pinned kernel source (patches/linux-6.12/BASE) and no --tree")?;
    let dir = stock_dir(work);
    let stamp = work.join("linux-6.12.unpacked");
    if stamp.exists() && dir.join("Makefile").exists() {
        tree_version(&dir)?;
        return Ok(dir);
    }
    if !Path::new(SOURCE_TARBALL).exists() {
        say(&format!("installing {} with apt-get", pin.pinned()));
        host::need("apt-get", "apt")?;
        let _ = run_logged(Command::new("apt-get").arg("update"), log, &mut |_| {});
        let pinned = pin.pinned();
        let r = run_logged(
            Command::new("apt-get")
                .args(["install", "-y", "--no-install-recommends", &pinned])
                .env("DEBIAN_FRONTEND", "noninteractive"),
            log,
            &mut |_| {},
        );
        if r.is_err() {
            // The pinned build may have left the archive; any 6.12 is accepted (and its version is reported).
            say(&format!(
                "{pinned} not available; installing the archive's {}",
                pin.package
            ));
            run_logged(
                Command::new("apt-get").args(["install", "-y", "--no-install-recommends", &pin.package]).env("DEBIAN_FRONTEND", "noninteractive"),
                log,
                &mut |_| {},
            )
            .context("apt-get install linux-source-6.12 (needs root and Debian 12 with bookworm-backports or the 6.12 security updates)")?;
        }
    }
    say(&format!("unpacking {SOURCE_TARBALL}"));
    let _ = fs::remove_dir_all(&dir);
    let tmp = work.join("unpack.tmp");
    let _ = fs::remove_dir_all(&tmp);
    fs::create_dir_all(&tmp)?;
    run_logged(&mut unpack_command(&tmp), log, &mut |_| {})?;
    let inner = fs::read_dir(&tmp)?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| p.join("Makefile").exists());
    let inner = inner.context("the tarball holds no kernel tree")?;
    fs::rename(&inner, &dir)?;
    let _ = fs::remove_dir_all(&tmp);
    tree_version(&dir)?;
    fs::write(&stamp, "")?;
    Ok(dir)
}

/// How the patch series is applied.
#[derive(Debug, Clone)]
pub enum Series {
    /// `srcu-rs-patches apply --tree DIR` (the crate in patches/).
    Cli { manifest: PathBuf, stamp: String },
    /// `git am patches/linux-6.12/*.patch`.
    Files { files: Vec<PathBuf>, stamp: String },
}

/// FNV-1a over the files' names relative to `base` and their contents: a cheap "did the series change" stamp that
/// does not depend on where the checkout is (a second clone must not re-patch and rebuild the kernels).
fn hash_files(base: &Path, files: &[PathBuf]) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for f in files {
        for b in f
            .strip_prefix(base)
            .unwrap_or(f)
            .to_string_lossy()
            .bytes()
            .chain(fs::read(f).unwrap_or_default())
        {
            h ^= b as u64;
            h = h.wrapping_mul(0x100000001b3);
        }
    }
    format!("{h:016x}")
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    if let Ok(rd) = fs::read_dir(dir) {
        let mut v: Vec<_> = rd.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        v.sort();
        for p in v {
            if p.file_name().is_some_and(|n| n == "target") {
                continue;
            }
            if p.is_dir() {
                walk(&p, out)
            } else {
                out.push(p)
            }
        }
    }
}

/// Finds the series in the repository: the generator CLI if its crate exists, else the .patch files.
pub fn find_series(repo: &Path) -> Option<Series> {
    let patches = repo.join("patches");
    let manifest = patches.join("Cargo.toml");
    let files: Vec<PathBuf> = {
        let mut v: Vec<PathBuf> = fs::read_dir(patches.join("linux-6.12"))
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "patch"))
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    };
    let cli = fs::read_to_string(&manifest)
        .map(|s| s.contains("srcu-rs-patches"))
        .unwrap_or(false)
        && fs::read_to_string(patches.join("src/main.rs"))
            .map(|s| s.contains("apply"))
            .unwrap_or(false);
    if cli {
        // `apply` applies the generated files in patches/linux-6.12: they are what the patched tree depends on
        let mut all = Vec::new();
        walk(&patches.join("linux-6.12"), &mut all);
        return Some(Series::Cli {
            manifest,
            stamp: hash_files(&patches, &all),
        });
    }
    if !files.is_empty() {
        let stamp = hash_files(&patches, &files);
        return Some(Series::Files { files, stamp });
    }
    None
}

/// A patched copy of the stock tree (re-made when the series changes).
pub fn patched_tree(
    stock: &Path,
    work: &Path,
    series: &Series,
    log: &Path,
    say: &mut dyn FnMut(&str),
) -> Result<PathBuf> {
    let dir = patched_dir(work);
    let stamp_file = work.join("linux-6.12-srcu-rs.series");
    let stamp = match series {
        Series::Cli { stamp, .. } | Series::Files { stamp, .. } => stamp.clone(),
    };
    if dir.exists() && fs::read_to_string(&stamp_file).ok().as_deref() == Some(stamp.as_str()) {
        return Ok(dir);
    }
    say("copying the stock tree for patching");
    let _ = fs::remove_file(&stamp_file);
    let _ = fs::remove_dir_all(&dir);
    run_logged(&mut copy_command(stock, &dir), log, &mut |_| {})?;
    // Debian's tree ignores everything at top level: make sure the copy is clean of build output.
    let _ = fs::remove_dir_all(dir.join(".git"));
    match series {
        Series::Cli { manifest, .. } => {
            say("applying the series: srcu-rs-patches apply");
            run_logged(&mut apply_command(manifest, &dir), log, &mut |_| {})
                .context("srcu-rs-patches apply")?;
        }
        Series::Files { files, .. } => {
            say(&format!(
                "applying the series: git am ({} patches)",
                files.len()
            ));
            let git = |args: &[&str]| -> Command {
                let mut c = Command::new("git");
                c.arg("-C")
                    .arg(&dir)
                    .args([
                        "-c",
                        "user.name=srcu-rs",
                        "-c",
                        "user.email=srcu-rs@localhost",
                    ])
                    .args(args);
                c
            };
            run_logged(&mut git(&["init", "-q"]), log, &mut |_| {})?;
            // Debian's top-level .gitignore ignores "/*": add everything with -f.
            run_logged(&mut git(&["add", "-f", "-A", "."]), log, &mut |_| {})?;
            run_logged(
                &mut git(&["commit", "-q", "-m", "linux-source-6.12"]),
                log,
                &mut |_| {},
            )?;
            let mut am = git(&["am", "-q", "--no-3way"]);
            am.args(files);
            run_logged(&mut am, log, &mut |_| {})
                .context("git am of patches/linux-6.12/*.patch")?;
        }
    }
    fs::write(&stamp_file, stamp)?;
    Ok(dir)
}

/// The commands that configure an O= directory: `tinyconfig`, `merge_config.sh -m` of the fragments (in order;
/// a later one wins), `olddefconfig`.
pub fn configure_commands(
    tree: &Path,
    out: &Path,
    arch: &Arch,
    fragments: &[PathBuf],
) -> Vec<Command> {
    let make = |t: &str| -> Command {
        let mut c = make_command(tree, out, arch);
        c.arg(t);
        c
    };
    let mut m = Command::new(tree.join("scripts/kconfig/merge_config.sh"));
    m.current_dir(tree)
        .arg("-m")
        .arg("-O")
        .arg(out)
        .arg(out.join(".config"))
        .args(fragments);
    vec![make("tinyconfig"), m, make("olddefconfig")]
}

/// Configures `out` (see [`configure_commands`]), then checks every fragment option in the final .config (the
/// last fragment that sets an option decides its wanted value). `required` names `(symbol, value)` pairs whose
/// absence fails the run with the unmet dependencies named; the other options that did not survive are
/// returned, as notes.
pub fn configure(
    tree: &Path,
    out: &Path,
    arch: &Arch,
    fragments: &[PathBuf],
    required: &[(&str, &str)],
    log: &Path,
) -> Result<Vec<String>> {
    fs::create_dir_all(out)?;
    for mut c in configure_commands(tree, out, arch, fragments) {
        run_logged(&mut c, log, &mut |_| {})?;
    }
    let cfg = fs::read_to_string(out.join(".config"))?;
    let value = |sym: &str| -> String {
        cfg.lines()
            .find_map(|l| l.strip_prefix(&format!("{sym}=")).map(str::to_string))
            .unwrap_or_else(|| "n".into())
    };
    let mut wanted: Vec<(String, String)> = Vec::new();
    for f in fragments {
        for l in fs::read_to_string(f)?.lines() {
            if let Some((sym, want)) = l.trim().split_once('=') {
                if sym.starts_with("CONFIG_") {
                    wanted.retain(|(s, _)| s != sym);
                    wanted.push((sym.to_string(), want.to_string()));
                }
            }
        }
    }
    let dropped = wanted
        .iter()
        .filter(|(sym, want)| &value(sym) != want)
        .map(|(sym, want)| format!("{sym}={want} (got {})", value(sym)))
        .collect();
    for (r, want) in required {
        let sym = format!("CONFIG_{r}");
        if value(&sym) != *want {
            let deps = kconfig_deps(tree, r);
            let unmet: Vec<String> = deps
                .iter()
                .filter(|d| value(&format!("CONFIG_{d}")) == "n")
                .map(|d| format!("{d} (is n)"))
                .collect();
            bail!(
                "the final .config in {} has {sym}={}, not {want} (Kconfig drops an option whose dependencies are \
                 unmet); `depends on` of {r}: [{}]; unmet: [{}]",
                out.display(),
                value(&sym),
                deps.join(", "),
                if unmet.is_empty() { "none found: is the option defined? (the series may not add it)".into() } else { unmet.join(", ") }
            );
        }
    }
    Ok(dropped)
}

/// Symbols named in the `depends on` lines of `config SYM` anywhere in the tree's Kconfig files.
fn kconfig_deps(tree: &Path, sym: &str) -> Vec<String> {
    let out = Command::new("grep")
        .args([
            "-rh",
            "--include=Kconfig*",
            "-A20",
            &format!("^config {sym}$"),
        ])
        .arg(tree)
        .output();
    let text = out
        .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
        .unwrap_or_default();
    let mut deps = Vec::new();
    for (n, l) in text.lines().enumerate() {
        let l = l.trim();
        if n > 0 && (l.starts_with("config ") || l.starts_with("menuconfig ") || l == "--") {
            break;
        }
        if let Some(d) = l.strip_prefix("depends on") {
            for w in d.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                if !w.is_empty()
                    && w.chars().next().unwrap().is_ascii_uppercase()
                    && !deps.contains(&w.to_string())
                {
                    deps.push(w.to_string());
                }
            }
        }
    }
    if text.is_empty() {
        deps.push(format!("(no `config {sym}` in the tree)"));
    }
    deps
}

/// `make -C <tree> O=<out> ARCH=<arch>` (and `CROSS_COMPILE=` for a foreign architecture): the start of every
/// kbuild command.
pub fn make_command(tree: &Path, out: &Path, arch: &Arch) -> Command {
    let mut c = Command::new("make");
    c.arg("-C")
        .arg(tree)
        .arg(format!("O={}", out.display()))
        .arg(format!("ARCH={}", arch.make_arch));
    if !arch.cross_compile.is_empty() {
        c.arg(format!("CROSS_COMPILE={}", arch.cross_compile));
    }
    c
}

/// The C compiler of an architecture's builds, through ccache when there is one.
pub fn cc(arch: &Arch) -> String {
    let gcc = format!("{}gcc", arch.cross_compile);
    if host::which("ccache").is_some() {
        format!("ccache {gcc}")
    } else {
        gcc
    }
}

/// Set on every compiler command: ccache rewrites absolute paths under the work directory to relative ones, so a
/// second checkout with its own work directory on the same machine hits the cache (a fresh machine has none).
fn ccache_env(c: &mut Command, work: &Path) {
    c.env("CCACHE_BASEDIR", work);
}

/// `make <image> modules` in `out` (`bzImage` on x86, `vmlinux` on powerpc).
pub fn build_command(tree: &Path, out: &Path, arch: &Arch, work: &Path, jobs: usize) -> Command {
    let mut c = make_command(tree, out, arch);
    c.arg(format!("-j{jobs}"))
        .arg(format!("CC={}", cc(arch)))
        .args(arch.make_targets);
    ccache_env(&mut c, work);
    c
}

pub fn build(
    tree: &Path,
    out: &Path,
    arch: &Arch,
    work: &Path,
    jobs: usize,
    log: &Path,
    tick: &mut dyn FnMut(&str),
) -> Result<Timed> {
    run_logged(&mut build_command(tree, out, arch, work, jobs), log, tick)
}

/// The external module (kernel-tests/notifier-test, copied into `dir`) against the O= build.
pub fn ext_module_command(
    tree: &Path,
    out: &Path,
    arch: &Arch,
    work: &Path,
    dir: &Path,
) -> Command {
    let mut c = make_command(tree, out, arch);
    c.arg(format!("M={}", dir.display()))
        .arg(format!("CC={}", cc(arch)))
        .arg("modules");
    ccache_env(&mut c, work);
    c
}

pub fn build_ext_module(
    tree: &Path,
    out: &Path,
    arch: &Arch,
    work: &Path,
    src: &Path,
    dir: &Path,
    log: &Path,
) -> Result<PathBuf> {
    let _ = fs::remove_dir_all(dir);
    fs::create_dir_all(dir)?;
    for e in fs::read_dir(src)? {
        let e = e?;
        if e.file_type()?.is_file() {
            fs::copy(e.path(), dir.join(e.file_name()))?;
        }
    }
    build_module_in(tree, out, arch, work, dir, "srcu_notifier_test", log)
}

/// Build the external module whose sources are in `dir` against the O= build; its `<name>.ko` must come out.
pub fn build_module_in(
    tree: &Path,
    out: &Path,
    arch: &Arch,
    work: &Path,
    dir: &Path,
    name: &str,
    log: &Path,
) -> Result<PathBuf> {
    run_logged(
        &mut ext_module_command(tree, out, arch, work, dir),
        log,
        &mut |_| {},
    )
    .with_context(|| format!("building the test module {name}"))?;
    let ko = dir.join(format!("{name}.ko"));
    if !ko.exists() {
        bail!("{} was not built", ko.display());
    }
    Ok(ko)
}

/// Lines of a build log that the gate refuses: objtool (`x.o: warning: objtool: ...`), the linker
/// (`ld: warning: ...`), modpost and the compiler. The base tree builds the gated config with none.
pub fn build_warnings(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| {
            l.contains("objtool: ")
                || l.contains(": warning: ")
                || l.starts_with("ld: ")
                || l.contains("ld: warning")
                || l.contains("WARNING: modpost")
                || l.contains("ERROR: modpost")
                || l.starts_with("warning: ")
        })
        .collect()
}

/// The inline-reader disassembly check: srcu_notifier_call_chain() must keep both inline srcu_rs read sides
/// (per-CPU increment then barrier B; barrier C then increment; no call into Rust).
pub fn check_readers_command(repo: &Path, out: &Path) -> Command {
    let mut c = Command::new("bash");
    c.arg(repo.join("c-shim/kernel/check-readers.sh"))
        .arg(out.join("kernel/notifier.o"))
        .arg("srcu_notifier_call_chain");
    c
}

/// The gate of a gated kernel's build (it was `patches/ci-check.sh`'s KERNEL_BUILD and MODULES steps): no
/// objtool, linker, modpost or compiler warning in `build_log`, the inline readers survived compilation, and the
/// KVM modules were built and import srcu_rs symbols (modpost passed, so they are exported). On a warning the O=
/// directory is removed, so the next run compiles (through ccache, which replays the warnings) and fails again.
/// Only the part of `build_log` from byte `from` on (the `make <image> modules` output) is read. Returns the
/// gate's summary. The inline-reader check and the KVM modules are the architecture's (x86_64 has both).
pub fn gate(repo: &Path, out: &Path, arch: &Arch, build_log: &Path, from: u64) -> Result<String> {
    let kvm_modules = arch.kvm_modules;
    let text = fs::read(build_log)?;
    let text = String::from_utf8_lossy(text.get(from as usize..).unwrap_or_default());
    let bad = build_warnings(&text);
    if !bad.is_empty() {
        let shown = bad.iter().take(40).copied().collect::<Vec<_>>().join("\n");
        let _ = fs::remove_dir_all(out);
        bail!(
            "{} objtool/linker/modpost/compiler warning line(s) in the build ({}; {} removed):\n{shown}",
            bad.len(),
            build_log.display(),
            out.display()
        );
    }
    if arch.readers_check {
        run_logged(
            &mut check_readers_command(repo, out),
            build_log,
            &mut |_| {},
        )
        .context("the inline srcu_rs readers check (c-shim/kernel/check-readers.sh)")?;
    }
    let mut imports = Vec::new();
    for m in kvm_modules {
        let ko = out.join(m);
        if !ko.exists() {
            bail!("{} was not built (KVM=m)", ko.display());
        }
    }
    if let Some(kvm) = kvm_modules.first() {
        let nm = host::sh(Command::new("nm").arg("-u").arg(out.join(kvm)))?;
        imports = nm
            .lines()
            .filter_map(|l| l.split_whitespace().last())
            .filter(|s| s.contains("srcu_rs"))
            .map(str::to_string)
            .collect();
        imports.sort();
        imports.dedup();
        if imports.is_empty() {
            bail!("{kvm} uses no srcu_rs symbol: is irq_srcu on srcu_rs?");
        }
    }
    let mut summary = "gate: no objtool/linker/modpost/compiler warning".to_string();
    if arch.readers_check {
        summary.push_str("; inline readers in srcu_notifier_call_chain");
    }
    if !imports.is_empty() {
        summary.push_str(&format!("; kvm.ko imports {}", imports.join(" ")));
    }
    Ok(summary)
}

pub fn kernel_release(out: &Path) -> Result<String> {
    Ok(
        fs::read_to_string(out.join("include/config/kernel.release"))?
            .trim()
            .to_string(),
    )
}

pub fn config_value(out: &Path, sym: &str) -> String {
    let cfg = fs::read_to_string(out.join(".config")).unwrap_or_default();
    cfg.lines()
        .find_map(|l| {
            l.strip_prefix(&format!("CONFIG_{sym}="))
                .map(str::to_string)
        })
        .unwrap_or_else(|| "n".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_source_and_package_lists() {
        let p = PinnedSource::parse(
            "# x\ndebian-package: linux-source-6.12 6.12.117-1~deb12u1\nversion: 6.12.117\n",
        )
        .unwrap();
        assert_eq!(p.pinned(), "linux-source-6.12=6.12.117-1~deb12u1");
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        assert_eq!(
            PinnedSource::read(repo).unwrap().package,
            "linux-source-6.12"
        );
        let kernel = debian_packages(repo, "kernel").unwrap();
        assert!(kernel.iter().any(|p| p == "busybox-static"));
        assert!(kernel.iter().any(|p| p == "gcc-powerpc64le-linux-gnu"));
        assert_eq!(
            debian_packages(repo, "backports").unwrap(),
            ["qemu-system-x86", "qemu-system-ppc", "qemu-system-data"]
        );
        assert!(debian_packages(repo, "bogus").is_err());
    }

    #[test]
    fn build_warnings_are_found() {
        let log = "  CC      kernel/rcu/srcu_rs.o\nvmlinux.o: warning: objtool: foo+0x1: call to bar() leaves .noinstr.text section\n\
                   ld: warning: arch/x86/boot/x: missing .note.GNU-stack section\nWARNING: modpost: missing MODULE_LICENSE\n\
                   kernel/a.c:1:2: warning: unused variable 'x' [-Wunused-variable]\n  LD      vmlinux\n";
        assert_eq!(build_warnings(log).len(), 4);
        assert!(build_warnings("  CC      kernel/rcu/srcu_rs.o\n  LD      vmlinux\n").is_empty());
    }

    /// The series stamp names files relative to `patches/`: the same series in two checkouts has one stamp,
    /// and a changed patch changes it.
    #[test]
    fn series_stamp_is_location_independent() {
        let root = std::env::temp_dir().join(format!("srcu-rs-stamp-{}", std::process::id()));
        let stamp = |checkout: &str, body: &str| {
            let patches = root.join(checkout).join("patches");
            fs::create_dir_all(patches.join("linux-6.12")).unwrap();
            fs::write(patches.join("linux-6.12/0001-x.patch"), body).unwrap();
            match find_series(&root.join(checkout)) {
                Some(Series::Files { stamp, .. }) => stamp,
                _ => panic!("no series found"),
            }
        };
        let a = stamp("a", "one");
        assert_eq!(a, stamp("b", "one"));
        assert_ne!(a, stamp("c", "two"));
        let _ = fs::remove_dir_all(&root);
    }
}
