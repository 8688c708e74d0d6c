#!/bin/bash
# SPDX-License-Identifier: MIT OR GPL-2.0-only
#
# patches/ci-check.sh: check the Linux 6.12 srcu_rs series.
#
#   1. make a git tree of the pinned base (Debian linux-source-6.12, see BASE);
#   2. regenerate the series there and diff it against patches/linux-6.12/;
#   3. apply the committed series with `srcu-rs-patches apply` (git am), check that a
#      second apply is refused, and apply it with patch -p1 to a plain partial tree;
#   4. scripts/checkpatch.pl --strict on every patch: no ERROR or WARNING allowed (the
#      CHECKs left are explained in the cover letter);
#   (test-all.sh runs steps 1-4 and 5c; the kernel stage's gated patched build, in
#   srcu-rs-kernel-tests, covers 5 and 5a for the booted kernel. 5, 5a, 5b and 6 stay here on demand.)
#   5. KERNEL_BUILD=1: build the small KVM config (KVM=y KVM_AMD=y KVM_INTEL=y) with
#      SRCU_RS=y and the srcu_rs KUnit tests, plus the mitigations fragment (RETPOLINE,
#      RETHUNK, IBT, CALL_PADDING; MITIGATIONS=0 leaves it out); fail on any objtool,
#      linker, modpost or compiler warning (the base tree builds this config with none), and
#      check with c-shim/kernel/check-readers.sh that srcu_notifier_call_chain() has both
#      inline read sides (per-CPU incq then full barrier; full barrier then incq; no call
#      to Rust);
#   5a. MODULES=1: the same config with KVM=m KVM_AMD=m KVM_INTEL=m, built in the same O=
#      directory (incremental after KERNEL_BUILD=1): modpost must pass with no warning, so
#      every srcu_rs symbol kvm.ko uses is exported;
#   5b. TEST_OPTIONS=1: then also the test-only SRCU_RS_GENERIC_PERCPU and
#      SRCU_RS_FAULT_INJECTION options, same O= directory, same checks (most of the kernel
#      recompiles: srcu_rs.h reaches almost every file through notifier.h);
#   5c. PREPROCESS=1: with SRCU_RS=n every touched .c file preprocesses to the base's output
#      (line markers aside), and its object is byte-identical to the base's but for the line
#      numbers in __bug_table (patches/compare-objects.py);
#   6. BISECT=1: build every prefix of the series (srcu-rs-patches check-bisect) with the
#      KERNEL_BUILD=1 config (run KERNEL_BUILD=1 first, or in the same call).
#
# Environment: LINUX_TARBALL (default /usr/src/linux-source-6.12.tar.xz) or LINUX_SRC (an
# unpacked pristine tree, used when the tarball is absent; no default); WORK (default
# <repo>/target/patches-ci); JOBS (default 2). Each step prints its start time in seconds.
set -euo pipefail
# The whole script is one compound command, parsed before it runs: editing this file during
# a long run cannot change what the run executes.
{
repo=$(cd "$(dirname "$0")/.." && pwd)
series=$repo/patches/linux-6.12
WORK=${WORK:-$repo/target/patches-ci}
JOBS=${JOBS:-2}
# ccache rewrites absolute paths under $WORK to relative ones: a second checkout of the same
# machine (its own WORK) hits the cache. A fresh machine has no cache for it to hit.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$WORK}
LINUX_TARBALL=${LINUX_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
LINUX_SRC=${LINUX_SRC:-}
frag=$repo/kernel-tests/config/srcu-rs.fragment
mitig=$repo/kernel-tests/config/mitigations.fragment
t0=$SECONDS
step() { echo "== $* ($((SECONDS - t0)) s)"; }
fail() { echo "ci-check: FAIL: $*" >&2; exit 1; }

step "build srcu-rs-patches"
cargo build -q -p srcu-rs-patches --manifest-path "$repo/Cargo.toml"
gen=$repo/target/debug/srcu-rs-patches

mkdir -p "$WORK"
tree=$WORK/linux
step "pinned base tree in $tree"
if [ ! -d "$tree/.git" ] || ! git -C "$tree" rev-parse -q --verify srcu-rs-base >/dev/null; then
	rm -rf "$tree"
	if [ -f "$LINUX_TARBALL" ]; then
		mkdir -p "$tree"
		tar -C "$tree" --strip-components=1 -xf "$LINUX_TARBALL"
	elif [ -n "$LINUX_SRC" ] && [ -f "$LINUX_SRC/Makefile" ]; then
		cp -a "$LINUX_SRC" "$tree"
	else
		fail "no Linux 6.12 source: apt-get install linux-source-6.12, or set LINUX_SRC"
	fi
	(
		cd "$tree"
		git init -q
		git config user.name "srcu-rs generator"
		git config user.email generator@srcu-rs.invalid
		# Debian's .gitignore ignores the top level: add with -f.
		git add -f -A .
		GIT_AUTHOR_DATE=2025-01-01T00:00:00Z GIT_COMMITTER_DATE=2025-01-01T00:00:00Z \
			git commit -q -m "Linux 6.12 base"
		git tag srcu-rs-base
	)
fi
sub=$(sed -n 's/^SUBLEVEL = //p' "$tree/Makefile")
want=$(sed -n 's/^sublevel: //p' "$series/BASE")
[ "$sub" = "$want" ] || echo "note: base tree is 6.12.$sub, BASE pins 6.12.$want"

step "regenerate and compare"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cp "$series/BASE" "$out/"
"$gen" generate --tree "$tree" --out "$out"
if ! diff -ru "$series" "$out"; then
	fail "regenerating the series does not give the committed files (run: srcu-rs-patches generate)"
fi
echo "regenerated series is identical"

step "checkpatch --strict"
errors=0
for p in "$series"/0*.patch; do
	case $p in *0000-cover-letter.patch) continue ;; esac
	res=$(cd "$tree" && perl scripts/checkpatch.pl --strict --terse --no-summary --no-tree "$p" || true)
	n=$(grep -c ': ERROR:' <<<"$res" || true)
	w=$(grep -c ': WARNING:' <<<"$res" || true)
	c=$(grep -c ': CHECK:' <<<"$res" || true)
	echo "$(basename "$p"): $n errors, $w warnings, $c checks"
	grep -E ': (ERROR|WARNING):' <<<"$res" || true
	errors=$((errors + n + w))
done
[ $errors = 0 ] || fail "checkpatch reported $errors error(s) or warning(s)"

step "apply (git am) to the pinned base"
git -C "$tree" checkout -q -f srcu-rs-base
git -C "$tree" clean -q -f -d
"$gen" apply --tree "$tree" --series "$series"
if "$gen" apply --tree "$tree" --series "$series" 2>"$out/refuse.log"; then
	fail "a second apply was not refused"
fi
grep -q "already patched" "$out/refuse.log" || fail "second apply refused for the wrong reason: $(cat "$out/refuse.log")"
echo "second apply refused: $(cat "$out/refuse.log")"

step "apply (patch -p1) to a plain partial tree"
plain=$out/plain
mkdir -p "$plain"
git -C "$tree" diff --name-only srcu-rs-base HEAD | while read -r f; do
	if git -C "$tree" cat-file -e "srcu-rs-base:$f" 2>/dev/null; then
		mkdir -p "$plain/$(dirname "$f")"
		git -C "$tree" show "srcu-rs-base:$f" >"$plain/$f"
	fi
done
git -C "$tree" show srcu-rs-base:Makefile >"$plain/Makefile"
"$gen" apply --tree "$plain" --series "$series"
(cd "$tree" && git diff --quiet HEAD) || fail "git tree dirty after am"
for f in $(git -C "$tree" diff --name-only srcu-rs-base HEAD); do
	cmp -s "$tree/$f" "$plain/$f" || fail "patch -p1 result differs from git am in $f"
done
echo "patch -p1 gives the same files as git am"

series_head=$(git -C "$tree" rev-parse HEAD)

if [ "${PREPROCESS:-0}" = 1 ]; then
	step "SRCU_RS=n: touched .c files preprocess as on the base"
	# Files the series changes that exist on the base (new files are not built with SRCU_RS=n).
	files=()
	for f in $(git -C "$tree" diff --name-only srcu-rs-base "$series_head" -- '*.c'); do
		git -C "$tree" cat-file -e "srcu-rs-base:$f" 2>/dev/null && files+=("${f%.c}.i")
	done
	# "Line markers aside": the series moves code down, so line markers, the blank lines cpp
	# emits instead of short markers, and __LINE__ (WARN_ON()'s bug table, in kvm_host.h and
	# kvm_main.c) differ; so does the padding cpp puts where a multi-line macro call stood
	# (its width follows the source text). __LINE__ is defined to 0 on both sides and
	# whitespace runs are compared as one space; every token must match.
	nolines="-Wno-builtin-macro-redefined -D__LINE__=0"
	# side_out base|series: check that side out in $tree and print its O= directory.
	side_out() {
		local rev=srcu-rs-base
		[ "$1" = series ] && rev=$series_head
		git -C "$tree" checkout -q -f "$rev"
		echo "$WORK/out-pp-$1"
	}
	for side in base series; do
		o=$(side_out $side)
		mkdir -p "$o"
		(
			cd "$tree"
			make O="$o" ARCH=x86_64 tinyconfig >/dev/null
			scripts/kconfig/merge_config.sh -m -O "$o" "$o/.config" "$frag" >/dev/null
			make O="$o" ARCH=x86_64 olddefconfig >/dev/null
			! grep -q '^CONFIG_SRCU_RS=y' "$o/.config" || fail "SRCU_RS=y in the SRCU_RS=n config"
			rm -f "${files[@]/#/$o/}"
			nice -n 19 make O="$o" CC="ccache gcc" KCFLAGS="$nolines" -j"$JOBS" "${files[@]}" \
				>"$o/pp.log" 2>&1 || { tail -20 "$o/pp.log"; fail "make ${files[*]} failed ($side)"; }
		)
	done
	strip() { grep -v '^#' "$1" | sed -E 's/[[:space:]]+/ /g; s/^ //; s/ $//; /^$/d'; }
	ndiff=0
	for i in "${files[@]}"; do
		d=$WORK/out-pp-series/${i//\//_}.diff
		if diff -u <(strip "$WORK/out-pp-base/$i") <(strip "$WORK/out-pp-series/$i") >"$d"; then
			echo "same preprocessed output: ${i%.i}.c"
		else
			echo "DIFFERENT preprocessed output: ${i%.i}.c ($(grep -c '^[-+][^-+]' "$d") lines, $d)"
			head -20 "$d"
			ndiff=$((ndiff + 1))
		fi
	done
	[ $ndiff = 0 ] || fail "$ndiff file(s) preprocess differently with SRCU_RS=n"

	step "SRCU_RS=n: touched objects identical to the base's but for __bug_table line numbers"
	# The same files compiled as they really are (__LINE__ and all): every section must be
	# byte-identical except __bug_table, whose entries may differ only in their line field
	# (patches/compare-objects.py); that is the "no functional change" claim.
	objs=("${files[@]/%.i/.o}")
	for side in base series; do
		o=$(side_out $side)
		rm -f "${objs[@]/#/$o/}"
		(cd "$tree" && nice -n 19 make O="$o" CC="ccache gcc" -j"$JOBS" "${objs[@]}" \
			>"$o/obj.log" 2>&1) || { tail -20 "$o/obj.log"; fail "make ${objs[*]} failed ($side)"; }
	done
	ndiff=0
	for obj in "${objs[@]}"; do
		r=$(python3 "$repo/patches/compare-objects.py" "$WORK/out-pp-base/$obj" \
			"$WORK/out-pp-series/$obj") || ndiff=$((ndiff + 1))
		echo "${obj}: $r"
	done
	[ $ndiff = 0 ] || fail "$ndiff object(s) differ with SRCU_RS=n beyond __bug_table line numbers"
	git -C "$tree" checkout -q -f "$series_head"
fi

kout=$WORK/out-srcu-rs
[ "${MITIGATIONS:-1}" = 1 ] && kout=$kout-mitig

# kconfig OPTION... : tinyconfig + the fragment(s) + OPTIONs (CONFIG_X=y|m) in $kout; every
# OPTION must survive olddefconfig (Kconfig silently drops one whose dependencies are unmet).
kconfig() {
	local frags=("$frag") o
	[ "${MITIGATIONS:-1}" = 1 ] && frags+=("$mitig")
	mkdir -p "$kout"
	make -C "$tree" O="$kout" ARCH=x86_64 tinyconfig >/dev/null
	scripts_merge=$tree/scripts/kconfig/merge_config.sh
	(cd "$tree" && "$scripts_merge" -m -O "$kout" "$kout/.config" "${frags[@]}" >/dev/null)
	for o in "$@"; do
		sed -i "/^${o%%=*}=/d; /^# ${o%%=*} is not set/d" "$kout/.config"
		echo "$o" >>"$kout/.config"
	done
	make -C "$tree" O="$kout" ARCH=x86_64 olddefconfig >/dev/null
	for o in "$@"; do
		grep -qx "$o" "$kout/.config" || fail "$o not in the final .config (unmet dependency; for SRCU_RS: rustc >= 1.93?)"
	done
}

# kmake LABEL: build bzImage and modules in $kout, then check the log.
kmake() {
	local log=$kout/build-$1.log kt=$SECONDS bad
	nice -n 19 make -C "$tree" O="$kout" -j"$JOBS" CC="ccache gcc" bzImage modules >"$log" 2>&1 ||
		{ tail -40 "$log"; fail "kernel build ($1) failed"; }
	echo "kernel build ($1): $((SECONDS - kt)) s"
	# objtool ("x.o: warning: objtool: ..."), ld ("ld: warning: ..."), modpost and
	# compiler warnings: the base tree builds these configs with none.
	bad=$(grep -E 'objtool: |: warning: |^ld: |ld: warning|WARNING: modpost|ERROR: modpost|^warning: ' "$log" || true)
	if [ -n "$bad" ]; then
		echo "$bad" | head -40
		fail "$(wc -l <<<"$bad") objtool/linker/modpost/compiler warning line(s) in the $1 build ($log)"
	fi
	echo "no objtool, linker, modpost or compiler warnings"
}

# check_readers: the inline reader fast path (generated from srcu-core's readers.rs) must
# have survived compilation: per-CPU increment then barrier B, barrier C then increment.
check_readers() {
	if grep -q '^CONFIG_SRCU_RS_GENERIC_PERCPU=y' "$kout/.config"; then
		echo "SRCU_RS_GENERIC_PERCPU=y: inline reader object check skipped"
	else
		bash "$repo/c-shim/kernel/check-readers.sh" "$kout/kernel/notifier.o" \
			srcu_notifier_call_chain || fail "inline srcu_rs readers check"
	fi
}

kvm_y=(CONFIG_KVM=y CONFIG_KVM_AMD=y CONFIG_KVM_INTEL=y)
kvm_m=(CONFIG_KVM=m CONFIG_KVM_AMD=m CONFIG_KVM_INTEL=m)
srcu_rs=(CONFIG_SRCU_RS=y CONFIG_SRCU_RS_KUNIT_TEST=y)

if [ "${KERNEL_BUILD:-0}" = 1 ]; then
	step "kernel build (SRCU_RS=y, KVM=y) in $kout"
	kconfig "${srcu_rs[@]}" "${kvm_y[@]}"
	kmake srcu-rs
	check_readers
	cp "$kout/.config" "$WORK/config-srcu-rs"
fi

if [ "${MODULES:-0}" = 1 ]; then
	step "kernel build (SRCU_RS=y, KVM=m) in $kout"
	kconfig "${srcu_rs[@]}" "${kvm_m[@]}"
	kmake kvm-m
	for m in arch/x86/kvm/kvm.ko arch/x86/kvm/kvm-amd.ko arch/x86/kvm/kvm-intel.ko; do
		[ -f "$kout/$m" ] || fail "$m was not built"
	done
	# modpost passed: every srcu_rs symbol the KVM modules use is exported.
	used=$(nm -u "$kout/arch/x86/kvm/kvm.ko" | grep -oE '[a-z_]*srcu_rs[a-z_]*' | sort -u | tr '\n' ' ')
	[ -n "$used" ] || fail "kvm.ko uses no srcu_rs symbol: is irq_srcu on srcu_rs?"
	echo "kvm.ko imports (exported; modpost passed): $used"
fi

if [ "${TEST_OPTIONS:-0}" = 1 ]; then
	step "kernel build (SRCU_RS=y, KVM=m, GENERIC_PERCPU, FAULT_INJECTION) in $kout"
	kconfig "${srcu_rs[@]}" "${kvm_m[@]}" CONFIG_SRCU_RS_GENERIC_PERCPU=y \
		CONFIG_SRCU_RS_FAULT_INJECTION=y
	kmake test-options
	check_readers
fi

if [ "${BISECT:-0}" = 1 ]; then
	[ -f "$WORK/config-srcu-rs" ] || fail "BISECT=1 needs KERNEL_BUILD=1 first (for the config)"
	step "check-bisect"
	git -C "$tree" checkout -q -f srcu-rs-base
	"$gen" check-bisect --tree "$tree" --series "$series" --config "$WORK/config-srcu-rs" \
		--out "$WORK/out-bisect" --jobs "$JOBS"
fi
step "done"
echo "ci-check: 1 passed, 0 failed"
exit 0
}
