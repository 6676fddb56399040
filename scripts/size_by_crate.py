#!/usr/bin/env python3
"""Flash by crate: the sizes of an ELF's code and read-only symbols
(llvm-nm --print-size), summed by the crate that defines each symbol (the
first path segment of its demangled name; `<T as Trait>` counts for T's
crate), for a baseline and a build with more in it, and what the second
adds per crate — a markdown table, largest first.

    size_by_crate.py TOOLDIR BASELINE.elf BUILD.elf

Symbols without a size (labels) and RAM symbols (.bss) are left out; what
the linker adds between symbols (alignment, literal pools counted in
their function) is not attributed, so the sum is a little under the
section sizes."""
import collections
import re
import subprocess
import sys

tools, base_elf, build_elf = sys.argv[1:]


LEGACY = [("$LT$", "<"), ("$GT$", ">"), ("$RF$", "&"), ("$u20$", " "), ("$u5b$", "["),
          ("$u5d$", "]"), ("$C$", ","), ("..", "::")]


def crate(name):
    if name.startswith("_$LT$"):  # half-demangled legacy names
        name = name[1:]
        for a, b in LEGACY:
            name = name.replace(a, b)
    if name.startswith((".L", "__aeabi", "__")):
        return "(linker: constants, tables, builtins)"
    name = name.lstrip("<&*[")
    name = re.sub(r"^(mut |const |dyn |impl )", "", name)
    m = re.match(r"([A-Za-z_][A-Za-z0-9_]*)::", name)
    return m.group(1) if m else "(other)"


def sizes(elf):
    out = subprocess.run([f"{tools}/llvm-nm", "--print-size", "--radix=d", "-C", elf],
                         capture_output=True, text=True, check=True).stdout
    by = collections.Counter()
    for line in out.splitlines():
        parts = line.split(None, 3)
        if len(parts) < 4:
            continue
        _, size, kind, name = parts
        if kind.lower() not in ("t", "r", "d"):
            continue
        by[crate(name)] += int(size)
    return by


base, build = sizes(base_elf), sizes(build_elf)
rows = sorted(((build[c] - base[c], c) for c in set(base) | set(build)), reverse=True)
print("| crate | baseline | with it | adds |")
print("| --- | ---: | ---: | ---: |")
for diff, c in rows:
    if diff != 0 or build[c] >= 1024:
        print(f"| {c} | {base[c]} | {build[c]} | {diff:+d} |")
print(f"| **sum of symbols** | {sum(base.values())} | {sum(build.values())} | {sum(build.values()) - sum(base.values()):+d} |")
