#!/bin/bash
# SPDX-License-Identifier: MIT OR GPL-2.0-only
# Disassembly check of the static-inline reader (include/srcu_rs/static.h) on x86-64: counts the
# instructions of one srcu_rs_read_lock()/srcu_rs_read_unlock() pair on its fast path and fails
# if there are more than MAX_INSNS (default 33).
#
# The count is the difference between two functions, one with two pairs and one with one pair
# (so the frame and the return cancel out), each measured as its longest path from entry to a
# return that calls nothing and leaves the function for nothing: the rseq-abort, NULL-counter
# and error paths all call into the library, so what is left is the fast path.
#
#   ffi/tests/check-inline-reader.sh              check the header as it is (gcc -O2)
#   ffi/tests/check-inline-reader.sh --self-test  also show that the check rejects the reader
#                                                 built with SRCU_RS_TEST_UNTRIMMED (the
#                                                 reloads of the untrimmed reader put back)
# Environment: CC (default gcc), MAX_INSNS (default 33).
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
CC=${CC:-gcc}
MAX_INSNS=${MAX_INSNS:-33}
command -v objdump >/dev/null || { echo "check-inline-reader: objdump missing (apt-get install binutils)"; exit 1; }
command -v "$CC" >/dev/null || { echo "check-inline-reader: $CC missing (apt-get install gcc)"; exit 1; }
[ "$(uname -m)" = x86_64 ] || { echo "check-inline-reader: x86-64 only; skipped on $(uname -m)"; exit 0; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cat >"$out/pairs.c" <<'C'
#include <srcu_rs.h>
int one_pair(struct srcu_rs *s)
{
	int i = srcu_rs_read_lock(s);
	return srcu_rs_read_unlock(s, i);
}
int two_pairs(struct srcu_rs *s)
{
	int i = srcu_rs_read_lock(s);
	int r = srcu_rs_read_unlock(s, i);
	i = srcu_rs_read_lock(s);
	return r | srcu_rs_read_unlock(s, i);
}
C

# fast_path_len object function: the longest call-free path from entry to ret.
fast_path_len() {
	objdump -dr --no-show-raw-insn "$1" | python3 -c '
import re, sys
fn = sys.argv[1]
insns, cur, ext = [], False, set()
for line in sys.stdin:
    m = re.match(r"^[0-9a-f]+ <(.+)>:$", line)
    if m:
        cur = m.group(1) == fn
        continue
    if not cur:
        continue
    if re.match(r"^\s+[0-9a-f]+: R_X86_64_", line):
        if insns and re.search(r"PLT32|PC32", line) and re.match(r"(call|j)", insns[-1][1]):
            ext.add(insns[-1][0])      # a call or jump to another symbol
        continue
    m = re.match(r"^\s+([0-9a-f]+):\s+(\S+)\s*(.*)$", line)
    if m:
        insns.append((int(m.group(1), 16), m.group(2), m.group(3)))
if not insns:
    sys.exit("no function " + fn)
index = {a: i for i, (a, _, _) in enumerate(insns)}
sys.setrecursionlimit(10000)
memo = {}
def longest(i, depth=0):
    # longest call-free path from instruction i to a ret (None: every path calls or leaves)
    if i in memo:
        return memo[i]
    if i >= len(insns) or depth > 2000:
        return None
    memo[i] = None                     # a cycle is not a path to ret
    a, op, args = insns[i]
    best = None
    if op.startswith("call") or a in ext:
        best = None
    elif op.startswith("ret"):
        best = 1
    else:
        succ = []
        if op.startswith("j"):
            t = re.match(r"([0-9a-f]+) <", args)
            if t and int(t.group(1), 16) in index:
                succ.append(index[int(t.group(1), 16)])
            if op != "jmp":
                succ.append(i + 1)
        elif not op.startswith(("nop", "ud2", "int3")):
            succ.append(i + 1)
        for s in succ:
            l = longest(s, depth + 1)
            if l is not None and (best is None or l + 1 > best):
                best = l + 1
    memo[i] = best
    return best
n = longest(0)
if n is None:
    sys.exit("no call-free path through " + fn)
print(n)
' "$2"
}

count() { # label cflags...
	local label=$1 one two
	shift
	"$CC" -O2 -c -I"$root/include" "$@" "$out/pairs.c" -o "$out/pairs.o" || return 2
	one=$(fast_path_len "$out/pairs.o" one_pair) || return 2
	two=$(fast_path_len "$out/pairs.o" two_pairs) || return 2
	echo $((two - one))
}

fail=0
verdict() { # want label n
	local want=$1 label=$2 n=$3 got
	if [ "$n" -le "$MAX_INSNS" ]; then got=accept; else got=reject; fi
	if [ "$got" = "$want" ]; then
		echo "ok   $label: $n instructions per read_lock/read_unlock pair (limit $MAX_INSNS): ${got}ed"
	else
		echo "FAIL $label: $n instructions per pair (limit $MAX_INSNS): ${got}ed, expected $want"
		fail=1
	fi
}

n=$(count "srcu_rs.h") || { echo "FAIL: could not compile or measure the reader"; exit 1; }
verdict accept "$CC -O2, srcu_rs.h (inline by default)" "$n"
if [ "${1:-}" = --self-test ]; then
	n=$(count untrimmed -DSRCU_RS_TEST_UNTRIMMED) || { echo "FAIL: untrimmed variant"; exit 1; }
	verdict reject "$CC -O2, SRCU_RS_TEST_UNTRIMMED (reloads put back)" "$n"
	if count no-inline -DSRCU_RS_NO_INLINE >/dev/null 2>&1; then
		echo "FAIL SRCU_RS_NO_INLINE: the pair has a call-free path (still inline?)"
		fail=1
	else
		echo "ok   $CC -O2, SRCU_RS_NO_INLINE: every path of the pair calls the library (out of line)"
	fi
fi
exit $fail
