#!/bin/bash
# SPDX-License-Identifier: MIT OR GPL-2.0-only
#
# The project's test command (README "Tests"). Installs what it needs on a fresh Debian 12
# machine that has the Rust toolchain, gcc, python3 and qemu-utils, then runs every stage and
# prints one line per stage and a closing "N passed, N failed".
#
#   scripts/test-all.sh              all stages
#   scripts/test-all.sh loom c-tests only the named stages
#
# On demand, not stages: scripts/mutants.sh (cargo-mutants over srcu-core), patches/ci-check.sh
# with KERNEL_BUILD=1 / MODULES=1 / BISECT=1 / TEST_OPTIONS=1.
#
# Environment:
#   SRCU_TORTURE_SECS   duration of the correct torture run (default 5)
#   SRCU_TORTURE_SLACK  multiplies the torture test's stall limit and kill timeout (default
#                       1 + the one-minute load average per CPU)
#   SRCU_TEST_SECONDS   duration of each timed C test (default 2)
#   SKIP_INSTALL=1      do not run apt-get / rustup
#   KERNEL_TIER=0       skip the bounded kernel tier (scripts/main-job.sh --ci, as root: the
#                       patched kernel with the mitigations fragment and KVM=m, built once and
#                       gated (objtool, modpost, linker and compiler warnings, inline readers),
#                       booted for KUnit, rcutorture, KVM irq stress and the notifier test, and
#                       with srcu_rs.fault=2; the ppc64le tier below). On by default
#                       (kernel-tests/README.md).
#   PPC64LE_TIER=0      leave the ppc64le kernel out of the kernel tier (it passes --arches x86_64):
#                       ppc64le-patched cross-built and gated, KUnit with real system-reset NMIs
#                       (one instruction per TCG block), rcutorture srcu_rs 30 s, the notifier
#                       test, and the broken variants fault=4 (KUnit NMI readers case) and fault=2.
#                       Without it the x86 patched-generic kernel and its fault=4 boot run instead.
set -u
cd "$(dirname "$0")/.."
root=$PWD
logs=$root/target/test-logs
mkdir -p "$logs"

say() { printf '%s\n' "$*"; }

# packages GROUP: the group's Debian packages in kernel-tests/packages.list (the one list the
# scripts and the kernel-test harness read).
packages() {
	sed -n "s/^$1: //p" kernel-tests/packages.list
}

# apt_missing PACKAGE...: the ones not installed, one a line.
apt_missing() {
	local p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || echo "$p"
	done
}

