// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! srcu-rs: NMI-safe sleepable RCU with a single reader API.
//!
//! The algorithm lives in [`srcu_core`]; this root package is what C programs link
//! (`libsrcu_rs.a`, header `include/srcu_rs.h`). It re-exports the ffi crate's `extern "C"`
//! functions; the static library exports every `srcu_rs_*` symbol (the C tests in
//! `ffi/tests/` link against it, and `ffi/tests/run-c-tests.sh` checks the symbol table).
#![forbid(unsafe_code)]

pub use srcu_core as core_algorithm;
pub use srcu_rs_ffi::api::*;
pub use srcu_rs_ffi::layout::{srcu_rs_layout_v1_count_slow, srcu_rs_layout_v1_describe};
pub use srcu_rs_ffi::srcu_rs_head;

#[cfg(test)]
mod tests {
    /// The committed header equals what cbindgen generates now (build.rs writes it to
    /// OUT_DIR). Regenerate with `SRCU_RS_UPDATE_GENERATED=1 cargo build`.
    #[test]
    fn header_is_current() {
        let fresh = include_str!(concat!(env!("OUT_DIR"), "/srcu_rs.h"));
        let committed = include_str!("../include/srcu_rs.h");
        assert!(
            fresh == committed,
            "include/srcu_rs.h is stale: run SRCU_RS_UPDATE_GENERATED=1 cargo build"
        );
    }
}
