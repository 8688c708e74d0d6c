// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! What a run has found so far, and the three files it is written to (`results.md`, `summary.json`,
//! `junit.xml`). The run rewrites them after every step, so a failure or a kill in boot k leaves the rows of
//! boots 1 .. k-1.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::report::{self, Row, Status};

/// The version of `summary.json`'s layout: raised when a field changes meaning or goes away.
pub const SCHEMA: u32 = 1;

#[derive(Serialize, Clone, Default)]
pub struct BuildInfo {
    pub release: String,
    pub tree: String,
    pub out: String,
    pub config_secs: f64,
    pub build_wall_secs: f64,
    pub build_cpu_secs: f64,
    pub bzimage_bytes: u64,
    pub initramfs_bytes: u64,
    pub srcu_rs: String,
}

/// Everything `summary.json` holds. `result` is `RUNNING` until the run ends, then `PASS` or `FAIL`
/// (`FAIL` too when the harness itself stopped with an error: its last row says why).
#[derive(Serialize)]
pub struct Results {
    pub schema: u32,
    pub result: &'static str,
    pub mode: &'static str,
    pub started_unix: u64,
    pub total_secs: f64,
    /// `boot k/N`: the last boot started, of the planned ones.
    pub progress: String,
    pub host: BTreeMap<String, String>,
    pub phase_secs: BTreeMap<String, f64>,
    pub builds: BTreeMap<String, BuildInfo>,
    pub rows: Vec<Row>,
    pub refscale: BTreeMap<String, BTreeMap<String, Vec<f64>>>,
    pub kvm_irq_stress: BTreeMap<String, BTreeMap<String, String>>,
    pub kvm_unit_tests: BTreeMap<String, BTreeMap<String, String>>,
    #[serde(skip)]
    started: Option<Instant>,
}

impl Results {
    pub fn new(mode: &'static str, started_unix: u64) -> Results {
        Results {
            schema: SCHEMA,
            result: "RUNNING",
            mode,
            started_unix,
            total_secs: 0.0,
            progress: String::new(),
            host: BTreeMap::new(),
            phase_secs: BTreeMap::new(),
            builds: BTreeMap::new(),
            rows: Vec::new(),
            refscale: BTreeMap::new(),
            kvm_irq_stress: BTreeMap::new(),
            kvm_unit_tests: BTreeMap::new(),
            started: Some(Instant::now()),
        }
    }

    pub fn failed(&self) -> bool {
        self.rows.iter().any(|r| r.status == Status::Fail)
    }

    /// The results table with the phase times, as `results.md` holds it.
    pub fn table(&self) -> String {
        let mut table = report::table(&self.rows);
        table.push_str("\nphase times (s): ");
        table.push_str(
            &self
                .phase_secs
                .iter()
                .map(|(k, v)| format!("{k} {v:.0}"))
                .collect::<Vec<_>>()
                .join(", "),
        );
        table.push_str(&format!("; total {:.0}\n", self.total_secs));
        if self.result == "RUNNING" {
            table.push_str(&format!("\nrun in progress ({})\n", self.progress));
        }
        table
    }

    /// Rewrites the three files in `dir` (each through a temporary file and a rename: a kill never leaves half a
    /// file).
    pub fn write(&mut self, dir: &Path) -> Result<()> {
        if let Some(t) = self.started {
            self.total_secs = t.elapsed().as_secs_f64();
        }
        let files = [
            ("summary.json", serde_json::to_string_pretty(self)?),
            ("junit.xml", report::junit(&self.rows, self.total_secs)),
            ("results.md", self.table()),
        ];
        for (name, text) in files {
            let tmp = dir.join(format!(".{name}.tmp"));
            fs::write(&tmp, text).with_context(|| format!("write {}", tmp.display()))?;
            fs::rename(&tmp, dir.join(name)).with_context(|| format!("rename to {name}"))?;
        }
        Ok(())
    }

    /// Ends the run: `PASS` or `FAIL`, written.
    pub fn finish(&mut self, dir: &Path) -> Result<bool> {
        let failed = self.failed();
        self.result = if failed { "FAIL" } else { "PASS" };
        self.progress = "done".into();
        self.write(dir)?;
        Ok(!failed)
    }

    /// Ends a run the harness could not finish: a FAIL row saying why, the result `FAIL`, written.
    pub fn abort(&mut self, dir: &Path, why: &anyhow::Error) {
        self.rows.push(Row {
            phase: "harness".into(),
            kernel: "-".into(),
            status: Status::Fail,
            secs: 0.0,
            detail: format!("stopped at {}: {why:#}", self.progress),
        });
        self.result = "FAIL";
        let _ = self.write(dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(phase: &str, kernel: &str) -> Row {
        Row {
            phase: phase.into(),
            kernel: kernel.into(),
            status: Status::Pass,
            secs: 1.0,
            detail: String::new(),
        }
    }

    /// The files are rewritten after every boot: what a later boot never reaches, the earlier rows keep.
    #[test]
    fn results_survive_a_run_that_stops() {
        let dir = std::env::temp_dir().join(format!("srcu-rs-results-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let mut r = Results::new("ci", 0);
        for k in 1..=2 {
            r.progress = format!("boot {k}/3");
            r.rows.push(row("boot", &format!("kernel{k}")));
            r.write(&dir).unwrap();
        }
        // boot 3 is killed here: nothing more is written
        let md = fs::read_to_string(dir.join("results.md")).unwrap();
        assert!(md.contains("kernel1") && md.contains("kernel2"), "{md}");
        assert!(md.contains("run in progress (boot 2/3)"), "{md}");
        let json: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
        assert_eq!(json["schema"], SCHEMA);
        assert_eq!(json["result"], "RUNNING");
        assert_eq!(json["rows"].as_array().unwrap().len(), 2);
        assert!(fs::read_to_string(dir.join("junit.xml"))
            .unwrap()
            .contains("kernel2"));
        r.abort(&dir, &anyhow::anyhow!("qemu vanished"));
        let json: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
        assert_eq!(json["result"], "FAIL");
        let _ = fs::remove_dir_all(&dir);
    }
}
