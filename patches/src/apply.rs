// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! Applying the series to a kernel tree, and the bisectability check.

use crate::series::{run, Base};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// The series' patch files in order (the cover letter excluded).
pub fn series_files(series: &Path) -> Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(series)
        .with_context(|| format!("reading {}", series.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|x| x == "patch")
                && !p
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("0000-")
        })
        .collect();
    v.sort();
    if v.is_empty() {
        bail!("no patches in {}", series.display());
    }
    Ok(v)
}

fn make_var(makefile: &str, var: &str) -> Option<String> {
    makefile
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{var} = ")))
        .map(|s| s.trim().to_string())
}

/// Refuse anything but an unpatched Linux 6.12 tree; report how it relates to the pinned base.
fn check_tree(series: &Path, tree: &Path) -> Result<()> {
    let base = Base::read(series)?;
    let mk = std::fs::read_to_string(tree.join("Makefile"))
        .with_context(|| format!("{}: no Makefile; not a kernel tree", tree.display()))?;
    let (v, p, s) = (
        make_var(&mk, "VERSION"),
        make_var(&mk, "PATCHLEVEL"),
        make_var(&mk, "SUBLEVEL"),
    );
    if v.as_deref() != Some("6") || p.as_deref() != Some("12") {
        bail!(
            "{}: Linux {}.{}, but this series is for 6.12 (refusing; tree untouched)",
            tree.display(),
            v.unwrap_or_default(),
            p.unwrap_or_default()
        );
    }
    if tree.join("include/linux/srcu_rs.h").exists() {
        bail!(
            "{}: already patched (include/linux/srcu_rs.h exists); refusing, tree untouched",
            tree.display()
        );
    }
    let sub: u32 = s.unwrap_or_default().parse().unwrap_or(0);
    if sub != base.sublevel {
        eprintln!(
            "note: tree is 6.12.{sub}; the series was generated on 6.12.{} (Debian {}). \
             Accepted only if every patch applies cleanly.",
            base.sublevel, base.debian_version
        );
    }
    Ok(())
}

fn is_git_toplevel(tree: &Path) -> bool {
    let Ok(out) = Command::new("git")
        .arg("-C")
        .arg(tree)
        .args(["rev-parse", "--show-toplevel"])
        .output()
    else {
        return false;
    };
    out.status.success()
        && Path::new(String::from_utf8_lossy(&out.stdout).trim())
            .canonicalize()
            .ok()
            == tree.canonicalize().ok()
}

