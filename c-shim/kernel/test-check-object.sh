#!/bin/bash
# SPDX-License-Identifier: MIT OR GPL-2.0-only
#
# Show that check-object.sh rejects objects that break each rule (and accepts the real one):
#   bad_panic.rs  -> undefined core panic symbol
#   bad_got.rs    -> GOT relocation (memcpy@GOTPCREL)
#   bad_float.rs  -> SSE instructions (built without -sse), x87 instructions (built with -sse)
set -u
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
base=(--edition=2021 --crate-type=lib --emit=obj -C opt-level=2 -C panic=abort -C codegen-units=1
	-C code-model=kernel -C relocation-model=static -C no-redzone=yes -C force-unwind-tables=n
	-C overflow-checks=n --cap-lints=allow)
nosse=(-C target-feature=-sse,-sse2,-sse3,-ssse3,-sse4.1,-sse4.2,-avx,-avx2)
fail=0
expect_reject() { # name pattern object
	local name=$1 pattern=$2 obj=$3 msg
	if msg=$("$here/check-object.sh" "$obj"); then
		echo "FAIL $name: check-object accepted a bad object"; fail=1
	elif ! grep -qE "$pattern" <<<"$msg"; then
		echo "FAIL $name: rejected for the wrong reason: $msg"; fail=1
	else
		echo "ok   $name: $(head -1 <<<"$msg")"
	fi
}
build() { rustc "${base[@]}" "$@" 2>/dev/null; }
build "${nosse[@]}" -o "$out/panic.o" "$here/tests/bad_panic.rs" &&
	expect_reject panic 'undefined symbol .*panic' "$out/panic.o"
build "${nosse[@]}" -o "$out/got.o" "$here/tests/bad_got.rs" &&
	expect_reject got 'GOT relocation' "$out/got.o"
build -o "$out/sse.o" "$here/tests/bad_float.rs" &&
	expect_reject sse 'FPU/SIMD instruction: .*%xmm' "$out/sse.o"
build "${nosse[@]}" -o "$out/x87.o" "$here/tests/bad_float.rs" &&
	expect_reject x87 'FPU/SIMD instruction: .*	f' "$out/x87.o"
for o in panic got sse x87; do
	[ -f "$out/$o.o" ] || { echo "FAIL $o: could not build the bad object"; fail=1; }
done
if "$here/build-object.sh" "$out/real" >/dev/null; then
	echo "ok   real: srcu-core + glue object accepted"
else
	echo "FAIL real: the srcu-core object was rejected"; fail=1
fi
if [ $fail = 0 ]; then echo "check-object: 5 passed, 0 failed"; else echo "check-object: failures above"; fi
exit $fail
