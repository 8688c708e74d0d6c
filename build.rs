// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! Build script of the root package (the C ABI static library `libsrcu_rs.a`).
//!
//! Generates the C header with cbindgen from the ffi crate into `$OUT_DIR/srcu_rs.h`.
//! * `SRCU_RS_UPDATE_GENERATED=1`: also rewrite the committed `include/srcu_rs.h`.
//! * `SRCU_RS_CHECK_GENERATED=1`: fail the build if the committed header is stale.
//! * Always: the unit test `header_is_current` (root `src/lib.rs`, run by `cargo test`)
//!   compares the two, so `cargo test --workspace` catches a stale header.
use std::path::{Path, PathBuf};

fn main() {
    let root =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let ffi = root.join("ffi");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=ffi/src");
    println!("cargo:rerun-if-changed=ffi/cbindgen.toml");
    println!("cargo:rerun-if-changed=ffi/srcu_rs_inline.h");
    println!("cargo:rerun-if-changed=c-shim/userspace/srcu_rseq.h");
    println!("cargo:rerun-if-changed=include/srcu_rs.h");
    println!("cargo:rerun-if-env-changed=SRCU_RS_UPDATE_GENERATED");
    println!("cargo:rerun-if-env-changed=SRCU_RS_CHECK_GENERATED");

    let mut config =
        cbindgen::Config::from_file(ffi.join("cbindgen.toml")).expect("read ffi/cbindgen.toml");
    // The optional inline reader fast path: ffi/srcu_rs_inline.h with the shim's rseq
    // increment (c-shim/userspace/srcu_rseq.h) pasted in, so both run the same code.
    let inline =
        std::fs::read_to_string(ffi.join("srcu_rs_inline.h")).expect("read ffi/srcu_rs_inline.h");
    let rseq = std::fs::read_to_string(root.join("c-shim/userspace/srcu_rseq.h"))
        .expect("read c-shim/userspace/srcu_rseq.h");
    let rseq = rseq.trim_start_matches("/* SPDX-License-Identifier: MIT OR GPL-2.0-only */\n");
    let inline = inline.trim_start_matches("/* SPDX-License-Identifier: MIT OR GPL-2.0-only */\n");
    config.trailer = Some(inline.replace("@SRCU_RSEQ_H@", rseq.trim_end()));
    let out = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("srcu_rs.h");
    cbindgen::Builder::new()
        .with_crate(&ffi)
        .with_config(config)
        .generate()
        .expect("cbindgen failed on the ffi crate")
        .write_to_file(&out);

    let generated = std::fs::read_to_string(&out).expect("read generated header");
    let committed_path = root.join("include/srcu_rs.h");
    let committed = std::fs::read_to_string(&committed_path).unwrap_or_default();
    if generated != committed {
        if std::env::var("SRCU_RS_UPDATE_GENERATED").as_deref() == Ok("1") {
            std::fs::create_dir_all(root.join("include")).expect("mkdir include");
            std::fs::write(&committed_path, &generated).expect("update include/srcu_rs.h");
        } else if std::env::var("SRCU_RS_CHECK_GENERATED").as_deref() == Ok("1") {
            panic!(
                "include/srcu_rs.h is stale (fresh copy: {}); regenerate with \
                 SRCU_RS_UPDATE_GENERATED=1 cargo build",
                out.display()
            );
        } else {
            println!("cargo:warning=include/srcu_rs.h is stale: run SRCU_RS_UPDATE_GENERATED=1 cargo build");
        }
    }
}
