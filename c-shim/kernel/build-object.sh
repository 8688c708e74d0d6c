#!/bin/bash
# SPDX-License-Identifier: MIT OR GPL-2.0-only
#
# build-object.sh [--arch x86_64|powerpc64le] OUTDIR
#
# Compile srcu-core and the kernel glue with the flags kernel/rcu/Makefile uses for the
# architecture (Makefile.srcu_rs; x86_64 with the mitigations fragment's return thunks, ENDBR
# and 16-byte function padding), merge the sections with ld -r, and check the result with
# check-object.sh. Leaves OUTDIR/srcu_rs_rust.o. rustc's warnings are shown, never filtered.
# powerpc64le builds core's metadata from rust-src first (OUTDIR/libcore-srcu_rs.rmeta, reused
# while rustc and the target spec are unchanged).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
arch=x86_64
if [ "${1:-}" = --arch ]; then
	arch=${2:?usage: build-object.sh [--arch x86_64|powerpc64le] OUTDIR}
	shift 2
fi
out=${1:?usage: build-object.sh [--arch x86_64|powerpc64le] OUTDIR}
mkdir -p "$out"
export RUSTC_BOOTSTRAP=1
common=(-C opt-level=2 -C panic=abort -C codegen-units=1 -C embed-bitcode=n
	-C relocation-model=static -C force-unwind-tables=n -C overflow-checks=n
	-C debug-assertions=n -C symbol-mangling-version=v0)
case $arch in
x86_64)
	flags=(--target=x86_64-unknown-none "${common[@]}" -C code-model=kernel -C no-redzone=y
		-C jump-tables=n -C force-frame-pointers=y -Z function-return=thunk-extern
		-Z cf-protection=branch -Z patchable-function-entry=16,16)
	deps=()
	ld=(ld -m elf_x86_64)
	allowed='^(mem(cpy|set|move)|__x86_return_thunk)$'
	;;
powerpc64le)
	command -v powerpc64le-linux-gnu-ld >/dev/null ||
		{ echo "build-object: powerpc64le-linux-gnu-ld not found (install binutils-powerpc64le-linux-gnu)" >&2; exit 2; }
	core_src=$(rustc --print sysroot)/lib/rustlib/src/rust/library/core/src/lib.rs
	[ -f "$core_src" ] ||
		{ echo "build-object: $core_src not found: rustup component add rust-src" >&2; exit 2; }
	"$here/target-spec.sh" powerpc64le >"$out/srcu_rs_target.json.new"
	flags=(-Z unstable-options --target="$out/srcu_rs_target.json" --sysroot=/dev/null
		"${common[@]}" -C code-model=medium -C target-cpu=pwr8)
	stamp=$( (rustc -vV; cat "$out/srcu_rs_target.json.new") | sha256sum)
	if [ "$(cat "$out/core.stamp" 2>/dev/null)" != "$stamp" ] || [ ! -f "$out/libcore-srcu_rs.rmeta" ]; then
		mv "$out/srcu_rs_target.json.new" "$out/srcu_rs_target.json"
		rustc "${flags[@]}" --edition=2024 --crate-type=rlib --crate-name=core \
			-Z always-encode-mir --emit=metadata="$out/libcore-srcu_rs.rmeta" "$core_src"
		rustc "${flags[@]}" --edition=2021 --crate-type=rlib --crate-name=compiler_builtins \
			--extern core="$out/libcore-srcu_rs.rmeta" \
			--emit=metadata="$out/libcompiler_builtins-srcu_rs.rmeta" "$here/srcu_rs_builtins.rs"
		echo "$stamp" >"$out/core.stamp"
	else
		rm -f "$out/srcu_rs_target.json.new"
	fi
	deps=(--extern core="$out/libcore-srcu_rs.rmeta"
		--extern compiler_builtins="$out/libcompiler_builtins-srcu_rs.rmeta" -L dependency="$out")
	ld=(powerpc64le-linux-gnu-ld -m elf64lppc)
	allowed='^mem(cpy|set|move)$'
	;;
*)
	echo "build-object: unknown --arch '$arch' (valid: x86_64, powerpc64le)" >&2
	exit 2
	;;
esac
rustc "${flags[@]}" "${deps[@]}" --edition=2021 --crate-type=lib --crate-name=srcu_core \
	--emit=obj="$out/srcu_core.o",metadata="$out/libsrcu_core.rmeta" "$root/srcu-core/src/lib.rs"
rustc "${flags[@]}" "${deps[@]}" --edition=2021 --crate-type=lib --crate-name=srcu_rs_glue \
	--extern srcu_core="$out/libsrcu_core.rmeta" --emit=obj="$out/srcu_rs_glue.o" \
	"$here/srcu_rs_glue.rs"
"${ld[@]}" -r -T "$here/merge.lds" -o "$out/srcu_rs_rust.o" "$out/srcu_rs_glue.o" "$out/srcu_core.o"
"$here/check-object.sh" "$out/srcu_rs_rust.o" "$allowed"