/// Apply the series to `tree`: git am for a git tree, else patch -p1 after a dry run on a
/// scratch copy of the touched files. On failure the tree is left as it was.
pub fn apply(series: &Path, tree: &Path) -> Result<()> {
    check_tree(series, tree)?;
    let files = series_files(series)?;
    if is_git_toplevel(tree) {
        let dirty = run(Command::new("git").arg("-C").arg(tree).args([
            "status",
            "--porcelain",
            "--untracked-files=no",
        ]))?;
        if !dirty.trim().is_empty() {
            bail!(
                "{}: the git tree has uncommitted changes; refusing (tree untouched)",
                tree.display()
            );
        }
        let st = Command::new("git")
            .arg("-C")
            .arg(tree)
            .args(["am", "-q", "--whitespace=nowarn"])
            .args(&files)
            .status()?;
        if !st.success() {
            let _ = Command::new("git")
                .arg("-C")
                .arg(tree)
                .args(["am", "--abort"])
                .status();
            bail!("git am failed; aborted, {} is unchanged", tree.display());
        }
        println!(
            "applied {} patches to {} with git am",
            files.len(),
            tree.display()
        );
        return Ok(());
    }
    // Plain tree: copy every file the series touches to a scratch dir, apply there for real
    // (later patches may touch what earlier ones changed), and only then apply to the tree.
    let scratch = std::env::temp_dir().join(format!("srcu-rs-apply-{}", std::process::id()));
    let backup = scratch.join("backup");
    let trial = scratch.join("trial");
    let _ = std::fs::remove_dir_all(&scratch);
    let touched = touched_files(&files)?;
    for rel in &touched {
        let src = tree.join(rel);
        if src.exists() {
            for d in [&backup, &trial] {
                let dst = d.join(rel);
                std::fs::create_dir_all(dst.parent().unwrap())?;
                std::fs::copy(&src, &dst)?;
            }
        }
    }
    std::fs::create_dir_all(&trial)?;
    for f in &files {
        if !patch_p1(&trial, f, false)? {
            let _ = std::fs::remove_dir_all(&scratch);
            bail!(
                "{} does not apply (dry run); {} is unchanged",
                f.display(),
                tree.display()
            );
        }
    }
    for f in &files {
        if !patch_p1(tree, f, false)? {
            // Restore every touched file from the backup; remove files the series created.
            for rel in &touched {
                let b = backup.join(rel);
                if b.exists() {
                    std::fs::copy(&b, tree.join(rel))?;
                } else {
                    let _ = std::fs::remove_file(tree.join(rel));
                }
            }
            let _ = std::fs::remove_dir_all(&scratch);
            bail!(
                "{} failed to apply after a clean dry run; {} was restored",
                f.display(),
                tree.display()
            );
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    println!(
        "applied {} patches to {} with patch -p1",
        files.len(),
        tree.display()
    );
    Ok(())
}

fn patch_p1(dir: &Path, file: &Path, dry: bool) -> Result<bool> {
    let mut c = Command::new("patch");
    c.current_dir(dir)
        .args(["-p1", "-s", "-f", "--no-backup-if-mismatch", "-i"])
        .arg(file.canonicalize()?);
    if dry {
        c.arg("--dry-run");
    }
    Ok(c.stdout(Stdio::null()).status()?.success())
}

fn touched_files(files: &[PathBuf]) -> Result<Vec<String>> {
    let mut v = Vec::new();
    for f in files {
        for l in std::fs::read_to_string(f)?.lines() {
            if let Some(p) = l
                .strip_prefix("+++ b/")
                .or_else(|| l.strip_prefix("--- a/"))
            {
                if !v.iter().any(|x| x == p) {
                    v.push(p.to_string());
                }
            }
        }
    }
    Ok(v)
}

/// Build every prefix of the series: the tree (a clean git tree at the base) gets one patch at
/// a time with git am, and the kernel is rebuilt after each.
/// Warning lines of a kernel build log: compiler (`file:line:col: warning:`), objtool
/// (`x.o: warning: objtool: ...`), linker (`ld: warning: ...`) and modpost.
fn build_warnings(log: &Path) -> Result<Vec<String>> {
    let text =
        std::fs::read_to_string(log).with_context(|| format!("reading {}", log.display()))?;
    Ok(text
        .lines()
        .filter(|l| {
            l.contains("objtool: ")
                || l.contains(": warning: ")
                || l.starts_with("warning: ")
                || l.starts_with("ld: ")
                || l.contains("WARNING: modpost")
                || l.contains("ERROR: modpost")
        })
        .map(str::to_string)
        .collect())
}

pub fn check_bisect(
    series: &Path,
    tree: &Path,
    config: &Path,
    out: &Path,
    jobs: u32,
) -> Result<()> {
    check_tree(series, tree)?;
    if !is_git_toplevel(tree) {
        bail!(
            "{}: check-bisect needs a git tree at the base of the series",
            tree.display()
        );
    }
    let files = series_files(series)?;
    std::fs::create_dir_all(out)?;
    let mut failed = 0;
    for (i, f) in files.iter().enumerate() {
        let st = Command::new("git")
            .arg("-C")
            .arg(tree)
            .args(["am", "-q"])
            .arg(f)
            .status()?;
        if !st.success() {
            let _ = Command::new("git")
                .arg("-C")
                .arg(tree)
                .args(["am", "--abort"])
                .status();
            bail!("patch {} does not apply", f.display());
        }
        std::fs::copy(config, out.join(".config"))?;
        let t = Instant::now();
        let log = out.join(format!("bisect-{:02}.log", i + 1));
        let logf = std::fs::File::create(&log)?;
        let ok = Command::new("make")
            .current_dir(tree)
            .arg(format!("O={}", out.display()))
            .arg(format!("-j{jobs}"))
            .arg("CC=ccache gcc")
            .args(["olddefconfig", "all"])
            .stdout(logf.try_clone()?)
            .stderr(logf)
            .status()?
            .success();
        let name = f.file_name().unwrap().to_string_lossy();
        // A prefix must also build cleanly: no compiler, objtool, linker or modpost warning.
        let warnings = build_warnings(&log)?;
        println!(
            "{} {name} ({:.0} s, {} warning line(s), log {})",
            if ok && warnings.is_empty() {
                "ok  "
            } else {
                "FAIL"
            },
            t.elapsed().as_secs_f64(),
            warnings.len(),
            log.display()
        );
        for w in warnings.iter().take(20) {
            println!("    {w}");
        }
        if !ok || !warnings.is_empty() {
            failed += 1;
        }
    }
    println!(
        "check-bisect: {} passed, {} failed",
        files.len() - failed,
        failed
    );
    if failed > 0 {
        bail!("{failed} prefix(es) failed to build");
    }
    Ok(())
}
