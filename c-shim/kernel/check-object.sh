#!/bin/bash
# SPDX-License-Identifier: MIT OR GPL-2.0-only
#
# check-object.sh OBJECT [EXTRA_ALLOWED_UNDEFINED_REGEX]
#
# Reject a Rust object that cannot be linked into x86_64 vmlinux safely:
#   - an undefined symbol other than the shim's (srcu_rs_shim_*) or the extra allowed ones
#     (the kernel build allows memcpy/memset/memmove);
#   - a GOT relocation (vmlinux.lds.S asserts .got is empty);
#   - an SSE/AVX (xmm/ymm/zmm, mxcsr) or x87 instruction (the kernel saves no FPU state).
# Prints one line per violation and exits 1 if there is any.
set -u
obj=${1:?usage: check-object.sh OBJECT [EXTRA_ALLOWED_UNDEFINED_REGEX]}
extra=${2:-}
allowed='^srcu_rs_shim_[a-z0-9_]+$'
[ -n "$extra" ] && allowed="$allowed|$extra"
for tool in nm readelf objdump; do
	command -v "$tool" >/dev/null ||
		{ echo "check-object: $tool not found (install binutils)"; exit 2; }
done
[ -f "$obj" ] || { echo "check-object: $obj: no such file"; exit 2; }
bad=0
while read -r sym; do
	[ -z "$sym" ] && continue
	if ! [[ $sym =~ $allowed ]]; then
		echo "check-object: $obj: undefined symbol $sym (not a shim function:" \
			"a panic path, a library call or core code that was not inlined)"
		bad=1
	fi
done < <(nm -u "$obj" | awk '{print $NF}')
got=$(readelf -rW "$obj" | grep -E 'R_X86_64_(REX_)?GOTPCREL')
if [ -n "$got" ]; then
	echo "$got" | sed "s|^|check-object: $obj: GOT relocation: |"
	bad=1
fi
x87='ld|st|stp|add|addp|sub|subp|subr|mul|mulp|div|divp|divr|ild|ist|istp|isttp|xch|com|comp'
x87="$x87|ucom|ucomi|comi|chs|abs|sqrt|prem|rndint|scale|xam|tst|init|ninit|wait|save|nsave"
x87="$x87|rstor|ldcw|nstcw|stcw|ldenv|nstenv|free|decstp|incstp|cmov[a-z]*|ld1|ldz|ldpi|ldl2e"
x87="$x87|ldl2t|ldlg2|ldln2|xsave|xrstor|emms"
fpu=$(objdump -d --no-show-raw-insn "$obj" |
	grep -E "%[xyz]mm[0-9]|mxcsr|	f($x87)[sltq]?( |\$)")
if [ -n "$fpu" ]; then
	echo "$fpu" | head -5 | sed "s|^|check-object: $obj: FPU/SIMD instruction: |"
	bad=1
fi
[ $bad = 0 ] &&
	echo "check-object: $obj: ok (no foreign undefined symbols, no GOT relocations, no SSE/x87)"
exit $bad
