// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! The kernel's inline reader fast path, generated from srcu-core's `readers.rs`.
//!
//! `count`, `Srcu::read_lock` and `Srcu::read_unlock` are parsed with syn and translated
//! statement by statement into C for include/linux/srcu_rs.h. The translator knows only the
//! constructs the protocol uses (the `Platform` calls `in_nmi`, `fault`, `atomic_inc`,
//! `percpu_inc`, `reader_mb`; `read_once` of a `Srcu` field; `Counter::lock`/`unlock`; `&`,
//! `&&`, `!=`, `==`; `if`/`else`; `let`; calls of the barrier functions) and refuses anything
//! else, so the C cannot silently drift from the Rust: a changed protocol either regenerates
//! different C (and the committed series no longer matches, which `patches/ci-check.sh`
//! reports) or fails generation.
//!
//! Each reader barrier is a function of its own, `fn barrier_x<P: Platform>(p: &P)` whose body
//! is exactly `p.reader_mb();` and whose doc comment starts with its letter (`/// X: ...`, the
//! pairing); a call `barrier_x(p);` becomes `smp_mb(); /* X: ... */`. A bare `p.reader_mb()` in
//! the protocol is refused: a barrier in a function of its own is one that mutation testing
//! can remove.

use anyhow::{ensure, Context, Result};
use quote::ToTokens;
use srcu_core::{Counter, Fault};
use syn::{BinOp, Block, Expr, FnArg, ImplItem, Item, Lit, Pat, Stmt};

/// What the translator is generating.
struct Gen<'a> {
    fields: &'a [String],
    /// Fault variants referenced, as (C name, value).
    faults: Vec<(String, u32)>,
    /// The local names bound so far, with their Rust type as the translator tracks it.
    locals: Vec<(String, &'static str)>,
    /// The barrier functions: (name, letter).
    barriers: Vec<(String, String)>,
}

/// The barrier function `f` (`fn barrier_x<P: Platform>(p: &P) { p.reader_mb(); }` with a doc
/// comment `/// X: ...`): its letter.
fn barrier_fn(f: &syn::ItemFn) -> Result<String> {
    let name = f.sig.ident.to_string();
    let suffix = name.strip_prefix("barrier_").unwrap_or_default();
    ensure!(
        suffix.len() == 1 && suffix.chars().all(|c| c.is_ascii_lowercase()),
        unknown("the barrier function name", &f.sig.ident)
    );
    let letter = suffix.to_ascii_uppercase();
    ensure!(
        params(&f.sig) == [("p".into(), "&P".into())]
            && matches!(f.sig.output, syn::ReturnType::Default),
        unknown("the signature of", &f.sig)
    );
    let body_ok = match f.block.stmts.as_slice() {
        [Stmt::Expr(Expr::MethodCall(m), Some(_))] => {
            Gen::is_p(&m.receiver) && m.method == "reader_mb" && m.args.is_empty()
        }
        _ => false,
    };
    ensure!(body_ok, unknown("the barrier function body", &f.block));
    let doc = f.attrs.iter().find_map(|a| match &a.meta {
        syn::Meta::NameValue(nv) if nv.path.is_ident("doc") => match &nv.value {
            Expr::Lit(syn::ExprLit { lit: Lit::Str(s), .. }) => Some(s.value()),
            _ => None,
        },
        _ => None,
    });
    ensure!(
        doc.is_some_and(|d| d.trim_start().starts_with(&format!("{letter}:"))),
        "reader fast path: {name} in srcu-core's readers.rs has no `/// {letter}: ...` doc \
         comment naming its barrier pairing"
    );
    Ok(letter)
}

fn screaming(camel: &str) -> String {
    let mut s = String::new();
    for (i, ch) in camel.chars().enumerate() {
        if ch.is_ascii_uppercase() && i > 0 {
            s.push('_');
        }
        s.push(ch.to_ascii_uppercase());
    }
    s
}

fn unknown(what: &str, tokens: &dyn ToTokens) -> anyhow::Error {
    anyhow::anyhow!(
        "reader fast path: the C generator does not know {what} `{}` in srcu-core's readers.rs; \
         teach patches/src/readgen.rs (and check the kernel header) before changing the protocol",
        tokens.to_token_stream()
    )
}

