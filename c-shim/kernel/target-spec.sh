#!/bin/sh
# SPDX-License-Identifier: MIT OR GPL-2.0-only
#
# target-spec.sh ARCH: print the rustc target spec (JSON) that srcu_rs_core.rs, and the core
# it is compiled against, are built for, where no prebuilt rustc target fits the kernel.
# kernel/rcu/Makefile writes it to srcu_rs_target.json, as scripts/generate_rust_target.rs
# writes scripts/target.json for CONFIG_RUST (which has no powerpc target in 6.12).
#
# powerpc64le: the ELFv2 ABI, little-endian, with the data layout LLVM has for
# powerpc64le-unknown-linux-gnu, and the kernel's code generation (arch/powerpc/Makefile):
# no FP, AltiVec or VSX registers (-msoft-float -mno-altivec -mno-vsx; LLVM drops the
# features that imply them, e.g. power8-vector, crypto, mma), no prefixed or PC-relative
# instructions (-mno-prefixed -mno-pcrel), so data is addressed TOC-relative from r2.
# os "none": no TLS, no unwinding, no stack probes. The CPU and the code model come from the
# command line (-Ctarget-cpu from CONFIG_TARGET_CPU, -Ccode-model=medium).
set -eu
case ${1:-} in
powerpc64le)
	cat <<'EOF'
{
  "arch": "powerpc64",
  "abi": "elfv2",
  "llvm-abiname": "elfv2",
  "llvm-target": "powerpc64le-unknown-linux-gnu",
  "data-layout": "e-m:e-Fn32-i64:64-i128:128-n32:64-S128-v256:256:256-v512:512:512",
  "target-endian": "little",
  "target-pointer-width": 64,
  "max-atomic-width": 64,
  "cpu": "pwr8",
  "features": "-hard-float,-altivec,-vsx,-prefix-instrs,-pcrelative-memops",
  "os": "none",
  "panic-strategy": "abort",
  "frame-pointer": "may-omit",
  "stack-probes": { "kind": "none" }
}
EOF
	;;
*)
	echo "usage: target-spec.sh powerpc64le (the only architecture with a spec of its own)" >&2
	exit 2
	;;
esac
