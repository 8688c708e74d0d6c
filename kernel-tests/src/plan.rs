// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! The run as data: the kernel table, the in-guest phases, and the [`Plan`] that `run` resolves once from the
//! options (which kernels, where they are built, every boot with its command line and time budget, the
//! broken-variant checks). Resolving reads nothing but the options and (for `--kvm-unit-tests`) the test list of
//! that tree, and writes nothing, so `run --dry-run` can print the whole plan.

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Result};
use clap::ValueEnum;

use crate::guest::KutTest;

/// An in-guest phase of a boot: the guest's `/init` runs `phase_<name>` for each, in this order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum Phase {
    /// The srcu_rs KUnit suite (built in; ran before /init, its KTAP is re-printed).
    Kunit,
    /// rcutorture on srcu_rs (patched) or srcu (stock), with irq readers.
    Rcutorture,
    /// kvm-irq-stress with the vCPU never run: interrupts read from its local APIC.
    Kvmpoll,
    /// kvm-irq-stress with interrupts delivered to the running vCPU.
    Kvmstress,
    /// The srcu notifier-chain module test.
    Notifier,
    /// The srcu_rs lifetime test module (kernel-tests/lifetime-test), loaded and unloaded twice with work pending.
    Lifetime,
    /// rcutorture's duplicate call_srcu_rs() test (`object_debug=1`), on kernels with DEBUG_OBJECTS_RCU_HEAD.
    Objdebug,
    /// refscale read-side cost of srcu and srcu_rs.
    Refscale,
    /// Expedited grace-period latency, srcu_rs against srcu, on domains of the test module's own while
    /// kvm-irq-stress churns GSI routing (a benchmark: median and p99, ratios).
    Explat,
    /// The x86 kvm-unit-tests, in a boot of their own.
    Kut,
}

impl Phase {
    /// The name the guest's `/init` knows the phase by (`srcutest.plan=`), and `--phases` takes.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Kunit => "kunit",
            Phase::Rcutorture => "rcutorture",
            Phase::Kvmpoll => "kvmpoll",
            Phase::Kvmstress => "kvmstress",
            Phase::Notifier => "notifier",
            Phase::Lifetime => "lifetime",
            Phase::Objdebug => "objdebug",
            Phase::Refscale => "refscale",
            Phase::Explat => "explat",
            Phase::Kut => "kut",
        }
    }

    /// The phase's row label in the results (it carries the durations the boot ran with).
    pub fn label(self, p: &PhaseParams) -> String {
        match self {
            Phase::Kunit => "KUnit srcu_rs".into(),
            Phase::Rcutorture => format!(
                "rcutorture {} {}s",
                p.torture_types.join("+"),
                p.torture_secs
            ),
            Phase::Kvmstress => format!("KVM irq stress {}s", p.kvm_secs),
            Phase::Kvmpoll => format!("KVM irq stress, polled APIC {}s", p.kvm_secs),
            Phase::Notifier => format!("srcu notifier test {}s", p.notifier_secs),
            Phase::Lifetime => "srcu_rs module lifetime (2 unloads, work pending)".into(),
            Phase::Objdebug => "rcutorture srcu_rs object_debug=1 (duplicate call_srcu_rs)".into(),
            Phase::Refscale => format!("refscale {}", p.refscale_types.join("+")),
            Phase::Explat => format!("expedited GP latency, KVM routing churn {}s", p.explat_secs()),
            Phase::Kut => "kvm-unit-tests run".into(),
        }
    }

    /// The phase's rows' labels: one per torture type for rcutorture, with the hand-off readers' row after
    /// [`HANDOFF_TORTURE_TYPE`]'s; KUnit's suite row and its hand-off cases' row; else [`Phase::label`].
    pub fn labels(self, p: &PhaseParams) -> Vec<String> {
        match self {
            Phase::Rcutorture => p
                .torture_types
                .iter()
                .flat_map(|t| {
                    let mut v = vec![format!("rcutorture {t} {}s", p.torture_secs)];
                    if *t == HANDOFF_TORTURE_TYPE {
                        v.push(format!("rcutorture {t} hand-offs {}s", p.torture_secs));
                    }
                    v
                })
                .collect(),
            Phase::Kunit => vec![self.label(p), KUNIT_HANDOFF_LABEL.into()],
            _ => vec![self.label(p)],
        }
    }

    /// Seconds of budget this phase adds to a boot: its run time with generous slack (TCG is slow and the
    /// machine is shared).
    fn budget_secs(self, p: &PhaseParams) -> u64 {
        match self {
            // the NMI readers case waits up to 30 s for a grace period that a lost count keeps from ending
            Phase::Kunit => 90,
            Phase::Rcutorture => p.torture_types.len() as u64 * (p.torture_secs + 90),
            Phase::Kvmstress | Phase::Kvmpoll => p.kvm_secs + 60,
            Phase::Notifier => p.notifier_secs + 60,
            Phase::Explat => p.explat_secs() + 60,
            // two loads and unloads, each unload waiting for a grace period and a callback
            Phase::Lifetime => 60,
            Phase::Objdebug => OBJDEBUG_SECS + 60,
            Phase::Refscale => {
                REFSCALE_ROUNDS * p.refscale_types.len() as u64 * (REFSCALE_SECS + 20)
            }
            Phase::Kut => p.kut_count as u64 * 100,
        }
    }
}

/// Seconds rcutorture runs after its duplicate call_srcu_rs() test (`srcutest.objdebug_secs`).
const OBJDEBUG_SECS: u64 = 10;
/// Seconds the guest waits for one refscale load (`srcutest.refscale_secs`).
const REFSCALE_SECS: u64 = 180;
/// refscale loads per type, interleaved (`srcutest.refscale_rounds`: types a, b, a, b, …), so that a change of the
/// host's load during the phase falls on every type alike; each load does `nruns` runs.
const REFSCALE_ROUNDS: u64 = 3;
/// Seconds of a boot before its first phase.
const BOOT_SECS: u64 = 120;
/// How many times longer a boot with one instruction per translation block may take.
const SLOW_TCG: u64 = 3;

/// QEMU TCG threading for the outer VM.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TcgThreads {
    /// vCPUs run in parallel (what the stress phases need).
    Multi,
    /// One host thread for all vCPUs.
    Single,
}

impl TcgThreads {
    pub fn name(self) -> &'static str {
        match self {
            TcgThreads::Multi => "multi",
            TcgThreads::Single => "single",
        }
    }
}

/// The kernels the job can build. Their names are the `--kernels` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum Kernel {
    Stock,
    Patched,
    StockLockdep,
    PatchedLockdep,
    StockKasan,
    PatchedKasan,
    /// The patched test-options kernel (SRCU_RS_GENERIC_PERCPU): KUnit only, for the NMI readers case.
    PatchedGeneric,
    Ppc64leStock,
    Ppc64lePatched,
}

impl Kernel {
    pub fn spec(self) -> &'static KernelSpec {
        KERNELS
            .iter()
            .find(|s| s.kernel == self)
            .expect("every kernel has a row in KERNELS")
    }
    pub fn name(self) -> &'static str {
        self.spec().name
    }
}

/// Which tree a kernel is built from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// Debian's linux-source-6.12 (or `--tree`), unmodified.
    Stock,
    /// A copy of the stock tree with the srcu-rs series applied.
    Patched,
}

