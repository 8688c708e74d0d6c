#!/bin/bash
# SPDX-License-Identifier: MIT OR GPL-2.0-only
#
# check-object.sh OBJECT [EXTRA_ALLOWED_UNDEFINED_REGEX]
#
# Reject a Rust object that cannot be linked into vmlinux safely. The rules follow the
# object's ELF machine:
#
# every architecture
#   - an undefined symbol other than the shim's (srcu_rs_shim_*) or the extra allowed ones
#     (the kernel build allows memcpy/memset/memmove, and the return thunk on x86): a panic
#     path, a library call or core code that was not inlined;
# x86_64
#   - a GOT relocation (vmlinux.lds.S asserts .got is empty) or a TLS relocation;
#   - an SSE/AVX (xmm/ymm/zmm, mxcsr) or x87 instruction (the kernel saves no FPU state);
#   - an indirect call or jump (retpoline: the code is written without any);
# powerpc64 (little-endian ELFv2 only)
#   - an object that is not ELFv2;
#   - a relocation outside the set gcc emits for the kernel's C with -mcmodel=medium
#     (REL24, REL16_HA/LO, TOC16_HA/LO/LO_DS, ADDR64, REL32, REL64): no GOT, PLT, TLS,
#     absolute 16-bit or PC-relative (prefixed) relocations;
#   - a floating-point, AltiVec or VSX instruction, or an f/v/vs register operand (the
#     kernel saves none of them);
#   - an r13 operand (the PACA pointer; only TLS accesses would name it).
# Tools: $NM, $READELF and $OBJDUMP (as kbuild passes them), else the host's for x86_64 and
# powerpc64le-linux-gnu-* for powerpc64.
# Prints one line per violation and exits 1 if there is any; 2 if it cannot check.
set -u
obj=${1:?usage: check-object.sh OBJECT [EXTRA_ALLOWED_UNDEFINED_REGEX]}
extra=${2:-}
[ -f "$obj" ] || { echo "check-object: $obj: no such file"; exit 2; }
# A tool variable may carry options (powerpc's NM is "nm --synthetic"): split it into words.
read -ra readelf <<<"${READELF:-readelf}"
command -v "${readelf[0]}" >/dev/null ||
	{ echo "check-object: ${readelf[0]} not found (install binutils)"; exit 2; }
machine=$("${readelf[@]}" -h "$obj" 2>/dev/null | sed -n 's/^ *Machine: *//p')
case $machine in
*X86-64*)
	arch=x86_64 prefix= pkg=binutils ;;
PowerPC64*)
	arch=powerpc64 prefix=powerpc64le-linux-gnu- pkg=binutils-powerpc64le-linux-gnu ;;
*)
	echo "check-object: $obj: machine '$machine' has no rules (x86_64 and powerpc64 only)"
	exit 2 ;;
esac
read -ra nm <<<"${NM:-${prefix}nm}"
read -ra readelf <<<"${READELF:-${prefix}readelf}"
read -ra objdump <<<"${OBJDUMP:-${prefix}objdump}"
for tool in "${nm[0]}" "${readelf[0]}" "${objdump[0]}"; do
	command -v "$tool" >/dev/null ||
		{ echo "check-object: $tool not found (install $pkg)"; exit 2; }
done
disasm=$("${objdump[@]}" -d --no-show-raw-insn "$obj" 2>&1) ||
	{ echo "check-object: ${objdump[*]} cannot disassemble $obj (install $pkg):"
	  echo "$disasm"; exit 2; }
relocs=$("${readelf[@]}" -rW "$obj")
bad=0
report() { # what lines...
	local what=$1
	shift
	[ -n "$*" ] || return 0
	head -5 <<<"$*" | sed "s|^|check-object: $obj: $what: |"
	bad=1
}

