"""Records and renders the figures of scripts/bench_scale.sh.

    python3 bench/scale/report.py record RESULTS.jsonl WRK_OUTPUT key=value...
        appends one load record: wrk's RESULT line (bench/wrk_report.lua)
        in WRK_OUTPUT, plus the key=value fields (numbers stay numbers)
    python3 bench/scale/report.py seed RESULTS.jsonl key=value...
        appends one seed record (backend, n, rows, seconds, bytes)
    python3 bench/scale/report.py render RESULTS.jsonl key=value...
        prints the markdown tables (the key=value fields describe the run:
        secs, threads, conns, cores, known)

Load records carry backend (sqlite|pg), section (growth|one|two), n (live
tokens seeded), endpoint, replica (two replicas: A or B), and the cache
hits/misses the server's /metrics counted during the run.
"""

import json
import sys

ENDPOINTS = {
    "token": "client_credentials issuance",
    "introspect": "introspection, one token (cached)",
    "introspect_cold": "introspection, a new token each request",
    "ping": "Bearer /api/ping",
}
BACKENDS = {"sqlite": "SQLite", "pg": "PostgreSQL"}


def parse_fields(args):
    out = {}
    for a in args:
        k, _, v = a.partition("=")
        try:
            out[k] = int(v)
        except ValueError:
            try:
                out[k] = float(v)
            except ValueError:
                out[k] = v
    return out


def record(path, wrk_output, fields):
    result = None
    with open(wrk_output) as f:
        for line in f:
            if line.startswith("RESULT "):
                result = json.loads(line[len("RESULT "):])
    if result is None:
        sys.exit(f"report.py: no RESULT line in {wrk_output}")
    result.update(parse_fields(fields))
    with open(path, "a") as f:
        f.write(json.dumps(result) + "\n")


def seed(path, fields):
    r = parse_fields(fields)
    r["kind"] = "seed"
    with open(path, "a") as f:
        f.write(json.dumps(r) + "\n")


def rps(r):
    return r["requests"] * 1e6 / r["duration_us"] if r["duration_us"] else 0.0


def us(v):
    if v < 1000:
        return f"{v:.0f} µs"
    if v < 10_000:
        return f"{v / 1000:.2f} ms"
    if v < 100_000:
        return f"{v / 1000:.1f} ms"
    return f"{v / 1000:.0f} ms"


def count(n):
    exp = len(str(n)) - 1
    if n == 10**exp and exp >= 3:
        return f"10^{exp}"
    return f"{n:,}"


def size(b):
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if b >= scale:
            return f"{b / scale:.1f} {unit}" if b < 100 * scale else f"{b / scale:.0f} {unit}"
    return f"{b} B"


def duration(s):
    if s < 60:
        return f"{s:.1f} s"
    return f"{int(s // 60)} min {s % 60:.0f} s"


def errors(r):
    e = r["errors"]
    parts = []
    if e["status"]:
        parts.append(f"{e['status']:,} non-2xx")
    for k in ("connect", "read", "write", "timeout"):
        if e[k]:
            parts.append(f"{e[k]:,} {k}")
    return ", ".join(parts) or "0"


def hit_share(r):
    h, m = r.get("hits", 0), r.get("misses", 0)
    return h / (h + m) if h + m else 0.0


def hits(r):
    h, m = r.get("hits", 0), r.get("misses", 0)
    if r["endpoint"] == "token" or h + m == 0:
        return "—"
    return f"{100 * h / (h + m):.0f}%"


