#!/bin/bash
# SPDX-License-Identifier: MIT OR GPL-2.0-only
#
# check-readers.sh OBJECT FUNCTION [SIDES]
#
# Check that FUNCTION in the x86_64 kernel object OBJECT contains SIDES (default 2: one
# srcu_rs_read_lock() and one srcu_rs_read_unlock()) inline srcu_rs read sides as srcu-core's
# reader protocol (srcu-core/src/readers.rs) compiles with x86's per-CPU operations:
#
#   lock:    incq %gs:...        (this_cpu_inc(), non-NMI half)   then a full barrier (B)
#   unlock:  a full barrier (C)  then incq %gs:...
#   NMI:     lock incq ...       (atomic_long_inc(), atomic half) once per side
#
# and no call into the out-of-line Rust readers. A full barrier is smp_mb() on x86_64:
# `lock addl $0x0,-0x4(%rsp)` (or `lock orl`/`mfence` on other kernels).
# FUNCTION.cold, if any, is checked together with FUNCTION.
# Not meaningful with CONFIG_SRCU_RS_GENERIC_PERCPU (no %gs increment by design).
set -euo pipefail
obj=$1
fn=$2
sides=${3:-2}
fail() { echo "check-readers: $obj <$fn>: FAIL: $*" >&2; exit 1; }
[ -f "$obj" ] || fail "no such object"
dis=$(objdump -d --no-show-raw-insn -r "$obj" | awk -v f="$fn" '
	/^[0-9a-f]+ <.*>:$/ { on = ($2 == "<" f ">:" || $2 == "<" f ".cold>:") }
	on')
[ -n "$dis" ] || fail "function not found"
if grep -E 'srcu_rs_core_read_(lock|unlock)' <<<"$dis" >/dev/null; then
	fail "calls the out-of-line reader: the fast path is not inline"
fi
# One event letter per relevant instruction, in address order:
#   P = per-CPU increment (incq %gs:), A = atomic increment (lock incq, not %gs),
#   M = full barrier.
events=$(awk '
	/lock +addl +\$0x0,-0x4\(%rsp\)|lock +orl +\$0x0,.*\(%rsp\)|lock +orq +\$0x0,.*\(%rsp\)|mfence/ { printf "M"; next }
	/incq +%gs:/ { printf "P"; next }
	/lock +incq / && !/%gs:/ { printf "A"; next }
' <<<"$dis")
echo "$obj <$fn>: events $events (P per-CPU inc, A atomic inc, M full barrier)"
np=$(tr -cd P <<<"$events" | wc -c)
na=$(tr -cd A <<<"$events" | wc -c)
nm=$(tr -cd M <<<"$events" | wc -c)
[ "$np" -ge "$sides" ] || fail "$np per-CPU (%gs:) increments, expected $sides"
[ "$na" -ge "$sides" ] || fail "$na atomic (lock incq) increments for NMI, expected $sides"
[ "$nm" -ge "$sides" ] || fail "$nm full barriers, expected $sides"
# Lock side: the first per-CPU increment comes before the first barrier, which follows it
# with no other increment between (B orders the increment before the critical section).
[[ $events =~ ^[^PM]*P[A]*M ]] || fail "lock side: no 'per-CPU increment, then full barrier' at the start"
# Unlock side: the last barrier comes before the last per-CPU increment (C).
[[ $events =~ M[A]*P[^PM]*$ ]] || fail "unlock side: no 'full barrier, then per-CPU increment' at the end"
echo "$obj <$fn>: OK ($np per-CPU increments, $na atomic increments, $nm full barriers)"
