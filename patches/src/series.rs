// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! The series itself: one function per patch that edits the base tree, then git commit and
//! git format-patch with fixed dates and identity, so regeneration is byte-for-byte stable.

use crate::rustgen;
use anyhow::{bail, ensure, Context, Result};
use regex::Regex;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Fixed author/committer date of every generated commit (and of the cover letter).
pub const FIXED_DATE: &str = "2025-01-01T00:00:00+00:00";

/// What BASE records: the Debian package and Makefile version the series was generated on.
pub struct Base {
    pub debian_version: String,
    pub sublevel: u32,
    pub signoff_name: String,
    pub signoff_email: String,
}

/// Split `Name <email>` into its two parts.
pub fn parse_identity(id: &str) -> Result<(String, String)> {
    let (name, email) = id
        .trim()
        .rsplit_once(" <")
        .filter(|(n, e)| !n.trim().is_empty() && e.ends_with('>') && e.contains('@'))
        .with_context(|| format!("identity {id:?}: expected 'Name <email>'"))?;
    Ok((name.trim().to_string(), email.trim_end_matches('>').to_string()))
}

/// Who the series is from: `Name <email>`, or `git` for the user's `git config user.name` and
/// `user.email` (in the repository).
pub fn author_identity(repo: &Path, author: &str) -> Result<(String, String)> {
    if author != "git" {
        return parse_identity(author);
    }
    let get = |k: &str| -> Result<String> {
        let v = run(Command::new("git").arg("-C").arg(repo).args(["config", k]))
            .with_context(|| format!("--author git: `git config {k}` is not set"))?;
        Ok(v.trim().to_string())
    };
    parse_identity(&format!("{} <{}>", get("user.name")?, get("user.email")?))
}

impl Base {
    pub fn read(series: &Path) -> Result<Base> {
        let text = std::fs::read_to_string(series.join("BASE"))
            .with_context(|| format!("reading {}/BASE", series.display()))?;
        let get = |k: &str| -> Result<String> {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("{k}: ")))
                .map(|s| s.trim().to_string())
                .with_context(|| format!("BASE has no '{k}:' line"))
        };
        let (name, email) = parse_identity(&get("signoff")?).context("BASE's signoff")?;
        Ok(Base {
            debian_version: get("debian-package")?
                .trim_start_matches("linux-source-6.12 ")
                .to_string(),
            sublevel: get("sublevel")?.parse()?,
            signoff_name: name,
            signoff_email: email,
        })
    }
}

