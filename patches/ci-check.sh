#!/bin/bash
# SPDX-License-Identifier: MIT OR GPL-2.0-only
#
# patches/ci-check.sh: check the Linux 6.12 srcu_rs series.
#
#   1. make a git tree of the pinned base (Debian linux-source-6.12, see BASE);
#   2. regenerate the series there and diff it against patches/linux-6.12/;
#   3. apply the committed series with `srcu-rs-patches apply` (git am), check that a
#      second apply is refused, and apply it with patch -p1 to a plain partial tree;
#   4. scripts/checkpatch.pl --strict on every patch: no ERROR allowed;
#   5. KERNEL_BUILD=1: build the small KVM config with SRCU_RS=y (MITIGATIONS=1 adds
#      RETPOLINE/RETHUNK/IBT/CALL_PADDING), report objtool/linker warnings, and check with
#      c-shim/kernel/check-readers.sh that srcu_notifier_call_chain() has both inline read
#      sides (per-CPU incq then full barrier; full barrier then incq; no call to Rust);
#   5b. PREPROCESS=1: with SRCU_RS=n every touched .c file preprocesses to the base's output
#      (line markers aside);
#   6. BISECT=1: build every prefix of the series (srcu-rs-patches check-bisect).
#
# Environment: LINUX_TARBALL (default /usr/src/linux-source-6.12.tar.xz) or LINUX_SRC (an
# unpacked pristine tree, used when the tarball is absent); WORK (default
# /work/kbuild/ci); JOBS (default 2).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
series=$repo/patches/linux-6.12
WORK=${WORK:-/work/kbuild/ci}
JOBS=${JOBS:-2}
LINUX_TARBALL=${LINUX_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
LINUX_SRC=${LINUX_SRC:-/work/kbuild/linux-6.12}
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
	elif [ -f "$LINUX_SRC/Makefile" ]; then
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
	grep ': ERROR:' <<<"$res" || true
	errors=$((errors + n))
done
[ $errors = 0 ] || fail "checkpatch reported $errors error(s)"

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
	files=$(git -C "$tree" diff --name-only srcu-rs-base "$series_head" -- '*.c')
	for side in base series; do
		o=$WORK/out-pp-$side
		rev=srcu-rs-base
		[ $side = series ] && rev=$series_head
		git -C "$tree" checkout -q -f "$rev"
		mkdir -p "$o"
		(
			cd "$tree"
			make O="$o" ARCH=x86_64 tinyconfig >/dev/null
			scripts/kconfig/merge_config.sh -m -O "$o" "$o/.config" "$frag" >/dev/null
			make O="$o" ARCH=x86_64 olddefconfig >/dev/null
			for f in $files; do
				[ -f "$f" ] || continue
				make O="$o" CC="ccache gcc" -j"$JOBS" "${f%.c}.i" >/dev/null 2>&1 ||
					fail "make ${f%.c}.i failed ($side)"
			done
		)
	done
	for f in $files; do
		[ -f "$WORK/out-pp-base/${f%.c}.i" ] || { echo "new file: $f"; continue; }
		if ! diff -q <(grep -v '^#' "$WORK/out-pp-base/${f%.c}.i") \
			<(grep -v '^#' "$WORK/out-pp-series/${f%.c}.i") >/dev/null; then
			fail "$f preprocesses differently with SRCU_RS=n"
		fi
		echo "same preprocessed output: $f"
	done
	git -C "$tree" checkout -q -f "$series_head"
fi

if [ "${KERNEL_BUILD:-0}" = 1 ]; then
	kout=$WORK/out-srcu-rs${MITIGATIONS:+-mitig}
	step "kernel build (SRCU_RS=y) in $kout"
	mkdir -p "$kout"
	(
		cd "$tree"
		make O="$kout" ARCH=x86_64 tinyconfig >/dev/null
		frags=("$frag")
		[ "${MITIGATIONS:-0}" = 1 ] && frags+=("$mitig")
		scripts/kconfig/merge_config.sh -m -O "$kout" "$kout/.config" "${frags[@]}" >/dev/null
		echo CONFIG_SRCU_RS=y >>"$kout/.config"
		make O="$kout" ARCH=x86_64 olddefconfig >/dev/null
		grep -q '^CONFIG_SRCU_RS=y' "$kout/.config" || fail "SRCU_RS not enabled (rustc >= 1.93?)"
		kt=$SECONDS
		make O="$kout" -j"$JOBS" CC="ccache gcc" bzImage modules >"$kout/build.log" 2>&1 ||
			{ tail -40 "$kout/build.log"; fail "kernel build failed"; }
		echo "kernel build: $((SECONDS - kt)) s"
		if grep -E 'objtool|warning:' "$kout/build.log" | grep -i 'srcu_rs\|srcu-rs'; then
			fail "srcu_rs warnings in the kernel build"
		fi
		grep -c 'warning:' "$kout/build.log" | sed 's/^/total build warnings: /'
		# The inline reader fast path (generated from srcu-core's readers.rs) must have
		# survived compilation: per-CPU increment then barrier B, barrier C then increment.
		if grep -q '^CONFIG_SRCU_RS_GENERIC_PERCPU=y' "$kout/.config"; then
			echo "SRCU_RS_GENERIC_PERCPU=y: inline reader object check skipped"
		else
			bash "$repo/c-shim/kernel/check-readers.sh" "$kout/kernel/notifier.o" \
				srcu_notifier_call_chain || fail "inline srcu_rs readers check"
		fi
	)
	cp "$kout/.config" "$WORK/config-srcu-rs"
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
