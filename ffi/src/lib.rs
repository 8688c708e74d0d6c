// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! srcu-rs's C ABI and userspace platform. Unsafe Rust lives here (and in the shims) only;
//! each block carries a `// SAFETY:` comment.
#![deny(unsafe_op_in_unsafe_fn)]

pub mod test_nmi;