/// An architecture: how its kernels are built and booted, and what its guests can run.
#[derive(Debug)]
pub struct Arch {
    pub name: &'static str,
    /// `make ARCH=`.
    pub make_arch: &'static str,
    /// `make CROSS_COMPILE=` (empty: the host's own tools).
    pub cross_compile: &'static str,
    /// The `make` targets that build the boot image and the modules.
    pub make_targets: &'static [&'static str],
    /// The boot image, relative to the O= directory.
    pub image: &'static str,
    /// Host tools this architecture's builds and boots need beyond the common ones: `(tool, Debian package)`.
    pub tools: &'static [(&'static str, &'static str)],
    /// Files the boots need (QEMU firmware): `(path, Debian package)`.
    pub files: &'static [(&'static str, &'static str)],
    pub qemu: &'static str,
    /// The Debian package of `qemu`, installed from bookworm-backports (kernel-tests/packages.list `backports:`).
    pub qemu_package: &'static str,
    /// The oldest QEMU accepted (major, minor), and why.
    pub qemu_min: (u32, u32, &'static str),
    /// The outer VM's machine (besides `-accel`, `-m` and the boot files).
    pub qemu_machine: &'static [&'static str],
    /// The outer VM's memory (the kvm-unit-tests boots take 3G).
    pub mem: &'static str,
    /// The kernel's console (`console=`).
    pub console: &'static str,
    /// Kernel command-line words every boot of this architecture has.
    pub cmdline: &'static str,
    /// The guest has KVM (`/dev/kvm`): the KVM stress phases and kvm-unit-tests run, the boot row requires it.
    pub kvm: bool,
    /// Modules the guest loads for /dev/kvm when KVM is built as modules, relative to the O= directory.
    pub kvm_modules: &'static [&'static str],
    /// Where the guest's userspace (busybox) comes from.
    pub userspace: Userspace,
    /// `c-shim/kernel/check-readers.sh` reads this architecture's disassembly (part of a gated build's gate).
    pub readers_check: bool,
    /// The KUnit phase boots on its own with `-accel tcg,one-insn-per-tb=on`: TCG takes interrupts only between
    /// translation blocks, so with whole blocks an NMI almost never lands between the load and the store of the
    /// generic per-CPU increment the KUnit NMI case is about. The architecture's other boots skip KUnit
    /// (`kunit.enable=0`).
    pub kunit_one_insn_per_tb: bool,
    /// rcutorture seconds per torture type in `--ci`.
    pub ci_torture_secs: u64,
}

/// The guest's userspace: busybox and the in-guest programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Userspace {
    /// The host's static busybox and the in-guest programs built for the host.
    Host,
    /// Debian's `busybox-static` of this dpkg architecture, downloaded with `apt-get download` and unpacked with
    /// `dpkg-deb -x` (never installed: it would replace the host's busybox); no in-guest programs.
    Debian {
        dpkg_arch: &'static str,
        elf_machine: u16,
    },
}

/// x86_64 under TCG: `-cpu EPYC` so that kvm_amd runs nested inside (SVM is what TCG emulates).
pub const X86_64: Arch = Arch {
    name: "x86_64",
    make_arch: "x86_64",
    cross_compile: "",
    make_targets: &["bzImage", "modules"],
    image: "arch/x86/boot/bzImage",
    tools: &[],
    files: &[],
    qemu: "qemu-system-x86_64",
    qemu_package: "qemu-system-x86",
    qemu_min: (
        10,
        0,
        "Debian 12's 7.2 aborts on the kvm-unit-tests `emulator` test",
    ),
    qemu_machine: &["-cpu", "EPYC", "-smp", "2"],
    mem: "2G",
    console: "ttyS0",
    cmdline: "kvm_amd.nested=1",
    kvm: true,
    kvm_modules: &["arch/x86/kvm/kvm.ko", "arch/x86/kvm/kvm-amd.ko"],
    userspace: Userspace::Host,
    readers_check: true,
    kunit_one_insn_per_tb: false,
    ci_torture_secs: 60,
};

/// ppc64le (pseries, POWER9) under TCG: an architecture with true NMIs (system reset, sent through the
/// `H_SIGNAL_SYS_RESET` hypercall) and the generic, NMI-unsafe `this_cpu_inc()`. No KVM phases: the stress
/// program and kvm-unit-tests are x86/SVM.
pub const PPC64LE: Arch = Arch {
    name: "ppc64le",
    make_arch: "powerpc",
    cross_compile: "powerpc64le-linux-gnu-",
    make_targets: &["vmlinux", "modules"],
    image: "vmlinux",
    tools: &[
        ("powerpc64le-linux-gnu-gcc", "gcc-powerpc64le-linux-gnu"),
        ("powerpc64le-linux-gnu-ld", "binutils-powerpc64le-linux-gnu"),
        (
            "powerpc64le-linux-gnu-strip",
            "binutils-powerpc64le-linux-gnu",
        ),
        ("dpkg-deb", "dpkg"),
    ],
    files: &[("/usr/share/qemu/vof.bin", "qemu-system-data")],
    qemu: "qemu-system-ppc64",
    qemu_package: "qemu-system-ppc",
    qemu_min: (8, 1, "`-accel tcg,one-insn-per-tb=on` needs QEMU 8.1"),
    // x-vof=on: QEMU's Virtual Open Firmware (the client interface prom_init needs, nothing else) instead of
    // SLOF, which takes 20 s of a 7 s boot under TCG and 125 s of a 19 s one with one instruction per TB
    qemu_machine: &["-M", "pseries,x-vof=on", "-cpu", "power9", "-smp", "2"],
    mem: "1G",
    console: "hvc0",
    cmdline: "",
    kvm: false,
    kvm_modules: &[],
    userspace: Userspace::Debian {
        dpkg_arch: "ppc64el",
        elf_machine: 21,
    },
    readers_check: false,
    kunit_one_insn_per_tb: true,
    ci_torture_secs: 30,
};

/// Every architecture, in the order their kernels are listed.
pub const ARCHES: &[&Arch] = &[&X86_64, &PPC64LE];

/// The architectures (`--arches`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum ArchName {
    #[value(name = "x86_64")]
    X86_64,
    Ppc64le,
}

impl ArchName {
    pub fn arch(self) -> &'static Arch {
        match self {
            ArchName::X86_64 => &X86_64,
            ArchName::Ppc64le => &PPC64LE,
        }
    }
}

/// One row of the kernel table.
#[derive(Debug)]
pub struct KernelSpec {
    pub kernel: Kernel,
    pub name: &'static str,
    pub arch: &'static Arch,
    pub source: Source,
    /// Config fragments (kernel-tests/config/), merged in order on top of `tinyconfig`; a later one wins.
    pub fragments: &'static [&'static str],
    /// The variant's own fragments (lockdep, KASAN), merged after `fragments`.
    pub variant: &'static [&'static str],
    /// rcutorture `torture_type`s of the rcutorture phase, loaded one after the other.
    pub torture_types: &'static [&'static str],
    /// refscale `scale_type`s of a full run, measured in the same boot (empty: no refscale, the kernel is a debug
    /// or test-options variant whose cost would swamp the read side).
    pub refscale_types: &'static [&'static str],
    /// `(symbol, value)` pairs the final .config must have, or the build stops with the unmet dependencies.
    pub required: &'static [(&'static str, &'static str)],
    /// The build log must have no objtool, linker, modpost or compiler warning, and the inline srcu_rs readers
    /// must have survived compilation (see `kbuild::gate`).
    pub gated: bool,
}

/// The fragments of the compared kernels: the test config, distro code generation (retpoline, return thunks,
/// IBT, call padding: what objtool checks a rustc-built object against) and KVM as modules (what modpost checks
/// the series' exports against).
const COMPARED: &[&str] = &[
    "srcu-rs.fragment",
    "mitigations.fragment",
    "kvm-modules.fragment",
];
const PATCHED: &[&str] = &[
    "srcu-rs.fragment",
    "mitigations.fragment",
    "kvm-modules.fragment",
    "patched.fragment",
];
const STOCK_TORTURE: &[&str] = &["srcu"];
const PATCHED_TORTURE: &[&str] = &["srcu_rs"];
/// What the ppc64le kernels must have: the pseries machine, its console and NMI IPIs (system reset through the
/// hypercall; `smp_send_nmi_ipi()` needs it).
const PPC64LE_REQUIRED: &[(&str, &str)] = &[
    ("PPC64", "y"),
    ("CPU_LITTLE_ENDIAN", "y"),
    ("PPC_PSERIES", "y"),
    ("PPC_OF_BOOT_TRAMPOLINE", "y"),
    ("HVC_CONSOLE", "y"),
    ("NMI_IPI", "y"),
];
const MITIGATED_KVM_M: &[(&str, &str)] = &[
    ("MITIGATION_RETPOLINE", "y"),
    ("MITIGATION_RETHUNK", "y"),
    ("KVM", "m"),
    ("KVM_AMD", "m"),
];

