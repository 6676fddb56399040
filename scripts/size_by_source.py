#!/usr/bin/env python3
"""Code by source file: the instructions of the functions a build has and
its baseline does not (llvm-nm, by demangled name without the hash), each
instruction counted for the source file of its innermost inlined line
(llvm-objdump -d -l), summed per file — a markdown table of the largest.
Where the by-crate table (size_by_crate.py) says which crate's function
holds the code, this says whose code was inlined there: the core's JSON
reader inside the device's handlers, `?`'s conversions in `core::result`.

    size_by_source.py TOOLDIR BASELINE.elf BUILD.elf [ROWS]

Only code (.text) is counted, not constants; a function whose name is in
the baseline too is left out, so code both builds share is not counted
twice, and code the baseline has in functions of other names is (TCP,
inlined into different callers)."""
import bisect
import collections
import re
import subprocess
import sys

tools, base_elf, build_elf = sys.argv[1:4]
rows = int(sys.argv[4]) if len(sys.argv) > 4 else 30


def functions(elf):
    out = subprocess.run([f"{tools}/llvm-nm", "--print-size", "--radix=x", "-C", elf],
                         capture_output=True, text=True, check=True).stdout
    found = []
    for line in out.splitlines():
        parts = line.split(None, 3)
        if len(parts) == 4 and parts[2] in ("t", "T"):
            name = re.sub(r"::h[0-9a-f]{16}$", "", parts[3])
            found.append((int(parts[0], 16) & ~1, int(parts[1], 16), name))
    return found


def short(path):
    path = re.sub(r"^/rustc/[0-9a-f]+/library/", "std: ", path)
    path = re.sub(r"^.*/registry/src/[^/]+/", "", path)
    path = re.sub(r"^.*?/(core|firmware|host)/", r"\1/", path)
    return path


in_base = {name for _, _, name in functions(base_elf)}
new = [(a, n) for a, n, name in functions(build_elf) if name not in in_base]
listing = subprocess.run([f"{tools}/llvm-objdump", "-d", "-l", "--no-show-raw-insn", build_elf],
                         capture_output=True, text=True, check=True).stdout
source, insns = "(no line)", []
for line in listing.splitlines():
    m = re.match(r"^; (\S+):\d+", line)
    if m:
        source = m.group(1)
        continue
    m = re.match(r"^\s+([0-9a-f]+):\s", line)
    if m:
        insns.append((int(m.group(1), 16), source))
addrs = [a for a, _ in insns]
by = collections.Counter()
for start, size in new:
    i = bisect.bisect_left(addrs, start)
    while i < len(insns) and insns[i][0] < start + size:
        end = insns[i + 1][0] if i + 1 < len(insns) else start + size
        by[short(insns[i][1])] += min(end, start + size) - insns[i][0]
        i += 1
total = sum(by.values())
print("| source file (innermost inlined line) | bytes of code |")
print("| --- | ---: |")
for path, n in by.most_common(rows):
    print(f"| {path} | {n} |")
print(f"| the other {max(len(by) - rows, 0)} files | {total - sum(n for _, n in by.most_common(rows))} |")
print(f"| **all code the baseline lacks** | {total} |")
