#!/bin/bash
# SPDX-License-Identifier: MIT OR GPL-2.0-only
#
# Show that check-readers.sh accepts the read-side shape the generated fast path compiles to
# (taken from a real srcu_notifier_call_chain() disassembly) and rejects drifted variants:
# barrier B or C missing, barrier B before the increment, no NMI (atomic) branch, and a call
# into the out-of-line Rust reader.
set -u
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
lock_nmi='testl $0xf00000, %gs:0(%rip); je 1f; lock incq (%rax); jmp 2f; 1:'
lock_pcpu='incq %gs:(%rax,%rbp,8); 2:'
mb='lock addl $0x0,-0x4(%rsp)'
unlock_nmi='testl $0xf00000, %gs:0(%rip); je 3f; lock incq (%rdx); jmp 4f; 3:'
unlock_pcpu='incq %gs:(%rdx,%rcx,8); 4:'
body='call notifier_call_chain'
build() { # name asm...
	local name=$1; shift
	printf '.text\n.globl f\nf:\n' >"$out/$name.s"
	for l in "$@"; do echo "$l" >>"$out/$name.s"; done
	echo ret >>"$out/$name.s"
	as --64 -o "$out/$name.o" "$out/$name.s"
}
fail=0
check() { # want name asm...
	local want=$1 name=$2; shift 2
	build "$name" "$@"
	if bash "$here/check-readers.sh" "$out/$name.o" f >"$out/$name.log" 2>&1; then got=accept; else got=reject; fi
	if [ "$got" = "$want" ]; then echo "ok   $name: ${got}ed"; else
		echo "FAIL $name: ${got}ed, expected ${want}"; cat "$out/$name.log"; fail=1; fi
}
check accept good "$lock_nmi" "$lock_pcpu" "$mb" "$body" "$mb" "$unlock_nmi" "$unlock_pcpu"
check reject no_barrier_B "$lock_nmi" "$lock_pcpu" "$body" "$mb" "$unlock_nmi" "$unlock_pcpu"
check reject no_barrier_C "$lock_nmi" "$lock_pcpu" "$mb" "$body" "$unlock_nmi" "$unlock_pcpu"
check reject B_before_inc "$mb" "$lock_nmi" "$lock_pcpu" "$body" "$mb" "$unlock_nmi" "$unlock_pcpu"
check reject no_nmi_half "$lock_pcpu" "$mb" "$body" "$mb" "$unlock_pcpu"
check reject out_of_line "call srcu_rs_core_read_lock" "$mb" "$body" "$mb" "$unlock_nmi" "$unlock_pcpu"
[ $fail = 0 ] && echo "test-check-readers: all passed"
exit $fail