/// The kernels: the two under comparison, their lockdep/PROVE_RCU and KASAN builds (run separately so their cost
/// never confounds timings or the stock-vs-patched diff), and the patched test-options kernel.
pub const KERNELS: &[KernelSpec] = &[
    KernelSpec {
        kernel: Kernel::Stock,
        name: "stock",
        arch: &X86_64,
        source: Source::Stock,
        fragments: COMPARED,
        variant: &[],
        torture_types: STOCK_TORTURE,
        refscale_types: &["srcu"],
        required: MITIGATED_KVM_M,
        gated: false,
    },
    KernelSpec {
        kernel: Kernel::Patched,
        name: "patched",
        arch: &X86_64,
        source: Source::Patched,
        fragments: PATCHED,
        variant: &[],
        torture_types: PATCHED_TORTURE,
        refscale_types: &["srcu", "srcu_rs"],
        required: &[
            ("SRCU_RS", "y"),
            ("SRCU_RS_KUNIT_TEST", "y"),
            ("MITIGATION_RETPOLINE", "y"),
            ("MITIGATION_RETHUNK", "y"),
            ("KVM", "m"),
            ("KVM_AMD", "m"),
        ],
        gated: true,
    },
    KernelSpec {
        kernel: Kernel::StockLockdep,
        name: "stock-lockdep",
        arch: &X86_64,
        source: Source::Stock,
        fragments: COMPARED,
        variant: &["lockdep.fragment"],
        torture_types: STOCK_TORTURE,
        refscale_types: &[],
        required: &[("PROVE_LOCKING", "y"), ("PROVE_RCU", "y")],
        gated: false,
    },
    KernelSpec {
        kernel: Kernel::PatchedLockdep,
        name: "patched-lockdep",
        arch: &X86_64,
        source: Source::Patched,
        fragments: PATCHED,
        variant: &["lockdep.fragment"],
        torture_types: PATCHED_TORTURE,
        refscale_types: &[],
        required: &[
            ("SRCU_RS", "y"),
            ("SRCU_RS_KUNIT_TEST", "y"),
            ("PROVE_LOCKING", "y"),
            ("PROVE_RCU", "y"),
            ("DEBUG_OBJECTS_RCU_HEAD", "y"),
        ],
        gated: false,
    },
    KernelSpec {
        kernel: Kernel::StockKasan,
        name: "stock-kasan",
        arch: &X86_64,
        source: Source::Stock,
        fragments: COMPARED,
        variant: &["kasan.fragment"],
        torture_types: STOCK_TORTURE,
        refscale_types: &[],
        required: &[("KASAN", "y")],
        gated: false,
    },
    KernelSpec {
        kernel: Kernel::PatchedKasan,
        name: "patched-kasan",
        arch: &X86_64,
        source: Source::Patched,
        fragments: PATCHED,
        variant: &["kasan.fragment"],
        torture_types: PATCHED_TORTURE,
        refscale_types: &[],
        required: &[
            ("SRCU_RS", "y"),
            ("SRCU_RS_KUNIT_TEST", "y"),
            ("KASAN", "y"),
            ("KASAN_VMALLOC", "y"),
            ("DEBUG_LIST", "y"),
            ("DEBUG_OBJECTS_RCU_HEAD", "y"),
        ],
        gated: false,
    },
    KernelSpec {
        kernel: Kernel::PatchedGeneric,
        name: "patched-generic",
        arch: &X86_64,
        source: Source::Patched,
        // KUnit only (no KVM phase): the small KVM=y test config, without the compared kernels' additions
        fragments: &[
            "srcu-rs.fragment",
            "patched.fragment",
            "generic-percpu.fragment",
        ],
        variant: &[],
        torture_types: PATCHED_TORTURE,
        refscale_types: &[],
        required: &[
            ("SRCU_RS", "y"),
            ("SRCU_RS_KUNIT_TEST", "y"),
            ("SRCU_RS_GENERIC_PERCPU", "y"),
            ("SRCU_RS_FAULT_INJECTION", "y"),
        ],
        gated: false,
    },
    KernelSpec {
        kernel: Kernel::Ppc64leStock,
        name: "ppc64le-stock",
        arch: &PPC64LE,
        source: Source::Stock,
        fragments: &["ppc64le.fragment"],
        variant: &[],
        // srcud: the in-tree NMI-safe reader (srcu_read_lock_nmisafe()), an atomic on this architecture
        torture_types: &["srcu", "srcud"],
        refscale_types: &["srcu"],
        required: PPC64LE_REQUIRED,
        gated: false,
    },
    KernelSpec {
        kernel: Kernel::Ppc64lePatched,
        name: "ppc64le-patched",
        arch: &PPC64LE,
        source: Source::Patched,
        fragments: &["ppc64le.fragment", "patched.fragment"],
        variant: &[],
        torture_types: &["srcu_rs", "srcu", "srcud"],
        // srcu-nmisafe: the test-only refscale op the series adds for srcu_read_lock_nmisafe()
        refscale_types: &["srcu", "srcu_rs", "srcu-nmisafe"],
        required: &[
            ("PPC64", "y"),
            ("CPU_LITTLE_ENDIAN", "y"),
            ("PPC_PSERIES", "y"),
            ("PPC_OF_BOOT_TRAMPOLINE", "y"),
            ("HVC_CONSOLE", "y"),
            ("NMI_IPI", "y"),
            ("SRCU_RS", "y"),
            ("SRCU_RS_KUNIT_TEST", "y"),
            ("SRCU_RS_FAULT_INJECTION", "y"),
        ],
        gated: true,
    },
];

impl KernelSpec {
    pub fn patched(&self) -> bool {
        self.source == Source::Patched
    }
    /// A kernel without a debug or test-options variant (the one refscale and kvm-unit-tests run on).
    pub fn plain(&self) -> bool {
        !self.refscale_types.is_empty()
    }
    /// Everything but the test-options kernel, which exists for its KUnit cases (and would confound every other
    /// phase).
    fn runs_stress(&self) -> bool {
        self.kernel != Kernel::PatchedGeneric
    }
    /// A kernel whose .config is checked for `sym=y`.
    fn requires(&self, sym: &str) -> bool {
        self.required.iter().any(|(s, v)| *s == sym && *v == "y")
    }
    /// A KASAN kernel: its boots get a row for KASAN reports anywhere on the console.
    pub fn kasan(&self) -> bool {
        self.requires("KASAN")
    }
    /// A patched kernel with DEBUG_OBJECTS_RCU_HEAD, where rcutorture's duplicate call_srcu_rs() test runs.
    fn object_debug(&self) -> bool {
        self.patched() && self.requires("DEBUG_OBJECTS_RCU_HEAD")
    }
}

/// The kernels `--ci` builds (patched-generic only without ppc64le-patched: see `Plan::resolve`), and a full run
/// without `--kernels` (with or without the debug variants).
const CI_KERNELS: &[Kernel] = &[
    Kernel::Patched,
    Kernel::PatchedGeneric,
    Kernel::Ppc64lePatched,
];
const NO_DEBUG_KERNELS: &[Kernel] = &[
    Kernel::Stock,
    Kernel::Patched,
    Kernel::PatchedGeneric,
    Kernel::Ppc64leStock,
    Kernel::Ppc64lePatched,
];

/// What a boot's phases run with; it also names their rows.
#[derive(Clone, Debug, PartialEq)]
pub struct PhaseParams {
    /// Loaded one after the other, each for `torture_secs`.
    pub torture_types: Vec<&'static str>,
    pub torture_secs: u64,
    pub kvm_secs: u64,
    pub notifier_secs: u64,
    pub refscale_types: Vec<&'static str>,
    pub refscale_nruns: u32,
    pub kut_count: usize,
    /// Extra kvm-irq-stress arguments, comma-separated.
    pub kvm_args: String,
}