install_deps() {
	[ "${SKIP_INSTALL:-0}" = 1 ] && return 0
	local missing
	mapfile -t missing < <(apt_missing $(packages tests))
	if [ ${#missing[@]} -gt 0 ]; then
		say "setup: apt-get install ${missing[*]}"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq >"$logs/apt-update.log" 2>&1 || { say "setup: apt-get update failed (see $logs/apt-update.log)"; return 1; }
		apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$logs/apt-install.log" 2>&1 ||
			{ say "setup: apt-get install failed (see $logs/apt-install.log)"; return 1; }
	fi
	# The patch-series and kernel stages: the pinned Debian kernel source (patches/linux-6.12/BASE)
	# and the build tools.
	if [ -f patches/linux-6.12/BASE ]; then
		local pkg ver
		read -r pkg ver < <(sed -n 's/^debian-package: //p' patches/linux-6.12/BASE)
		mapfile -t missing < <(apt_missing $(packages kernel))
		[ -f "/usr/src/$pkg.tar.xz" ] || missing+=("$pkg=$ver")
		if [ ${#missing[@]} -gt 0 ]; then
			say "setup: apt-get install ${missing[*]}"
			export DEBIAN_FRONTEND=noninteractive
			apt-get update -qq >>"$logs/apt-update.log" 2>&1
			if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$logs/apt-install.log" 2>&1; then
				# The pinned version may have left the archive: take the current 6.12.y, which
				# srcu-rs-patches accepts when the series applies cleanly.
				say "setup: $pkg=$ver unavailable; trying the current $pkg"
				apt-get install -y -qq --no-install-recommends "${missing[@]/$pkg=$ver/$pkg}" \
					>>"$logs/apt-install.log" 2>&1 || { say "setup: apt-get install failed (see $logs/apt-install.log)"; return 1; }
			fi
		fi
	fi
	# bindgen formats its output with rustfmt (bindings check).
	if ! rustup component list --installed 2>/dev/null | grep -q '^rustfmt'; then
		rustup component add rustfmt >"$logs/rustup.log" 2>&1 || say "setup: rustup component add rustfmt failed"
	fi
	# The kernel object (kernel-object stage, patched kernels): x86_64 builds for rustc's
	# prebuilt x86_64-unknown-none, powerpc64le builds core from rust-src; the object checker's
	# test also builds bad objects for powerpc64le-unknown-linux-gnu (hard float, VSX, TLS).
	local t
	for t in x86_64-unknown-none powerpc64le-unknown-linux-gnu; do
		rustup target list --installed 2>/dev/null | grep -qx "$t" ||
			rustup target add "$t" >>"$logs/rustup.log" 2>&1 || say "setup: rustup target add $t failed"
	done
	rustup component list --installed 2>/dev/null | grep -q '^rust-src' ||
		rustup component add rust-src >>"$logs/rustup.log" 2>&1 || say "setup: rustup component add rust-src failed"
}

passed=0
failed=0
failures=()
selected=("$@")
is_selected() {
	[ ${#selected[@]} -eq 0 ] && return 0
	local s
	for s in "${selected[@]}"; do [ "$s" = "$1" ] && return 0; done
	return 1
}

stage() { # name description cmd...
	local name=$1 desc=$2
	shift 2
	is_selected "$name" || return 0
	local log=$logs/$name.log start end rc
	start=$(date +%s)
	say "stage $name: $desc"
	"$@" >"$log" 2>&1
	rc=$?
	end=$(date +%s)
	if [ $rc -eq 0 ]; then
		passed=$((passed + 1))
		say "ok   $name ($((end - start)) s) $(grep -E 'test result|passed|explored|ok \(' "$log" | tail -n 1 | cut -c1-120)"
	else
		failed=$((failed + 1))
		failures+=("$name")
		say "FAIL $name ($((end - start)) s, rc=$rc); last lines of $log:"
		tail -n 40 "$log" | sed 's/^/     | /'
	fi
}

# --- stage bodies -------------------------------------------------------------------------

spdx_and_unsafe() {
	local bad=0 f
	# Kernel-side C (the shim, the test modules, kernel templates) is GPL-2.0-only like the kernel;
	# everything else is MIT OR GPL-2.0-only. Templates spliced into existing kernel files
	# (rcutorture, refscale ops) carry no SPDX line of their own: the host file has one.
	local spdx
	for f in $(git ls-files | grep -E '\.(rs|c|h|sh|lds|fragment|in|py)$|(^|/)Makefile$'); do
		case $f in
		patches/templates/rcutorture_srcu_rs.c | patches/templates/refscale_srcu_rs.c) continue ;;
		c-shim/kernel/*.[ch] | kernel-tests/*-test/* | patches/templates/*) spdx='SPDX-License-Identifier: (MIT OR )?GPL-2.0-only' ;;
		*) spdx='SPDX-License-Identifier: MIT OR GPL-2.0-only' ;;
		esac
		head -n 3 "$f" | grep -qE "$spdx" || { echo "missing SPDX line: $f"; bad=1; }
	done
	# unsafe Rust only in ffi/ and the shims (c-shim/); the in-guest KVM stress program's VM setup
	# module is the one documented exception (kvm-ioctls makes guest-memory registration unsafe;
	# the crate denies unsafe code everywhere else).
	for f in $(git ls-files '*.rs' | grep -vE '^(ffi|c-shim)/|^kernel-tests/kvm-irq-stress/src/vm\.rs$'); do
		if grep -nE '\bunsafe\s*(\{|fn|impl|extern)' "$f"; then
			echo "unsafe outside ffi/ and c-shim/: $f"
			bad=1
		fi
	done
	# every unsafe block has a // SAFETY: comment in the comment block right above it (or on its line)
	python3 - $(git ls-files '*.rs' | grep -E '^(ffi|c-shim|kernel-tests)/') <<'PY' || bad=1
import re, sys
bad = 0
for path in sys.argv[1:]:
    lines = open(path).read().split("\n")
    for i, line in enumerate(lines):
        if not re.search(r"\bunsafe\s*\{", line) or "SAFETY" in line:
            continue
        j, ok = i - 1, False
        # walk up over the statement's own earlier lines and the comment block above it
        while j >= 0 and i - j <= 12:
            t = lines[j].strip()
            if "SAFETY:" in t:
                ok = True
                break
            if t.startswith("//") or t == "" or not t.endswith((";", "{", "}")):
                j -= 1
                continue
            break
        if not ok and not path.endswith("shim_bindings.rs"):
            print(f"{path}:{i + 1}: unsafe block without // SAFETY:")
            bad = 1
sys.exit(bad)
PY
	[ $bad = 0 ] && echo "spdx/unsafe: ok"
	return $bad
}

cargo_tests() {
	cargo test --workspace --exclude srcu-rs-kernel-tests 2>&1 || return 1
	# the kernel-test harness's own unit tests (plan, dry run, result judges, incremental results,
	# kvm-unit-tests plans, series stamp); the harness itself runs in the kernel stage. The
	# workspace run above has kvm-irq-stress's (APIC register helpers, guest image, result line).
	cargo test -p srcu-rs-kernel-tests 2>&1 || return 1
}

lint_docs() {
	# srcu-core denies every panic path outside tests (clippy restriction lints in lib.rs);
	# ffi denies undocumented unsafe blocks; the algorithm's docs must build without warnings.
	rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy || return 1
	cargo clippy -p srcu-core --lib -- -D warnings || return 1
	cargo clippy -p srcu-rs-ffi --lib -- -D clippy::undocumented_unsafe_blocks || return 1
	RUSTDOCFLAGS="-D warnings" cargo doc -p srcu-core --no-deps || return 1
	echo "clippy and docs: ok"
}

loom_models() {
	RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom \
		cargo test -p srcu-core --release --test loom -- --test-threads=1 --nocapture
}

# --- run ----------------------------------------------------------------------------------

install_deps || { say "0 passed, 1 failed"; exit 1; }

stage spdx "SPDX lines everywhere; unsafe only in ffi/ and the shims, each with // SAFETY:" spdx_and_unsafe
stage header "libsrcu_rs.a builds and the committed header is current (cbindgen)" \
	env SRCU_RS_CHECK_GENERATED=1 cargo build --release
stage bindings "the committed c-shim bindings are current (bindgen, needs libclang)" \
	cargo build -p srcu-rs-ffi --features regen-bindings
stage lint "clippy: no panic path in srcu-core, documented unsafe in ffi; srcu-core docs build" lint_docs
stage cargo-test "cargo test --workspace: unit tests, torture test with its broken variants, harness unit tests" cargo_tests
stage loom "loom models and their broken variants (bounds: 3, two-updater model 2)" loom_models
kernel_object() {
	c-shim/kernel/test-check-object.sh || return 1
	bash c-shim/kernel/test-check-readers.sh || return 1
}
stage kernel-object "srcu-core compiled with kernel codegen flags (x86_64, powerpc64le); object and inline-reader checkers reject bad input" \
	kernel_object
stage c-tests "C tests: API, bad input, signal readers, updaters, callbacks, polling; ASan, valgrind" \
	bash ffi/tests/run-c-tests.sh
if [ -x patches/ci-check.sh ]; then
	# No kernel build of its own: the kernel stage builds the patched kernel once, with the
	# mitigations fragment and KVM=m, and gates it (objtool, modpost, linker and compiler
	# warnings, inline-reader disassembly). PREPROCESS: SRCU_RS=n leaves every touched file's
	# preprocessed output, and its object but for __bug_table line numbers, unchanged. KERNEL_BUILD=1, MODULES=1, BISECT=1 and TEST_OPTIONS=1 run
	# on demand: patches/ci-check.sh.
	stage patches "patch series: regenerate = committed, applies, checkpatch, SRCU_RS=n preprocess and objects" \
		env WORK="$root/target/patches-ci" PREPROCESS=1 bash patches/ci-check.sh
fi
if [ "${KERNEL_TIER:-1}" = 1 ] && [ -f kernel-tests/Cargo.toml ] && [ -f patches/linux-6.12/BASE ]; then
	kernel_arches=()
	[ "${PPC64LE_TIER:-1}" = 1 ] || kernel_arches=(--arches x86_64)
	stage kernel "bounded main job: gated patched builds (x86_64 with mitigations and KVM=m; ppc64le), boots, KUnit, rcutorture, KVM irq stress, notifiers, broken variants" \
		bash scripts/main-job.sh --ci "${kernel_arches[@]}" --results "$root/target/kernel-tests-ci"
fi

if [ $failed -gt 0 ]; then
	say "failed stages: ${failures[*]} (logs in $logs)"
fi
say "$passed passed, $failed failed"
[ $failed -eq 0 ]
