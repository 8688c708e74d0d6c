// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! Progress on stderr: one line per step begun and ended (with the run's elapsed time), notes in between, and a
//! spinner with the latest output line when stderr is a terminal.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

pub struct Progress {
    tty: bool,
    bar: Option<ProgressBar>,
    t0: Instant,
}

impl Progress {
    pub fn new() -> Self {
        Progress {
            tty: std::io::stderr().is_terminal(),
            bar: None,
            t0: Instant::now(),
        }
    }
    pub fn begin(&mut self, what: &str) {
        eprintln!("[{:>6.0}s] ==> {what}", self.t0.elapsed().as_secs_f64());
        if self.tty {
            let b = ProgressBar::new_spinner();
            b.set_style(
                ProgressStyle::with_template("  {spinner} [{elapsed}] {wide_msg}").unwrap(),
            );
            b.enable_steady_tick(Duration::from_millis(200));
            self.bar = Some(b);
        }
    }
    pub fn tick(&self, msg: &str) {
        if let Some(b) = &self.bar {
            b.set_message(msg.chars().take(150).collect::<String>());
        }
    }
    pub fn say(&self, msg: &str) {
        match &self.bar {
            Some(b) => b.println(format!("    {msg}")),
            None => eprintln!("    {msg}"),
        }
    }
    pub fn end(&mut self, what: &str, secs: f64) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
        eprintln!(
            "[{:>6.0}s] <== {what} ({secs:.1} s)",
            self.t0.elapsed().as_secs_f64()
        );
    }
}
