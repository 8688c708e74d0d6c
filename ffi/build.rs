// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! Generates the C headers and builds the userspace C shim (`c-shim/userspace/`) with `cc`.
//!
//! Headers, written to `$OUT_DIR/include/` (the root `build.rs` compares them with the committed
//! `include/` and updates or checks it; its variable `DEP_SRCU_SHIM_INCLUDE` names this
//! directory):
//! * `srcu_rs.h`: cbindgen over this crate without the items of `src/layout.rs`
//!   (`cbindgen.toml`), followed by the readers' declarations (`srcu_rs_readers.h`);
//! * `srcu_rs/static.h`: cbindgen over `src/layout.rs` alone (`cbindgen-static.toml`),
//!   followed by the rseq increment (`c-shim/userspace/srcu_rseq.h`) and the static-inline
//!   reader (`srcu_rs_static.h`).
//!
//! The shim's exported readers (`srcu_rs_readers.c`) are compiled against these fresh headers,
//! so they always run the inline code of this very build.
//!
//! With the `regen-bindings` feature (needs libclang) it also runs bindgen over the shim's header
//! and compares the result with the committed `src/shim_bindings.rs`: the build fails if they
//! differ, unless `SRCU_RS_UPDATE_GENERATED=1` is set, which rewrites the committed file.
//! Normal builds need no libclang.
use std::path::{Path, PathBuf};

const SPDX_C: &str = "/* SPDX-License-Identifier: MIT OR GPL-2.0-only */\n";

fn main() {
    let manifest =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let shim = manifest.join("../c-shim/userspace");
    for f in [
        "srcu_shim.c",
        "srcu_shim.h",
        "srcu_rseq.h",
        "srcu_rs_readers.c",
    ] {
        println!("cargo:rerun-if-changed={}", shim.join(f).display());
    }
    for f in [
        "src",
        "cbindgen.toml",
        "cbindgen-static.toml",
        "srcu_rs_readers.h",
        "srcu_rs_static.h",
    ] {
        println!("cargo:rerun-if-changed={}", manifest.join(f).display());
    }
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=SRCU_RS_UPDATE_GENERATED");
    let include = out.join("include");
    headers(&manifest, &shim, &include);
    println!("cargo:include={}", include.display());
    cc::Build::new()
        .file(shim.join("srcu_shim.c"))
        .file(shim.join("srcu_rs_readers.c"))
        .include(&shim)
        .include(&include)
        .flag_if_supported("-fno-strict-aliasing")
        .warnings(true)
        .extra_warnings(true)
        .compile("srcu_shim");
    #[cfg(feature = "regen-bindings")]
    regen::bindings(&manifest, &shim);
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// The names of the items `src/layout.rs` exports to C (its `pub const`s and `extern "C"` fns).
fn layout_items(layout: &str) -> Vec<String> {
    layout
        .lines()
        .filter_map(|l| {
            let l = l.trim_start();
            let rest = l
                .strip_prefix("pub const ")
                .or_else(|| l.strip_prefix("pub unsafe extern \"C\" fn "))
                .or_else(|| l.strip_prefix("pub extern \"C\" fn "))?;
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            (!name.is_empty()).then_some(name)
        })
        .collect()
}

fn headers(manifest: &Path, shim: &Path, include: &Path) {
    std::fs::create_dir_all(include.join("srcu_rs")).expect("mkdir OUT_DIR/include/srcu_rs");
    let layout_rs = manifest.join("src/layout.rs");

    let mut api = cbindgen::Config::from_file(manifest.join("cbindgen.toml"))
        .expect("read ffi/cbindgen.toml");
    let items = layout_items(&read(&layout_rs));
    assert!(items.len() >= 4, "no items found in src/layout.rs");
    api.export.exclude.extend(items);
    let readers = read(&manifest.join("srcu_rs_readers.h"));
    api.trailer = Some(readers.trim_start_matches(SPDX_C).to_string());
    cbindgen::Builder::new()
        .with_crate(manifest)
        .with_config(api)
        .generate()
        .expect("cbindgen failed on the ffi crate")
        .write_to_file(include.join("srcu_rs.h"));

    let mut st = cbindgen::Config::from_file(manifest.join("cbindgen-static.toml"))
        .expect("read ffi/cbindgen-static.toml");
    let rseq = read(&shim.join("srcu_rseq.h"));
    let inline = read(&manifest.join("srcu_rs_static.h"));
    st.trailer = Some(format!(
        "{}\n\n{}\n#endif /* SRCU_RS_STATIC_H */\n",
        rseq.trim_start_matches(SPDX_C).trim_end(),
        inline.trim_start_matches(SPDX_C).trim_end()
    ));
    cbindgen::Builder::new()
        .with_src(&layout_rs)
        .with_config(st)
        .generate()
        .expect("cbindgen failed on src/layout.rs")
        .write_to_file(include.join("srcu_rs/static.h"));
}

#[cfg(feature = "regen-bindings")]
mod regen {
    use std::path::Path;

    pub fn bindings(manifest: &Path, shim: &Path) {
        let generated = bindgen::Builder::default()
            .header(shim.join("srcu_shim.h").to_string_lossy())
            .raw_line("// SPDX-License-Identifier: MIT OR GPL-2.0-only")
            .raw_line("// Generated by bindgen from c-shim/userspace/srcu_shim.h: do not edit.")
            .raw_line("// Regenerate: SRCU_RS_UPDATE_GENERATED=1 cargo build -p srcu-rs-ffi --features regen-bindings")
            .allowlist_function("srcu_shim_.*")
            .allowlist_var("SRCU_SHIM_.*")
            .use_core()
            .layout_tests(false)
            .generate()
            .expect("bindgen failed on srcu_shim.h")
            .to_string();
        let committed_path = manifest.join("src/shim_bindings.rs");
        let committed = std::fs::read_to_string(&committed_path).unwrap_or_default();
        let out = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"))
            .join("shim_bindings.rs");
        std::fs::write(&out, &generated).expect("write OUT_DIR/shim_bindings.rs");
        if committed != generated {
            if std::env::var("SRCU_RS_UPDATE_GENERATED").as_deref() == Ok("1") {
                std::fs::write(&committed_path, &generated).expect("update src/shim_bindings.rs");
            } else {
                panic!(
                    "ffi/src/shim_bindings.rs is stale (fresh copy in {}); regenerate with \
                     SRCU_RS_UPDATE_GENERATED=1 cargo build -p srcu-rs-ffi --features regen-bindings",
                    out.display()
                );
            }
        }
    }
}