impl Gen<'_> {
    /// The letter of the barrier that the call `c` is, if it is `barrier_x(p)`.
    fn barrier_call(&self, c: &syn::ExprCall) -> Option<String> {
        let Expr::Path(f) = &*c.func else { return None };
        let name = f.path.get_ident()?.to_string();
        if c.args.len() != 1 || !Self::is_p(&c.args[0]) {
            return None;
        }
        self.barriers.iter().find(|(n, _)| *n == name).map(|(_, l)| l.clone())
    }

    fn is_p(e: &Expr) -> bool {
        matches!(e, Expr::Path(p) if p.path.is_ident("p"))
    }

    /// A counter expression `Counter::lock(E)` or `Counter::unlock(E)`: the C slot expression.
    fn counter(&mut self, e: &Expr) -> Result<String> {
        if let Expr::Call(c) = e {
            if let Expr::Path(f) = &*c.func {
                let segs: Vec<String> = f
                    .path
                    .segments
                    .iter()
                    .map(|s| s.ident.to_string())
                    .collect();
                if segs.len() == 2 && segs[0] == "Counter" && c.args.len() == 1 {
                    let kind = match segs[1].as_str() {
                        "lock" => "LOCK",
                        "unlock" => "UNLOCK",
                        _ => return Err(unknown("the counter constructor", e)),
                    };
                    let idx = self.expr(&c.args[0])?;
                    return Ok(format!("SRCU_RS_{kind}_SLOT({idx})"));
                }
            }
        }
        Err(unknown("the counter expression", e))
    }

    fn expr(&mut self, e: &Expr) -> Result<String> {
        match e {
            Expr::Paren(p) => Ok(format!("({})", self.expr(&p.expr)?)),
            Expr::Lit(l) => match &l.lit {
                Lit::Int(i) => Ok(i.base10_digits().to_string()),
                _ => Err(unknown("the literal", e)),
            },
            Expr::Path(p) => {
                if let Some(id) = p.path.get_ident() {
                    let id = id.to_string();
                    if self.locals.iter().any(|(n, _)| *n == id) {
                        return Ok(id);
                    }
                    return Err(unknown("the name", e));
                }
                let segs: Vec<String> = p
                    .path
                    .segments
                    .iter()
                    .map(|s| s.ident.to_string())
                    .collect();
                if segs.len() == 2 && segs[0] == "Fault" {
                    let v = (0..64)
                        .filter_map(Fault::from_raw)
                        .find(|f| format!("{f:?}") == segs[1])
                        .with_context(|| format!("srcu-core has no Fault::{}", segs[1]))?;
                    let name = format!("SRCU_RS_FAULT_{}", screaming(&segs[1]));
                    if !self.faults.iter().any(|(n, _)| *n == name) {
                        self.faults.push((name.clone(), v as u32));
                    }
                    return Ok(name);
                }
                Err(unknown("the path", e))
            }
            Expr::Binary(b) => {
                let op = match b.op {
                    BinOp::And(_) => "&&",
                    BinOp::BitAnd(_) => "&",
                    BinOp::Ne(_) => "!=",
                    BinOp::Eq(_) => "==",
                    _ => return Err(unknown("the operator", &b.op)),
                };
                Ok(format!(
                    "{} {op} {}",
                    self.expr(&b.left)?,
                    self.expr(&b.right)?
                ))
            }
            Expr::MethodCall(m) => {
                let name = m.method.to_string();
                if Self::is_p(&m.receiver) {
                    return match (name.as_str(), m.args.len()) {
                        ("in_nmi", 0) => Ok("__srcu_rs_in_nmi()".into()),
                        ("fault", 0) => Ok("__srcu_rs_fault(ssp)".into()),
                        ("atomic_inc", 1) => Ok(format!(
                            "__srcu_rs_atomic_inc(ssp, {})",
                            self.slot_arg(&m.args[0])?
                        )),
                        ("percpu_inc", 1) => Ok(format!(
                            "__srcu_rs_percpu_inc(ssp, {})",
                            self.slot_arg(&m.args[0])?
                        )),
                        _ => Err(unknown("the Platform call", e)),
                    };
                }
                // `idx.get()` on a ReaderIndex parameter: the raw index.
                if let Expr::Path(p) = &*m.receiver {
                    if let Some(id) = p.path.get_ident() {
                        let id = id.to_string();
                        if name == "get"
                            && m.args.is_empty()
                            && self
                                .locals
                                .iter()
                                .any(|(n, t)| *n == id && *t == "ReaderIndex")
                        {
                            return Ok(id);
                        }
                    }
                }
                Err(unknown("the method call", e))
            }
            Expr::Call(c) => {
                let f = match &*c.func {
                    Expr::Path(p) => p.path.to_token_stream().to_string().replace(' ', ""),
                    _ => return Err(unknown("the call", e)),
                };
                match (f.as_str(), c.args.len()) {
                    ("read_once", 1) => {
                        // read_once(&self.FIELD) with FIELD one of struct Srcu's.
                        if let Expr::Reference(r) = &c.args[0] {
                            if let Expr::Field(fe) = &*r.expr {
                                let base_is_self =
                                    matches!(&*fe.base, Expr::Path(p) if p.path.is_ident("self"));
                                if let syn::Member::Named(n) = &fe.member {
                                    let n = n.to_string();
                                    if base_is_self && self.fields.contains(&n) {
                                        return Ok(format!("READ_ONCE(ssp->core.{n})"));
                                    }
                                }
                            }
                        }
                        Err(unknown("the read_once argument", &c.args[0]))
                    }
                    ("count", 2) if Self::is_p(&c.args[0]) => {
                        let slot = self.counter(&c.args[1])?;
                        Ok(format!("__srcu_rs_count(ssp, {slot})"))
                    }
                    _ => Err(unknown("the call", e)),
                }
            }
            _ => Err(unknown("the expression", e)),
        }
    }

    /// The argument of `p.atomic_inc(c)` / `p.percpu_inc(c)`: the counter parameter `c` of
    /// `count`, or a `Counter::lock/unlock(..)` expression.
    fn slot_arg(&mut self, e: &Expr) -> Result<String> {
        if let Expr::Path(p) = e {
            if let Some(id) = p.path.get_ident() {
                let id = id.to_string();
                if self.locals.iter().any(|(n, t)| *n == id && *t == "Counter") {
                    return Ok("slot".into());
                }
            }
        }
        self.counter(e)
    }

    fn block(&mut self, b: &Block, indent: usize, out: &mut String, tail: &str) -> Result<()> {
        let tabs = "\t".repeat(indent);
        let n = b.stmts.len();
        for (i, st) in b.stmts.iter().enumerate() {
            match st {
                Stmt::Local(l) => {
                    let name = match &l.pat {
                        Pat::Ident(pi) => pi.ident.to_string(),
                        _ => return Err(unknown("the binding", &l.pat)),
                    };
                    let init = l
                        .init
                        .as_ref()
                        .ok_or_else(|| unknown("the uninitialised binding", &l.pat))?;
                    ensure!(init.diverge.is_none(), unknown("let-else", &l.pat));
                    let v = self.expr(&init.expr)?;
                    self.locals.push((name.clone(), "usize"));
                    out.push_str(&format!("{tabs}unsigned long {name} = {v};\n\n"));
                }
                Stmt::Expr(Expr::If(ifx), _) => {
                    let cond = self.expr(&ifx.cond)?;
                    out.push_str(&format!("{tabs}if ({cond})\n"));
                    let mut then = String::new();
                    self.block(&ifx.then_branch, indent + 1, &mut then, "")?;
                    ensure!(
                        then.lines().count() == 1,
                        unknown("the multi-statement branch", &ifx.then_branch)
                    );
                    out.push_str(&then);
                    if let Some((_, eb)) = &ifx.else_branch {
                        match &**eb {
                            Expr::Block(b) => {
                                let mut els = String::new();
                                self.block(&b.block, indent + 1, &mut els, "")?;
                                ensure!(
                                    els.lines().count() == 1,
                                    unknown("the multi-statement branch", &b.block)
                                );
                                out.push_str(&format!("{tabs}else\n{els}"));
                            }
                            other => return Err(unknown("the else-if", other)),
                        }
                    }
                }
                Stmt::Expr(Expr::Call(c), Some(_)) if self.barrier_call(c).is_some() => {
                    let letter = self.barrier_call(c).unwrap_or_default();
                    out.push_str(&format!(
                        "{tabs}smp_mb(); /* {letter}: see srcu-core's readers.rs */\n"
                    ));
                }
                Stmt::Expr(e, Some(_)) => {
                    out.push_str(&format!("{tabs}{};\n", self.expr(e)?));
                }
                Stmt::Expr(e, None) if i + 1 == n && !tail.is_empty() => {
                    // The tail expression: `ReaderIndex(idx as u8)` in read_lock.
                    if let Expr::Call(c) = e {
                        if let Expr::Path(f) = &*c.func {
                            if f.path.is_ident(tail) && c.args.len() == 1 {
                                if let Expr::Cast(cast) = &c.args[0] {
                                    let v = self.expr(&cast.expr)?;
                                    out.push_str(&format!("{tabs}return {v};\n"));
                                    continue;
                                }
                            }
                        }
                    }
                    return Err(unknown("the return value", e));
                }
                _ => return Err(unknown("the statement", st)),
            }
        }
        Ok(())
    }
}