impl PhaseParams {
    /// The expedited-latency phase's duration: half the KVM stress's.
    pub fn explat_secs(&self) -> u64 {
        (self.kvm_secs / 2).max(5)
    }
}

/// What a boot is for.
#[derive(Clone, Debug, PartialEq)]
pub enum Purpose {
    /// The kernel's phases.
    Tests,
    /// kvm-unit-tests alone (see `kut_boot` in main.rs).
    KvmUnitTests,
    /// A deliberately broken variant that must be caught.
    Broken(BrokenCheck),
}

/// How a broken variant counts as caught.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CaughtBy {
    /// A failed row of one of these phases, or a hung or dead guest (not, e.g., a boot warning that the
    /// non-broken kernel shows too).
    FailedPhaseOrGuest(&'static [Phase]),
    /// KUnit reports this case as failed (`not ok N <case>`); a dead guest or another case does not count.
    KunitCase(&'static str),
    /// A memory-safety report: KASAN anywhere on the console (the "KASAN reports" row of a KASAN kernel failed),
    /// or a kernel problem (DEBUG_LIST's list corruption, a page fault) inside one of these phases, or a dead guest;
    /// not the phase's own expectations failing (those would catch a variant that merely prints less).
    MemoryReport(&'static [Phase]),
}

/// Which test-only switch a broken variant turns on.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FaultSwitch {
    /// `srcu_rs.fault=N`: srcu-core's Fault N (the grace-period algorithm).
    Core,
    /// `srcu_rs.shim_fault=N`: the kernel shim's lifetime faults (SRCU_RS_SHIM_FAULT_* in srcu_rs.c).
    Shim,
}

/// A broken-variant check: `kernel` booted with `srcu_rs.fault=<fault>` (or `srcu_rs.shim_fault=`) runs
/// `phases`, which must catch it.
#[derive(Clone, Debug, PartialEq)]
pub struct BrokenCheck {
    pub kernel: Kernel,
    pub fault: u32,
    pub switch: FaultSwitch,
    pub phases: Vec<Phase>,
    pub caught_by: CaughtBy,
    /// Boot once more when the outer VM itself triple-faulted (TCG's failure, not the broken grace period's).
    pub retry_triple_fault: bool,
    /// The boot's suffix (a kernel with two checks needs two names).
    pub suffix: &'static str,
}

impl BrokenCheck {
    /// The kernel command-line word that turns the broken variant on.
    pub fn switch_arg(&self) -> String {
        match self.switch {
            FaultSwitch::Core => format!("srcu_rs.fault={}", self.fault),
            FaultSwitch::Shim => format!("srcu_rs.shim_fault={}", self.fault),
        }
    }

    /// `srcu_rs.shim_fault=<fault>` on a KASAN kernel: `phase` must make KASAN (or list debugging) report.
    fn shim(kernel: Kernel, fault: u32, phase: &'static [Phase], suffix: &'static str) -> BrokenCheck {
        BrokenCheck {
            kernel,
            fault,
            switch: FaultSwitch::Shim,
            phases: phase.to_vec(),
            caught_by: CaughtBy::MemoryReport(phase),
            retry_triple_fault: false,
            suffix,
        }
    }

    /// A KUnit-only boot with `switch` set to `fault`: KUnit case `case` must fail.
    fn kunit(kernel: Kernel, switch: FaultSwitch, fault: u32, case: &'static str, suffix: &'static str) -> BrokenCheck {
        BrokenCheck {
            kernel,
            fault,
            switch,
            phases: vec![Phase::Kunit],
            caught_by: CaughtBy::KunitCase(case),
            retry_triple_fault: false,
            suffix,
        }
    }

    /// `srcu_rs.fault=4` (NMI readers counted in the per-CPU half): the KUnit NMI readers case must fail.
    fn nmi_readers(kernel: Kernel, suffix: &'static str) -> BrokenCheck {
        BrokenCheck::kunit(kernel, FaultSwitch::Core, GENERIC_FAULT, NMI_CASE, suffix)
    }
}

/// The srcu-core fault the patched-generic broken check boots with (Fault::NmiInPercpuHalf), and the KUnit case
/// that must catch it.
pub const GENERIC_FAULT: u32 = 4;
pub const NMI_CASE: &str = "srcu_rs_test_nmi_readers";

/// The srcu-core fault of an `srcu_rs_up_read()` that unlocks the other index than its `srcu_rs_down_read()`
/// locked (Fault::UpReadOtherIndex), and the KUnit hand-off case that must catch it.
pub const UPDOWN_FAULT: u32 = 9;
pub const UPDOWN_CASE: &str = "srcu_rs_test_updown_task";

/// The shim fault of a cleanup that leaves the domain's debugfs file (SRCU_RS_SHIM_FAULT_DEBUGFS_LEFT), and the
/// KUnit case that must catch it.
pub const DEBUGFS_SHIM_FAULT: u32 = 3;
pub const DEBUGFS_CASE: &str = "srcu_rs_test_debugfs_goes_with_cleanup";

/// The KUnit row of the `srcu_rs_down_read()` hand-off cases (task to task, task to hardirq, NMI to task).
pub const KUNIT_HANDOFF_LABEL: &str = "KUnit srcu_rs hand-offs";

/// The torture type that also runs rcutorture's hand-off readers (`srcu_rs_down_read()` sections ended by another
/// kthread or a hardirq hrtimer), judged in a row of their own.
pub const HANDOFF_TORTURE_TYPE: &str = "srcu_rs";

/// Module parameters a torture type gets on top of the common ones (`srcutest.torture_<type>`, commas for
/// spaces).
pub const TORTURE_TYPE_PARAMS: &[(&str, &str)] = &[(HANDOFF_TORTURE_TYPE, "srcu_rs_updown=1")];

/// One boot of the plan.
#[derive(Clone, Debug, PartialEq)]
pub struct Boot {
    pub kernel: Kernel,
    /// Appended to the kernel's name in rows and log names (`-broken`, `-kut`).
    pub suffix: String,
    pub phases: Vec<Phase>,
    pub params: PhaseParams,
    /// The whole kernel command line.
    pub append: String,
    /// The guest is killed when this is over.
    pub budget: Duration,
    pub tcg: TcgThreads,
    /// `-accel tcg,one-insn-per-tb=on`: one guest instruction per translation block, so that an interrupt can land
    /// between any two instructions (the KUnit NMI case on ppc64le).
    pub one_insn_per_tb: bool,
    pub mem: &'static str,
    pub purpose: Purpose,
}

impl Boot {
    /// `<kernel><suffix>`: the rows' kernel column and the console log's name.
    pub fn name(&self) -> String {
        format!("{}{}", self.kernel.name(), self.suffix)
    }

    /// The same boot under another suffix (a retry) and, for kvm-unit-tests resumed after the outer QEMU died,
    /// with extra command-line words.
    pub fn again(&self, suffix: &str, more_append: &str) -> Boot {
        let mut b = self.clone();
        b.suffix = suffix.to_string();
        if !more_append.is_empty() {
            b.append.push(' ');
            b.append.push_str(more_append);
        }
        b
    }
}

/// The options `run` takes, as resolved values (see `RunArgs` in main.rs for their documentation).
#[derive(Clone, Debug)]
pub struct Options {
    pub ci: bool,
    pub kernels: Vec<Kernel>,
    /// Only the kernels of these architectures (empty: all).
    pub arches: Vec<ArchName>,
    pub phases: Vec<Phase>,
    pub no_debug_variants: bool,
    pub torture_secs: Option<u64>,
    pub kvm_secs: Option<u64>,
    pub notifier_secs: Option<u64>,
    pub refscale_nruns: u32,
    pub patched_append: String,
    pub kvm_args: String,
    pub tcg_threads: TcgThreads,
    pub no_broken_check: bool,
    pub broken_fault: u32,
    pub kut_tests: Option<Vec<KutTest>>,
}

#[cfg(test)]
impl Options {
    /// `run`'s defaults, with or without `--ci`.
    pub fn defaults(ci: bool) -> Options {
        Options {
            ci,
            kernels: vec![],
            arches: vec![],
            phases: vec![],
            no_debug_variants: false,
            torture_secs: None,
            kvm_secs: None,
            notifier_secs: None,
            refscale_nruns: 10,
            patched_append: String::new(),
            kvm_args: String::new(),
            tcg_threads: TcgThreads::Multi,
            no_broken_check: false,
            broken_fault: 2,
            kut_tests: None,
        }
    }
}

/// The run, resolved once from the options.
#[derive(Debug)]
pub struct Plan {
    pub ci: bool,
    pub kernels: Vec<Kernel>,
    /// In the order they run.
    pub boots: Vec<Boot>,
    pub kut_tests: Option<Vec<KutTest>>,
}

impl Plan {
    pub fn mode(&self) -> &'static str {
        if self.ci {
            "ci"
        } else {
            "full"
        }
    }
    pub fn has(&self, k: Kernel) -> bool {
        self.kernels.contains(&k)
    }
    pub fn any_patched(&self) -> bool {
        self.kernels.iter().any(|k| k.spec().patched())
    }
    /// The architectures of the plan's kernels, in table order.
    pub fn arches(&self) -> Vec<&'static Arch> {
        let mut v: Vec<&'static Arch> = Vec::new();
        for k in &self.kernels {
            if !v.iter().any(|a| a.name == k.spec().arch.name) {
                v.push(k.spec().arch);
            }
        }
        v
    }

    pub fn resolve(o: &Options) -> Result<Plan> {
        if o.refscale_nruns < 10 {
            bail!(
                "--refscale-nruns must be at least 10 (got {})",
                o.refscale_nruns
            );
        }
        let mut kernels: Vec<Kernel> = if !o.kernels.is_empty() {
            let mut v: Vec<Kernel> = Vec::new();
            for k in &o.kernels {
                if !v.contains(k) {
                    v.push(*k);
                }
            }
            v
        } else if o.ci {
            CI_KERNELS.to_vec()
        } else if o.no_debug_variants {
            NO_DEBUG_KERNELS.to_vec()
        } else {
            KERNELS.iter().map(|s| s.kernel).collect()
        };
        if !o.arches.is_empty() {
            kernels.retain(|k| o.arches.iter().any(|a| a.arch().name == k.spec().arch.name));
            if kernels.is_empty() {
                bail!("no kernel of the plan is of the architectures given with --arches");
            }
        }
        if o.ci && o.kernels.is_empty() && kernels.contains(&Kernel::Ppc64lePatched) {
            // ppc64le-patched's fault=4 boot gates the NMI readers case with real system resets; the x86 emulation
            // of the generic increment (patched-generic) stays in the full job, and in --ci without ppc64le
            kernels.retain(|k| *k != Kernel::PatchedGeneric);
        }
        let mut plan = Plan {
            ci: o.ci,
            kernels,
            boots: Vec::new(),
            kut_tests: o.kut_tests.clone(),
        };
        plan.boots = plan
            .kernels
            .iter()
            .flat_map(|k| plan.kernel_boots(o, *k))
            .collect();
        plan.boots.extend(plan.broken_boots(o));
        Ok(plan)
    }

    fn durations(&self, o: &Options, arch: &Arch) -> (u64, u64, u64) {
        let torture = o
            .torture_secs
            .unwrap_or(if self.ci { arch.ci_torture_secs } else { 180 });
        let kvm = o.kvm_secs.unwrap_or(if self.ci { 30 } else { 60 });
        let notifier = o.notifier_secs.unwrap_or(if self.ci { 15 } else { 30 });
        (torture, kvm, notifier)
    }

    fn params(
        &self,
        o: &Options,
        spec: &KernelSpec,
        refscale_types: Vec<&'static str>,
    ) -> PhaseParams {
        let (torture_secs, kvm_secs, notifier_secs) = self.durations(o, spec.arch);
        // --ci runs the kernel's own flavour only (srcu_rs on a patched kernel)
        let torture_types = if self.ci {
            spec.torture_types[..1].to_vec()
        } else {
            spec.torture_types.to_vec()
        };
        PhaseParams {
            torture_types,
            torture_secs,
            kvm_secs,
            notifier_secs,
            refscale_types,
            refscale_nruns: o.refscale_nruns,
            kut_count: self.kut_tests.as_ref().map(Vec::len).unwrap_or(0),
            kvm_args: o.kvm_args.clone(),
        }
    }

    /// refscale only on the plain kernels of a full run: lockdep and KASAN would swamp the read-side cost. A
    /// patched kernel measures srcu and srcu_rs (and, where the architecture has one, the in-tree NMI-safe reader)
    /// in one boot; a stock kernel only when its architecture's patched kernel is not in the plan.
    fn refscale_types(&self, spec: &KernelSpec) -> Vec<&'static str> {
        let patched_peer = self.kernels.iter().any(|k| {
            let s = k.spec();
            s.patched() && s.plain() && s.arch.name == spec.arch.name
        });
        if self.ci || (!spec.patched() && patched_peer) {
            vec![]
        } else {
            spec.refscale_types.to_vec()
        }
    }

    /// The kernel's own boot, its KUnit boot where KUnit needs one of its own, and its kvm-unit-tests boot.
    fn kernel_boots(&self, o: &Options, k: Kernel) -> Vec<Boot> {
        let spec = k.spec();
        let refscale = self.refscale_types(spec);
        let mut phases = Vec::new();
        if spec.patched() {
            phases.push(Phase::Kunit);
        }
        if spec.runs_stress() {
            phases.push(Phase::Rcutorture);
            if spec.arch.kvm {
                phases.extend([Phase::Kvmpoll, Phase::Kvmstress]);
                if spec.patched() && spec.plain() {
                    phases.push(Phase::Explat);
                }
            }
            phases.push(Phase::Notifier);
            // CI: on x86_64 only (the ppc64le tier keeps to its NMI cases and short stresses)
            if spec.patched() && (!self.ci || spec.arch.name == "x86_64") {
                phases.push(Phase::Lifetime);
            }
            if spec.object_debug() {
                phases.push(Phase::Objdebug);
            }
        }
        if !refscale.is_empty() {
            phases.push(Phase::Refscale);
        }
        let wanted = |ph: Phase| o.phases.is_empty() || o.phases.contains(&ph);
        phases.retain(|ph| wanted(*ph));
        let run_kut =
            self.kut_tests.is_some() && spec.plain() && spec.arch.kvm && wanted(Phase::Kut);
        let extra = if spec.patched() {
            o.patched_append.as_str()
        } else {
            ""
        };
        let params = self.params(o, spec, refscale);
        let tests = |phases: Vec<Phase>, suffix: &str| {
            boot(
                k,
                suffix,
                phases,
                params.clone(),
                o.tcg_threads,
                extra,
                Purpose::Tests,
            )
        };
        let mut boots = Vec::new();
        if spec.arch.kunit_one_insn_per_tb && phases.contains(&Phase::Kunit) {
            phases.retain(|ph| *ph != Phase::Kunit);
            boots.push(tests(vec![Phase::Kunit], "-kunit"));
            if !phases.is_empty() {
                boots.push(tests(phases, ""));
            }
        } else if !phases.is_empty() || !run_kut {
            // only kvm-unit-tests asked for: no empty boot before them
            boots.push(tests(phases, ""));
        }
        if run_kut {
            let params = PhaseParams {
                refscale_types: vec![],
                ..params
            };
            boots.push(boot(
                k,
                "-kut",
                vec![Phase::Kut],
                params,
                o.tcg_threads,
                extra,
                Purpose::KvmUnitTests,
            ));
        }
        boots
    }

    /// The broken-variant checks, as data.
    pub fn broken_checks(&self, o: &Options) -> Vec<BrokenCheck> {
        if o.no_broken_check {
            return vec![];
        }
        let mut v = Vec::new();
        if self.has(Kernel::Patched) {
            // The guest-delivery stress is left out: it cannot fail here (INCONCLUSIVE at worst) and its emulator
            // failures can take the outer VM down.
            v.push(BrokenCheck {
                kernel: Kernel::Patched,
                fault: o.broken_fault,
                switch: FaultSwitch::Core,
                phases: vec![Phase::Rcutorture, Phase::Kvmpoll],
                caught_by: CaughtBy::FailedPhaseOrGuest(&[
                    Phase::Rcutorture,
                    Phase::Kvmpoll,
                    Phase::Kvmstress,
                ]),
                retry_triple_fault: true,
                suffix: "-broken",
            });
        }
        if self.has(Kernel::Patched) {
            // an srcu_rs_up_read() in the wrong index: the hand-off cases' per-index balance must show it
            v.push(BrokenCheck::kunit(
                Kernel::Patched,
                FaultSwitch::Core,
                UPDOWN_FAULT,
                UPDOWN_CASE,
                "-fault9",
            ));
            // SRCU_RS_SHIM_FAULT_DEBUGFS_LEFT: cleanup leaves the domain's debugfs file behind
            v.push(BrokenCheck::kunit(
                Kernel::Patched,
                FaultSwitch::Shim,
                DEBUGFS_SHIM_FAULT,
                DEBUGFS_CASE,
                "-shim-fault3",
            ));
        }
        if self.has(Kernel::PatchedGeneric) {
            v.push(BrokenCheck::nmi_readers(Kernel::PatchedGeneric, "-broken"));
        }
        if self.has(Kernel::PatchedKasan) {
            // SRCU_RS_SHIM_FAULT_REFUSAL_QUEUED: the KUnit refused-cleanup case frees a domain whose work is queued
            v.push(BrokenCheck::shim(
                Kernel::PatchedKasan,
                1,
                &[Phase::Kunit],
                "-shim-fault1",
            ));
            // SRCU_RS_SHIM_FAULT_NO_MODULE_GOING: the lifetime module is freed with its domains on srcu_rs's list
            v.push(BrokenCheck::shim(
                Kernel::PatchedKasan,
                2,
                &[Phase::Lifetime],
                "-shim-fault2",
            ));
        }
        if self.has(Kernel::Ppc64lePatched) {
            // real system-reset NMIs into the generic per-CPU increment: the NMI readers case must lose counts
            v.push(BrokenCheck::nmi_readers(Kernel::Ppc64lePatched, "-fault4"));
            v.push(BrokenCheck {
                kernel: Kernel::Ppc64lePatched,
                fault: o.broken_fault,
                switch: FaultSwitch::Core,
                phases: vec![Phase::Rcutorture],
                caught_by: CaughtBy::FailedPhaseOrGuest(&[Phase::Rcutorture]),
                retry_triple_fault: false,
                suffix: "-broken",
            });
        }
        v
    }

    fn broken_boots(&self, o: &Options) -> Vec<Boot> {
        self.broken_checks(o)
            .into_iter()
            .map(|c| {
                let spec = c.kernel.spec();
                let mut params = self.params(o, spec, vec![]);
                params.kut_count = 0;
                if c.phases.contains(&Phase::Kunit) && c.phases.len() == 1 {
                    // KUnit only: the other phases' durations are not passed on
                    params.torture_secs = 0;
                    params.kvm_secs = 0;
                    params.notifier_secs = 0;
                } else {
                    params.torture_secs = params.torture_secs.min(60);
                    params.kvm_secs = params.kvm_secs.min(30);
                    params.notifier_secs = 0;
                }
                // the grace-period fault is srcu_rs's: the in-tree flavours would only add time
                params.torture_types.retain(|t| *t == "srcu_rs");
                let extra = format!("{} {}", c.switch_arg(), o.patched_append);
                let phases = c.phases.clone();
                boot(
                    c.kernel,
                    c.suffix,
                    phases,
                    params,
                    o.tcg_threads,
                    extra.trim(),
                    Purpose::Broken(c),
                )
            })
            .collect()
    }

    /// The retry boot of kvm-unit-tests that passed on stock but not on patched (built with its own initramfs).
    pub fn kut_retry_boot(&self, o: &Options, count: usize) -> Boot {
        let mut params = self.params(o, Kernel::Patched.spec(), vec![]);
        params.torture_secs = 0;
        params.kvm_secs = 0;
        params.notifier_secs = 0;
        params.kut_count = count;
        boot(
            Kernel::Patched,
            "-kut-retry",
            vec![Phase::Kut],
            params,
            o.tcg_threads,
            &o.patched_append,
            Purpose::KvmUnitTests,
        )
    }
}

