// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! Kernel trees (Debian linux-source-6.12 or the user's), the patched copy, configs and O= builds.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::host::{self, run_logged, HostError, Timed};

/// The Debian package and version this project pins (bookworm: linux-source-6.12 from the 6.12 backport).
pub const SOURCE_PACKAGE: &str = "linux-source-6.12";
pub const SOURCE_VERSION: &str = "6.12.117-1~deb12u1";
pub const SOURCE_TARBALL: &str = "/usr/src/linux-source-6.12.tar.xz";

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

/// The stock tree: `--tree DIR`, or Debian's linux-source-6.12 unpacked into the work directory.
pub fn stock_tree(
    user: Option<&Path>,
    work: &Path,
    log: &Path,
    say: &mut dyn FnMut(&str),
) -> Result<PathBuf> {
    if let Some(t) = user {
        tree_version(t)?;
        return Ok(t.to_path_buf());
    }
    let dir = work.join("linux-6.12");
    let stamp = work.join("linux-6.12.unpacked");
    if stamp.exists() && dir.join("Makefile").exists() {
        tree_version(&dir)?;
        return Ok(dir);
    }
    if !Path::new(SOURCE_TARBALL).exists() {
        say(&format!(
            "installing {SOURCE_PACKAGE}={SOURCE_VERSION} with apt-get"
        ));
        host::need("apt-get", "apt")?;
        let _ = run_logged(Command::new("apt-get").arg("update"), log, &mut |_| {});
        let pinned = format!("{SOURCE_PACKAGE}={SOURCE_VERSION}");
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
                "{pinned} not available; installing the archive's {SOURCE_PACKAGE}"
            ));
            run_logged(
                Command::new("apt-get").args(["install", "-y", "--no-install-recommends", SOURCE_PACKAGE]).env("DEBIAN_FRONTEND", "noninteractive"),
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
    run_logged(
        Command::new("tar")
            .arg("-C")
            .arg(&tmp)
            .arg("-xf")
            .arg(SOURCE_TARBALL),
        log,
        &mut |_| {},
    )?;
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
    let dir = work.join("linux-6.12-srcu-rs");
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
    run_logged(
        Command::new("cp").arg("-a").arg(stock).arg(&dir),
        log,
        &mut |_| {},
    )?;
    // Debian's tree ignores everything at top level: make sure the copy is clean of build output.
    let _ = fs::remove_dir_all(dir.join(".git"));
    match series {
        Series::Cli { manifest, .. } => {
            say("applying the series: srcu-rs-patches apply");
            run_logged(
                Command::new("cargo")
                    .args(["run", "--release", "-q", "--manifest-path"])
                    .arg(manifest)
                    .args(["--bin", "srcu-rs-patches", "--", "apply", "--tree"])
                    .arg(&dir),
                log,
                &mut |_| {},
            )
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

/// `tinyconfig` + `merge_config.sh -m` fragments + `olddefconfig`, then every fragment option is checked in the
/// final .config. `required` names options whose absence fails the run with the unmet dependencies named.
pub fn configure(
    tree: &Path,
    out: &Path,
    fragments: &[PathBuf],
    required: &[&str],
    log: &Path,
) -> Result<Vec<String>> {
    fs::create_dir_all(out)?;
    let make = |t: &str| -> Command {
        let mut c = Command::new("make");
        c.arg("-C")
            .arg(tree)
            .arg(format!("O={}", out.display()))
            .arg(t);
        c
    };
    run_logged(&mut make("tinyconfig"), log, &mut |_| {})?;
    let mut m = Command::new(tree.join("scripts/kconfig/merge_config.sh"));
    m.current_dir(tree)
        .arg("-m")
        .arg("-O")
        .arg(out)
        .arg(out.join(".config"))
        .args(fragments);
    run_logged(&mut m, log, &mut |_| {})?;
    run_logged(&mut make("olddefconfig"), log, &mut |_| {})?;
    let cfg = fs::read_to_string(out.join(".config"))?;
    let value = |sym: &str| -> String {
        cfg.lines()
            .find_map(|l| l.strip_prefix(&format!("{sym}=")).map(str::to_string))
            .unwrap_or_else(|| "n".into())
    };
    let mut dropped = Vec::new();
    for f in fragments {
        for l in fs::read_to_string(f)?.lines() {
            if let Some((sym, want)) = l.trim().split_once('=') {
                if sym.starts_with("CONFIG_") && value(sym) != want {
                    dropped.push(format!("{sym}={want} (got {})", value(sym)));
                }
            }
        }
    }
    for r in required {
        let sym = format!("CONFIG_{r}");
        if value(&sym) != "y" {
            let deps = kconfig_deps(tree, r);
            let unmet: Vec<String> = deps
                .iter()
                .filter(|d| value(&format!("CONFIG_{d}")) == "n")
                .map(|d| format!("{d} (is n)"))
                .collect();
            bail!(
                "the final .config in {} lacks {sym}=y (Kconfig drops an option whose dependencies are unmet); \
                 `depends on` of {r}: [{}]; unmet: [{}]",
                out.display(),
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

pub fn cc() -> String {
    if host::which("ccache").is_some() {
        "ccache gcc".into()
    } else {
        "gcc".into()
    }
}

pub fn build(
    tree: &Path,
    out: &Path,
    jobs: usize,
    log: &Path,
    tick: &mut dyn FnMut(&str),
) -> Result<Timed> {
    let mut c = Command::new("make");
    c.arg("-C")
        .arg(tree)
        .arg(format!("O={}", out.display()))
        .arg(format!("-j{jobs}"))
        .arg(format!("CC={}", cc()))
        .args(["bzImage", "modules"]);
    run_logged(&mut c, log, tick)
}

pub fn build_ext_module(
    tree: &Path,
    out: &Path,
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
    let mut c = Command::new("make");
    c.arg("-C")
        .arg(tree)
        .arg(format!("O={}", out.display()))
        .arg(format!("M={}", dir.display()))
        .arg(format!("CC={}", cc()))
        .arg("modules");
    run_logged(&mut c, log, &mut |_| {})?;
    let ko = dir.join("srcu_notifier_test.ko");
    if !ko.exists() {
        bail!("{} was not built", ko.display());
    }
    Ok(ko)
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
