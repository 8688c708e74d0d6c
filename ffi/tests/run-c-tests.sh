#!/bin/bash
# SPDX-License-Identifier: MIT OR GPL-2.0-only
# The C test suite of libsrcu_rs.a (ffi/tests/c/test_srcu.c):
#   1. builds target/release/libsrcu_rs.a and a fault-injection variant (target/fault/),
#      checks that the static library exports every srcu_rs_* function, and runs the
#      disassembly check of the inline reader (check-inline-reader.sh, with its self-test);
#   2. runs every test against the release library with the header's default readers (static
#      inline) and with SRCU_RS_NO_INLINE (the exported C readers): as is (rseq + membarrier),
#      with the fallback paths forced (SRCU_RS_DISABLE_RSEQ=1, SRCU_RS_DISABLE_MEMBARRIER=1),
#      under AddressSanitizer, and under valgrind (which has no rseq: the fallback path again);
#   3. shows that the safety tests can fail: each must FAIL against a deliberately broken
#      variant (SRCU_RS_FAULT=n, srcu_core::Fault numbers; 4 = non-rseq per-CPU increment).
# Prints one line per run and "N passed, M failed"; exits non-zero on any failure.
# Environment: SRCU_TEST_SECONDS (default 2) scales the timed tests; SKIP_VALGRIND=1, SKIP_ASAN=1.
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
OUT=$ROOT/target/c-tests
SECS=${SRCU_TEST_SECONDS:-2}
mkdir -p "$OUT"
passed=0
failed=0
failures=()

note() { printf '%s\n' "$*"; }

result() { # name rc expect(pass|fail) log
	local name=$1 rc=$2 expect=$3 log=$4
	if { [ "$expect" = pass ] && [ "$rc" -eq 0 ]; } || { [ "$expect" = fail ] && [ "$rc" -ne 0 ]; }; then
		passed=$((passed + 1))
		note "ok   $name (rc=$rc, expected $expect) $(tail -n 1 "$log" | cut -c1-140)"
	else
		failed=$((failed + 1))
		failures+=("$name")
		note "FAIL $name (rc=$rc, expected $expect); log: $log"
		tail -n 20 "$log" | sed 's/^/     | /'
	fi
}

run() { # name expect cmd...
	local name=$1 expect=$2
	shift 2
	local log=$OUT/$(echo "$name" | tr ' /=' '___').log
	local rc
	# (the subshell keeps bash's "Alarm clock" job notice out of the output)
	rc=$( ("$@" >"$log" 2>&1; echo $?) 2>/dev/null)
	result "$name" "$rc" "$expect" "$log"
}

note "== building"
cargo build --release --quiet || exit 1
cargo build --quiet --features fault-injection --target-dir target/fault || exit 1
LIB=$ROOT/target/release/libsrcu_rs.a
FAULTLIB=$ROOT/target/fault/debug/libsrcu_rs.a
LIBS=$("$ROOT/ffi/tests/native-libs.sh")
[ -n "$LIBS" ] || LIBS="-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc"

missing=""
for f in create destroy read_lock read_unlock synchronize synchronize_expedited call barrier \
	get_state start_poll poll_state layout_v3_read_lock_slow layout_v3_read_unlock_slow \
	layout_v3_count_atomic; do
	readelf -sW "$LIB" | grep -Eq "FUNC +GLOBAL +DEFAULT +[0-9]+ srcu_rs_$f\$" || missing="$missing srcu_rs_$f"
done
echo "missing:${missing:-none}" >"$OUT/symbols.log"
result "libsrcu_rs.a exports the C API" "$([ -z "$missing" ] && echo 0 || echo 1)" pass "$OUT/symbols.log"
run "inline reader: <= 33 instructions per pair; untrimmed variant rejected" pass \
	bash "$ROOT/ffi/tests/check-inline-reader.sh" --self-test