/// A boot with its command line, budget, TCG threading and accelerator options derived from its phases and its
/// kernel's architecture.
fn boot(
    kernel: Kernel,
    suffix: &str,
    phases: Vec<Phase>,
    params: PhaseParams,
    tcg: TcgThreads,
    extra: &str,
    purpose: Purpose,
) -> Boot {
    let arch = kernel.spec().arch;
    let one_insn_per_tb = arch.kunit_one_insn_per_tb && phases.contains(&Phase::Kunit);
    Boot {
        kernel,
        suffix: suffix.into(),
        append: append(arch, &phases, &params, extra),
        budget: budget(&phases, &params, one_insn_per_tb),
        // QEMU 10.0.2's multi-threaded TCG aborts the whole outer VM on the kvm-unit-tests `emulator` test
        // (`tcg_handle_interrupt: assertion failed: (bql_locked())`, from its nested-SVM code without the big
        // QEMU lock); single-threaded TCG runs it to the end. kvm-unit-tests are functional tests, not the
        // stress phases that need vCPUs running in parallel, so they lose nothing by it.
        tcg: if phases == [Phase::Kut] {
            TcgThreads::Single
        } else {
            tcg
        },
        one_insn_per_tb,
        mem: if phases.contains(&Phase::Kut) {
            "3G"
        } else {
            arch.mem
        },
        phases,
        params,
        purpose,
    }
}

