// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! An empty `compiler_builtins` for srcu_rs_core.rs where core is built from rust-src.
//!
//! rustc makes every `no_std` crate depend on a crate of this name, its port of LLVM's
//! compiler-rt. The object may call none of those intrinsics (the object check rejects any
//! undefined symbol outside the shim), so there is nothing to provide; rust/compiler_builtins.rs
//! plays the same role for CONFIG_RUST.
#![allow(internal_features)]
#![feature(compiler_builtins)]
#![compiler_builtins]
#![no_builtins]
#![no_std]