pub fn run(cmd: &mut Command) -> Result<String> {
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn git(tree: &Path, base: &Base) -> Command {
    let mut c = Command::new("git");
    c.arg("-C").arg(tree);
    c.env("GIT_AUTHOR_NAME", &base.signoff_name)
        .env("GIT_AUTHOR_EMAIL", &base.signoff_email)
        .env("GIT_COMMITTER_NAME", &base.signoff_name)
        .env("GIT_COMMITTER_EMAIL", &base.signoff_email)
        .env("GIT_AUTHOR_DATE", FIXED_DATE)
        .env("GIT_COMMITTER_DATE", FIXED_DATE)
        .env("TZ", "UTC")
        .env("LC_ALL", "C");
    c
}

fn read(tree: &Path, rel: &str) -> Result<String> {
    std::fs::read_to_string(tree.join(rel)).with_context(|| format!("reading {rel}"))
}

fn write(tree: &Path, rel: &str, text: &str) -> Result<()> {
    let p = tree.join(rel);
    if let Some(d) = p.parent() {
        std::fs::create_dir_all(d)?;
    }
    std::fs::write(&p, text).with_context(|| format!("writing {rel}"))
}

/// Replace `old` by `new` in `s`, requiring exactly `n` occurrences (the base must not drift).
fn replace_n(s: &str, old: &str, new: &str, n: usize, what: &str) -> Result<String> {
    let found = s.matches(old).count();
    ensure!(
        found == n,
        "{what}: expected {n} occurrence(s) of {old:?}, found {found}"
    );
    Ok(s.replace(old, new))
}

fn edit(tree: &Path, rel: &str, f: impl FnOnce(&str) -> Result<String>) -> Result<()> {
    let s = read(tree, rel)?;
    let t = f(&s).with_context(|| format!("editing {rel}"))?;
    write(tree, rel, &t)
}

struct Patch {
    subject: &'static str,
    body: String,
    apply: fn(&Ctx) -> Result<Vec<String>>,
}

struct Ctx {
    repo: PathBuf,
    tree: PathBuf,
}

impl Ctx {
    fn src(&self, rel: &str) -> Result<String> {
        std::fs::read_to_string(self.repo.join(rel)).with_context(|| format!("reading {rel}"))
    }
}

// ---- patch 1: rcu: add srcu_rs ----

fn p1_srcu_rs(c: &Ctx) -> Result<Vec<String>> {
    let core = c.repo.join("srcu-core/src");
    let glue = c.repo.join("c-shim/kernel/srcu_rs_glue.rs");
    let fields = rustgen::srcu_fields(&core)?;
    let init = rustgen::srcu_initial_values(&core, &fields)?;
    let readers = c.src("srcu-core/src/readers.rs")?;
    let template = c.src("c-shim/kernel/srcu_rs.h")?;
    ensure!(
        template.matches("@GENERATED_READERS@\n").count() == 1,
        "srcu_rs.h has no @GENERATED_READERS@ line"
    );
    let header = template
        .replace("@GENERATED_LAYOUT@\n", &rustgen::c_layout(&fields, &init))
        .replace(
            "@GENERATED_READERS@\n",
            &crate::readgen::c_readers(&readers, &fields)?,
        );
    write(&c.tree, "include/linux/srcu_rs.h", &header)?;
    write(
        &c.tree,
        "kernel/rcu/srcu_rs.c",
        &c.src("c-shim/kernel/srcu_rs.c")?,
    )?;
    write(
        &c.tree,
        "kernel/rcu/srcu_rs_core.h",
        &rustgen::c_internal_header(&glue)?,
    )?;
    write(
        &c.tree,
        "kernel/rcu/srcu_rs_core.rs",
        &rustgen::kernel_rust(&core, &glue, &fields)?,
    )?;
    write(
        &c.tree,
        "kernel/rcu/srcu_rs_merge.lds",
        &c.src("c-shim/kernel/merge.lds")?,
    )?;
    install_script(c, "check-object.sh", "scripts/srcu_rs_check_object.sh")?;
    install_script(c, "target-spec.sh", "scripts/srcu_rs_target_spec.sh")?;
    let builtins = c.src("c-shim/kernel/srcu_rs_builtins.rs")?;
    write(
        &c.tree,
        "kernel/rcu/srcu_rs_builtins.rs",
        &builtins.replacen(
            "// SPDX-License-Identifier: MIT OR GPL-2.0-only\n",
            "// SPDX-License-Identifier: GPL-2.0-only\n",
            1,
        ),
    )?;
    write(
        &c.tree,
        "Documentation/RCU/srcu_rs.rst",
        &c.src("patches/templates/srcu_rs.rst")?,
    )?;
    edit(&c.tree, "Documentation/RCU/index.rst", |s| {
        replace_n(s, "   rcuref\n", "   rcuref\n   srcu_rs\n", 1, "RCU toctree")
    })?;
    edit(&c.tree, "MAINTAINERS", |s| {
        // The SLEEPABLE READ-COPY UPDATE (SRCU) entry names every srcu_rs file, those its
        // globs already cover included, so that the entry lists srcu_rs whole (patch 5 adds
        // the KUnit test).
        let anchor = "F:\tinclude/linux/srcu*.h\nF:\tkernel/rcu/srcu*.c\n\nSMACK SECURITY MODULE\n";
        replace_n(
            s,
            anchor,
            &format!("{MAINTAINERS_SRCU_RS}\nSMACK SECURITY MODULE\n"),
            1,
            "MAINTAINERS SRCU entry",
        )
    })?;
    let kconfig = c.src("c-shim/kernel/Kconfig.srcu_rs")?;
    edit(&c.tree, "kernel/rcu/Kconfig", |s| {
        let anchor = "config NEED_SRCU_NMI_SAFE\n\tdef_bool HAVE_NMI && !ARCH_HAS_NMI_SAFE_THIS_CPU_OPS && !TINY_SRCU\n\n";
        replace_n(s, anchor, &format!("{anchor}{kconfig}"), 1, "Kconfig")
    })?;
    let mk = c.src("c-shim/kernel/Makefile.srcu_rs")?;
    edit(&c.tree, "kernel/rcu/Makefile", |s| {
        let anchor = "obj-$(CONFIG_RCU_NEED_SEGCBLIST) += rcu_segcblist.o\n";
        replace_n(s, anchor, &format!("{anchor}{mk}"), 1, "Makefile")
    })?;
    Ok(vec![
        "include/linux/srcu_rs.h".into(),
        "kernel/rcu/srcu_rs.c".into(),
        "kernel/rcu/srcu_rs_core.h".into(),
        "kernel/rcu/srcu_rs_core.rs".into(),
        "kernel/rcu/srcu_rs_merge.lds".into(),
        "kernel/rcu/srcu_rs_builtins.rs".into(),
        "scripts/srcu_rs_check_object.sh".into(),
        "scripts/srcu_rs_target_spec.sh".into(),
        "kernel/rcu/Kconfig".into(),
        "kernel/rcu/Makefile".into(),
        "Documentation/RCU/srcu_rs.rst".into(),
        "Documentation/RCU/index.rst".into(),
        "MAINTAINERS".into(),
    ])
}

/// The SRCU entry's F: lines once patch 1 is applied, in MAINTAINERS order.
const MAINTAINERS_SRCU_RS: &str = "F:\tDocumentation/RCU/srcu_rs.rst
F:\tinclude/linux/srcu*.h
F:\tinclude/linux/srcu_rs.h
F:\tkernel/rcu/srcu*.c
F:\tkernel/rcu/srcu_rs.c
F:\tkernel/rcu/srcu_rs_builtins.rs
F:\tkernel/rcu/srcu_rs_core.h
F:\tkernel/rcu/srcu_rs_core.rs
F:\tkernel/rcu/srcu_rs_merge.lds
F:\tscripts/srcu_rs_*
";

/// Install c-shim/kernel/`name` (a shell script) as `dest` in the tree: executable, GPL-2.0-only
/// like the kernel, its usage line naming the installed file.
fn install_script(c: &Ctx, name: &str, dest: &str) -> Result<()> {
    let text = c.src(&format!("c-shim/kernel/{name}"))?;
    let shell = text.lines().next().unwrap_or_default();
    let installed = dest.rsplit('/').next().unwrap_or(dest);
    let text = text
        .replacen(&format!("# {name} "), &format!("# {installed} "), 1)
        .replacen(
            &format!("{shell}\n# SPDX-License-Identifier: MIT OR GPL-2.0-only\n"),
            &format!(
                "{shell}\n# SPDX-License-Identifier: GPL-2.0-only\n\
                 # From the srcu-rs repository (c-shim/kernel/{name}).\n"
            ),
            1,
        );
    ensure!(
        text.contains("GPL-2.0-only\n# From the srcu-rs"),
        "c-shim/kernel/{name} does not start with a shell line and the SPDX line"
    );
    write(&c.tree, dest, &text)?;
    set_exec(&c.tree.join(dest))
}

fn set_exec(p: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut perm = std::fs::metadata(p)?.permissions();
    perm.set_mode(0o755);
    std::fs::set_permissions(p, perm)?;
    Ok(())
}

// ---- patch 2: notifier ----

fn p2_notifier(c: &Ctx) -> Result<Vec<String>> {
    edit(&c.tree, "include/linux/notifier.h", |s| {
        let s = replace_n(
            s,
            "#include <linux/srcu.h>\n",
            "#include <linux/srcu.h>\n#ifdef CONFIG_SRCU_RS\n#include <linux/srcu_rs.h>\n#endif\n",
            1,
            "include",
        )?;
        let s = replace_n(
            &s,
            "\tstruct mutex mutex;\n\tstruct srcu_usage srcuu;\n\tstruct srcu_struct srcu;\n",
            "\tstruct mutex mutex;\n#ifdef CONFIG_SRCU_RS\n\tstruct srcu_rs srcu;\n#else\n\tstruct srcu_usage srcuu;\n\tstruct srcu_struct srcu;\n#endif\n",
            1,
            "struct",
        )?;
        let s = replace_n(
            &s,
            "#define srcu_cleanup_notifier_head(name)\t\\\n\t\tcleanup_srcu_struct(&(name)->srcu);\n",
            "#ifdef CONFIG_SRCU_RS\n#define srcu_cleanup_notifier_head(name)\t\\\n\t\tcleanup_srcu_rs(&(name)->srcu)\n#else\n#define srcu_cleanup_notifier_head(name)\t\\\n\t\tcleanup_srcu_struct(&(name)->srcu);\n#endif\n",
            1,
            "cleanup",
        )?;
        let old_init = "#define SRCU_NOTIFIER_INIT(name, pcpu)\t\t\t\t\\\n\t{\t\t\t\t\t\t\t\\\n\t\t.mutex = __MUTEX_INITIALIZER(name.mutex),\t\\\n\t\t.head = NULL,\t\t\t\t\t\\\n\t\t.srcuu = __SRCU_USAGE_INIT(name.srcuu),\t\t\\\n\t\t.srcu = __SRCU_STRUCT_INIT(name.srcu, name.srcuu, pcpu), \\\n\t}\n";
        let new_init = format!(
            "#ifdef CONFIG_SRCU_RS\n#define SRCU_NOTIFIER_INIT(name, pcpu)\t\t\t\t\\\n\t{{\t\t\t\t\t\t\t\\\n\t\t.mutex = __MUTEX_INITIALIZER(name.mutex),\t\\\n\t\t.srcu = __SRCU_RS_INIT(name.srcu, pcpu),\t\\\n\t\t.head = NULL,\t\t\t\t\t\\\n\t}}\n#else\n{old_init}#endif\n"
        );
        let s = replace_n(&s, old_init, &new_init, 1, "SRCU_NOTIFIER_INIT")?;
        replace_n(
            &s,
            "#ifdef CONFIG_TREE_SRCU\n#define _SRCU_NOTIFIER_HEAD(name, mod)",
            "#if defined(CONFIG_SRCU_RS)\n#define _SRCU_NOTIFIER_HEAD(name, mod)\t\t\t\t\\\n\tstatic DEFINE_PER_CPU(struct srcu_rs_pcpu, name##_head_srcu_rs_pcpu); \\\n\tmod struct srcu_notifier_head name =\t\t\t\\\n\t\t\tSRCU_NOTIFIER_INIT(name, name##_head_srcu_rs_pcpu)\n\n#elif defined(CONFIG_TREE_SRCU)\n#define _SRCU_NOTIFIER_HEAD(name, mod)",
            1,
            "_SRCU_NOTIFIER_HEAD",
        )
    })?;
    edit(&c.tree, "kernel/notifier.c", |s| {
        let s = replace_n(
            s,
            "/*\n *\tSRCU notifier chain routines.    Registration and unregistration\n",
            "/*\n * srcu_notifier_head runs on srcu_rs (NMI-safe SRCU) when CONFIG_SRCU_RS=y.\n */\n#ifdef CONFIG_SRCU_RS\n#define nh_srcu_read_lock(nh)\t\tsrcu_rs_read_lock(&(nh)->srcu)\n#define nh_srcu_read_unlock(nh, idx)\tsrcu_rs_read_unlock(&(nh)->srcu, idx)\n#define nh_synchronize_srcu(nh)\t\tsynchronize_srcu_rs(&(nh)->srcu)\n#define nh_init_srcu(nh)\t\tinit_srcu_rs(&(nh)->srcu)\n#else\n/* Exactly the tokens of the calls they replace: no parentheses around nh. */\n#define nh_srcu_read_lock(nh)\t\tsrcu_read_lock(&nh->srcu)\n#define nh_srcu_read_unlock(nh, idx)\tsrcu_read_unlock(&nh->srcu, idx)\n#define nh_synchronize_srcu(nh)\t\tsynchronize_srcu(&nh->srcu)\n#define nh_init_srcu(nh)\t\tinit_srcu_struct(&nh->srcu)\n#endif\n\n/*\n *\tSRCU notifier chain routines.    Registration and unregistration\n",
            1,
            "SRCU section",
        )?;
        let s = replace_n(
            &s,
            "\tsynchronize_srcu(&nh->srcu);\n",
            "\tnh_synchronize_srcu(nh);\n",
            1,
            "sync",
        )?;
        let s = replace_n(
            &s,
            "\tidx = srcu_read_lock(&nh->srcu);\n",
            "\tidx = nh_srcu_read_lock(nh);\n",
            1,
            "lock",
        )?;
        let s = replace_n(
            &s,
            "\tsrcu_read_unlock(&nh->srcu, idx);\n",
            "\tnh_srcu_read_unlock(nh, idx);\n",
            1,
            "unlock",
        )?;
        replace_n(
            &s,
            "\tif (init_srcu_struct(&nh->srcu) < 0)\n",
            "\tif (nh_init_srcu(nh) < 0)\n",
            1,
            "init",
        )
    })?;
    Ok(vec![
        "include/linux/notifier.h".into(),
        "kernel/notifier.c".into(),
    ])
}

// ---- patch 3: KVM ----

const KVM_FILES: &[(&str, usize)] = &[
    ("virt/kvm/kvm_main.c", 3),
    ("virt/kvm/eventfd.c", 25),
    ("virt/kvm/irqchip.c", 5),
    ("arch/x86/kvm/irq_comm.c", 6),
    ("arch/x86/kvm/hyperv.c", 3),
    ("arch/x86/kvm/svm/avic.c", 3),
    ("arch/x86/kvm/vmx/posted_intr.c", 3),
];

const KVM_WRAPPERS: &str = "/*
 * kvm->irq_srcu runs on srcu_rs (NMI-safe SRCU with one reader API) when
 * CONFIG_SRCU_RS=y, on srcu_struct otherwise.  Use only these wrappers on it.
 */
#ifdef CONFIG_SRCU_RS
/* Its srcu_rs debugfs file is named as the VM's KVM debugfs directory. */
#define kvm_init_irq_srcu(kvm, fdname)					\\
({									\\
\ttypeof(kvm) __kvm = (kvm);					\\
\tint __r = init_srcu_rs(&__kvm->irq_srcu);			\\
\t\t\t\t\t\t\t\t\t\\
\tif (!__r)							\\
\t\tsrcu_rs_debugfs_register(&__kvm->irq_srcu, \"kvm-%d-%s\",	\\
\t\t\t\t\t task_pid_nr(current), (fdname)); \\
\t__r;								\\
})
#define kvm_cleanup_irq_srcu(kvm)\t\tcleanup_srcu_rs(&(kvm)->irq_srcu)
#define kvm_irq_srcu_read_lock(kvm)\t\tsrcu_rs_read_lock(&(kvm)->irq_srcu)
#define kvm_irq_srcu_read_unlock(kvm, idx)\tsrcu_rs_read_unlock(&(kvm)->irq_srcu, idx)
#define kvm_irq_srcu_read_lock_held(kvm)\tsrcu_rs_read_lock_held(&(kvm)->irq_srcu)
#define kvm_irq_srcu_dereference(p, kvm)\tsrcu_rs_dereference(p, &(kvm)->irq_srcu)
#define kvm_irq_srcu_dereference_check(p, kvm, c) \\
\tsrcu_rs_dereference_check(p, &(kvm)->irq_srcu, c)
#define kvm_irq_srcu_synchronize(kvm)\t\tsynchronize_srcu_rs(&(kvm)->irq_srcu)
#define kvm_irq_srcu_synchronize_expedited(kvm) \\
\tsynchronize_srcu_rs_expedited(&(kvm)->irq_srcu)
#else
/*
 * No parentheses around the argument: with CONFIG_SRCU_RS=n these expand to
 * exactly the tokens of the calls they replace (always a member-access chain).
 * kvm_init_irq_srcu()'s second argument names only srcu_rs's debugfs file.
 */
#define kvm_init_irq_srcu(kvm, ...)\t\tinit_srcu_struct(&kvm->irq_srcu)
#define kvm_cleanup_irq_srcu(kvm)\t\tcleanup_srcu_struct(&kvm->irq_srcu)
#define kvm_irq_srcu_read_lock(kvm)\t\tsrcu_read_lock(&kvm->irq_srcu)
#define kvm_irq_srcu_read_unlock(kvm, idx)\tsrcu_read_unlock(&kvm->irq_srcu, idx)
#define kvm_irq_srcu_read_lock_held(kvm)\tsrcu_read_lock_held(&kvm->irq_srcu)
#define kvm_irq_srcu_dereference(p, kvm)\tsrcu_dereference(p, &kvm->irq_srcu)
#define kvm_irq_srcu_dereference_check(p, kvm, c) \\
\tsrcu_dereference_check(p, &kvm->irq_srcu, c)
#define kvm_irq_srcu_synchronize(kvm)\t\tsynchronize_srcu(&kvm->irq_srcu)
#define kvm_irq_srcu_synchronize_expedited(kvm) \\
\tsynchronize_srcu_expedited(&kvm->irq_srcu)
#endif

";

fn p3_kvm(c: &Ctx) -> Result<Vec<String>> {
    edit(&c.tree, "include/linux/kvm_host.h", |s| {
        let s = replace_n(
            s,
            "#include <linux/notifier.h>\n",
            "#include <linux/notifier.h>\n#ifdef CONFIG_SRCU_RS\n#include <linux/srcu_rs.h>\n#endif\n",
            1,
            "include",
        )?;
        let s = replace_n(
            &s,
            "\nstruct kvm {\n",
            &format!("\n{KVM_WRAPPERS}struct kvm {{\n"),
            1,
            "struct kvm",
        )?;
        replace_n(
            &s,
            "\tstruct srcu_struct irq_srcu;\n",
            "#ifdef CONFIG_SRCU_RS\n\tstruct srcu_rs irq_srcu;\n#else\n\tstruct srcu_struct irq_srcu;\n#endif\n",
            1,
            "irq_srcu member",
        )
    })?;
    let x = r"([A-Za-z_][A-Za-z0-9_]*(?:->[A-Za-z_][A-Za-z0-9_]*)*)";
    let rules: Vec<(Regex, String)> = [
        (
            format!(r"srcu_read_lock_held\(&{x}->irq_srcu\)"),
            "kvm_irq_srcu_read_lock_held($1)",
        ),
        (
            format!(r"srcu_read_lock\(&{x}->irq_srcu\)"),
            "kvm_irq_srcu_read_lock($1)",
        ),
        (
            format!(r"srcu_read_unlock\(&{x}->irq_srcu, "),
            "kvm_irq_srcu_read_unlock($1, ",
        ),
        (
            format!(r"synchronize_srcu_expedited\(&{x}->irq_srcu\)"),
            "kvm_irq_srcu_synchronize_expedited($1)",
        ),
        (
            format!(r"synchronize_srcu\(&{x}->irq_srcu\)"),
            "kvm_irq_srcu_synchronize($1)",
        ),
        (
            format!(r"srcu_dereference_check\(([^,]+), &{x}->irq_srcu,"),
            "kvm_irq_srcu_dereference_check($1, $2,",
        ),
        (
            format!(r"srcu_dereference\(([^,]+), &{x}->irq_srcu\)"),
            "kvm_irq_srcu_dereference($1, $2)",
        ),
        (
            format!(r"init_srcu_struct\(&{x}->irq_srcu\)"),
            "kvm_init_irq_srcu($1, fdname)",
        ),
        (
            format!(r"cleanup_srcu_struct\(&{x}->irq_srcu\)"),
            "kvm_cleanup_irq_srcu($1)",
        ),
    ]
    .into_iter()
    .map(|(r, s)| (Regex::new(&r).unwrap(), s.to_string()))
    .collect();
    let realign =
        Regex::new(r"(= kvm_irq_srcu_dereference_check\([^\n]*,\n)\t{5}([^\t])").unwrap();
    let mut paths = vec!["include/linux/kvm_host.h".to_string()];
    for (f, expect) in KVM_FILES {
        edit(&c.tree, f, |s| {
            let mut s = s.to_string();
            let mut n = 0;
            for (re, rep) in &rules {
                n += re.find_iter(&s).count();
                s = re.replace_all(&s, rep.as_str()).into_owned();
            }
            // The wrapper's open parenthesis is one tab stop further right than
            // srcu_dereference_check()'s: its continuation lines follow it.
            let s = realign.replace_all(&s, "$1\t\t\t\t\t\t$2").into_owned();
            ensure!(
                n == *expect,
                "{f}: expected {expect} irq_srcu sites, rewrote {n}"
            );
            ensure!(
                !s.contains("->irq_srcu"),
                "{f}: an irq_srcu site was not rewritten"
            );
            Ok(s)
        })?;
        paths.push(f.to_string());
    }
    Ok(paths)
}

// ---- patch 4: rcutorture ----

fn p4_rcutorture(c: &Ctx) -> Result<Vec<String>> {
    let ops = c.src("patches/templates/rcutorture_srcu_rs.c")?;
    edit(&c.tree, "kernel/rcu/rcutorture.c", |s| {
        let s = replace_n(
            s,
            "#include <linux/srcu.h>\n",
            "#include <linux/srcu.h>\n#ifdef CONFIG_SRCU_RS\n#include <linux/srcu_rs.h>\n#endif\n",
            1,
            "include",
        )?;
        let anchor = "/*\n * Definitions for trivial CONFIG_PREEMPT=n-only torture testing.\n";
        let s = replace_n(&s, anchor, &format!("{ops}{anchor}"), 1, "ops")?;
        replace_n(
            &s,
            "\t\tTASKS_OPS TASKS_RUDE_OPS TASKS_TRACING_OPS\n",
            "\t\tTASKS_OPS TASKS_RUDE_OPS TASKS_TRACING_OPS\n#ifdef CONFIG_SRCU_RS\n\t\t&srcu_rs_ops, &srcu_rsd_ops,\n#endif\n",
            1,
            "torture_ops[]",
        )
    })?;
    Ok(vec!["kernel/rcu/rcutorture.c".into()])
}

// ---- patch 5: KUnit ----

const KUNIT_KCONFIG: &str = "config SRCU_RS_KUNIT_TEST
\ttristate \"KUnit tests for srcu_rs\" if !KUNIT_ALL_TESTS
\tdepends on SRCU_RS && KUNIT
\tdefault KUNIT_ALL_TESTS
\thelp
\t  KUnit tests of srcu_rs: grace periods that must wait for a
\t  reader, readers nested three deep whose outermost unlock runs
\t  on another CPU, hardirq readers and call_srcu_rs() from hardirq
\t  (irq_work), NMI readers while grace periods run (x86
\t  self-NMIs; on powerpc Book3S-64 with NMI_IPI, built-in only,
\t  system resets sent from one CPU into the other's per-CPU
\t  increments), call_srcu_rs() and start_poll_synchronize_srcu_rs()
\t  issued in early boot (built-in only), the polling API,
\t  cleanup_srcu_rs() refusing to free a domain with an active
\t  reader (without a warning, through __cleanup_srcu_rs()), a
\t  refused domain inside a freed object leaving no work queued,
\t  the reader count of srcu_rs_readers_locked(), and
\t  srcu_rs_down_read() sections ended by another task, a hardirq,
\t  and, entered in NMI, by a task.
\t  On powerpc, and on x86 with SRCU_RS_GENERIC_PERCPU, NMIs land
\t  between the load and the store of a per-CPU increment, so that
\t  srcu_rs.fault=4 (NMI readers in the per-CPU half) makes the NMI
\t  test fail.
\n\t  Say N unless you are testing srcu_rs.

";

fn p5_kunit(c: &Ctx) -> Result<Vec<String>> {
    write(
        &c.tree,
        "kernel/rcu/srcu_rs_test.c",
        &c.src("patches/templates/srcu_rs_test.c")?,
    )?;
    edit(&c.tree, "kernel/rcu/Kconfig", |s| {
        let anchor = "\t  Never enable this on a production kernel.\n\n";
        replace_n(s, anchor, &format!("{anchor}{KUNIT_KCONFIG}"), 1, "Kconfig")
    })?;
    edit(&c.tree, "kernel/rcu/Makefile", |s| {
        // Before srcu_rs.o: initcalls of one level run in link order, and the test's
        // early_initcall must find srcu_rs still in boot mode (before srcu_rs_init()).
        let anchor = "obj-$(CONFIG_SRCU_RS) += srcu_rs.o srcu_rs_rust.o\n";
        replace_n(
            s,
            anchor,
            &format!(
                "# Linked first: its early_initcall must run before srcu_rs_init().\n\
                 obj-$(CONFIG_SRCU_RS_KUNIT_TEST) += srcu_rs_test.o\n{anchor}"
            ),
            1,
            "Makefile",
        )
    })?;
    edit(&c.tree, "MAINTAINERS", |s| {
        let anchor = "F:\tkernel/rcu/srcu_rs_merge.lds\n";
        replace_n(
            s,
            anchor,
            &format!("{anchor}F:\tkernel/rcu/srcu_rs_test.c\n"),
            1,
            "MAINTAINERS SRCU entry",
        )
    })?;
    Ok(vec![
        "kernel/rcu/srcu_rs_test.c".into(),
        "kernel/rcu/Kconfig".into(),
        "kernel/rcu/Makefile".into(),
        "MAINTAINERS".into(),
    ])
}

// ---- patch 6: refscale ----

fn p6_refscale(c: &Ctx) -> Result<Vec<String>> {
    let ops = c.src("patches/templates/refscale_srcu_rs.c")?;
    edit(&c.tree, "kernel/rcu/refscale.c", |s| {
        let s = replace_n(
            s,
            "#include <linux/srcu.h>\n",
            "#include <linux/srcu.h>\n#ifdef CONFIG_SRCU_RS\n#include <linux/srcu_rs.h>\n#endif\n",
            1,
            "include",
        )?;
        let anchor =
            "\t.delaysection\t= srcu_ref_scale_delay_section,\n\t.name\t\t= \"srcu\"\n};\n\n";
        let s = replace_n(&s, anchor, &format!("{anchor}{ops}"), 1, "ops")?;
        replace_n(
            &s,
            "\t\t&rcu_ops, &srcu_ops, RCU_TRACE_OPS RCU_TASKS_OPS &refcnt_ops, &rwlock_ops,\n",
            "\t\t&rcu_ops, &srcu_ops, RCU_TRACE_OPS RCU_TASKS_OPS &refcnt_ops, &rwlock_ops,\n#ifdef CONFIG_SRCU_RS\n\t\t&srcu_rs_ops, &srcu_nmisafe_ops,\n#endif\n",
            1,
            "scale_ops[]",
        )
    })?;
    Ok(vec!["kernel/rcu/refscale.c".into()])
}

fn patches(signoff: &str) -> Vec<Patch> {
    let sob = format!("\n\nSigned-off-by: {signoff}\n");
    vec![
        Patch {
            subject: "rcu: add srcu_rs, NMI-safe SRCU with a single reader API",
            body: format!(
                "srcu_rs is sleepable RCU whose readers may run in task, softirq,\n\
hardirq and NMI context through one API, srcu_rs_read_lock() and\n\
srcu_rs_read_unlock().  It is Tree SRCU's algorithm without the tree,\n\
with each per-CPU reader counter split in two halves: outside NMI a\n\
reader increments the per-CPU half with this_cpu_inc(), in NMI it\n\
increments the atomic half with atomic_long_inc(), and grace periods sum\n\
both.  NMI safety therefore costs nothing outside NMI even where\n\
this_cpu_inc() is not NMI-safe, and there is no _nmisafe() API to choose.\n\
\n\
srcu_rs_down_read() and srcu_rs_up_read() are the semaphore-like\n\
readers, as srcu_down_read()/srcu_up_read(): the section has no lockdep\n\
ownership, so it may end in another task, an irq handler or another CPU.\n\
Unlike srcu_down_read(), both halves may also run in NMI, because an NMI\n\
reader counts in the atomic half and grace periods sum both halves.\n\
srcu_rs_read_lock() keeps lockdep's acquire/release, and\n\
synchronize_srcu_rs() its srcu_lock_sync(), so lockdep still reports a\n\
synchronize inside a plain reader or a plain section ended by another\n\
task.\n\
\n\
The algorithm (reader protocol, two-scan grace periods, polling cookies,\n\
callback readiness) is srcu-core, a no_std Rust crate without unsafe\n\
code, vendored as the generated kernel/rcu/srcu_rs_core.rs together with\n\
its platform glue.  Kbuild compiles it with the machine's rustc, without\n\
CONFIG_RUST, with the kernel's code generation for the architecture:\n\
panic=abort, static relocations, no unwind tables.  x86_64 builds for\n\
rustc's x86_64-unknown-none (soft-float, no red zone, kernel code model,\n\
as the kernel's own target.json) with -Z flags for return thunks, IBT and\n\
function padding (RUSTC_BOOTSTRAP=1, as the top Makefile sets it for all\n\
kernel Rust).  powerpc64le has no prebuilt core without FP, AltiVec and\n\
VSX, so, as rust/Makefile does, core is built from rust-src (its metadata\n\
only) for a target spec that scripts/srcu_rs_target_spec.sh writes: ELFv2,\n\
soft-float, no AltiVec/VSX, no prefixed or PC-relative instructions, with\n\
the medium code model, so data is addressed from the TOC as in the C.\n\
A rustc upgrade rebuilds the object.  ld -r merges its sections, and\n\
scripts/srcu_rs_check_object.sh fails the build if the object has an\n\
undefined symbol other than the shim's, memcpy/memset/memmove and the\n\
return thunk; on x86_64 a GOT or TLS relocation, an SSE/x87 instruction or\n\
an indirect branch; on powerpc a relocation outside those gcc emits for\n\
the kernel's C (no GOT, TLS or PC-relative), an FP/vector instruction or\n\
register, or an r13 (PACA) operand.\n\
\n\
kernel/rcu/srcu_rs.c is the platform: alloc_percpu() counters, a mutex\n\
for grace-period state, delayed work on rcu_gp_wq (Tree SRCU's\n\
WQ_MEM_RECLAIM workqueue, queued directly from hardirq too) that drives\n\
grace periods and invokes callbacks in process context with BH disabled,\n\
caller-driven synchronize, and a boot list for requests made before\n\
workqueues run.  call_srcu_rs() reports and leaks a duplicate with\n\
CONFIG_DEBUG_OBJECTS_RCU_HEAD, as call_srcu() does.\n\
\n\
Lifetimes follow Tree SRCU's rules.  The work item and list entries live\n\
in the domain, inside the caller's object, which the caller frees even\n\
when cleanup refuses (kvm_destroy_vm()): cleanup_srcu_rs() therefore stops\n\
and syncs the work and takes the domain off every list before it checks\n\
anything, so a refused domain leaks its callbacks and leaves nothing\n\
queued; __cleanup_srcu_rs() returns the refusal without the warning.  A\n\
module's static domains (DEFINE_STATIC_SRCU_RS, SRCU_NOTIFIER_HEAD_STATIC)\n\
that ever requested a grace period are on a list; at MODULE_STATE_GOING\n\
the module notifier lets those within_module() finish their requested\n\
grace periods and callbacks (bounded) and tears them down, or refuses\n\
loudly, as srcu_module_going() does, without changes to the module\n\
loader.  SRCU_RS depends on TREE_RCU, which provides rcu_gp_wq.\n\
\n\
include/linux/srcu_rs.h has the\n\
API (init/cleanup, static definitions, readers with lockdep, dereference\n\
helpers, synchronize, call, barrier, the 6.12 polling set) and the\n\
layout of the state shared with Rust, generated together with matching\n\
static asserts on both sides.  Its inline reader fast path is srcu-core's\n\
reader protocol translated to C by the generator (which refuses any\n\
construct it cannot map), so a reader costs what srcu_read_lock() costs:\n\
one this_cpu_inc() and one smp_mb() per side, plus an in_nmi() test.\n\
\n\
Test-only options: SRCU_RS_GENERIC_PERCPU makes the per-CPU increment an\n\
irq-save load/add/store as on generic architectures, and\n\
SRCU_RS_FAULT_INJECTION adds srcu_rs.fault= to select a deliberately\n\
broken variant of srcu-core and srcu_rs.shim_fault= for broken lifetime\n\
rules of the shim; under SRCU_RS_GENERIC_PERCPU, srcu_rs_generic_window()\n\
is a test hook between the load and the store that acts only for the\n\
domain a test registered with srcu_rs_set_generic_window().{sob}"
            ),
            apply: p1_srcu_rs,
        },
        Patch {
            subject: "notifier: run srcu_notifier_head on srcu_rs when SRCU_RS=y",
            body: format!(
                "With CONFIG_SRCU_RS=y, struct srcu_notifier_head embeds a struct\n\
srcu_rs instead of srcu_usage + srcu_struct, and its static initializer,\n\
SRCU_NOTIFIER_HEAD(_STATIC), dynamic init and cleanup follow.  Notifier\n\
users need no change.  srcu_rs's synchronize returns at once before the\n\
scheduler runs and its static domains need no initcall, so heads used in\n\
early boot keep working.\n\
\n\
Why every head rather than chosen ones: struct srcu_notifier_head has no\n\
per-head choice of SRCU flavour, and one would double its API.  The heads\n\
are srcu_rs's second in-tree user, and the one with static initializers\n\
used in early boot (SRCU_NOTIFIER_HEAD_STATIC), which KVM's dynamically\n\
initialized domain does not exercise; a chain called from NMI (none in\n\
mainline today) would need nothing more.\n\
\n\
With CONFIG_SRCU_RS=n the preprocessed code is unchanged, and so are the\n\
objects but for the line numbers of WARN_ON() sites.{sob}"
            ),
            apply: p2_notifier,
        },
        Patch {
            subject: "KVM: run kvm->irq_srcu on srcu_rs when SRCU_RS=y",
            body: format!(
                "kvm->irq_srcu readers run in process context, with interrupts off,\n\
and in hardirq (irqfd_wakeup() from VFIO MSI handlers); they nest and\n\
may unlock on another CPU.  With CONFIG_SRCU_RS=y the domain is a struct\n\
srcu_rs, whose one reader API is safe in all of these contexts and in NMI.\n\
\n\
Every use in virt/kvm and arch/x86/kvm now goes through kvm_irq_srcu_*()\n\
wrappers defined in kvm_host.h, which map to srcu_rs or, with\n\
CONFIG_SRCU_RS=n, to exactly the srcu_struct calls they replace.\n\
\n\
kvm_init_irq_srcu() also gives the domain its srcu_rs debugfs file,\n\
srcu_rs/kvm-<pid>-<fd>, named as the VM's KVM debugfs directory, so that\n\
one can see the VM's interrupt routing run on srcu_rs (readers and grace\n\
periods); the cleanup removes it.  kvm_main.c gains no code of its own.{sob}"
            ),
            apply: p3_kvm,
        },
        Patch {
            subject: "rcutorture: add torture_type=srcu_rs",
            body: format!(
                "Add srcu_rs (a statically defined domain) and srcu_rsd (a dynamically\n\
initialised one) to rcutorture: readers, get_gp_seq, synchronize and\n\
expedited synchronize, call, barrier, the polling operations, get_gp_data\n\
and irq (timer) readers, which srcu_rs serves through its single reader\n\
API.  debug_objects is set: rcutorture.object_debug=1 on a\n\
CONFIG_DEBUG_OBJECTS_RCU_HEAD kernel checks that a duplicate\n\
call_srcu_rs() is reported and leaked.\n\
\n\
With CONFIG_SRCU_RS_FAULT_INJECTION=y, booting with srcu_rs.fault=2\n\
(skip the second scan of each grace period) must make\n\
rcutorture.torture_type=srcu_rs report failures.\n\
\n\
srcu_rs_updown=1 (torture_type=srcu_rs) adds hand-off readers: a kthread\n\
enters srcu_rs_down_read() sections and hands each to another kthread or\n\
to a hardirq hrtimer, which checks the element's pipe count as a reader\n\
does (it goes to the Reader Pipe) and ends the section with\n\
srcu_rs_up_read().{sob}"
            ),
            apply: p4_rcutorture,
        },
        Patch {
            subject: "srcu_rs: add KUnit tests",
            body: format!(
                "Test what rcutorture does not reach: a grace period that must wait for\n\
a reader started before it, readers nested three deep whose outermost\n\
unlock runs on another CPU, a hardirq reader and call_srcu_rs() from\n\
hardirq (a hard irq_work), the polling API on a dynamic domain,\n\
__cleanup_srcu_rs() refusing, with nothing freed and no warning (a\n\
panic_on_warn farm runs the suite), while a reader is active, a refused\n\
domain inside a kfree()d object leaving no work queued (KASAN watches the\n\
freed object; srcu_rs.shim_fault=1 must fail it),\n\
srcu_rs_readers_locked() growing by exactly k after k lock/unlock pairs\n\
on a private domain, NMI readers, and requests made in early boot.\n\
\n\
NMI readers (x86): an NMI handler takes and releases the read lock of a\n\
private domain for each self-NMI the test sends, while a kthread runs\n\
synchronize_srcu_rs() in a loop; the domain must count every task and\n\
NMI lock exactly, and its grace periods must keep completing (bounded\n\
wait; a domain that cannot finish is leaked, not freed).  With\n\
SRCU_RS_GENERIC_PERCPU each NMI is sent from srcu_rs_generic_window(),\n\
between the load and the store of the task's per-CPU increment, and\n\
waited for there: at least one NMI must land in that window, and\n\
srcu_rs.fault=4 (NMI readers counted in the per-CPU half) must fail.\n\
\n\
NMI readers (powerpc Book3S-64, CONFIG_NMI_IPI, built-in because\n\
smp_send_nmi_ipi() is not exported): one CPU sends system resets to a\n\
kthread on the other that runs reader pairs with interrupts hard-disabled\n\
in bounded chunks; each reset is sent only while the target is in a\n\
chunk, and the next only after the target's loop has moved on past the\n\
previous handler, so that none lands with MSR[RI]=0, nests, or arrives\n\
after the sender stopped waiting.  The handler takes and releases a read\n\
lock, checks in_nmi(), and classifies the interrupted nip: inside the\n\
reader functions, and between the load and the store of a per-CPU\n\
increment, found by decoding the out-of-line task readers.  Every count\n\
must be kept; fewer than 8 resets inside a lock increment make the case\n\
inconclusive (skipped), not a pass.  Under QEMU TCG, boot with\n\
-accel tcg,one-insn-per-tb=on: TCG takes interrupts only between\n\
translation blocks.\n\
\n\
Early boot (built-in): an early_initcall, linked before srcu_rs.o so that\n\
srcu_rs is still in boot mode, issues call_srcu_rs(),\n\
start_poll_synchronize_srcu_rs() and call_srcu_rs() on a static domain;\n\
both callbacks must run exactly once, in order, the second after the\n\
polled grace period completed.\n\
\n\
Hand-offs: srcu_rs_down_read() sections ended by another task, by a\n\
hardirq (hrtimer, hard mode) and, entered in NMI (x86 self-NMI; powerpc\n\
system reset), by a task; 200 of each.  A grace period started while a\n\
handed-off section is held must not end before it; afterwards each\n\
reader index's locks must be matched by its own unlocks, which\n\
srcu_rs.fault=9 (an up_read in the other index) breaks.  A case skipped\n\
unless srcu_rs_test.lockdep_demo=1 or 2 misuses the plain reader for\n\
lockdep to report.{sob}"
            ),
            apply: p5_kunit,
        },
        Patch {
            subject: "refscale: add scale_type=srcu_rs",
            body: format!(
                "Measure the srcu_rs_read_lock()/srcu_rs_read_unlock() pair next to\n\
scale_type=srcu, on a statically defined domain, and add\n\
scale_type=srcu-nmisafe, srcu_read_lock_nmisafe() and\n\
srcu_read_unlock_nmisafe() on a domain of its own: the in-tree reader\n\
that srcu_rs replaces where NMI safety is needed.  Where per-CPU\n\
operations are not NMI-safe (NEED_SRCU_NMI_SAFE, e.g. powerpc) it pays\n\
an atomic increment per side, while srcu_rs pays an in_nmi() test.{sob}"
            ),
            apply: p6_refscale,
        },
    ]
}

/// Regenerate the series into `out`.
pub fn generate(
    repo: &Path,
    tree: &Path,
    base_ref: &str,
    out: &Path,
    checkpatch: bool,
    author: Option<&str>,
) -> Result<()> {
    let mut base = Base::read(out)?;
    if let Some(a) = author {
        // The user's own identity, for a series they send; the committed series keeps BASE's.
        (base.signoff_name, base.signoff_email) = author_identity(repo, a)?;
    }
    let mk = read(tree, "Makefile")?;
    ensure!(
        mk.contains("VERSION = 6\nPATCHLEVEL = 12\n")
            && mk.contains(&format!("SUBLEVEL = {}\n", base.sublevel)),
        "{}: not Linux 6.12.{} (BASE)",
        tree.display(),
        base.sublevel
    );
    let signoff = format!("{} <{}>", base.signoff_name, base.signoff_email);
    run(git(tree, &base).args(["checkout", "-q", "-f", "--detach", base_ref]))?;
    run(git(tree, &base).args(["clean", "-q", "-f", "-d"]))?;
    let ctx = Ctx {
        repo: repo.to_path_buf(),
        tree: tree.to_path_buf(),
    };
    let all = patches(&signoff);
    for p in &all {
        let paths = (p.apply)(&ctx).with_context(|| format!("patch '{}'", p.subject))?;
        let mut add = git(tree, &base);
        add.args(["add", "-f", "--"]).args(&paths);
        run(&mut add)?;
        let msg = format!("{}\n\n{}", p.subject, p.body);
        run(git(tree, &base).args(["commit", "-q", "--no-verify", "-m", &msg]))?;
    }
    // Old series files go; the new ones are written by format-patch.
    for e in std::fs::read_dir(out)? {
        let p = e?.path();
        if p.extension().is_some_and(|x| x == "patch") {
            std::fs::remove_file(p)?;
        }
    }
    // A fixed abbreviation: git's default depends on the repository's size.
    run(git(tree, &base)
        .args([
            "-c",
            "core.abbrev=12",
            "format-patch",
            "-q",
            "--zero-commit",
            "--no-signature",
            "--cover-letter",
            "--subject-prefix=RFC PATCH",
            "-o",
        ])
        .arg(out)
        .arg(format!("{base_ref}..HEAD")))?;
    let report = if checkpatch {
        checkpatch_report(tree, out)?
    } else {
        "(not run)\n".to_string()
    };
    let cover_path = out.join("0000-cover-letter.patch");
    let cover = std::fs::read_to_string(&cover_path)?;
    let cover = cover
        .replace(
            "*** SUBJECT HERE ***",
            "srcu_rs: NMI-safe SRCU for KVM irq_srcu and SRCU notifiers",
        )
        .replace("*** BLURB HERE ***", &cover_blurb(&base, &report));
    // thread=shallow puts a Message-ID with the current time in each patch: strip them.
    std::fs::write(&cover_path, cover)?;
    for e in std::fs::read_dir(out)? {
        let p = e?.path();
        if p.extension().is_some_and(|x| x == "patch") {
            let t = std::fs::read_to_string(&p)?;
            let t: String = t
                .lines()
                .filter(|l| {
                    !l.starts_with("Message-ID:")
                        && !l.starts_with("In-Reply-To:")
                        && !l.starts_with("References:")
                })
                .map(|l| format!("{l}\n"))
                .collect();
            std::fs::write(&p, t)?;
        }
    }
    println!("generated {} patches in {}", all.len(), out.display());
    Ok(())
}

fn checkpatch_report(tree: &Path, out: &Path) -> Result<String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(out)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|x| x == "patch") && !p.ends_with("0000-cover-letter.patch")
        })
        .collect();
    files.sort();
    let script = tree.join("scripts/checkpatch.pl");
    ensure!(script.is_file(), "{}: not found", script.display());
    let mut rep = String::new();
    for f in files {
        let o = Command::new("perl")
            .arg(&script)
            .args([
                "--strict",
                "--terse",
                "--no-summary",
                "--showfile",
                "--no-tree",
            ])
            .arg(&f)
            .current_dir(tree)
            .output()?;
        // checkpatch exits 1 when it reports anything; anything else is a failure to run.
        ensure!(
            o.status.code().is_some_and(|c| c <= 1),
            "checkpatch on {} failed ({}): {}",
            f.display(),
            o.status,
            String::from_utf8_lossy(&o.stderr)
        );
        let text = String::from_utf8_lossy(&o.stdout);
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        let (e, w, ch) = (
            lines.iter().filter(|l| l.contains(": ERROR:")).count(),
            lines.iter().filter(|l| l.contains(": WARNING:")).count(),
            lines.iter().filter(|l| l.contains(": CHECK:")).count(),
        );
        rep.push_str(&format!(
            "  {name}: {e} errors, {w} warnings, {ch} checks\n"
        ));
        for l in lines {
            rep.push_str(&format!("    {l}\n"));
        }
    }
    Ok(rep)
}