/// The guest's kernel command line: the console, the architecture's own words (the KVM module options), and the
/// `srcutest.*` knobs its `/init` reads (see kernel-tests/guest/init).
pub fn append(arch: &Arch, phases: &[Phase], p: &PhaseParams, extra: &str) -> String {
    let plan: Vec<&str> = phases.iter().map(|ph| ph.name()).collect();
    let kvm_args = if p.kvm_args.is_empty() {
        String::new()
    } else {
        format!(",{}", p.kvm_args)
    };
    let mut s = format!("console={} panic=-1 init_on_free=1 ", arch.console);
    if !arch.cmdline.is_empty() {
        s.push_str(arch.cmdline);
        s.push(' ');
    }
    let _ = write!(
        s,
        "srcutest.plan={} srcutest.torture_types={} srcutest.torture=irqreader=1,nreaders=2,stat_interval=15 \
         srcutest.torture_secs={} srcutest.kvm=--secs,{}{kvm_args} srcutest.notifier=secs={},callers=2,registrars=2 srcutest.explat_secs={} \
         srcutest.refscale_types={} srcutest.refscale=nreaders=2,loops=100000,nruns={} \
         srcutest.refscale_rounds={REFSCALE_ROUNDS} srcutest.refscale_secs={REFSCALE_SECS} srcutest.kut_timeout=90",
        plan.join(","),
        p.torture_types.join(","),
        p.torture_secs,
        p.kvm_secs,
        p.notifier_secs,
        p.explat_secs(),
        p.refscale_types.join(","),
        p.refscale_nruns,
    );
    for (t, params) in TORTURE_TYPE_PARAMS {
        if p.torture_types.contains(t) {
            let _ = write!(s, " srcutest.torture_{t}={params}");
        }
    }
    if phases.contains(&Phase::Objdebug) {
        let _ = write!(s, " srcutest.objdebug_secs={OBJDEBUG_SECS}");
    }
    if phases.contains(&Phase::Kunit) {
        s.push_str(" kunit.filter_glob=srcu_rs");
    } else if arch.kunit_one_insn_per_tb {
        // KUnit has a boot of its own here (see `Arch::kunit_one_insn_per_tb`)
        s.push_str(" kunit.enable=0");
    }
    if !extra.trim().is_empty() {
        s.push(' ');
        s.push_str(extra.trim());
    }
    s
}

