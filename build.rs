// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! Build script of the root package (the C ABI static library).
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
}