CFLAGS="-std=gnu11 -g -Wall -Wextra -Werror -I$ROOT/include"
SRC=$ROOT/ffi/tests/c/test_srcu.c
gcc $CFLAGS -O2 "$SRC" "$LIB" $LIBS -o "$OUT/test_srcu" || exit 1
gcc $CFLAGS -O2 -DTEST_NO_INLINE "$SRC" "$LIB" $LIBS -o "$OUT/test_srcu_noinline" || exit 1
gcc $CFLAGS -O2 "$SRC" "$FAULTLIB" $LIBS -o "$OUT/test_srcu_fault" || exit 1
gcc $CFLAGS -O2 -DTEST_NO_INLINE "$SRC" "$FAULTLIB" $LIBS -o "$OUT/test_srcu_fault_noinline" || exit 1
# SRCU_RS_DEBUG_HELD: index-returning readers counted for srcu_rs_read_held() (test held), and the
# broken count (a flag, not nesting-aware) that test held must catch.
gcc $CFLAGS -O2 -DSRCU_RS_DEBUG_HELD "$SRC" "$LIB" $LIBS -o "$OUT/test_srcu_held" || exit 1
gcc $CFLAGS -O2 -DSRCU_RS_DEBUG_HELD -DTEST_NO_INLINE "$SRC" "$LIB" $LIBS \
	-o "$OUT/test_srcu_held_noinline" || exit 1
gcc $CFLAGS -O2 -DSRCU_RS_DEBUG_HELD -DSRCU_RS_TEST_HELD_UNNESTED "$SRC" "$LIB" $LIBS \
	-o "$OUT/test_srcu_held_unnested" || exit 1
if [ "${SKIP_ASAN:-0}" != 1 ]; then
	gcc $CFLAGS -O1 -fsanitize=address -fno-omit-frame-pointer -DSRCU_RS_DEBUG_HELD "$SRC" "$LIB" $LIBS \
		-o "$OUT/test_srcu_held_asan" || exit 1
	gcc $CFLAGS -O1 -fsanitize=address -fno-omit-frame-pointer "$SRC" "$LIB" $LIBS \
		-o "$OUT/test_srcu_asan" || exit 1
	gcc $CFLAGS -O1 -fsanitize=address -fno-omit-frame-pointer -DTEST_NO_INLINE "$SRC" "$LIB" $LIBS \
		-o "$OUT/test_srcu_noinline_asan" || exit 1
fi

TESTS="api badinput deadlk sigtorture updaters callbacks polling fork forkreaders forkidle destroy layout port held"
T=$OUT/test_srcu

note "== release library, default header: every reader static inline (rseq + membarrier when the kernel has them)"
for t in $TESTS; do run "$t" pass env EXPECT_FAST_IF_KERNEL=1 "$T" "$t" "$SECS"; done
note "== SRCU_RS_NO_INLINE: every reader calls the library's exported C readers"
for t in $TESTS; do run "$t [no-inline]" pass env EXPECT_FAST_IF_KERNEL=1 "$OUT/test_srcu_noinline" "$t" 1; done
note "== fallback paths forced: SRCU_RS_DISABLE_RSEQ=1 (no fast path: inline readers call srcu-core's reader; atomic half only)"
for t in $TESTS; do run "$t [no rseq]" pass env SRCU_RS_DISABLE_RSEQ=1 "$T" "$t" 1; done
for t in api sigtorture layout; do
	run "$t [no-inline, no rseq]" pass env SRCU_RS_DISABLE_RSEQ=1 "$OUT/test_srcu_noinline" "$t" 1
done
note "== SRCU_RS_DEBUG_HELD: index-returning readers counted per thread and domain for srcu_rs_read_held()"
for t in held port sigtorture layout; do
	run "$t [debug-held]" pass env EXPECT_FAST_IF_KERNEL=1 "$OUT/test_srcu_held" "$t" 1
	run "$t [debug-held, no-inline]" pass "$OUT/test_srcu_held_noinline" "$t" 1
done
run "held [debug-held, no rseq]" pass env SRCU_RS_DISABLE_RSEQ=1 "$OUT/test_srcu_held" held 1
note "== SRCU_RS_DISABLE_MEMBARRIER=1 (full fences on both sides)"
for t in api sigtorture updaters callbacks; do
	run "$t [no membarrier]" pass env SRCU_RS_DISABLE_MEMBARRIER=1 "$T" "$t" 1
done

if [ "${SKIP_ASAN:-0}" != 1 ]; then
	note "== AddressSanitizer"
	for t in $TESTS; do run "$t [asan]" pass env ASAN_OPTIONS=detect_leaks=1 "$OUT/test_srcu_asan" "$t" 1; done
	for t in sigtorture layout; do
		run "$t [asan, no-inline]" pass env ASAN_OPTIONS=detect_leaks=1 "$OUT/test_srcu_noinline_asan" "$t" 1
	done
	run "held [asan, debug-held]" pass env ASAN_OPTIONS=detect_leaks=1 "$OUT/test_srcu_held_asan" held 1