/// A boot's time budget: the boot itself, then each phase with its slack; never forever. One instruction per
/// translation block makes the guest several times slower: the boot and KUnit get `SLOW_TCG` times theirs.
pub fn budget(phases: &[Phase], p: &PhaseParams, one_insn_per_tb: bool) -> Duration {
    let phases: u64 = phases.iter().map(|ph| ph.budget_secs(p)).sum();
    let slow = if one_insn_per_tb { SLOW_TCG } else { 1 };
    Duration::from_secs((BOOT_SECS + phases) * slow)
}

/// The outer VM's QEMU command for one boot (`-d cpu_reset,guest_errors -D <qemu log>`: a triple fault of the
/// outer VM shows up in QEMU's own log, not on its console).
pub fn qemu_command(
    qemu: &Path,
    arch: &Arch,
    boot: &Boot,
    image: &Path,
    initrd: &Path,
    qemu_log: &Path,
    extra_args: &str,
) -> Command {
    let mut accel = format!("tcg,thread={}", boot.tcg.name());
    if boot.one_insn_per_tb {
        accel.push_str(",one-insn-per-tb=on");
    }
    let mut cmd = Command::new(qemu);
    cmd.arg("-accel")
        .arg(accel)
        .args(arch.qemu_machine)
        .args(["-m", boot.mem, "-nographic", "-no-reboot"])
        .args(["-d", "cpu_reset,guest_errors", "-D"])
        .arg(qemu_log)
        .args(extra_args.split_whitespace())
        .arg("-kernel")
        .arg(image)
        .arg("-initrd")
        .arg(initrd)
        .arg("-append")
        .arg(&boot.append);
    cmd
}

/// A command as a shell line (single-quoted where needed), for the dry run and the logs.
pub fn shell_line(cmd: &Command) -> String {
    let mut s = String::new();
    for (k, v) in cmd.get_envs() {
        let _ = write!(
            s,
            "{}={} ",
            k.to_string_lossy(),
            quote(v.unwrap_or_default())
        );
    }
    if let Some(d) = cmd.get_current_dir() {
        s = format!("(cd {} && {s}", quote(d.as_os_str()));
    }
    s.push_str(&quote(cmd.get_program()));
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&quote(a));
    }
    if cmd.get_current_dir().is_some() {
        s.push(')');
    }
    s
}

fn quote(a: &OsStr) -> String {
    let a = a.to_string_lossy();
    if !a.is_empty()
        && a.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c))
    {
        a.into_owned()
    } else {
        format!("'{}'", a.replace('\'', r"'\''"))
    }
}

/// Where a kernel's build and boot files go.
pub struct Layout {
    pub work: PathBuf,
    pub results: PathBuf,
}

