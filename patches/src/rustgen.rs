// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! Assemble srcu-core and the kernel glue into one self-contained Rust source file, and derive
//! from the same syntax trees the C declarations the kernel side needs (FFI prototypes and the
//! layout of the embedded core state), so the two languages cannot drift apart silently.

use anyhow::{bail, Context, Result};
use quote::quote;
use std::path::Path;
use syn::{Attribute, File, Item, Meta};

/// Whether `attrs` contains `#[cfg(<pred>)]` whose predicate, printed, equals `pred`.
fn has_cfg(attrs: &[Attribute], pred: &str) -> bool {
    attrs.iter().any(|a| {
        if !a.path().is_ident("cfg") {
            return false;
        }
        match &a.meta {
            Meta::List(l) => l.tokens.to_string().replace(' ', "") == pred,
            _ => false,
        }
    })
}

/// Which items survive: not test-only, not loom-only.
struct Strip;

impl Strip {
    fn keep(attrs: &[Attribute]) -> bool {
        !(has_cfg(attrs, "test") || has_cfg(attrs, "loom"))
    }
}

fn parse(path: &Path) -> Result<File> {
    let src =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    syn::parse_file(&src).with_context(|| format!("parsing {}", path.display()))
}

/// The `Srcu` struct's field names, in order, from srcu-core's domain.rs.
pub fn srcu_fields(core_src: &Path) -> Result<Vec<String>> {
    let f = parse(&core_src.join("domain.rs"))?;
    for it in &f.items {
        if let Item::Struct(s) = it {
            if s.ident == "Srcu" {
                let repr_c = s
                    .attrs
                    .iter()
                    .any(|a| a.path().is_ident("repr") && quote!(#a).to_string().contains('C'));
                if !repr_c {
                    bail!(
                        "srcu-core's Srcu is no longer #[repr(C)]: the C layout cannot be shared"
                    );
                }
                let mut names = Vec::new();
                for fld in &s.fields {
                    let ty = &fld.ty;
                    let ty = quote!(#ty).to_string();
                    if ty != "AtomicUsize" {
                        bail!(
                            "Srcu field {:?} has type {ty}, expected AtomicUsize",
                            fld.ident
                        );
                    }
                    names.push(fld.ident.as_ref().context("tuple field")?.to_string());
                }
                return Ok(names);
            }
        }
    }
    bail!("struct Srcu not found in srcu-core/src/domain.rs")
}

/// The initial value of each field as written in `Srcu::new()`: `0` or `seq::INITIAL`.
pub fn srcu_initial_values(core_src: &Path, fields: &[String]) -> Result<Vec<String>> {
    let src = std::fs::read_to_string(core_src.join("domain.rs"))?;
    // The first `field: new_atomic(..)` initialisers in domain.rs are those of the const
    // constructor (directly in `Srcu::new()` or in the macro it expands).
    let body = &src[..];
    let mut out = Vec::new();
    for f in fields {
        let key = format!("{f}: new_atomic(");
        let i = body
            .find(&key)
            .with_context(|| format!("initial value of {f} not found"))?;
        let rest = &body[i + key.len()..];
        let v = &rest[..rest.find(')').context("unterminated new_atomic")?];
        out.push(match v.trim() {
            "0" => "0".to_string(),
            "seq::INITIAL" => "SRCU_RS_SEQ_INITIAL".to_string(),
            other => bail!("unknown initial value {other} for {f}: teach the generator"),
        });
    }
    Ok(out)
}

/// Byte offset of a proc-macro2 line/column (1-based line, 0-based char column) in `text`.
fn byte_offset(text: &str, lc: proc_macro2::LineColumn) -> usize {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(lc.line - 1)
        .map(str::len)
        .sum();
    let line = &text[line_start..];
    line_start
        + line
            .char_indices()
            .nth(lc.column)
            .map_or(line.len(), |(i, _)| i)
}

/// The source text of a file with test-only and loom-only items cut out (byte ranges found
/// with syn's spans) and `#[cfg(not(loom))]` attributes dropped. Comments and formatting are
/// kept verbatim, so the barrier comments naming their pairings survive.
fn stripped_text(path: &Path) -> Result<String> {
    use syn::spanned::Spanned;
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let file = syn::parse_file(&text).with_context(|| format!("parsing {}", path.display()))?;
    let mut cuts: Vec<(usize, usize)> = Vec::new();
    fn collect(items: &[Item], text: &str, cuts: &mut Vec<(usize, usize)>) {
        for it in items {
            let attrs: &[Attribute] = match it {
                Item::Const(i) => &i.attrs,
                Item::ExternCrate(i) => &i.attrs,
                Item::Enum(i) => &i.attrs,
                Item::Fn(i) => &i.attrs,
                Item::Impl(i) => &i.attrs,
                Item::Mod(i) => &i.attrs,
                Item::Static(i) => &i.attrs,
                Item::Struct(i) => &i.attrs,
                Item::Trait(i) => &i.attrs,
                Item::Type(i) => &i.attrs,
                Item::Use(i) => &i.attrs,
                Item::Macro(i) => &i.attrs,
                _ => &[],
            };
            if !Strip::keep(attrs) {
                let sp = it.span();
                cuts.push((byte_offset(text, sp.start()), byte_offset(text, sp.end())));
                continue;
            }
            if let Item::Impl(imp) = it {
                for ii in &imp.items {
                    if let syn::ImplItem::Fn(f) = ii {
                        if !Strip::keep(&f.attrs) {
                            let sp = ii.span();
                            cuts.push((byte_offset(text, sp.start()), byte_offset(text, sp.end())));
                        }
                    }
                }
            }
            if let Item::Mod(m) = it {
                if let Some((_, inner)) = &m.content {
                    collect(inner, text, cuts);
                }
            }
        }
    }
    collect(&file.items, &text, &mut cuts);
    cuts.sort();
    let mut out = String::new();
    let mut pos = 0;
    for (a, b) in cuts {
        if a < pos {
            continue;
        }
        // Cut whole lines: from the start of the item's first line through its last newline.
        let a = text[..a].rfind('\n').map_or(0, |i| i + 1);
        let b = text[b..].find('\n').map_or(text.len(), |i| b + i + 1);
        out.push_str(&text[pos..a]);
        pos = b;
    }
    out.push_str(&text[pos..]);
    let out: String = out
        .split_inclusive('\n')
        .filter(|l| l.trim() != "#[cfg(not(loom))]")
        .collect();
    // Collapse the blank lines the cuts leave behind.
    let re = regex::Regex::new(r"\n{3,}").unwrap();
    Ok(re.replace_all(&out, "\n\n").into_owned())
}

/// srcu-core as the text of one `pub mod srcu_core { ... }`: lib.rs with each `mod x;`
/// replaced by the stripped text of x.rs, and `crate::` paths pointed at the module.
fn core_module_text(core_src: &Path) -> Result<String> {
    let lib = stripped_text(&core_src.join("lib.rs"))?;
    let re_mod = regex::Regex::new(r"(?m)^(pub )?mod ([a-z_]+);\n").unwrap();
    let mut body = String::new();
    let mut last = 0;
    for c in re_mod.captures_iter(&lib) {
        let m = c.get(0).unwrap();
        body.push_str(&lib[last..m.start()]);
        let name = &c[2];
        let text = stripped_text(&core_src.join(format!("{name}.rs")))?;
        let text = text
            .strip_prefix("// SPDX-License-Identifier: MIT OR GPL-2.0-only\n")
            .unwrap_or(&text);
        body.push_str(&format!(
            "{}mod {name} {{\n{text}}}\n",
            c.get(1).map_or("", |v| v.as_str())
        ));
        last = m.end();
    }
    body.push_str(&lib[last..]);
    let body = body
        .strip_prefix("// SPDX-License-Identifier: MIT OR GPL-2.0-only\n")
        .unwrap_or(&body);
    let body: String = body
        .split_inclusive('\n')
        .filter(|l| l.trim() != "#![cfg_attr(not(test), no_std)]")
        .collect();
    // Point code paths at the module; comments (doc links) are left as written.
    let re_crate = regex::Regex::new(r"\bcrate::").unwrap();
    let body: String = body
        .split_inclusive('\n')
        .map(|l| {
            if l.trim_start().starts_with("//") {
                l.to_string()
            } else {
                re_crate.replace_all(l, "crate::srcu_core::").into_owned()
            }
        })
        .collect();
    Ok(format!(
        "/// srcu-core, the whole algorithm, copied from the srcu-rs repository by the generator\n\
         /// (tests and loom models stripped). `unsafe` is forbidden in this module.\n\
         pub mod srcu_core {{\n{body}}}\n"
    ))
}

/// The generated kernel Rust source (`kernel/rcu/srcu_rs_core.rs`): the glue (crate root),
/// layout assertions (syn/quote, printed by prettyplease), then srcu-core as a module.
pub fn kernel_rust(core_src: &Path, glue: &Path, fields: &[String]) -> Result<String> {
    let glue_text = std::fs::read_to_string(glue)?;
    let glue_text = glue_text
        .strip_prefix("// SPDX-License-Identifier: MIT OR GPL-2.0-only\n")
        .unwrap_or(&glue_text);
    let words = fields.len();
    let size = words * 8;
    let offsets = fields.iter().enumerate().map(|(i, f)| {
        let id = syn::Ident::new(f, proc_macro2::Span::call_site());
        let off = i * 8;
        quote! { const _: () = assert!(core::mem::offset_of!(srcu_core::Srcu, #id) == #off); }
    });
    let initial = srcu_core_initial();
    let asserts: File = syn::parse_quote! {
        const _: () = assert!(core::mem::size_of::<srcu_core::Srcu>() == #size);
        const _: () = assert!(srcu_core::SRCU_WORDS == #words);
        #(#offsets)*
        const _: () = assert!(srcu_core::GP_SEQ_INITIAL == #initial);
        const _: () = assert!(srcu_core::Cookie::COMPLETED.raw() == 1);
    };
    let core = core_module_text(core_src)?;
    let text = format!(
        "// SPDX-License-Identifier: GPL-2.0-only\n\
         // GENERATED by srcu-rs-patches from the srcu-rs repository (srcu-core/src/*.rs and\n\
         // c-shim/kernel/srcu_rs_glue.rs): do not edit; regenerate.\n\
         // Built by kernel/rcu/Makefile with the machine's rustc and kernel code generation.\n\
         {glue_text}\n\
         // Layout shared with C: include/linux/srcu_rs.h has the matching static_asserts.\n\
         {}\n{core}",
        prettyplease::unparse(&asserts)
    );
    syn::parse_file(&text).context("the assembled kernel Rust source does not parse")?;
    Ok(text)
}

/// srcu-core's `GP_SEQ_INITIAL`, as the generator's own copy of the crate computes it.
pub fn srcu_core_initial() -> usize {
    srcu_core::GP_SEQ_INITIAL
}

/// A C type for a Rust FFI type as the glue writes them.
fn c_type(ty: &syn::Type, name: &str) -> Result<String> {
    let t = quote!(#ty).to_string().replace(' ', "");
    Ok(match t.as_str() {
        "*mutc_void" if name == "ssp" => "struct srcu_rs *".into(),
        "*mutc_void" if name == "rhp" || name.is_empty() => "struct rcu_head *".into(),
        "*mutc_ulong" => "unsigned long *".into(),
        "c_ulong" => "unsigned long ".into(),
        "c_long" => "long ".into(),
        "c_int" => "int ".into(),
        "u32" => "u32 ".into(),
        "bool" => "bool ".into(),
        _ => bail!("no C type for {t} ({name})"),
    })
}

fn c_proto(sig: &syn::Signature) -> Result<String> {
    let ret = match &sig.output {
        syn::ReturnType::Default => "void ".to_string(),
        syn::ReturnType::Type(_, t) => c_type(t, "")?,
    };
    let mut args = Vec::new();
    for a in &sig.inputs {
        if let syn::FnArg::Typed(pt) = a {
            let name = match &*pt.pat {
                syn::Pat::Ident(i) => i.ident.to_string(),
                _ => bail!("unnamed argument"),
            };
            args.push(format!("{}{}", c_type(&pt.ty, &name)?, name));
        }
    }
    if args.is_empty() {
        args.push("void".into());
    }
    Ok(format!("{}{}({});", ret, sig.ident, args.join(", ")))
}

/// C prototypes for both directions of the FFI: the `srcu_rs_shim_*` functions Rust calls
/// (defined in srcu_rs.c) and the `srcu_rs_core_*` functions Rust exports.
pub fn c_prototypes(glue: &Path) -> Result<(Vec<String>, Vec<String>)> {
    let g = parse(glue)?;
    let (mut shim, mut core) = (Vec::new(), Vec::new());
    for it in &g.items {
        match it {
            Item::ForeignMod(fm) => {
                for fi in &fm.items {
                    if let syn::ForeignItem::Fn(f) = fi {
                        shim.push(c_proto(&f.sig)?);
                    }
                }
            }
            Item::Fn(f)
                if f.attrs
                    .iter()
                    .any(|a| quote!(#a).to_string().contains("no_mangle")) =>
            {
                core.push(c_proto(&f.sig)?);
            }
            _ => {}
        }
    }
    Ok((shim, core))
}

/// The generated internal header `kernel/rcu/srcu_rs_core.h`: FFI prototypes, so C calls and
/// definitions are type-checked against the Rust declarations (and -Wmissing-prototypes holds).
pub fn c_internal_header(glue: &Path) -> Result<String> {
    let (shim, core) = c_prototypes(glue)?;
    let mut s = String::new();
    s.push_str("/* SPDX-License-Identifier: GPL-2.0-only */\n");
    s.push_str("/*\n * GENERATED by srcu-rs-patches from srcu_rs_glue.rs: do not edit.\n");
    s.push_str(
        " *\n * The interface between the srcu_rs C shim and the Rust core object.\n */\n\n",
    );
    s.push_str("#ifndef __KERNEL_RCU_SRCU_RS_CORE_H\n#define __KERNEL_RCU_SRCU_RS_CORE_H\n\n");
    s.push_str("#include <linux/srcu_rs.h>\n\n");
    let d = srcu_core::DelayPolicy::DEFAULT;
    s.push_str("/* srcu-core's DelayPolicy::DEFAULT: the defaults of srcu_rs.c's module parameters. */\n");
    for (name, v) in [
        ("EXP_NODELAY_SCANS", d.expedited_nodelay_scans as u64),
        ("EXP_FIRST_SLEEP_US", d.expedited_first_sleep_us.into()),
        ("NODELAY_SCANS", d.normal_nodelay_scans as u64),
        ("FIRST_SLEEP_US", d.normal_first_sleep_us.into()),
        ("MAX_SLEEP_US", d.max_sleep_us.into()),
        ("EXP_HOLDOFF_NS", d.exp_holdoff_ns.into()),
    ] {
        s.push_str(&format!("#define SRCU_RS_DEFAULT_{name}\t{v}\n"));
    }
    s.push('\n');
    s.push_str("/* Implemented in C (srcu_rs.c), called from Rust. */\n");
    for p in shim {
        s.push_str(&p);
        s.push('\n');
    }
    s.push_str("\n/* Implemented in Rust (srcu_rs_core.rs), called from C. */\n");
    for p in core {
        s.push_str(&p);
        s.push('\n');
    }
    s.push_str("\n#endif /* __KERNEL_RCU_SRCU_RS_CORE_H */\n");
    Ok(s)
}

/// The generated part of include/linux/srcu_rs.h: the embedded core state, its static
/// initializer and the layout checks.
pub fn c_layout(fields: &[String], init: &[String]) -> String {
    let mut s = String::new();
    s.push_str(
        "/* BEGIN GENERATED by srcu-rs-patches from srcu-core's struct Srcu: do not edit. */\n",
    );
    s.push_str(&format!(
        "#define SRCU_RS_SEQ_INITIAL\t0x{:x}UL\t/* srcu-core GP_SEQ_INITIAL */\n\n",
        srcu_core_initial()
    ));
    s.push_str("/* srcu-core's per-domain state (#[repr(C)], one unsigned long per field). */\n");
    s.push_str("struct srcu_rs_core {\n");
    for f in fields {
        s.push_str(&format!("\tunsigned long {f};\n"));
    }
    s.push_str("};\n\n");
    s.push_str("#define __SRCU_RS_CORE_INIT\t\t\t\t\t\t\\\n{\t\t\t\t\t\t\t\t\\\n");
    for (f, v) in fields.iter().zip(init) {
        s.push_str(&format!("\t.{f} = {v},\t\t\t\t\t\t\\\n"));
    }
    s.push_str("}\n\n");
    s.push_str(&format!(
        "static_assert(sizeof(struct srcu_rs_core) == {} * sizeof(unsigned long));\n",
        fields.len()
    ));
    for (i, f) in fields.iter().enumerate() {
        s.push_str(&format!(
            "static_assert(offsetof(struct srcu_rs_core, {f}) == {i} * sizeof(unsigned long));\n"
        ));
    }
    s.push_str("/* END GENERATED */\n");
    s
}
