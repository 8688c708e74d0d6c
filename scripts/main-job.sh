#!/bin/bash
# SPDX-License-Identifier: MIT OR GPL-2.0-only
#
# The main job (README): on a fresh Debian 12 x86_64 machine, install what it needs, then build,
# boot and test the stock and the srcu-rs kernels, x86_64 and ppc64le, on the default tree
# (Debian's pinned linux-source-6.12). Arguments go to `srcu-rs-kernel-tests run` (e.g. --ci, --dry-run,
# --tree DIR, --kvm-unit-tests DIR); see kernel-tests/README.md.
#
# Needs root: it adds bookworm-backports to the APT sources (for QEMU 10) and apt-get installs
# the packages of kernel-tests/packages.list and the pinned kernel source. Without root, install
# those first and set SKIP_INSTALL=1 (the build and the QEMU boots themselves need no root).
set -eu
cd "$(dirname "$0")/.."
if [ "${SKIP_INSTALL:-0}" != 1 ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "main-job: needs root to install packages (apt-get): run it as root, or install" \
			"kernel-tests/packages.list (kernel, backports) and the source package named in" \
			"patches/linux-6.12/BASE, then run with SKIP_INSTALL=1" >&2
		exit 2
	fi
	# QEMU 10 comes from bookworm-backports (Debian 12's 7.2 aborts on a kvm-unit-test).
	if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
		echo "main-job: adding bookworm-backports to the APT sources (for QEMU 10)"
		echo 'deb http://deb.debian.org/debian bookworm-backports main' \
			>/etc/apt/sources.list.d/bookworm-backports.list
		apt-get update -qq
	fi
	cargo run -q --release -p srcu-rs-kernel-tests -- install-deps
	# The series' Rust objects: x86_64-unknown-none's prebuilt core (x86_64); core from rust-src (ppc64le).
	rustup target list --installed | grep -q '^x86_64-unknown-none$' || rustup target add x86_64-unknown-none
	rustup component list --installed | grep -q '^rust-src' || rustup component add rust-src
fi
exec cargo run -q --release -p srcu-rs-kernel-tests -- run "$@"