allowed='^srcu_rs_shim_[a-z0-9_]+$'
# .TOC. is the linker-defined TOC base that every ppc64 function's global entry refers to.
[ $arch = powerpc64 ] && allowed="$allowed|^\\.TOC\\.\$"
[ -n "$extra" ] && allowed="$allowed|$extra"
undef=
while read -r sym; do
	[ -z "$sym" ] || [[ $sym =~ $allowed ]] || undef+="$sym"$'\n'
done < <("${nm[@]}" -u "$obj" | awk '{print $NF}')
why="not a shim function: a panic path, a library call or core code that was not inlined"
report "undefined symbol ($why)" "${undef%$'\n'}"

case $arch in
x86_64)
	report "GOT relocation" "$(grep -E 'R_X86_64_(REX_)?GOT' <<<"$relocs")"
	tls='R_X86_64_(TPOFF|DTPOFF|DTPMOD|GOTTPOFF|TLSGD|TLSLD|TLSDESC)'
	report "TLS relocation" "$(grep -E "$tls" <<<"$relocs")"
	x87='ld|st|stp|add|addp|sub|subp|subr|mul|mulp|div|divp|divr|ild|ist|istp|isttp|xch'
	x87="$x87|com|comp|ucom|ucomi|comi|chs|abs|sqrt|prem|rndint|scale|xam|tst|init|ninit"
	x87="$x87|wait|save|nsave|rstor|ldcw|nstcw|stcw|ldenv|nstenv|free|decstp|incstp"
	x87="$x87|cmov[a-z]*|ld1|ldz|ldpi|ldl2e|ldl2t|ldlg2|ldln2|xsave|xrstor|emms"
	fpu="%[xyz]mm[0-9]|mxcsr|	f($x87)[sltq]?( |\$)"
	report "FPU/SIMD instruction" "$(grep -E "$fpu" <<<"$disasm")"
	report "indirect branch (retpoline)" "$(grep -E '	(call|jmp)[a-z]* +\*' <<<"$disasm")"
	;;
powerpc64)
	flags=$("${readelf[@]}" -h "$obj" | sed -n 's/^ *Flags: *//p')
	[[ $flags == *abiv2* ]] || report "not ELFv2 (e_flags: $flags)" "$obj"
	ok='R_PPC64_(REL24|REL16_HA|REL16_LO|TOC16_HA|TOC16_LO|TOC16_LO_DS|ADDR64|REL32|REL64)'
	report "relocation the kernel's C does not use" \
		"$(grep -E '^[0-9a-f]+ +[0-9a-f]+ +R_PPC64_' <<<"$relocs" | grep -vE " $ok +")"
	# Mnemonics: FP arithmetic, loads and stores (lf*, stf*, plfd...), FPSCR moves,
	# AltiVec (v*, lv*, stv*, m[ft]vscr, m[ft]vrsave, dss/dst*), VSX (xs*, xv*, xx*, lx*,
	# stx*, m[ft]vsr*); operands f0-f31, v0-v31, vs0-vs63.
	insn='f[a-z]|l[fvx]|st[fvx]|v[a-z]|x[svx]|m[ft]fs|mcrfs|m[ft]vs|m[ft]vrsave|dss|dst'
	fpvec="	p?($insn)[a-z0-9.+-]*( |\$)|[ ,(](f|v|vs)[0-9]+([,)]|\$)"
	report "floating-point/vector instruction" "$(grep -E "$fpvec" <<<"$disasm")"
	r13='	[a-z.+-]+ +([^	]*[ ,(])?r13([,)]|$)'
	report "r13 (PACA) operand" "$(grep -E "$r13" <<<"$disasm")"
	;;
esac
[ $bad = 0 ] && case $arch in
x86_64)
	echo "check-object: $obj: ok (x86_64: no foreign undefined symbols," \
		"no GOT/TLS relocations, no SSE/x87, no indirect branches)" ;;
powerpc64)
	echo "check-object: $obj: ok (powerpc64: ELFv2, no foreign undefined symbols," \
		"only kernel C relocations, no FP/vector, no r13)" ;;
esac
exit $bad