/// The parameter names and types (as printed, spaces removed) of a function, `self` excluded.
fn params(sig: &syn::Signature) -> Vec<(String, String)> {
    sig.inputs
        .iter()
        .filter_map(|a| match a {
            FnArg::Typed(pt) => Some((
                pt.pat.to_token_stream().to_string(),
                pt.ty.to_token_stream().to_string().replace(' ', ""),
            )),
            FnArg::Receiver(_) => None,
        })
        .collect()
}

/// The C reader fast path for include/linux/srcu_rs.h, from the text of srcu-core's
/// readers.rs and struct Srcu's field names.
pub fn c_readers(readers_rs: &str, fields: &[String]) -> Result<String> {
    let file = syn::parse_file(readers_rs).context("parsing srcu-core's readers.rs")?;
    let mut count_fn = None;
    let (mut lock_fn, mut unlock_fn) = (None, None);
    let mut barriers = Vec::new();
    for it in &file.items {
        match it {
            Item::Fn(f) if f.sig.ident == "count" => count_fn = Some(f),
            Item::Fn(f) if f.sig.ident.to_string().starts_with("barrier_") => {
                barriers.push((f.sig.ident.to_string(), barrier_fn(f)?));
            }
            Item::Impl(imp) if imp.self_ty.to_token_stream().to_string() == "Srcu" => {
                for ii in &imp.items {
                    if let ImplItem::Fn(f) = ii {
                        match f.sig.ident.to_string().as_str() {
                            "read_lock" => lock_fn = Some(f),
                            "read_unlock" => unlock_fn = Some(f),
                            _ => {}
                        }
                    }
                }
            }
            _ => {}
        }
    }
    let count_fn = count_fn.context("readers.rs has no fn count")?;
    let lock_fn = lock_fn.context("readers.rs has no Srcu::read_lock")?;
    let unlock_fn = unlock_fn.context("readers.rs has no Srcu::read_unlock")?;

    let mut g = Gen {
        fields,
        faults: Vec::new(),
        locals: Vec::new(),
        barriers,
    };

    ensure!(
        params(&count_fn.sig) == [("p".into(), "&P".into()), ("c".into(), "Counter".into())],
        unknown("the signature of", &count_fn.sig)
    );
    g.locals = vec![("c".into(), "Counter")];
    let mut count_body = String::new();
    g.block(&count_fn.block, 1, &mut count_body, "")?;

    ensure!(
        params(&lock_fn.sig) == [("p".into(), "&P".into())]
            && lock_fn.sig.output.to_token_stream().to_string() == "-> ReaderIndex",
        unknown("the signature of", &lock_fn.sig)
    );
    g.locals = Vec::new();
    let mut lock_body = String::new();
    g.block(&lock_fn.block, 1, &mut lock_body, "ReaderIndex")?;
    ensure!(
        lock_body.contains("\treturn "),
        "reader fast path: read_lock returns no index"
    );

    ensure!(
        params(&unlock_fn.sig)
            == [
                ("p".into(), "&P".into()),
                ("idx".into(), "ReaderIndex".into())
            ]
            && matches!(unlock_fn.sig.output, syn::ReturnType::Default),
        unknown("the signature of", &unlock_fn.sig)
    );
    g.locals = vec![("idx".into(), "ReaderIndex")];
    let mut unlock_body = String::new();
    g.block(&unlock_fn.block, 1, &mut unlock_body, "")?;

    // Slot numbering, from srcu-core's Counter::slot().
    let lock0 = Counter::lock(0).slot();
    let unlock0 = Counter::unlock(0).slot();
    ensure!(
        Counter::lock(1).slot() == lock0 + 1 && Counter::unlock(1).slot() == unlock0 + 1,
        "srcu-core's Counter::slot() no longer maps index 1 to slot(index 0) + 1"
    );

    let mut s = String::new();
    s.push_str(
        "/* BEGIN GENERATED by srcu-rs-patches from srcu-core's readers.rs: do not edit. */\n",
    );
    s.push_str("/* Counter slots, as srcu-core's Counter::slot() numbers them. */\n");
    s.push_str(&format!(
        "#define SRCU_RS_LOCK_SLOT(idx)\t\t({lock0} + ((idx) & 1))\n"
    ));
    s.push_str(&format!(
        "#define SRCU_RS_UNLOCK_SLOT(idx)\t({unlock0} + ((idx) & 1))\n"
    ));
    for (n, v) in &g.faults {
        s.push_str(&format!("#define {n}\t{v}\t/* srcu-core Fault */\n"));
    }
    s.push_str(
        "\n/* srcu-core's count(): increment a counter in the half that suits the context. */\n",
    );
    s.push_str(
        "static __always_inline void __srcu_rs_count(struct srcu_rs *ssp,\n\
         \t\t\t\t\t    unsigned long slot)\n{\n",
    );
    s.push_str(&count_body);
    s.push_str("}\n\n");
    s.push_str("/* srcu-core's Srcu::read_lock(). */\n");
    s.push_str("static __always_inline int __srcu_rs_read_lock(struct srcu_rs *ssp)\n{\n");
    s.push_str(&lock_body);
    s.push_str("}\n\n");
    s.push_str("/* srcu-core's Srcu::read_unlock(). */\n");
    s.push_str(
        "static __always_inline void __srcu_rs_read_unlock(struct srcu_rs *ssp, int idx)\n{\n",
    );
    s.push_str(&unlock_body);
    s.push_str("}\n\n");
    s.push_str("/* END GENERATED */\n");
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    const READERS: &str = include_str!("../../srcu-core/src/readers.rs");

    fn fields() -> Vec<String> {
        let core = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../srcu-core/src"));
        crate::rustgen::srcu_fields(core).unwrap()
    }

    fn gen(text: &str) -> Result<String> {
        c_readers(text, &fields())
    }

    /// Replace exactly one occurrence (the test must notice if readers.rs changes shape).
    fn edit(old: &str, new: &str) -> String {
        assert_eq!(
            READERS.matches(old).count(),
            1,
            "{old:?} not unique in readers.rs"
        );
        READERS.replacen(old, new, 1)
    }

    #[test]
    fn current_protocol_maps_to_the_documented_c() {
        let c = gen(READERS).unwrap();
        let want_count =
            "\tif (__srcu_rs_in_nmi() && __srcu_rs_fault(ssp) != SRCU_RS_FAULT_NMI_IN_PERCPU_HALF)\n\
                          \t\t__srcu_rs_atomic_inc(ssp, slot);\n\
                          \telse\n\
                          \t\t__srcu_rs_percpu_inc(ssp, slot);\n";
        assert!(c.contains(want_count), "{c}");
        let want_lock = "\tunsigned long idx = READ_ONCE(ssp->core.srcu_idx) & 1;\n\n\
                         \t__srcu_rs_count(ssp, SRCU_RS_LOCK_SLOT(idx));\n\
                         \tsmp_mb(); /* B: see srcu-core's readers.rs */\n\
                         \treturn idx;\n";
        assert!(c.contains(want_lock), "{c}");
        let want_unlock = "\tsmp_mb(); /* C: see srcu-core's readers.rs */\n\
                           \t__srcu_rs_count(ssp, SRCU_RS_UNLOCK_SLOT(idx));\n";
        assert!(c.contains(want_unlock), "{c}");
        assert!(c.contains("#define SRCU_RS_FAULT_NMI_IN_PERCPU_HALF\t4\t"));
        assert!(c.contains("#define SRCU_RS_LOCK_SLOT(idx)\t\t(0 + ((idx) & 1))"));
        assert!(c.contains("#define SRCU_RS_UNLOCK_SLOT(idx)\t(2 + ((idx) & 1))"));
        assert_eq!(c.matches("smp_mb()").count(), 2);
    }

    #[test]
    fn removed_barrier_changes_the_c() {
        let base = gen(READERS).unwrap();
        let t = edit(
            "        barrier_b(p);\n        ReaderIndex",
            "        ReaderIndex",
        );
        let c = gen(&t).unwrap();
        assert_ne!(c, base);
        assert_eq!(c.matches("smp_mb()").count(), 1);
        assert!(!c.contains("/* B:"));
    }

    #[test]
    fn swapped_nmi_branch_changes_the_c() {
        let base = gen(READERS).unwrap();
        let t = edit(
            "        p.atomic_inc(c);\n    } else {\n        p.percpu_inc(c);",
            "        p.percpu_inc(c);\n    } else {\n        p.atomic_inc(c);",
        );
        let c = gen(&t).unwrap();
        assert_ne!(c, base);
        assert!(
            c.contains("\t\t__srcu_rs_percpu_inc(ssp, slot);\n\telse\n\t\t__srcu_rs_atomic_inc")
        );
    }

    #[test]
    fn barrier_moved_before_the_increment_changes_the_c() {
        let base = gen(READERS).unwrap();
        let t = edit("        count(p, Counter::lock(idx));\n", "").replacen(
            "        ReaderIndex(idx as u8)",
            "        count(p, Counter::lock(idx));\n        ReaderIndex(idx as u8)",
            1,
        );
        let c = gen(&t).unwrap();
        assert_ne!(c, base);
    }

    #[test]
    fn unknown_constructs_are_refused() {
        for (old, new) in [
            (
                "        barrier_b(p);\n        ReaderIndex",
                "        p.relax();\n        ReaderIndex",
            ),
            (
                "        barrier_b(p);\n        ReaderIndex",
                "        p.reader_mb();\n        ReaderIndex",
            ),
            (
                "fn barrier_b<P: Platform>(p: &P) {\n    p.reader_mb();",
                "fn barrier_b<P: Platform>(p: &P) {\n    p.smp_mb();",
            ),
            ("p.in_nmi() &&", "p.in_hardirq() &&"),
            (
                "read_once(&self.srcu_idx) & 1",
                "read_once(&self.srcu_idx) | 1",
            ),
            ("read_once(&self.srcu_idx)", "read_once(&self.not_a_field)"),
            (
                "count(p, Counter::unlock(idx.get()));",
                "count(p, Counter::unlock(idx.get()));\n        p.sync();",
            ),
            ("Counter::lock(idx)", "Counter::lock_nmi(idx)"),
        ] {
            let t = edit(old, new);
            let e = gen(&t).expect_err(new);
            assert!(e.to_string().contains("reader fast path"), "{e}");
        }
    }

    #[test]
    fn barrier_without_named_pairing_is_refused() {
        let t = edit("/// B: order", "/// order");
        let e = gen(&t).unwrap_err();
        assert!(e.to_string().contains("naming its barrier"), "{e}");
    }
}
