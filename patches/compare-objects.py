#!/usr/bin/env python3
# SPDX-License-Identifier: MIT OR GPL-2.0-only
"""Compare two builds of the same kernel object (x86_64 ELF64 relocatable).

Usage: compare-objects.py BASE.o SERIES.o

Every section must be byte-identical (contents, relocations, symbols) except __bug_table,
whose entries may differ only in their line field: the series inserts lines above WARN_ON()
and BUG_ON() sites, so their recorded __LINE__ moves, and nothing else may. Prints one line
saying which case holds and exits 0, or names each other difference and exits 1.
"""
import struct
import sys

# struct bug_entry with CONFIG_GENERIC_BUG_RELATIVE_POINTERS and CONFIG_DEBUG_BUGVERBOSE
# (x86_64): int bug_addr_disp; int file_disp; unsigned short line; unsigned short flags.
BUG_ENTRY_SIZE = 12
BUG_LINE_OFFSET = 8


def sections(path):
    data = open(path, "rb").read()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        sys.exit(f"{path}: not a little-endian ELF64 object")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    hdrs = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    strtab = hdrs[shstrndx]
    names = data[strtab[4]:strtab[4] + strtab[5]]
    out = {}
    for name, typ, _flags, _addr, off, size, *_ in hdrs:
        n = names[name:names.index(b"\0", name)].decode()
        # SHT_NOBITS (8) has no contents in the file.
        out[n] = b"" if typ == 8 else data[off:off + size]
    return out


def line_numbers_only(a, b):
    if len(a) != len(b) or len(a) % BUG_ENTRY_SIZE:
        return False
    for i in range(len(a)):
        if a[i] != b[i] and i % BUG_ENTRY_SIZE not in (BUG_LINE_OFFSET, BUG_LINE_OFFSET + 1):
            return False
    return True


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    base, series = sections(sys.argv[1]), sections(sys.argv[2])
    if base.keys() != series.keys():
        print(f"DIFFERENT sections: {sorted(base.keys() ^ series.keys())}")
        return 1
    bad, moved = [], 0
    for n in base:
        if base[n] == series[n]:
            continue
        if n == "__bug_table" and line_numbers_only(base[n], series[n]):
            moved = sum(base[n][i:i + BUG_ENTRY_SIZE] != series[n][i:i + BUG_ENTRY_SIZE]
                        for i in range(0, len(base[n]), BUG_ENTRY_SIZE))
            continue
        bad.append(n)
    if bad:
        print(f"DIFFERENT: {', '.join(bad)}")
        return 1
    if moved:
        print(f"same but for the line numbers of {moved} of "
              f"{len(base['__bug_table']) // BUG_ENTRY_SIZE} __bug_table entries")
    else:
        print("identical")
    return 0


if __name__ == "__main__":
    sys.exit(main())
