#!/bin/bash
# SPDX-License-Identifier: MIT OR GPL-2.0-only
#
# build-object.sh OUTDIR
#
# Compile srcu-core and the kernel glue with the kernel's code-generation flags (stable rustc,
# x86_64-unknown-linux-gnu; see shared notes kernel-map.md §5c), merge sections with ld -r,
# and check the result with check-object.sh. Leaves OUTDIR/srcu_rs_rust.o.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:?usage: build-object.sh OUTDIR}
mkdir -p "$out"
flags=(--edition=2021 -C opt-level=2 -C panic=abort -C codegen-units=1 -C embed-bitcode=n
	-C code-model=kernel -C relocation-model=static -C no-redzone=yes
	-C target-feature=-sse,-sse2,-sse3,-ssse3,-sse4.1,-sse4.2,-avx,-avx2
	-C force-unwind-tables=n -C jump-tables=n -C overflow-checks=n -C debug-assertions=n
	-C force-frame-pointers=yes -C llvm-args=-x86-indirect-branch-tracking
	--cap-lints=warn)
# The sse2 ABI warning is expected (rust issue #116344): the code has no floating point.
rustc "${flags[@]}" --crate-type=lib --crate-name=srcu_core \
	--emit=obj="$out/srcu_core.o",metadata="$out/libsrcu_core.rmeta" \
	"$root/srcu-core/src/lib.rs" 2> >(grep -v -e 'sse2' -e '116344' -e '^ *|' -e '^ *=' -e '^$' -e 'warning: 1 warning' >&2)
rustc "${flags[@]}" --crate-type=lib --crate-name=srcu_rs_glue \
	--extern srcu_core="$out/libsrcu_core.rmeta" --emit=obj="$out/srcu_rs_glue.o" \
	"$here/srcu_rs_glue.rs" 2> >(grep -v -e 'sse2' -e '116344' -e '^ *|' -e '^ *=' -e '^$' -e 'warning: 1 warning' >&2)
ld -m elf_x86_64 -r -T "$here/merge.lds" -o "$out/srcu_rs_rust.o" "$out/srcu_rs_glue.o" "$out/srcu_core.o"
"$here/check-object.sh" "$out/srcu_rs_rust.o"
