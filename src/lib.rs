// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! srcu-rs: NMI-safe sleepable RCU with a single reader API.
//!
//! The algorithm lives in [`srcu_core`]; this root package is what C programs link
//! (`libsrcu_rs.a`, headers `include/srcu_rs.h` and `include/srcu_rs/static.h`). It re-exports
//! the ffi crate's `extern "C"` functions; the static library exports every `srcu_rs_*` symbol,
//! the C readers of the shim included (the C tests in `ffi/tests/` link against it, and
//! `ffi/tests/run-c-tests.sh` checks the symbol table).
#![forbid(unsafe_code)]

pub use srcu_core as core_algorithm;
pub use srcu_rs_ffi::*;

#[cfg(test)]
mod tests {
    /// The committed headers equal what the ffi build generates now (build.rs copies them to
    /// OUT_DIR). Regenerate with `SRCU_RS_UPDATE_GENERATED=1 cargo build`.
    #[test]
    fn headers_are_current() {
        let fresh = include_str!(concat!(env!("OUT_DIR"), "/include/srcu_rs.h"));
        let committed = include_str!("../include/srcu_rs.h");
        assert!(
            fresh == committed,
            "include/srcu_rs.h is stale: run SRCU_RS_UPDATE_GENERATED=1 cargo build"
        );
        let fresh = include_str!(concat!(env!("OUT_DIR"), "/include/srcu_rs/static.h"));
        let committed = include_str!("../include/srcu_rs/static.h");
        assert!(
            fresh == committed,
            "include/srcu_rs/static.h is stale: run SRCU_RS_UPDATE_GENERATED=1 cargo build"
        );
    }
}