impl Layout {
    pub fn out(&self, k: Kernel) -> PathBuf {
        self.work.join(format!("out-{}", k.name()))
    }
    pub fn image(&self, k: Kernel) -> PathBuf {
        self.out(k).join(k.spec().arch.image)
    }
    pub fn initramfs(&self, k: Kernel) -> PathBuf {
        self.work.join(format!("initramfs-{}.cpio.gz", k.name()))
    }
    pub fn console_log(&self, b: &Boot) -> PathBuf {
        self.results.join(format!("console-{}.log", b.name()))
    }
    pub fn qemu_log(&self, b: &Boot) -> PathBuf {
        self.results.join(format!("qemu-{}.log", b.name()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct P {
        #[arg(long, value_delimiter = ',')]
        phases: Vec<Phase>,
        #[arg(long, value_delimiter = ',')]
        kernels: Vec<Kernel>,
    }

    #[test]
    fn phase_and_kernel_names_parse_and_typos_are_refused() {
        let p = P::try_parse_from([
            "x",
            "--phases",
            "kunit,kvmpoll",
            "--kernels",
            "patched-generic",
        ])
        .unwrap();
        assert_eq!(p.phases, [Phase::Kunit, Phase::Kvmpoll]);
        assert_eq!(p.kernels, [Kernel::PatchedGeneric]);
        let e = P::try_parse_from(["x", "--phases", "bogus"]).err().unwrap();
        assert_eq!(e.exit_code(), 2);
        let msg = e.to_string();
        assert!(msg.contains("kunit") && msg.contains("refscale"), "{msg}");
        assert!(P::try_parse_from(["x", "--kernels", "stok"]).is_err());
        // the guest's /init knows the phases by these names
        for ph in Phase::value_variants() {
            assert_eq!(ph.to_possible_value().unwrap().get_name(), ph.name());
        }
        for k in Kernel::value_variants() {
            assert_eq!(k.to_possible_value().unwrap().get_name(), k.name());
        }
    }

    fn x86_only(ci: bool) -> Options {
        Options {
            arches: vec![ArchName::X86_64],
            ..Options::defaults(ci)
        }
    }

    #[test]
    fn ci_plan_boots_and_budgets() {
        let p = Plan::resolve(&x86_only(true)).unwrap();
        assert_eq!(p.kernels, [Kernel::Patched, Kernel::PatchedGeneric]);
        let names: Vec<String> = p.boots.iter().map(Boot::name).collect();
        assert_eq!(
            names,
            [
                "patched",
                "patched-generic",
                "patched-broken",
                "patched-fault9",
                "patched-shim-fault3",
                "patched-generic-broken"
            ]
        );
        let main = &p.boots[0];
        assert_eq!(
            main.phases,
            [
                Phase::Kunit,
                Phase::Rcutorture,
                Phase::Kvmpoll,
                Phase::Kvmstress,
                Phase::Explat,
                Phase::Notifier,
                Phase::Lifetime
            ]
        );
        // 120 boot + 90 KUnit + (60 + 90) rcutorture + 2 x (30 + 60) KVM + (15 + 60) expedited latency
        // + (15 + 60) notifier + 60 lifetime
        assert_eq!(main.budget, Duration::from_secs(120 + 90 + 150 + 180 + 75 + 75 + 60));
        assert!(main
            .append
            .contains("srcutest.plan=kunit,rcutorture,kvmpoll,kvmstress,explat,notifier,lifetime "));
        assert!(main.append.contains(" srcutest.torture_types=srcu_rs "));
        assert!(main
            .append
            .starts_with("console=ttyS0 panic=-1 init_on_free=1 kvm_amd.nested=1 "));
        assert!(main.append.contains("kunit.filter_glob=srcu_rs"));
        assert_eq!(p.boots[1].phases, [Phase::Kunit]);
        assert_eq!(p.boots[1].budget, Duration::from_secs(210));
        let broken = &p.boots[2];
        assert!(broken.append.ends_with("srcu_rs.fault=2"));
        assert_eq!(broken.phases, [Phase::Rcutorture, Phase::Kvmpoll]);
        assert_eq!(broken.budget, Duration::from_secs(120 + 150 + 90));
        assert!(main
            .append
            .contains(" srcutest.torture_srcu_rs=srcu_rs_updown=1 "));
        let fault9 = &p.boots[3];
        assert!(fault9.append.ends_with("srcu_rs.fault=9"));
        assert_eq!(fault9.phases, [Phase::Kunit]);
        assert!(
            matches!(&fault9.purpose, Purpose::Broken(c) if c.caught_by == CaughtBy::KunitCase(UPDOWN_CASE))
        );
        let fault3 = &p.boots[4];
        assert!(fault3.append.ends_with("srcu_rs.shim_fault=3"));
        assert!(
            matches!(&fault3.purpose, Purpose::Broken(c) if c.caught_by == CaughtBy::KunitCase(DEBUGFS_CASE))
        );
        assert!(p.boots[5].append.contains("srcu_rs.fault=4"));
        assert_eq!(
            p.boots[5].append.matches("srcutest.torture_secs=0").count(),
            1
        );
    }

    /// The ppc64le rows: KUnit in a boot of its own with one instruction per TB, no KVM phase, both broken
    /// variants; in --ci the kernel's own torture type for 30 s.
    #[test]
    fn ppc64le_rows_and_boots() {
        let o = Options {
            kernels: vec![Kernel::Ppc64leStock, Kernel::Ppc64lePatched],
            ..Options::defaults(false)
        };
        let p = Plan::resolve(&o).unwrap();
        let names: Vec<String> = p.boots.iter().map(Boot::name).collect();
        assert_eq!(
            names,
            [
                "ppc64le-stock",
                "ppc64le-patched-kunit",
                "ppc64le-patched",
                "ppc64le-patched-fault4",
                "ppc64le-patched-broken"
            ]
        );
        let stock = &p.boots[0];
        assert_eq!(stock.phases, [Phase::Rcutorture, Phase::Notifier]);
        assert_eq!(stock.params.torture_types, ["srcu", "srcud"]);
        assert!(stock
            .append
            .starts_with("console=hvc0 panic=-1 init_on_free=1 srcutest.plan="));
        assert!(stock.append.contains("kunit.enable=0") && !stock.one_insn_per_tb);
        assert_eq!(stock.mem, "1G");
        let kunit = &p.boots[1];
        assert_eq!(kunit.phases, [Phase::Kunit]);
        assert!(kunit.one_insn_per_tb && kunit.append.contains("kunit.filter_glob=srcu_rs"));
        assert_eq!(kunit.budget, Duration::from_secs((120 + 90) * SLOW_TCG));
        let main = &p.boots[2];
        assert_eq!(
            main.phases,
            [Phase::Rcutorture, Phase::Notifier, Phase::Lifetime, Phase::Refscale]
        );
        assert_eq!(main.params.torture_types, ["srcu_rs", "srcu", "srcud"]);
        assert_eq!(
            main.params.refscale_types,
            ["srcu", "srcu_rs", "srcu-nmisafe"]
        );
        // 120 boot + 3 x (180 + 90) rcutorture + (30 + 60) notifier + 60 lifetime + 3 rounds x 3 types x 200 refscale
        assert_eq!(main.budget, Duration::from_secs(120 + 810 + 90 + 60 + 1800));
        assert!(!main.one_insn_per_tb);
        let fault4 = &p.boots[3];
        assert!(fault4.one_insn_per_tb && fault4.append.ends_with("srcu_rs.fault=4"));
        assert!(
            matches!(&fault4.purpose, Purpose::Broken(c) if c.caught_by == CaughtBy::KunitCase(NMI_CASE))
        );
        let fault2 = &p.boots[4];
        assert_eq!(fault2.params.torture_types, ["srcu_rs"]);
        assert!(fault2.append.ends_with("srcu_rs.fault=2") && !fault2.one_insn_per_tb);
        let c = qemu_command(
            Path::new("qemu-system-ppc64"),
            &PPC64LE,
            kunit,
            Path::new("/w/out-ppc64le-patched/vmlinux"),
            Path::new("/w/initramfs-ppc64le-patched.cpio.gz"),
            Path::new("/r/q.log"),
            "",
        );
        assert!(shell_line(&c).starts_with(
            "qemu-system-ppc64 -accel tcg,thread=multi,one-insn-per-tb=on -M pseries,x-vof=on -cpu power9 -smp 2 -m 1G \
             -nographic -no-reboot"
        ));
        // --ci: ppc64le-patched with the x86 kernels, srcu_rs for 30 s; --arches picks one architecture
        let ci = Plan::resolve(&Options::defaults(true)).unwrap();
        assert_eq!(ci.kernels, [Kernel::Patched, Kernel::Ppc64lePatched]);
        let main = ci
            .boots
            .iter()
            .find(|b| b.name() == "ppc64le-patched")
            .unwrap();
        assert_eq!(main.params.torture_types, ["srcu_rs"]);
        assert_eq!(main.params.torture_secs, 30);
        let o = Options {
            arches: vec![ArchName::Ppc64le],
            ..Options::defaults(true)
        };
        assert_eq!(Plan::resolve(&o).unwrap().kernels, [Kernel::Ppc64lePatched]);
        let o = Options {
            arches: vec![ArchName::Ppc64le],
            kernels: vec![Kernel::Stock],
            ..Options::defaults(true)
        };
        assert!(Plan::resolve(&o).is_err());
    }

    #[test]
    fn full_plan_refscale_and_phase_filter() {
        let p = Plan::resolve(&Options::defaults(false)).unwrap();
        assert_eq!(p.kernels.len(), KERNELS.len());
        let patched = p.boots.iter().find(|b| b.name() == "patched").unwrap();
        assert_eq!(patched.params.refscale_types, ["srcu", "srcu_rs"]);
        assert!(patched.phases.contains(&Phase::Refscale));
        let stock = p.boots.iter().find(|b| b.name() == "stock").unwrap();
        assert!(!stock.phases.contains(&Phase::Kunit) && !stock.phases.contains(&Phase::Refscale));
        assert_eq!(stock.params.torture_types, ["srcu"]);
        let mut o = Options::defaults(false);
        o.phases = vec![Phase::Kunit];
        o.kernels = vec![Kernel::Patched];
        o.no_broken_check = true;
        let p = Plan::resolve(&o).unwrap();
        assert_eq!(p.boots.len(), 1);
        assert_eq!(p.boots[0].phases, [Phase::Kunit]);
        let mut o = Options::defaults(false);
        o.refscale_nruns = 3;
        assert!(Plan::resolve(&o).is_err());
    }

    #[test]
    fn qemu_command_line() {
        let p = Plan::resolve(&x86_only(true)).unwrap();
        let c = qemu_command(
            Path::new("/usr/bin/qemu-system-x86_64"),
            &X86_64,
            &p.boots[0],
            Path::new("/w/out-patched/arch/x86/boot/bzImage"),
            Path::new("/w/initramfs-patched.cpio.gz"),
            Path::new("/r/qemu-patched.log"),
            "",
        );
        let line = shell_line(&c);
        assert!(
            line.starts_with(
                "/usr/bin/qemu-system-x86_64 -accel tcg,thread=multi -cpu EPYC -smp 2 -m 2G -nographic -no-reboot"
            ),
            "{line}"
        );
        assert!(line.contains(" -append 'console=ttyS0 "), "{line}");
    }
    #[test]
    fn kasan_pair_runs_the_lifetime_phases_and_both_shim_faults() {
        let mut o = Options::defaults(false);
        o.kernels = vec![Kernel::PatchedKasan, Kernel::StockKasan];
        o.phases = vec![Phase::Kunit, Phase::Lifetime, Phase::Objdebug];
        let p = Plan::resolve(&o).unwrap();
        let names: Vec<String> = p.boots.iter().map(Boot::name).collect();
        assert_eq!(
            names,
            ["patched-kasan", "stock-kasan", "patched-kasan-shim-fault1", "patched-kasan-shim-fault2"]
        );
        assert!(p.boots[1].phases.is_empty(), "stock-kasan has none of the three phases");
        let main = &p.boots[0];
        assert_eq!(main.phases, [Phase::Kunit, Phase::Lifetime, Phase::Objdebug]);
        assert!(main.append.contains("srcutest.objdebug_secs=10"));
        assert!(!main.append.contains("shim_fault"));
        let f1 = &p.boots[2];
        assert_eq!(f1.phases, [Phase::Kunit]);
        assert!(f1.append.ends_with("srcu_rs.shim_fault=1"), "{}", f1.append);
        assert!(!f1.append.contains("srcu_rs.fault="));
        let f2 = &p.boots[3];
        assert_eq!(f2.phases, [Phase::Lifetime]);
        assert!(f2.append.ends_with("srcu_rs.shim_fault=2"), "{}", f2.append);
        for b in &p.boots[2..] {
            let Purpose::Broken(c) = &b.purpose else { panic!() };
            assert!(matches!(c.caught_by, CaughtBy::MemoryReport(p) if p == b.phases.as_slice()));
        }
        assert!(Kernel::PatchedKasan.spec().kasan() && !Kernel::Patched.spec().kasan());
        // the lockdep pair has DEBUG_OBJECTS_RCU_HEAD too; the plain patched kernel has not
        assert!(Kernel::PatchedLockdep.spec().object_debug() && !Kernel::Patched.spec().object_debug());
    }
}
