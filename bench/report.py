"""Writes BENCHMARKS.md (to stdout) from the files scripts/bench.sh leaves in
its output directory (target/bench). Standard library only.

  python3 bench/report.py target/bench > BENCHMARKS.md
"""

import json
import os
import sys

CASES = [
    ("small_sha1", "small: GET, 2 query parameters", "HMAC-SHA1"),
    ("small_sha256", "small: GET, 2 query parameters", "HMAC-SHA256"),
    ("large_sha1", "large: POST, 50 form parameters", "HMAC-SHA1"),
    ("large_sha256", "large: POST, 50 form parameters", "HMAC-SHA256"),
]
GRANTS = [
    ("authorization_code", "authorization-code exchange (Basic auth, code lookup, consume, tokens, JSON)"),
    ("refresh_rotation", "refresh-token rotation (retire the old, issue access + refresh, JSON)"),
    ("client_credentials", "client-credentials issuance (Basic auth, scope, access token, JSON)"),
]
SERVERS = [
    ("latch", "Latch (`latch serve`, SQLite)"),
    ("authlib", "Python: Authlib + Flask, gunicorn"),
    ("node", "Node: express + @node-oauth/oauth2-server"),
]
ENDPOINTS = [
    ("token", "client_credentials token issuance (`POST /oauth2/token`)"),
    ("ping", "Bearer-protected `GET /api/ping`"),
    ("introspect", "introspection (`POST /oauth2/introspect`)"),
]


def read_kv(path):
    out = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("=")
            out[k] = v
    return out


def criterion(root, group, name):
    path = os.path.join(root, group.replace("/", "_"), name, "new", "estimates.json")
    with open(path) as f:
        return json.load(f)["mean"]["point_estimate"]


def t(ns):
    if ns < 1000:
        return f"{ns:.0f} ns"
    if ns < 1e6:
        return f"{ns / 1000:.2f} µs"
    return f"{ns / 1e6:.2f} ms"


def x(r):
    return f"{r:.1f}×" if r < 100 else f"{r:.0f}×"


def faster(latch, peer):
    """Latch against a peer, as 'N× faster' (or slower)."""
    r = peer / latch
    return f"{x(r)} faster" if r >= 1 else f"{x(1 / r)} slower"


def goal(ok):
    return "met" if ok else "**missed**"


def peer_versions():
    here = os.path.dirname(os.path.abspath(__file__))
    pins = {}
    with open(os.path.join(here, "python", "requirements.txt")) as f:
        for line in f:
            name, _, version = line.strip().partition("==")
            pins[name.lower()] = version
    with open(os.path.join(here, "node", "package-lock.json")) as f:
        lock = json.load(f)["packages"]
    node = {n: lock.get(f"node_modules/{n}", {}).get("version", "?") for n in ("express", "@node-oauth/oauth2-server")}
    rust = "?"
    lock_path = os.path.join(here, "..", "Cargo.lock")
    with open(lock_path) as f:
        text = f.read()
    marker = 'name = "oauth1-request"\nversion = "'
    if marker in text:
        rust = text.split(marker, 1)[1].split('"', 1)[0]
    return (
        f"oauth1-request {rust}; oauthlib {pins.get('oauthlib')}, Authlib {pins.get('authlib')}, "
        f"Flask {pins.get('flask')}, gunicorn {pins.get('gunicorn')}; "
        f"express {node['express']}, @node-oauth/oauth2-server {node['@node-oauth/oauth2-server']}"
    )


def load_avg(path):
    with open(path) as f:
        return f.read().split("load average:")[-1].strip()


