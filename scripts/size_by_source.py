#!/usr/bin/env python3
"""Code by source file: every instruction of an ELF's code counted for the
source file of its innermost inlined line (llvm-objdump -d -l), summed per
file, for a baseline and a build with more in it, and what the second adds
per file — a markdown table of the largest changes. Where the by-crate
table (size_by_crate.py) says which crate's function holds the code, this
says whose code it is: the core's JSON reader inlined into the device's
handlers counts for the core, `?`'s conversions for `core::result`. Code
that moved between callers (TCP, inlined elsewhere) cancels out.

    size_by_source.py TOOLDIR BASELINE.elf BUILD.elf [ROWS]

The literal pools in the code (the `.word` lines llvm-objdump prints
between instructions) count for the line before them; constants in
.rodata are not counted."""
import collections
import re
import subprocess
import sys

tools, base_elf, build_elf = sys.argv[1:4]
rows = int(sys.argv[4]) if len(sys.argv) > 4 else 30


def short(path):
    path = re.sub(r"^/rustc/[0-9a-f]+/library/", "std: ", path)
    path = re.sub(r"^.*/registry/src/[^/]+/", "", path)
    # Build-script output lives under each target directory's own hash.
    path = re.sub(r"^.*/build/([A-Za-z0-9_-]+?)-[0-9a-f]{16}/out/", r"\1 (generated)/", path)
    path = re.sub(r"^.*?/(core|firmware|host)/", r"\1/", path)
    return path


def by_source(elf):
    listing = subprocess.run([f"{tools}/llvm-objdump", "-d", "-l", "--no-show-raw-insn", elf],
                             capture_output=True, text=True, check=True).stdout
    by = collections.Counter()
    source, prev = "(no line)", None
    for line in listing.splitlines():
        m = re.match(r"^; (\S+):\d+", line)
        if m:
            source = short(m.group(1))
            continue
        m = re.match(r"^\s+([0-9a-f]+):\s", line)
        if m:
            addr = int(m.group(1), 16)
            # An instruction's (or pool word's) size is the distance to the
            # next line; a gap over 8 bytes is padding between functions.
            if prev is not None and 0 < addr - prev[0] <= 8:
                by[prev[1]] += addr - prev[0]
            prev = (addr, source)
        elif not line.strip() or line.endswith(">:"):
            prev = None
    return by


base, build = by_source(base_elf), by_source(build_elf)
diff = {f: build[f] - base[f] for f in set(base) | set(build)}
top = sorted(diff.items(), key=lambda kv: -kv[1])[:rows]
print("| source file (innermost inlined line) | baseline | with it | adds |")
print("| --- | ---: | ---: | ---: |")
for path, d in top:
    print(f"| {path} | {base[path]} | {build[path]} | {d:+d} |")
rest = sum(diff.values()) - sum(d for _, d in top)
print(f"| the other {max(len(diff) - rows, 0)} files | | | {rest:+d} |")
print(f"| **all code** | {sum(base.values())} | {sum(build.values())} | {sum(diff.values()):+d} |")
