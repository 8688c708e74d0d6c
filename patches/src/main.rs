// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! `srcu-rs-patches`: generate the Linux 6.12 srcu_rs patch series, apply it to a kernel tree,
//! and check that every prefix of it builds.
//!
//! ```text
//! srcu-rs-patches generate --tree DIR [--base REF] [--out DIR] [--author 'Name <email>'|git]
//! srcu-rs-patches apply --tree DIR                     # git am, else patch -p1 after a dry run
//! srcu-rs-patches check-bisect --tree DIR --config FILE --out DIR
//! ```

mod apply;
mod readgen;
mod rustgen;
mod series;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "srcu-rs-patches",
    about = "The srcu_rs Linux 6.12 patch series"
)]
struct Cli {
    /// The srcu-rs repository (default: the one this binary was built from).
    #[arg(long, global = true)]
    repo: Option<PathBuf>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Regenerate patches/linux-6.12/ from srcu-core, c-shim/kernel and the base tree.
    Generate {
        /// A git work tree of the pinned base (its commit tagged --base); it is reset and
        /// rewritten (branch srcu-rs-series). No default: the tree is rewritten, so name it
        /// (patches/ci-check.sh makes one under $WORK/linux).
        #[arg(long)]
        tree: PathBuf,
        /// The base commit of the series in --tree.
        #[arg(long, default_value = "srcu-rs-base")]
        base: String,
        /// Where to write the series (default: <repo>/patches/linux-6.12).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Skip running checkpatch for the cover letter (faster; the cover letter then differs).
        #[arg(long)]
        no_checkpatch: bool,
        /// Author and Signed-off-by of every patch: `"Name <email>"`, or `git` for your
        /// `git config user.name`/`user.email` (default: the placeholder identity recorded in
        /// the series' BASE file, which keeps the committed series reproducible; replace it
        /// with yours before sending).
        #[arg(long, value_name = "IDENTITY")]
        author: Option<String>,
    },
    /// Apply the series to a Linux 6.12 tree (git am for a git tree, else patch -p1).
    Apply {
        /// The Linux 6.12 tree to patch (a git tree, or a plain unpacked source tree).
        #[arg(long)]
        tree: PathBuf,
        /// The series directory (default: <repo>/patches/linux-6.12).
        #[arg(long)]
        series: Option<PathBuf>,
    },
    /// Build every prefix of the series (bisectability): the tree must be a clean git tree
    /// at the base; each patch is applied with git am, then the kernel is built, which must
    /// succeed with no compiler, objtool, linker or modpost warning.
    CheckBisect {
        /// A clean git tree at the base of the series (its commit checked out).
        #[arg(long)]
        tree: PathBuf,
        /// A complete .config to build with (copied to each output directory).
        #[arg(long)]
        config: PathBuf,
        /// Kernel output directory (O=), reused across prefixes.
        #[arg(long)]
        out: PathBuf,
        /// The series directory (default: <repo>/patches/linux-6.12).
        #[arg(long)]
        series: Option<PathBuf>,
        /// Parallel make jobs (make -j).
        #[arg(long, default_value_t = 2)]
        jobs: u32,
    },
}

fn repo_root(cli: &Option<PathBuf>) -> PathBuf {
    cli.clone()
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/..")))
        .canonicalize()
        .expect("repository root")
}

fn main() -> std::process::ExitCode {
    match run_cli(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("srcu-rs-patches: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// A `--tree` as an absolute path (git and checkpatch run with it as their working directory).
fn tree_dir(tree: &std::path::Path) -> Result<PathBuf> {
    tree.canonicalize()
        .with_context(|| format!("--tree {}: no such directory", tree.display()))
}

fn run_cli(cli: Cli) -> Result<()> {
    let repo = repo_root(&cli.repo);
    let default_series = repo.join("patches/linux-6.12");
    match cli.cmd {
        Cmd::Generate {
            tree,
            base,
            out,
            no_checkpatch,
            author,
        } => series::generate(
            &repo,
            &tree_dir(&tree)?,
            &base,
            &out.unwrap_or(default_series),
            !no_checkpatch,
            author.as_deref(),
        ),
        Cmd::Apply { tree, series } => {
            apply::apply(&series.unwrap_or(default_series), &tree_dir(&tree)?)
        }
        Cmd::CheckBisect {
            tree,
            config,
            out,
            series,
            jobs,
        } => apply::check_bisect(
            &series.unwrap_or(default_series),
            &tree_dir(&tree)?,
            &config,
            &out,
            jobs,
        ),
    }
}