fi

if [ "${SKIP_VALGRIND:-0}" != 1 ]; then
	if command -v valgrind >/dev/null; then
		note "== valgrind (no rseq under valgrind: exercises the atomic-half fallback)"
		# --fair-sched=yes: valgrind runs one thread at a time, and its default lock is unfair.
		# On an idle machine two reader threads that spin without a syscall keep taking it
		# back, starving the main thread for tens of seconds (forkreaders hit its watchdog).
		for t in $TESTS; do
			run "$t [valgrind]" pass env EXPECT_NO_RSEQ=1 valgrind -q --fair-sched=yes --error-exitcode=99 \
				--leak-check=full --show-leak-kinds=definite,indirect \
				--errors-for-leak-kinds=definite,indirect "$T" "$t" 0.5
		done
		run "held [valgrind, debug-held]" pass env EXPECT_NO_RSEQ=1 valgrind -q --fair-sched=yes --error-exitcode=99 \
			--leak-check=full --show-leak-kinds=definite,indirect \
			--errors-for-leak-kinds=definite,indirect "$OUT/test_srcu_held" held 0.5
		for t in sigtorture layout; do
			run "$t [valgrind, no-inline]" pass env EXPECT_NO_RSEQ=1 valgrind -q --fair-sched=yes --error-exitcode=99 \
				--leak-check=full --show-leak-kinds=definite,indirect \
				--errors-for-leak-kinds=definite,indirect "$OUT/test_srcu_noinline" "$t" 0.5
		done
	else
		run "valgrind is installed" pass false
	fi
fi

note "== install + pkg-config + examples/ (make example)"
run "make example (staged install, pkg-config --static)" pass make -s example

note "== the safety tests can fail: each broken variant must be caught"
F=$OUT/test_srcu_fault
run "fault build, no fault: sigtorture" pass env SRCU_RS_FAULT=0 "$F" sigtorture 1
run "fault build, no fault: updaters" pass env SRCU_RS_FAULT=0 "$F" updaters 1
for f in 2 5; do
	for t in sigtorture updaters callbacks polling; do
		# sigtorture stops at the first poisoned read; give it a window that timing noise
		# cannot close (1 s once missed fault 2 under load).
		secs=1
		[ "$t" = sigtorture ] && secs=8
		run "SRCU_RS_FAULT=$f $t" fail env SRCU_RS_FAULT=$f SRCU_TEST_WATCHDOG=30 "$F" "$t" "$secs"
	done
done
# The fork child handler that keeps the lost threads' readers: the child's grace periods never end.
run "SRCU_RS_FORK_KEEP_LOST_READERS=1 forkreaders" fail env SRCU_RS_FORK_KEEP_LOST_READERS=1 \
	SRCU_TEST_WATCHDOG=60 "$F" forkreaders 1
# The fork child handler that restarts an idle callback thread: the child has a second thread.
run "SRCU_RS_FORK_EAGER_WORKER=1 forkidle" fail env SRCU_RS_FORK_EAGER_WORKER=1 \
	SRCU_TEST_WATCHDOG=60 "$F" forkidle 1
# The read_held count that is a flag, not nesting-aware.
run "SRCU_RS_TEST_HELD_UNNESTED held" fail "$OUT/test_srcu_held_unnested" held 1
# Fault 4: the per-CPU half incremented without rseq (load, add, store). Signal-handler and
# preempting readers lose counts: grace periods stall (watchdog) or end early (poison).
run "SRCU_RS_FAULT=4 sigtorture" fail env SRCU_RS_FAULT=4 SRCU_TEST_WATCHDOG=10 "$F" sigtorture 2
run "SRCU_RS_FAULT=4 sigtorture [no-inline]" fail env SRCU_RS_FAULT=4 SRCU_TEST_WATCHDOG=10 \
	"$OUT/test_srcu_fault_noinline" sigtorture 2
run "SRCU_RS_FAULT=2 sigtorture [no-inline]" fail env SRCU_RS_FAULT=2 SRCU_TEST_WATCHDOG=30 \
	"$OUT/test_srcu_fault_noinline" sigtorture 8

note ""
if [ "$failed" -ne 0 ]; then
	note "failed: ${failures[*]}"
fi
note "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
