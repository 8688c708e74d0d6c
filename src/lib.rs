// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! srcu-rs: NMI-safe sleepable RCU with a single reader API.
//!
//! The algorithm lives in [`srcu_core`]; this root package is what C programs link
//! (`libsrcu_rs.a`).
#![forbid(unsafe_code)]

pub use srcu_core as core_algorithm;
