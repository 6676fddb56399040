#!/usr/bin/env python3
"""Worst-case stack depth of functions in an ARM ELF built with
`-Z emit-stack-sizes`: each function's frame (llvm-readobj --stack-sizes)
plus the deepest chain of direct calls below it (llvm-objdump). Indirect
calls (trait objects, function pointers) are not followed; functions that
make them are marked, and the caller adds their targets' depth.

    stack_depth.py ELF TOOLDIR LABEL=SUBSTRING[&SUBSTRING]...

prints one tab-separated line per label: the deepest stack of the
function whose (mangled) name holds every SUBSTRING, in bytes, and its
own frame."""
import re
import subprocess
import sys

elf, tools, *wanted = sys.argv[1:]
sizes = {}
names = []
out = subprocess.run([f"{tools}/llvm-readobj", "--stack-sizes", elf],
                     capture_output=True, text=True, check=True).stdout
for line in out.splitlines():
    m = re.search(r"Functions: \[(.*)\]", line)
    if m:
        names = m.group(1).split(", ")
    m = re.search(r"Size: 0x([0-9A-Fa-f]+)", line)
    if m:
        for n in names:
            sizes[n] = int(m.group(1), 16)

calls, indirect, fn = {}, set(), None
dis = subprocess.run([f"{tools}/llvm-objdump", "-d", "--no-show-raw-insn", elf],
                     capture_output=True, text=True, check=True).stdout
for line in dis.splitlines():
    m = re.match(r"^[0-9a-f]+ <(.*)>:$", line)
    if m:
        fn = m.group(1)
        calls.setdefault(fn, set())
        continue
    if fn is None:
        continue
    m = re.search(r"\t(bl|blx|b\.w|b)\s+0x[0-9a-f]+ <([^>+]+)>", line)
    if m and m.group(2) != fn:
        calls[fn].add(m.group(2))
    elif re.search(r"\tblx\s+r\d", line):
        indirect.add(fn)

memo = {}


def depth(f, path=()):
    if f in memo:
        return memo[f]
    if f in path:  # recursion: counted once
        return 0, []
    best = (0, [])
    for g in calls.get(f, ()):
        d = depth(g, path + (f,))
        if d[0] > best[0]:
            best = d
    memo[f] = (sizes.get(f, 0) + best[0], [f] + best[1])
    return memo[f]


def demangle(n):
    try:
        return subprocess.run(["rustfilt"], input=n, capture_output=True,
                              text=True).stdout.strip() or n
    except FileNotFoundError:
        return n


for item in wanted:
    label, pattern = item.split("=", 1)
    parts = pattern.split("&")
    found = [f for f in calls if all(p in f for p in parts)]
    if not found:
        print(f"{label}\tnot found")
        continue
    f = max(found, key=lambda f: depth(f)[0])
    d, chain = depth(f)
    mark = " (+ indirect calls)" if any(g in indirect for g in chain) else ""
    print(f"{label}\t{d}\t{sizes.get(f, 0)}{mark}")
