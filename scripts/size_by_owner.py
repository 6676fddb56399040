#!/usr/bin/env python3
"""Code by owner, and code inlined more than once: the two views that
size_by_source.py cannot give, for finding what to cut.

* **By owner.** Each instruction counts for the first frame of its inline
  chain (innermost first) that is this repository's code (core/,
  firmware/, host/), and not for the std or dependency function it is
  inlined from. So `?`'s conversions, serde-json-core's parser and
  httparse count for the latch function that called them. The baseline's
  count is subtracted per file.
* **Inlined more than once.** Functions (latch's and their dependencies')
  whose code sits in more than one outer symbol of the build, with the
  bytes of all copies and how much more that is than in the baseline. Monomorphized or inlined copies of one routine
  show up here. The serde derive of four client documents showed up as
  `latch_core::json::parse` in 4 callers, 2,994 B, and one member walker
  replaced it (BENCHMARKS.md, "Firmware", 2026-12-07).

    size_by_owner.py TOOLDIR BASELINE.elf BUILD.elf [ROWS]

Needs `llvm-symbolizer` on PATH: rustup's llvm-tools does not ship it,
but Debian's `llvm` package does. Not run by scripts/firmware.sh."""
import collections
import re
import shutil
import subprocess
import sys

tools, base_elf, build_elf = sys.argv[1:4]
rows = int(sys.argv[4]) if len(sys.argv) > 4 else 30
symbolizer = shutil.which("llvm-symbolizer")
if symbolizer is None:
    sys.exit("size_by_owner.py: llvm-symbolizer is not on PATH (apt-get install llvm)")
OURS = re.compile(r"/(core|firmware|host)/(src|device)/")


def ours(path):
    """Whether a source path is this repository's own code (std's
    `library/core/src` and build-script output are not)."""
    return (OURS.search(path) is not None and not path.startswith("/rustc/")
            and "/registry/" not in path and "/target/" not in path)


def readable(name):
    """Legacy Rust symbol escapes, spelled out."""
    for esc, ch in (("$LT$", "<"), ("$GT$", ">"), ("$u20$", " "), ("$RF$", "&"), ("$C$", ","),
                    ("$u7b$", "{"), ("$u7d$", "}"), ("$u5b$", "["), ("$u5d$", "]"),
                    ("$u3b$", ";"), ("$BP$", "*"), ("..", "::")):
        name = name.replace(esc, ch)
    return name.removeprefix("_")


def instructions(elf):
    """(address, size) of every instruction and literal pool word."""
    listing = subprocess.run([f"{tools}/llvm-objdump", "-d", "--no-show-raw-insn", elf],
                             capture_output=True, text=True, check=True).stdout
    out, prev = [], None
    for line in listing.splitlines():
        m = re.match(r"^\s+([0-9a-f]+):\s", line)
        if m:
            addr = int(m.group(1), 16)
            # A gap over 8 bytes is padding between functions.
            if prev is not None and 0 < addr - prev <= 8:
                out.append((prev, addr - prev))
            prev = addr
        elif not line.strip() or line.endswith(">:"):
            prev = None
    return out


def chains(elf, addrs):
    """Each address's inline chain, innermost first: (function, file)."""
    text = subprocess.run([symbolizer, "--inlining", "--demangle", "-e", elf],
                          input="\n".join(hex(a) for a, _ in addrs),
                          capture_output=True, text=True, check=True).stdout
    for block in text.strip().split("\n\n"):
        lines = block.splitlines()
        yield [(re.sub(r"::h[0-9a-f]{16}$", "", lines[i]), lines[i + 1].rsplit(":", 2)[0])
               for i in range(0, len(lines) - 1, 2)]


def short(path):
    path = re.sub(r"^/rustc/[0-9a-f]+/library/([^/]+)/.*", r"std: \1", path)
    path = re.sub(r"^.*/registry/src/[^/]+/([^/]+)/.*", r"\1", path)
    return re.sub(r"^.*?/(core|firmware|host)/", r"\1/", path)


def analyse(elf):
    addrs = instructions(elf)
    owner = collections.Counter()
    size = collections.Counter()
    outers = collections.defaultdict(set)
    for (_, n), chain in zip(addrs, chains(elf, addrs)):
        if not chain:
            continue
        mine = next((f for _, f in chain if ours(f)), None)
        owner[short(mine) if mine else "(dependency: " + short(chain[-1][1]) + ")"] += n
        outer = chain[-1][0]
        for fn in {fn for fn, _ in chain[:-1]}:
            size[fn] += n
            outers[fn].add(outer)
    return owner, size, outers


base_owner, base_size, _ = analyse(base_elf)
owner, size, outers = analyse(build_elf)
diff = {k: owner[k] - base_owner[k] for k in set(owner) | set(base_owner)}
print("| owner (first frame in this repository) | baseline | with it | adds |")
print("| --- | ---: | ---: | ---: |")
top = sorted(diff.items(), key=lambda kv: -kv[1])[:rows]
for path, d in top:
    print(f"| {path} | {base_owner[path]} | {owner[path]} | {d:+d} |")
print(f"| the other {max(len(diff) - rows, 0)} | | | {sum(diff.values()) - sum(d for _, d in top):+d} |")
print()
print("| inlined into several functions | copies | bytes, all copies | more than the baseline |")
print("| --- | ---: | ---: | ---: |")
many = sorted(((size[f] - base_size[f], size[f], len(outers[f]), f) for f in size
               if len(outers[f]) > 1 and size[f] > base_size[f]), reverse=True)
for grew, n, copies, fn in many[:rows]:
    print(f"| `{readable(fn)[:110]}` | {copies} | {n} | {grew:+d} |")