fn cover_blurb(base: &Base, report: &str) -> String {
    format!(
        "This RFC adds srcu_rs, sleepable RCU whose readers may run in any\n\
context -- task, softirq, hardirq and NMI -- through one reader API, and\n\
moves KVM's kvm->irq_srcu and srcu_notifier_head onto it when\n\
CONFIG_SRCU_RS=y.  With CONFIG_SRCU_RS=n nothing changes: the touched .c\n\
files preprocess to the same code and compile to the same objects, but\n\
for the line numbers recorded in __bug_table for WARN_ON() sites below\n\
the insertions.\n\
\n\
Why\n\
---\n\
Where this_cpu_inc() is not NMI-safe (NEED_SRCU_NMI_SAFE: powerpc, arm,\n\
mips, sh, sparc) it is a load, an add and a store with interrupts off, and\n\
an NMI reader that lands between them loses the interrupted reader's\n\
count: the grace period can then end under a running reader.  Today a\n\
domain that may have NMI readers must choose srcu_read_lock_nmisafe() for\n\
every reader (printk's console_srcu, \"from any context\"), and may not mix\n\
flavors; tracing and KVM's irqfd paths, whose readers run in process\n\
context, with interrupts off and in hardirq (irqfd_wakeup() against\n\
kvm_set_irq()), would have to do the same.\n\
\n\
Design (Documentation/RCU/srcu_rs.rst)\n\
------\n\
Each per-CPU reader counter is split in two halves: outside NMI a reader\n\
increments the per-CPU half with this_cpu_inc(), in NMI it increments an\n\
atomic half with atomic_long_inc(), and grace periods sum both over every\n\
possible CPU.  NMI safety costs an in_nmi() test outside NMI, nothing else,\n\
and one API serves every context; srcu_rs_down_read()/srcu_rs_up_read()\n\
may even begin or end in NMI.  The idea is Mathieu Desnoyers' (LKML,\n\
7 November 2022, on the NMI-safe SRCU series; again in November 2025,\n\
Link below).  Grace periods are Tree SRCU's two scans without the tree,\n\
with srcutree.c's barriers A-E, an idle fast path on 64-bit (one scan when\n\
no reader holds either index), one driver per grace period for any number\n\
of concurrent synchronize_srcu_rs() callers, polling cookies, call_srcu_rs()\n\
from hardirq, and auto-expediting of idle domains.  The algorithm is\n\
srcu-core, a no_std Rust crate without unsafe code, model-checked with\n\
loom (each safety property with a broken variant the models catch),\n\
vendored as the generated kernel/rcu/srcu_rs_core.rs and compiled with the\n\
system's rustc without CONFIG_RUST; the object is checked at build time.\n\
The inline readers in srcu_rs.h are generated from the same source.\n\
\n\
Numbers\n\
-------\n\
QEMU TCG on a 2-core x86 host, so only same-boot ratios mean anything;\n\
the harness is in the srcu-rs repository.\n\
\n\
\x20\x20refscale read pair, srcu_rs / srcu: x86_64 1.07 (48.8 vs 45.6 ns);\n\
\x20\x20\x20\x20ppc64le 0.97 (72.6 vs 75.0 ns), and 1.21 against srcu-nmisafe\n\
\x20\x20\x20\x20(60.2 ns), whose atomic increment costs less under TCG than the\n\
\x20\x20\x20\x20irq-save per-CPU increment srcu and srcu_rs use outside NMI\n\
\x20\x20synchronize_*_expedited() on domains of a test module's own while\n\
\x20\x20\x20\x20KVM_SET_GSI_ROUTING churns (6520 routing generations in 15 s):\n\
\x20\x20\x20\x20median 2.7 us against 18.9 us, p99 68.4 us against 1.92 ms\n\
\x20\x2016 concurrent synchronize callers: 2.80x srcu's calls/s, one counter\n\
\x20\x20\x20\x20scan per grace period\n\
\x20\x20ppc64le NMIs: KUnit sends system resets from one CPU into readers on\n\
\x20\x20\x20\x20the other; 168 landed between the load and the store of a reader's\n\
\x20\x20\x20\x20per-CPU increment, none lost a count; with NMI readers forced into\n\
\x20\x20\x20\x20the per-CPU half (a test-only fault switch) each of the 32 landings\n\
\x20\x20\x20\x20in a lock increment lost one and the case failed\n\
\x20\x20rcutorture srcu_rs: SUCCESS on x86_64 (also with lockdep and with\n\
\x20\x20\x20\x20KASAN) and ppc64le; a broken grace period (test-only switch) is\n\
\x20\x20\x20\x20caught on both\n\
\x20\x20KVM irq stress (nested SVM): every irqfd and KVM_IRQ_LINE signal\n\
\x20\x20\x20\x20delivered while GSI routing churns; kvm-unit-tests: the 22 tests\n\
\x20\x20\x20\x20that pass on the base pass with the series, the 5 others end the\n\
\x20\x20\x20\x20same way on both\n\
\x20\x20All from one run of the srcu-rs main job (120 checks passed).\n\
\n\
Known limits\n\
------------\n\
\x20\x20- x86_64 and little-endian powerpc Book3S-64 only: readers rely on an\n\
\x20\x20\x20\x20NMI flag raised before any C runs (paca->in_nmi on powerpc).\n\
\x20\x20- Needs rustc >= 1.93 (x86_64-unknown-none; rust-src for powerpc).\n\
\x20\x20- No tree: every grace period scans every possible CPU, and callbacks\n\
\x20\x20\x20\x20are on one list per domain, so call_srcu_rs() from many CPUs at once\n\
\x20\x20\x20\x20contends for one lock.\n\
\x20\x20- Readers keep smp_mb() on both sides (no SRCU-fast-style reader).\n\
\x20\x20- No _full polled API.\n\
\n\
Patches:\n\
\x20\x201: the srcu_rs core, C platform, header, Kconfig, Kbuild rule, document\n\
\x20\x202: srcu_notifier_head on srcu_rs (static and dynamic heads): notifier\n\
\x20\x20\x20\x20\x20chains whose callers may run in NMI then need nothing else\n\
\x20\x203: kvm->irq_srcu on srcu_rs (wrappers in kvm_host.h, every site); the\n\
\x20\x20\x20\x20\x20VM's domain is named in srcu_rs's debugfs, which the KVM stress reads\n\
\x20\x204: rcutorture torture_type=srcu_rs and srcu_rsd\n\
\x20\x205: KUnit tests (CONFIG_SRCU_RS_KUNIT_TEST)\n\
\x20\x206: refscale scale_type=srcu_rs and srcu-nmisafe\n\
\n\
Base: Debian linux-source-6.12 {} (v6.12.{} with Debian's patches\n\
applied); not yet checked against upstream v6.12.y.  Generated by\n\
srcu-rs-patches from the srcu-rs repository; regenerate rather than edit\n\
by hand.  The author identity is a placeholder: regenerate with\n\
--author before sending.\n\
\n\
Link: https://lore.kernel.org/all/b2fb5a99-8dc2-440b-bf52-1dbcf3d7d9a7@efficios.com/\n\
\n\
How to test:\n\
\x20\x20make O=out tinyconfig\n\
\x20\x20scripts/kconfig/merge_config.sh -m -O out out/.config srcu-rs.fragment\n\
\x20\x20echo CONFIG_SRCU_RS=y >> out/.config; make O=out olddefconfig\n\
\x20\x20make O=out -j$(nproc)\n\
(srcu-rs.fragment: x86_64, SMP, ACPI, KVM=y, KVM_AMD=y, KVM_INTEL=y,\n\
CPU_FREQ=y; add the mitigations fragment for RETPOLINE, RETHUNK, IBT and\n\
CALL_PADDING.)\n\
\n\
scripts/checkpatch.pl --strict results:\n\
{report}\n\
Remaining checks (CHECK), and why:\n\
\x20\x20- srcu_rs.h/notifier.h macro argument reuse: static initializers name\n\
\x20\x20\x20\x20the object to point into itself, as __SRCU_STRUCT_INIT() does.\n\
\x20\x20- kvm_host.h/notifier.c macro argument not parenthesized: with\n\
\x20\x20\x20\x20CONFIG_SRCU_RS=n the wrappers expand to exactly the tokens of the calls\n\
\x20\x20\x20\x20they replace (the preprocessed .c files are unchanged); every argument\n\
\x20\x20\x20\x20is a plain member-access chain.\n\
\x20\x20- rcutorture '&' spacing: the style of the surrounding array initializer.\n",
        base.debian_version, base.sublevel
    )
}
