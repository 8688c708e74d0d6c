// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! Build script of the root package (the C ABI static library `libsrcu_rs.a`).
//!
//! The ffi crate's build script generates the C headers (cbindgen) into its `OUT_DIR/include`
//! (`DEP_SRCU_SHIM_INCLUDE` here); this one compares them with the committed `include/`:
//! * `SRCU_RS_UPDATE_GENERATED=1`: rewrite the committed files that differ;
//! * `SRCU_RS_CHECK_GENERATED=1`: fail the build if one is stale;
//! * always: copy them to `$OUT_DIR/include`, where the unit test `headers_are_current` (root
//!   `src/lib.rs`, run by `cargo test`) compares them, so `cargo test --workspace` catches a
//!   stale header.
use std::path::PathBuf;

/// The generated headers, relative to `include/`.
const HEADERS: [&str; 2] = ["srcu_rs.h", "srcu_rs/static.h"];

fn main() {
    let root =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let fresh_dir = PathBuf::from(
        std::env::var("DEP_SRCU_SHIM_INCLUDE")
            .expect("the ffi build script exports its include dir"),
    );
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("include");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=SRCU_RS_UPDATE_GENERATED");
    println!("cargo:rerun-if-env-changed=SRCU_RS_CHECK_GENERATED");
    for h in HEADERS {
        println!("cargo:rerun-if-changed=include/{h}");
        println!("cargo:rerun-if-changed={}", fresh_dir.join(h).display());
    }
    std::fs::create_dir_all(out.join("srcu_rs")).expect("mkdir OUT_DIR/include/srcu_rs");
    for h in HEADERS {
        let fresh_path = fresh_dir.join(h);
        let generated = std::fs::read_to_string(&fresh_path)
            .unwrap_or_else(|e| panic!("read {}: {e}", fresh_path.display()));
        std::fs::write(out.join(h), &generated).expect("copy the generated header to OUT_DIR");
        let committed_path = root.join("include").join(h);
        let committed = std::fs::read_to_string(&committed_path).unwrap_or_default();
        if generated == committed {
            continue;
        }
        if std::env::var("SRCU_RS_UPDATE_GENERATED").as_deref() == Ok("1") {
            std::fs::create_dir_all(root.join("include/srcu_rs")).expect("mkdir include/srcu_rs");
            std::fs::write(&committed_path, &generated).expect("update the committed header");
        } else if std::env::var("SRCU_RS_CHECK_GENERATED").as_deref() == Ok("1") {
            panic!(
                "include/{h} is stale (fresh copy: {}); regenerate with \
                 SRCU_RS_UPDATE_GENERATED=1 cargo build",
                fresh_path.display()
            );
        } else {
            println!(
                "cargo:warning=include/{h} is stale: run SRCU_RS_UPDATE_GENERATED=1 cargo build"
            );
        }
    }
}
