// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! Host checks, command running and timing.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::plan::{Arch, Userspace};

#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error(
        "missing tool `{tool}`: install the Debian package `{package}` (apt-get install {package})"
    )]
    MissingTool { tool: String, package: String },
    #[error("unsupported host: {0}")]
    Unsupported(String),
    #[error("wrong kernel tree {path}: {why}")]
    WrongTree { path: String, why: String },
}

/// (tool, Debian package) pairs every run needs.
pub const TOOLS: &[(&str, &str)] = &[
    ("make", "make"),
    ("gcc", "gcc"),
    ("ld", "binutils"),
    ("strip", "binutils"),
    ("flex", "flex"),
    ("bison", "bison"),
    ("bc", "bc"),
    ("perl", "perl"),
    ("cpio", "cpio"),
    ("gzip", "gzip"),
    ("xz", "xz-utils"),
    ("tar", "tar"),
];

pub fn which(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(tool))
        .find(|p| {
            use std::os::unix::fs::PermissionsExt;
            p.metadata()
                .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
        })
}

pub fn need(tool: &str, package: &str) -> Result<PathBuf> {
    which(tool).ok_or_else(|| {
        HostError::MissingTool {
            tool: tool.into(),
            package: package.into(),
        }
        .into()
    })
}

/// The host tools and files the run's architectures need (x86_64 only as the host).
pub fn check_host(arches: &[&Arch]) -> Result<()> {
    if std::env::consts::OS != "linux" || std::env::consts::ARCH != "x86_64" {
        bail!(HostError::Unsupported(format!(
            "{}-{}: the harness runs on x86_64 (the in-guest programs are built for x86_64-unknown-linux-gnu)",
            std::env::consts::ARCH,
            std::env::consts::OS
        )));
    }
    for (t, p) in TOOLS {
        need(t, p)?;
    }
    for (hdr, pkg) in [
        ("/usr/include/libelf.h", "libelf-dev"),
        ("/usr/include/gelf.h", "libelf-dev"),
    ] {
        if !Path::new(hdr).exists() {
            bail!(HostError::MissingTool {
                tool: hdr.into(),
                package: pkg.into()
            });
        }
    }
    for arch in arches {
        for (t, p) in arch.tools {
            need(t, p)?;
        }
        for (f, p) in arch.files {
            if !Path::new(f).exists() {
                bail!(HostError::MissingTool {
                    tool: (*f).into(),
                    package: (*p).into()
                });
            }
        }
    }
    // Static glibc for the in-guest programs (-C target-feature=+crt-static).
    let host_userspace = arches.iter().any(|a| a.userspace == Userspace::Host);
    if host_userspace && !Path::new("/usr/lib/x86_64-linux-gnu/libc.a").exists() {
        bail!(HostError::MissingTool {
            tool: "libc.a (static glibc)".into(),
            package: "libc6-dev".into()
        });
    }
    Ok(())
}

/// busybox must be the static one (the initramfs has no libc).
pub fn busybox() -> Result<PathBuf> {
    for p in ["/bin/busybox", "/usr/bin/busybox"] {
        let p = PathBuf::from(p);
        if p.exists() {
            if elf_is_static(&p)? {
                return Ok(p);
            }
            bail!(HostError::MissingTool {
                tool: format!("static busybox ({} is dynamically linked)", p.display()),
                package: "busybox-static".into()
            });
        }
    }
    bail!(HostError::MissingTool {
        tool: "busybox".into(),
        package: "busybox-static".into()
    })
}