def growth(records, backend):
    seeds = [r for r in records if r.get("kind") == "seed" and r["backend"] == backend]
    loads = [r for r in records if r.get("kind") != "seed" and r["backend"] == backend
             and r["section"] == "growth"]
    if not seeds:
        return []
    name = BACKENDS[backend]
    lines = [f"### {name}: live access tokens already in the database", ""]
    lines += ["| live access tokens | seeded in | database size | per token |",
              "| ---: | ---: | ---: | ---: |"]
    for s in seeds:
        lines.append(f"| {count(s['n'])} | {duration(s['seconds'])} | {size(s['bytes'])} "
                     f"| {s['bytes'] / max(s['rows'], 1):.0f} B |")
    lines.append("")
    ns = sorted({r["n"] for r in loads})
    if not ns:
        return lines
    base_n = ns[0]
    lines += [f"| live access tokens | endpoint | requests/s | vs {count(base_n)} | p50 | p99 "
              "| access-token cache hits | errors |",
              "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    # Each endpoint against its run at the smallest size; the uncached
    # introspection against the smallest size it really missed the cache at
    # (with fewer seeded tokens than requests the walk wraps and hits).
    base = {}
    for r in sorted(loads, key=lambda r: r["n"]):
        cached = r["endpoint"] == "introspect_cold" and hit_share(r) > 0.5
        if r["endpoint"] not in base and not cached:
            base[r["endpoint"]] = r
    for n in ns:
        for r in [r for r in loads if r["n"] == n]:
            b = base.get(r["endpoint"])
            if b is None or r["n"] < b["n"]:
                ratio = "—"
            elif b["n"] == base_n:
                ratio = f"{rps(r) / rps(b):.2f}×"
            else:
                ratio = f"{rps(r) / rps(b):.2f}× of {count(b['n'])}"
            lines.append(f"| {count(n)} | {ENDPOINTS[r['endpoint']]} | {rps(r):,.0f} | {ratio} "
                         f"| {us(r['p50_us'])} | {us(r['p99_us'])} | {hits(r)} | {errors(r)} |")
    lines.append("")
    return lines


def replicas(records, meta):
    one = [r for r in records if r.get("kind") != "seed" and r["backend"] == "pg"
           and r["section"] == "one"]
    two = [r for r in records if r.get("kind") != "seed" and r["backend"] == "pg"
           and r["section"] == "two"]
    lines = []
    if one:
        lines += ["### PostgreSQL: one replica", "",
                  f"`wrk -t{meta.get('threads', 2)} -c{meta.get('conns', 64)}` against one "
                  "`latch serve`.", "",
                  "| endpoint | requests/s | p50 | p99 | errors |",
                  "| --- | ---: | ---: | ---: | ---: |"]
        for r in one:
            lines.append(f"| {ENDPOINTS[r['endpoint']]} | {rps(r):,.0f} | {us(r['p50_us'])} "
                         f"| {us(r['p99_us'])} | {errors(r)} |")
        lines.append("")
    if two:
        single = {r["endpoint"]: rps(r) for r in one}
        half = meta.get("conns", 64) // 2
        lines += ["### PostgreSQL: two replicas, one database", "",
                  "Two `latch serve` processes on one PostgreSQL database, the load split "
                  f"between them: two wrk processes at once, each `wrk -t1 -c{half}` against "
                  "one replica; **sum** is the two wrk runs' requests/s added together. "
                  "Both replicas, both wrk processes and PostgreSQL share this machine's "
                  f"{meta.get('cores', '?')} cores, so the sum measures contention here, "
                  "not what a second machine would add.", "",
                  "| endpoint | replica A | replica B | sum | one replica | sum / one "
                  "| p50 A / B | p99 A / B | errors |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for ep in [e for e in ENDPOINTS if any(r["endpoint"] == e for r in two)]:
            a = next(r for r in two if r["endpoint"] == ep and r["replica"] == "A")
            b = next(r for r in two if r["endpoint"] == ep and r["replica"] == "B")
            total = rps(a) + rps(b)
            s = single.get(ep)
            ratio = f"{total / s:.2f}×" if s else "—"
            lines.append(
                f"| {ENDPOINTS[ep]} | {rps(a):,.0f} | {rps(b):,.0f} | **{total:,.0f}** "
                f"| {f'{s:,.0f}' if s else '—'} | {ratio} | {us(a['p50_us'])} / {us(b['p50_us'])} "
                f"| {us(a['p99_us'])} / {us(b['p99_us'])} | {errors(a)} / {errors(b)} |")
        lines.append("")
    return lines


def render(path, fields):
    meta = parse_fields(fields)
    with open(path) as f:
        records = [json.loads(line) for line in f if line.strip()]
    lines = ["## At scale", "",
             f"`bash scripts/bench_scale.sh {meta.get('secs', 10)}` on loopback: "
             f"`wrk -t{meta.get('threads', 2)} -c{meta.get('conns', 64)} -d{meta.get('secs', 10)}s` "
             f"per row, server and wrk sharing {meta.get('cores', '?')} cores. Each size is a "
             "fresh database: `latch client add` creates it, then `oauth2_access_tokens` is "
             "filled directly (bench/scale/seed_*.sql: random hashes and families, one "
             "client, expiring in 10 years) before the server starts. The cached "
             "introspection asks about one token the server just issued, so after the first "
             "request it is answered from the 10 s access-token cache; the uncached one walks "
             f"up to {meta.get('known', 250000):,} seeded tokens whose text is known "
             "(bench/scale/known_tokens.py), a different one each request, so it reads the "
             "database; its cache-hit share (from `/metrics`) shows whether the walk "
             "wrapped around within 10 s (it does when the table holds fewer tokens than "
             "the run makes requests; such a run is not a baseline in the \"vs\" column). "
             "Issuance runs last at each size (it adds its tokens to the table). The "
             "databases fit in this machine's page cache, so these are warm-cache figures.",
             ""]
    if meta.get("load_start"):
        lines += [f"Load average at start: {meta['load_start']}; at end: "
                  f"{meta.get('load_end', '?')}. Date: {meta.get('date', '?')}.", ""]
    lines += growth(records, "sqlite")
    lines += replicas(records, meta)
    lines += growth(records, "pg")
    if meta.get("pg_note"):
        lines += [str(meta["pg_note"]), ""]
    print("\n".join(lines).rstrip())


def main():
    cmd, path, *rest = sys.argv[1:]
    if cmd == "record":
        record(path, rest[0], rest[1:])
    elif cmd == "seed":
        seed(path, rest)
    elif cmd == "render":
        render(path, rest)
    else:
        sys.exit(f"report.py: unknown command {cmd}")


if __name__ == "__main__":
    main()
