#!/bin/sh
# SPDX-License-Identifier: MIT OR GPL-2.0-only
# Print the system libraries a C program must link with libsrcu_rs.a, as rustc reports them
# (`rustc --print native-static-libs` on a static library; libsrcu_rs.a adds none of its own).
set -eu
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo '' > "$tmp/e.rs"
rustc --crate-type staticlib --print native-static-libs -o "$tmp/e.a" "$tmp/e.rs" 2>&1 |
	sed -n 's/.*native-static-libs: //p'