/// True when the ELF file has no PT_INTERP program header.
pub fn elf_is_static(p: &Path) -> Result<bool> {
    let b = fs::read(p).with_context(|| format!("read {}", p.display()))?;
    if b.len() < 64 || &b[..4] != b"\x7fELF" || b[4] != 2 {
        bail!("{} is not a 64-bit ELF file", p.display());
    }
    let u64at = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap());
    let u16at = |o: usize| u16::from_le_bytes(b[o..o + 2].try_into().unwrap());
    let (phoff, phentsize, phnum) = (
        u64at(0x20) as usize,
        u16at(0x36) as usize,
        u16at(0x38) as usize,
    );
    for i in 0..phnum {
        let o = phoff + i * phentsize;
        if o + 4 <= b.len() && u32::from_le_bytes(b[o..o + 4].try_into().unwrap()) == 3 {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The ELF header's `e_machine` of a little-endian ELF file (62 x86_64, 21 ppc64).
pub fn elf_machine(p: &Path) -> Result<u16> {
    let b = fs::read(p).with_context(|| format!("read {}", p.display()))?;
    if b.len() < 20 || &b[..4] != b"\x7fELF" || b[5] != 1 {
        bail!("{} is not a little-endian ELF file", p.display());
    }
    Ok(u16::from_le_bytes([b[18], b[19]]))
}

/// The outer VM's QEMU for an architecture, at least its `qemu_min` (QEMU 10 comes from bookworm-backports).
pub fn qemu(arch: &Arch) -> Result<(PathBuf, String)> {
    let backports = format!(
        "{pkg} from bookworm-backports (apt-get install -t bookworm-backports {pkg})",
        pkg = arch.qemu_package
    );
    let q = need(arch.qemu, &backports)?;
    let out = Command::new(&q)
        .arg("--version")
        .output()
        .with_context(|| format!("{} --version", arch.qemu))?;
    let s = String::from_utf8_lossy(&out.stdout).to_string();
    let ver = s.split_whitespace().nth(3).unwrap_or("").to_string();
    let mut v = ver.split('.').map(|m| m.parse::<u32>().unwrap_or(0));
    let found = (v.next().unwrap_or(0), v.next().unwrap_or(0));
    let (major, minor, why) = arch.qemu_min;
    if found < (major, minor) {
        bail!(HostError::MissingTool {
            tool: format!("{} >= {major}.{minor} (found {ver}; {why})", arch.qemu),
            package: backports,
        });
    }
    Ok((q, ver))
}

pub struct Timed {
    pub wall: Duration,
    pub cpu: Duration,
}

/// CPU time (user + system) of this process's waited-for children, from `/proc/self/stat`
/// (fields 16 and 17, `cutime` and `cstime`, in USER_HZ ticks — 100 per second on x86 Linux,
/// a fixed ABI value). Safe Rust: no `getrusage` call needed.
fn children_cpu() -> Duration {
    const USER_HZ: u64 = 100;
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The command name (field 2) may contain spaces: fields after it start at the last ')'.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // `rest` begins with field 3 (state), so field n is at index n - 3.
    let total = ticks(16 - 3) + ticks(17 - 3);
    Duration::from_millis(total * 1000 / USER_HZ)
}

/// Run a command with stdout+stderr appended to `log`; `tick` gets each output line (progress).
pub fn run_logged(cmd: &mut Command, log: &Path, tick: &mut dyn FnMut(&str)) -> Result<Timed> {
    let mut f = fs::OpenOptions::new().create(true).append(true).open(log)?;
    writeln!(f, "$ {:?}", cmd)?;
    let t0 = Instant::now();
    let c0 = children_cpu();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("spawn {:?}", cmd.get_program()))?;
    let err = child.stderr.take().unwrap();
    let errlog = log.to_path_buf();
    let th = std::thread::spawn(move || {
        let mut f = fs::OpenOptions::new().append(true).open(errlog).ok();
        for l in BufReader::new(err).lines().map_while(|l| l.ok()) {
            if let Some(f) = f.as_mut() {
                let _ = writeln!(f, "{l}");
            }
        }
    });
    for l in BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(|l| l.ok())
    {
        writeln!(f, "{l}")?;
        tick(&l);
    }
    let st = child.wait()?;
    let _ = th.join();
    let t = Timed {
        wall: t0.elapsed(),
        cpu: children_cpu().saturating_sub(c0),
    };
    if !st.success() {
        let tail = tail_lines(log, 25);
        bail!(
            "{:?} failed ({st}); log {}:\n{tail}",
            cmd.get_program(),
            log.display()
        );
    }
    Ok(t)
}

pub fn tail_lines(p: &Path, n: usize) -> String {
    let s = fs::read_to_string(p).unwrap_or_default();
    let v: Vec<&str> = s.lines().collect();
    v[v.len().saturating_sub(n)..].join("\n")
}

pub fn sh(cmd: &mut Command) -> Result<String> {
    let out = cmd
        .output()
        .with_context(|| format!("run {:?}", cmd.get_program()))?;
    if !out.status.success() {
        bail!(
            "{:?} failed: {}",
            cmd,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).to_string())
}
