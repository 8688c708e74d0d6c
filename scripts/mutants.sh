#!/bin/bash
# SPDX-License-Identifier: MIT OR GPL-2.0-only
#
# scripts/mutants.sh: mutation testing of srcu-core with cargo-mutants. On demand, not a CI
# stage (the whole run takes longer than CI should).
#
#   scripts/mutants.sh unit [GLOB...]   every mutant of srcu-core (or of the files matching GLOB,
#                                       e.g. readers.rs) against srcu-core's unit tests
#   scripts/mutants.sh loom REGEX       the mutants whose names match REGEX (as `--list` prints
#                                       them) against the loom models, each in its own
#                                       RUSTFLAGS="--cfg loom" release build
#   scripts/mutants.sh list [GLOB...]   list the mutants, test nothing
#
# cargo-mutants replaces function bodies, swaps operators and deletes match arms; it skips
# #[cfg(test)] code and does not delete statements. That is why every lettered barrier in
# srcu-core is a function of its own: "replace its body with ()" drops the barrier. The table
# of mutants and the tests that kill them, and the arguments for the equivalent ones, are in
# srcu-core's crate docs ("Mutation testing").
#
# Environment: JOBS (parallel mutants, default 1), TIMEOUT (seconds per test run, default 20
# for unit, 300 for loom), OUT (default target/mutants).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo mutants --version >/dev/null 2>&1; then
	echo "mutants.sh: cargo-mutants is not installed: cargo install --locked cargo-mutants" >&2
	exit 1
fi

mode=${1:-}
[ $# -gt 0 ] && shift
out=${OUT:-target/mutants}
jobs=${JOBS:-1}
files=()
for g in "$@"; do files+=(--file "$g"); done

case $mode in
list)
	exec cargo mutants --list -p srcu-core "${files[@]}"
	;;
unit)
	mkdir -p "$out/unit"
	exec nice -n 10 cargo mutants -p srcu-core --test-package srcu-core "${files[@]}" \
		--jobs "$jobs" --timeout "${TIMEOUT:-20}" --output "$out/unit"
	;;
loom)
	[ $# = 1 ] || { echo "usage: scripts/mutants.sh loom REGEX" >&2; exit 2; }
	mkdir -p "$out/loom"
	RUSTFLAGS="--cfg loom" exec nice -n 10 cargo mutants -p srcu-core --test-package srcu-core \
		--re "$1" --jobs "$jobs" --timeout "${TIMEOUT:-300}" --output "$out/loom" \
		--cargo-test-arg=--release --cargo-test-arg=--test=loom
	;;
*)
	echo "usage: scripts/mutants.sh unit [GLOB...] | loom REGEX | list [GLOB...]" >&2
	echo "  unknown mode '${mode}'; valid modes: unit, loom, list" >&2
	exit 2
	;;
esac
