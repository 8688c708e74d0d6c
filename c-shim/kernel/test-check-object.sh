#!/bin/bash
# SPDX-License-Identifier: MIT OR GPL-2.0-only
#
# Show that check-object.sh rejects objects built to break each of its rules, for the reason
# of that rule, and accepts the real object (build-object.sh), on x86_64 and powerpc64le.
# Every case is a row of the table below: arch, name, how it is built, source, and the
# patterns the rejection must contain. A bad object that does not build is a failure too.
#
# Needs: rustup targets x86_64-unknown-none and powerpc64le-unknown-linux-gnu, the rust-src
# component, binutils-powerpc64le-linux-gnu.
set -u
here=$(cd "$(dirname "$0")" && pwd)
tests=$here/tests
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
export RUSTC_BOOTSTRAP=1
pass=0
fail=0
ok() { echo "ok   $*"; pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }

# The real objects first: the powerpc64le build also leaves the core metadata and target spec
# that the powerpc64le "kernel" cases below are built against.
for arch in x86_64 powerpc64le; do
	if msg=$("$here/build-object.sh" --arch $arch "$out/real-$arch" 2>&1); then
		ok "$arch real: srcu-core + glue object accepted: $(tail -n 1 <<<"$msg")"
	else
		bad "$arch real: the srcu-core object was not built or was rejected:"
		sed 's/^/     | /' <<<"$msg"
	fi
done

common=(--edition=2021 --crate-type=lib --emit=obj -C opt-level=2 -C panic=abort
	-C codegen-units=1 -C relocation-model=static -C force-unwind-tables=n)
ppc=$out/real-powerpc64le
# Build kinds: the kernel's own target and flags, or a target with what the kernel forbids.
flags() {
	case $1 in
	x86-kernel) echo --target=x86_64-unknown-none -C code-model=kernel -C no-redzone=y ;;
	x86-gnu) echo --target=x86_64-unknown-linux-gnu -C code-model=kernel -C no-redzone=y ;;
	ppc-kernel) echo -Z unstable-options --target="$ppc/srcu_rs_target.json" --sysroot=/dev/null \
		--extern core="$ppc/libcore-srcu_rs.rmeta" \
		--extern compiler_builtins="$ppc/libcompiler_builtins-srcu_rs.rmeta" \
		-L dependency="$ppc" -C code-model=medium ;;
	ppc-gnu) echo --target=powerpc64le-unknown-linux-gnu -C code-model=medium ;;
	ppc-gnu-pwr10) echo --target=powerpc64le-unknown-linux-gnu -C code-model=medium -C target-cpu=pwr10 ;;
	esac
}

# arch name build source pattern...
expect_reject() {
	local arch=$1 name=$2 build=$3 src=$4 obj msg p
	shift 4
	obj=$out/$arch-$name.o
	# shellcheck disable=SC2046 # flags() prints words on purpose
	if ! msg=$(rustc "${common[@]}" $(flags "$build") -o "$obj" "$tests/$src" 2>&1); then
		bad "$arch $name: could not build the bad object ($src):"
		sed 's/^/     | /' <<<"$msg"
		return
	fi
	[ -z "$msg" ] || { bad "$arch $name: rustc printed warnings:"; sed 's/^/     | /' <<<"$msg"; return; }
	if msg=$("$here/check-object.sh" "$obj"); then
		bad "$arch $name: check-object accepted a bad object: $msg"
		return
	fi
	for p in "$@"; do
		grep -qE "$p" <<<"$msg" ||
			{ bad "$arch $name: rejected, but without /$p/:"; sed 's/^/     | /' <<<"$msg"; return; }
	done
	ok "$arch $name: $(grep -E "$1" <<<"$msg" | head -n 1)"
}

expect_reject x86_64 panic x86-kernel bad_panic.rs 'undefined symbol .*panic'
expect_reject x86_64 extern-call x86-kernel bad_extern.rs 'undefined symbol .*: schedule$'
expect_reject x86_64 got x86-kernel bad_got.rs 'GOT relocation: .*GOTPCREL'
expect_reject x86_64 tls x86-gnu bad_tls.rs 'TLS relocation: .*TPOFF'
expect_reject x86_64 sse x86-gnu bad_float.rs 'FPU/SIMD instruction: .*%xmm'
expect_reject x86_64 x87 x86-kernel bad_x87.rs 'FPU/SIMD instruction: .*	f'
expect_reject x86_64 indirect-call x86-kernel bad_indirect.rs 'indirect branch \(retpoline\): .*call +\*'

expect_reject powerpc64 panic ppc-kernel bad_panic.rs 'undefined symbol .*panic'
expect_reject powerpc64 extern-call ppc-kernel bad_extern.rs 'undefined symbol .*: schedule$'
expect_reject powerpc64 soft-float ppc-kernel bad_float.rs 'undefined symbol .*: __[a-z]+df[0-9]?$'
expect_reject powerpc64 hard-float ppc-gnu bad_float.rs 'floating-point/vector instruction: .*	(f[a-z]+|lf[a-z]+) +f[0-9]'
expect_reject powerpc64 vsx ppc-gnu bad_vector.rs 'floating-point/vector instruction: .*	(lxv|stxv)[a-z0-9]* +vs[0-9]'
expect_reject powerpc64 tls ppc-gnu bad_tls.rs "relocation the kernel's C does not use: .*R_PPC64_TPREL16" \
	'r13 \(PACA\) operand'
expect_reject powerpc64 pcrel-got ppc-gnu-pwr10 bad_pcrel.rs "relocation the kernel's C does not use: .*R_PPC64_GOT_PCREL34"

echo "check-object: $pass passed, $fail failed"
[ $fail = 0 ]