def main():
    out_dir = sys.argv[1]
    crit = "target/criterion"
    m = read_kv(os.path.join(out_dir, "machine"))
    with open(os.path.join(out_dir, "oauthlib.json")) as f:
        oauthlib = json.load(f)
    latch_cli = dict(line.split() for line in open(os.path.join(out_dir, "latch_sign.txt")) if line.strip())
    bench_sigs = {}
    for line in open(os.path.join(out_dir, "criterion.log")):
        if line.startswith("signature "):
            _, case, _method, sig = line.split()
            bench_sigs[case] = sig
    load = [json.loads(l) for l in open(os.path.join(out_dir, "load.jsonl"))]
    idle = {d["server"]: d for d in map(json.loads, open(os.path.join(out_dir, "idle.jsonl")))}
    runs = {(d["server"], d["endpoint"]): d for d in load}

    p = print
    p("# Benchmarks")
    p()
    p("Latch beside the peers its users would pick instead, measured in one run of")
    p("`bash scripts/bench.sh` on one machine. Every figure below comes from that run;")
    p("regenerate them all with:")
    p()
    p("```sh")
    p(f"bash scripts/bench.sh {m['secs']} {m['conns']}    # load seconds per endpoint per server, connections")
    p("```")
    p()
    p(f"It took {int(m['elapsed_s']) // 60} min {int(m['elapsed_s']) % 60} s here. Ratios are Latch against the peer:")
    p("\"N× faster\" means the peer takes N times as long per operation (or, under load,")
    p("Latch serves N times the requests per second).")
    p()
    p("## The machine")
    p()
    p("| | |")
    p("| --- | --- |")
    p(f"| CPU | {m['cpu']}, {m['nproc']} cores (`nproc`) |")
    p(f"| memory | {m['mem_gib']} GiB |")
    p(f"| kernel | Linux {m['kernel']} |")
    p(f"| load average at start | {load_avg(os.path.join(out_dir, 'load_start'))} |")
    p(f"| load average at end | {load_avg(os.path.join(out_dir, 'load_end'))} |")
    p(f"| date | {m['date']} |")
    p(f"| commit | `{m['commit']}` |")
    p(f"| toolchains | {m['rustc']}; {m['python']}; Node {m['node']}; {m['wrk'].split(' Copyright')[0]} |")
    p(f"| peers | {peer_versions()} |")
    p()
    p("The machine is shared: other work on it shows up in the load averages above,")
    p("and figures taken while it is busy are noisy.")
    p()

    # --- signing -----------------------------------------------------------
    p("## OAuth1 signing")
    p()
    p("The client signs a request and writes the `Authorization` header value. Same keys,")
    p("token, nonce, timestamp and parameters everywhere (`oauth_version=\"1.0\"` included,")
    p("as oauthlib always sends it); the small request is a GET with 2 query parameters,")
    p("the large one a POST with 50 form parameters (values with spaces, `+`, `,`, `!`).")
    p()
    p("- **Latch**: `Request::new` (parses the URL and query) + `form_body` (parses the")
    p("  body) + `sign_to_slice`, in a caller buffer.")
    p("- **oauth1-request** 0.6 (Rust): `Builder::authorize`, handed its parameters")
    p("  already decoded and sorted in a `ParameterList` built outside the timed loop (an")
    p("  advantage over Latch, which parses them every time). The crate has no")
    p("  HMAC-SHA256: the bench plugs one in through its `SignatureMethod` trait, built")
    p("  like its own `HmacSha1`.")
    p("- **floor**: HMAC (key set-up included) over the base string built beforehand —")
    p("  what no signer can go below.")
    p("- **oauthlib** (Python): `Client(...).sign(...)`, best of 5 `timeit` repeats.")
    p()
    p("Command: `BENCH_MEASURE_SECS=4 cargo bench -p latch-core --bench peers -- sign/` and")
    p("`bench/python/.venv/bin/python bench/python/oauthlib_sign.py --seconds 2`.")
    p()
    p("| request | method | Latch | oauth1-request | Latch vs oauth1-request | floor | Latch / floor | oauthlib | Latch vs oauthlib |")
    p("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    goals = {"o1r": [], "floor": [], "oauthlib": []}
    for case, desc, method in CASES:
        g = f"sign/{case}"
        lt = criterion(crit, g, "latch")
        o1 = criterion(crit, g, "oauth1_request")
        fl = criterion(crit, g, "floor")
        ol = oauthlib["cases"][case]["sign_ns"]
        goals["o1r"].append(o1 / lt)
        goals["floor"].append(lt / fl)
        goals["oauthlib"].append(ol / lt)
        p(f"| {desc.split(':')[0]} | {method} | {t(lt)} | {t(o1)} | {faster(lt, o1)} | {t(fl)} | {lt / fl:.2f}× | {t(ol)} | {faster(lt, ol)} |")
    p()
    p("| goal | worst case in this run | |")
    p("| --- | --- | --- |")
    p(f"| ≥ 2× faster than oauth1-request | {x(min(goals['o1r']))} | {goal(min(goals['o1r']) >= 2)} |")
    p(f"| ≥ 50× faster than oauthlib | {x(min(goals['oauthlib']))} | {goal(min(goals['oauthlib']) >= 50)} |")
    p(f"| ≤ 1.5× the floor | {max(goals['floor']):.2f}× | {goal(max(goals['floor']) <= 1.5)} |")
    p()
    agree = all(
        bench_sigs.get(c) == latch_cli.get(c) == oauthlib["cases"][c]["signature"] for c, _, _ in CASES
    )
    p("Same input, same output: the criterion setup asserts that Latch and oauth1-request")
    p("produce the same `oauth_signature` for every case, and the run compares them with")
    p("`latch sign` and oauthlib's: " + ("**all agree**." if agree else "**they DISAGREE — see target/bench**."))
    p()
    p("| request | method | `oauth_signature` (all signers) |")
    p("| --- | --- | --- |")
    for case, desc, method in CASES:
        p(f"| {desc.split(':')[0]} | {method} | `{bench_sigs.get(case)}` |")
    p()

    # --- verification --------------------------------------------------------
    p("## OAuth1 verification (provider side)")
    p()
    p("The provider gets the signed request above and checks it. **Latch**:")
    p("`SignedRequest::parse` (header, query, body; protocol-parameter rules) +")
    p("`verify` (timestamp window, signature in constant time, nonce through a store that")
    p("accepts everything; the secrets are handed in). **oauthlib**: the same request")
    p("through `SignatureOnlyEndpoint.validate_request` and through")
    p("`ResourceEndpoint.validate_protected_resource_request` (which also checks the access")
    p("token), with a `RequestValidator` that answers from constants.")
    p()
    p("Command: `BENCH_MEASURE_SECS=4 cargo bench -p latch-core --bench peers -- verify/`; oauthlib as above.")
    p()
    p("| request | method | Latch | oauthlib SignatureOnlyEndpoint | Latch vs it | oauthlib ResourceEndpoint | Latch vs it |")
    p("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for case, desc, method in CASES:
        lt = criterion(crit, f"verify/{case}", "latch")
        so = oauthlib["cases"][case]["verify_signature_only_ns"]
        re_ = oauthlib["cases"][case]["verify_resource_ns"]
        p(f"| {desc.split(':')[0]} | {method} | {t(lt)} | {t(so)} | {faster(lt, so)} | {t(re_)} | {faster(lt, re_)} |")
    p()

    # --- grants --------------------------------------------------------------
    p("## OAuth2 grant handling in the core")
    p()
    p("`token_endpoint` against the core's in-memory store (`MemoryStore`): the whole")
    p("decision from `Authorization: Basic` header and form body to the rendered JSON")
    p("answer, with the store's writes applied. Each iteration gets a fresh copy of the")
    p("store (copied outside the timing).")
    p()
    p("Command: `BENCH_MEASURE_SECS=4 cargo bench -p latch-core --bench peers -- grant/`.")
    p()
    p("| grant | ns/op | per second, one core |")
    p("| --- | ---: | ---: |")
    for name, desc in GRANTS:
        ns = criterion(crit, "grant", name)
        p(f"| {desc} | {ns:,.0f} | {1e9 / ns:,.0f} |")
    p()

    # --- load ----------------------------------------------------------------
    secs, conns = m["secs"], m["conns"]
    p("## The server under load")
    p()
    p(f"wrk on loopback, `wrk -t{m['threads']} -c{conns} -d{secs}s --latency`, {secs} s per endpoint per")
    p(f"server at {conns} connections. **wrk and the server share this machine's {m['nproc']} cores**, so")
    p("every server had less than the whole machine, and the load generator's own cost is")
    p("in every figure. Each server is started fresh, then the three endpoints run one")
    p("after the other. Peak RSS is sampled every 0.2 s during each run (for the peers,")
    p("the sum over the master/primary and its workers).")
    p()
    p("- **Latch**: `latch serve` release build, SQLite in a fresh temporary directory")
    p("  (every issued token is written to disk; group commit), default configuration.")
    p(f"- **Authlib + Flask** under gunicorn, {m['workers']} sync workers (workers = cores), in-memory dicts.")
    p(f"- **express + @node-oauth/oauth2-server** under Node's cluster module, {m['workers']} workers")
    p("  (= cores), in-memory Maps; its introspection endpoint is written over the library's")
    p("  model (the library has none).")
    p()
    p("All three get the same client id and secret (`client_secret_basic`) and the same")
    p("requests: `grant_type=client_credentials&scope=read`; `Authorization: Bearer`; and")
    p("`token=…`. The peers keep one store per worker process, so each worker is seeded")
    p("with the token that the ping and introspection runs use.")
    p()
    p("Command: `bash scripts/bench.sh` (the load part runs wrk as above against")
    p("ports 18181, 18282, 18383).")
    p()
    load_goals = {}
    for ep, desc in ENDPOINTS:
        p(f"### {desc}")
        p()
        p("| server | requests/s | p50 | p99 | errors | peak RSS | Latch vs it |")
        p("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        lat = runs[("latch", ep)]
        lat_rps = lat["requests"] / (lat["duration_us"] / 1e6)
        for srv, sdesc in SERVERS:
            d = runs[(srv, ep)]
            rps = d["requests"] / (d["duration_us"] / 1e6)
            errs = sum(d["errors"].values())
            detail = ", ".join(f"{k} {v}" for k, v in d["errors"].items() if v)
            err = f"{errs:,}" + (f" ({detail})" if detail else "")
            ratio = "—" if srv == "latch" else (f"{x(lat_rps / rps)}" if rps > 0 else "∞")
            load_goals[(srv, ep)] = rps
            p(f"| {sdesc} | {rps:,.0f} | {d['p50_us'] / 1000:.2f} ms | {d['p99_us'] / 1000:.2f} ms | {err} | {d['peak_rss_kb'] / 1024:.1f} MiB | {ratio} |")
        p()
    tok = load_goals[("latch", "token")]
    ping = load_goals[("latch", "ping")]
    p("| goal | this run | |")
    p("| --- | --- | --- |")
    p(f"| ≥ 25,000 durable token issuances/s (SQLite, issue 17) | {tok:,.0f}/s | {goal(tok >= 25000)} |")
    p(f"| ≥ 50,000 pings/s (SQLite) | {ping:,.0f}/s | {goal(ping >= 50000)} |")
    worst_py = min(load_goals[("latch", e)] / load_goals[("authlib", e)] for e, _ in ENDPOINTS)
    worst_node = min(load_goals[("latch", e)] / load_goals[("node", e)] for e, _ in ENDPOINTS)
    p(f"| ≥ 10× the Python peer (every endpoint) | worst {x(worst_py)} | {goal(worst_py >= 10)} |")
    p(f"| ≥ 3× the Node peer (every endpoint) | worst {x(worst_node)} | {goal(worst_node >= 3)} |")
    p()

    # --- at scale: the last run of scripts/bench_scale.sh (its own, longer run) ---
    scale = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scale", "TABLES.md")
    if os.path.exists(scale):
        with open(scale) as f:
            p(f.read().rstrip())
        p()
    # --- the replica invalidation lag: the last run of scripts/bench_lag.sh ---
    lag = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scale", "LAG.md")
    if os.path.exists(lag):
        with open(lag) as f:
            p(f.read().rstrip())
        p()

    # --- OpenID Connect ------------------------------------------------------
    if ("latch", "refresh_oidc") in runs:
        p("## OpenID Connect under load")
        p()
        p("The same Latch server (SQLite, plain HTTP), in the same run. Refresh-token")
        p("rotation with and without `openid` in the scope: with it, every answer carries")
        p("a newly signed id_token (RS256, 2048-bit RSA through aws-lc-rs; the user's")
        p("public `sub` is looked up per request). Each wrk thread keeps a pool of live")
        p("refresh tokens minted through the consent page (`bench/oidc/seed.py`); each")
        p("request spends one and its answer puts the rotated one back")
        p("(`bench/oidc/refresh.lua`), so every request is a real, durable rotation.")
        p("Then client_credentials issuance with RFC 9068 JWT access tokens (RS256) beside")
        p("the opaque run above.")
        p()
        p("| run | requests/s | p50 | p99 | errors | cost of signing |")
        p("| --- | ---: | ---: | ---: | ---: | ---: |")
        def rps_of(d):
            return d["requests"] / (d["duration_us"] / 1e6)
        pairs = [
            (("latch", "refresh_plain"), "refresh, no id_token", None),
            (("latch", "refresh_oidc"), "refresh + id_token (RS256)", ("latch", "refresh_plain")),
            (("latch", "token"), "client_credentials, opaque", None),
            (("latch_jwt", "token"), "client_credentials, JWT access token (RS256)", ("latch", "token")),
        ]
        for key, desc, base in pairs:
            if key not in runs:
                continue
            d = runs[key]
            errs = sum(d["errors"].values())
            cost = "—"
            if base and base in runs:
                a, b = rps_of(runs[base]), rps_of(d)
                if a > 0 and b > 0:
                    cost = f"+{(1e6 / b - 1e6 / a):.0f} µs/request"
            p(f"| {desc} | {rps_of(d):,.0f} | {d['p50_us'] / 1000:.2f} ms | {d['p99_us'] / 1000:.2f} ms | {errs:,} | {cost} |")
        p()
        p("In the core, without the server (criterion, `cargo bench -p latch-core --bench")
        p("jose` and `--bench oauth2`): see the next table.")
        p()
        jose_rows = [
            ("jose/es256_sign", "ES256 sign (id_token-sized claims)"),
            ("jose/es256_verify", "ES256 parse + verify"),
            ("jose/eddsa_sign", "EdDSA sign"),
            ("jose/eddsa_verify", "EdDSA parse + verify"),
            ("oauth2/code_exchange_basic_pkce_s256", "code exchange (PKCE S256), no id_token"),
            ("oauth2/code_exchange_openid_es256", "code exchange + id_token signed ES256"),
            ("oauth2/code_exchange_openid_eddsa", "code exchange + id_token signed EdDSA"),
        ]
        p("| operation (in the core) | time |")
        p("| --- | ---: |")
        for path, desc in jose_rows:
            g, n = path.split("/")
            try:
                p(f"| {desc} | {t(criterion(crit, g, n))} |")
            except (FileNotFoundError, KeyError):
                p(f"| {desc} | not measured |")
        p()

    js = os.path.join(out_dir, "jose_size.txt")
    if os.path.exists(js) and open(js).read().strip():
        p("### The flash cost of `latch_core::jose` on the MCU")
        p()
        p("A tiny `no_std` probe for thumbv7em-none-eabihf built as firmware ships (opt-level")
        p("\"s\", fat LTO, one codegen unit, panic = abort), once per variant; flash is")
        p("`.vector_table + .text + .rodata + .data`, against a baseline with the same runtime")
        p("and no call into latch-core (`bash scripts/jose_size.sh`). p256 and ed25519-dalek")
        p("are built without precomputed tables (flash over speed).")
        p()
        p("```")
        with open(js) as f:
            p(f.read().rstrip())
        p("```")
        p()

    # --- TLS -----------------------------------------------------------------
    if ("latch_tls", "token") in runs:
        p("## Latch over TLS")
        p()
        p("The same Latch binary and database, started again with `--tls-self-signed`")
        p("(rustls 0.23 with aws-lc-rs; the leaf is ECDSA P-256, so TLS 1.3 negotiates")
        p("X25519 key exchange and an ECDSA signature; HTTP/1.1, since wrk does not offer")
        p("ALPN h2), measured right after the plain-HTTP runs above with the same wrk")
        p("settings. With keep-alive every connection pays its handshake once; the last row")
        p("sends `Connection: close`, so **every request is a new TCP connection and a full")
        p("TLS handshake** (no session resumption: wrk does not offer it).")
        p()
        p("| endpoint | plain requests/s | plain p50 / p99 | TLS requests/s | TLS p50 / p99 | TLS / plain |")
        p("| --- | ---: | ---: | ---: | ---: | ---: |")
        rows = ENDPOINTS + [("ping_close", "Bearer `GET /api/ping`, new connection per request")]
        rates = {}
        for ep, desc in rows:
            a, b = runs[("latch", ep)], runs[("latch_tls", ep)]
            ra = a["requests"] / (a["duration_us"] / 1e6)
            rb = b["requests"] / (b["duration_us"] / 1e6)
            rates[ep] = (ra, rb)
            errs = sum(a["errors"].values()) + sum(b["errors"].values())
            note = f" ({errs:,} errors)" if errs else ""
            p(f"| {desc}{note} | {ra:,.0f} | {a['p50_us'] / 1000:.2f} / {a['p99_us'] / 1000:.2f} ms | {rb:,.0f} | {b['p50_us'] / 1000:.2f} / {b['p99_us'] / 1000:.2f} ms | {rb / ra:.2f} |")
        p()
        ra, rb = rates["ping_close"]
        if ra > 0 and rb > 0:
            cost = (1 / rb - 1 / ra) * 1e6 * int(m["nproc"])
            p(f"A full handshake costs this machine about **{cost:,.0f} µs of CPU**: the cores' time")
            p("per request over TLS minus per request over plain TCP, a new connection each")
            p("time, client and server side together (wrk runs here too). Keep-alive, every HTTP")
            p("client library's default, makes it a one-off per connection.")
            p()

    # --- memory --------------------------------------------------------------
    p("## Memory")
    p()
    p("Resident set size of the server: idle (started, one token issued and one ping")
    p("answered) and the peak over the three load runs above.")
    p()
    p("| server | processes | idle RSS | peak RSS under load |")
    p("| --- | ---: | ---: | ---: |")
    mem_servers = SERVERS + ([("latch_tls", "Latch over TLS")] if "latch_tls" in idle else [])
    for srv, sdesc in mem_servers:
        peak = max(runs[(srv, e)]["peak_rss_kb"] for e, _ in ENDPOINTS)
        p(f"| {sdesc} | {idle[srv]['processes']} | {idle[srv]['idle_rss_kb'] / 1024:.1f} MiB | {peak / 1024:.1f} MiB |")
    p()
    p("### Firmware")
    p()
    fw = os.path.join(out_dir, "firmware_size.md")
    if os.path.exists(fw) and open(fw).read().strip():
        p("The STM32F767ZI build (`thumbv7em-none-eabihf`, release: opt-level s, fat LTO,")
        p("panic=abort): the baseline without the `oauth` feature, + OAuth (plain HTTP), and")
        p("+ TLS (the default build); what OAuth adds by crate; the deepest stack of each")
        p("step. Command: `bash scripts/firmware.sh size`.")
        p()
        with open(fw) as f:
            p(f.read().strip())
    else:
        p("Not measured in this run (`bash scripts/firmware.sh size` failed or was skipped).")
    p()

    notes = os.path.join(os.path.dirname(os.path.abspath(__file__)), "NOTES.md")
    if os.path.exists(notes):
        with open(notes) as f:
            p(f.read().rstrip())
        p()


if __name__ == "__main__":
    main()
