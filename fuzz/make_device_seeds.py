#!/usr/bin/env python3
"""Writes fuzz/seeds/device_record_ops/: whole device conversations in the
target's input encoding (arbitrary 1.5: integers little-endian from the
front, a byte string's length from the back, an enum's variant as
u32 * count >> 32, a list as "more?" bytes), so the fuzzer starts in every
state of the device — discovered, polling, logged in, refreshing, lost —
instead of finding them byte by byte.

    python3 fuzz/make_device_seeds.py
    cargo +nightly-2026-05-20 fuzz fmt device_record_ops fuzz/seeds/device_record_ops/first_boot

The second command prints what the target decodes from a seed; the steps
listed there must be the ones below.
"""
import json
import pathlib
import struct

ISSUER = "https://as.example"
METADATA = {
    "issuer": ISSUER,
    "token_endpoint": ISSUER + "/token",
    "device_authorization_endpoint": ISSUER + "/device_authorization",
}
# RFC 8628 §3.2's example, on this issuer.
DEVICE_AUTHORIZATION = {
    "device_code": "GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS",
    "user_code": "WDJB-MJHT",
    "verification_uri": ISSUER + "/device",
    "expires_in": 1800,
    "interval": 5,
}
# RFC 6749 §5.1's example.
TOKENS = {
    "access_token": "2YotnFZFEjr1zCsicMWpAA",
    "token_type": "Bearer",
    "expires_in": 3600,
    "refresh_token": "tGzv3JOkF0XG5Qx2TlKWIA",
}
ROTATED = dict(TOKENS, access_token="mF_9.B5f-4.1JqM", refresh_token="8xLOxBtZp8")
PONG = b'{"ping":"pong"}'

VARIANTS = ["Answer", "Transport", "Saved", "Call"]


def body(doc):
    return json.dumps(doc).encode()


def error(code):
    return body({"error": code})


def answer(status, payload, at):
    return ("Answer", status, payload, at)


def encode(record, steps):
    """The bytes from which the target decodes (record, steps)."""
    # Reads in decode order: ("front", bytes) or ("len", n) for a length
    # taken from the back of what is left.
    reads = [("len", len(record)), ("front", record)]

    def u32(v):
        reads.append(("front", struct.pack("<I", v)))

    for step in steps:
        reads.append(("front", b"\x01"))  # one more step
        kind = step[0]
        u32(VARIANTS.index(kind) * (1 << 32) // len(VARIANTS))
        if kind == "Answer":
            _, status, payload, at = step
            reads.append(("front", struct.pack("<H", status)))
            reads += [("len", len(payload)), ("front", payload)]
            u32(at)
        elif kind == "Transport":
            u32(step[1])
        else:  # Saved(bool), Call { oauth1 }
            reads.append(("front", b"\x01" if step[1] else b"\x00"))
    reads.append(("front", b"\x00"))  # no more steps

    # A length field's width depends on how much is left when it is read:
    # 1 byte while at most 256 are left, else 2, of which only the first
    # counts while the largest possible length is under 256. Iterate to a
    # fixed point.
    widths = [2 for r in reads if r[0] == "len"]
    while True:
        left = sum(len(r[1]) for r in reads if r[0] == "front") + sum(widths)
        new, groups = [], []
        for r in reads:
            if r[0] == "front":
                left -= len(r[1])
                continue
            w = 1 if left <= 256 else 2
            most = left - w
            assert left <= 65537 and r[1] <= most
            if w == 1:
                groups.append(bytes([r[1]]))
            elif most < 256:
                groups.append(bytes([r[1], 0]))
            else:
                groups.append(struct.pack(">H", r[1]))
            new.append(w)
            left -= w
        if new == widths:
            break
        widths = new
    front = b"".join(r[1] for r in reads if r[0] == "front")
    # The first length read is the last bytes of the input.
    return front + b"".join(reversed(groups))


def login(t):
    """Discovery, device authorization, two answers not yet approved, tokens."""
    return [
        answer(200, body(METADATA), t),
        ("Saved", True),
        answer(200, body(DEVICE_AUTHORIZATION), t + 1),
        answer(400, error("authorization_pending"), t + 6),
        answer(400, error("slow_down"), t + 11),
        answer(200, body(TOKENS), t + 21),
        ("Saved", True),
    ]


def record(version, tokens):
    """A saved record (firmware/device/src/record.rs): version 2 with
    two-byte lengths, version 1 with one-byte lengths."""
    def text(t):
        t = t.encode()
        return (struct.pack("<H", len(t)) if version == 2 else bytes([len(t)])) + t
    out = b"LD" + bytes([version])
    out += text(METADATA["token_endpoint"]) + text(METADATA["device_authorization_endpoint"])
    if tokens is None:
        return out + b"\x00"
    out += b"\x01" + text(tokens["access_token"]) + text(tokens.get("refresh_token", ""))
    return out + struct.pack("<QQ", 1_000, 1_000 + tokens["expires_in"])


# A device that boots with tokens in flash: a call, a refresh due, a
# rotated refresh token saved.
RESUMED = [
    ("Call", False),
    answer(200, PONG, 2_000),
    ("Call", True),
    answer(200, PONG, 2_001),
    ("Call", False),
    answer(200, body(ROTATED), 4_700),
    ("Saved", True),
    answer(200, PONG, 4_701),
]

SEEDS = {
    # Log in, call with the bearer token and with OAuth1, a 401 that is
    # refreshed and retried, then a refresh the server refuses.
    "first_boot": login(1_000)
    + [
        ("Call", False),
        answer(200, PONG, 1_022),
        ("Call", True),
        answer(200, PONG, 1_023),
        ("Call", False),
        answer(401, b"", 1_024),
        answer(200, body(ROTATED), 1_025),
        ("Saved", True),
        answer(200, PONG, 1_026),
        ("Call", False),
        answer(400, error("invalid_grant"), 9_000),
        ("Saved", False),
        ("Saved", False),
        ("Saved", False),
    ],
    # The network fails while polling, then the user denies.
    "denied_after_transport_errors": login(1_000)[:4]
    + [
        ("Transport", 1_007),
        ("Transport", 1_012),
        answer(400, error("access_denied"), 1_017),
    ],
    # No RFC 8414 document: the openid-configuration, then the login.
    "openid_configuration_only": [answer(404, b"", 999)] + login(1_000),
    # Discovery answered with another issuer's metadata, then garbage.
    "wrong_issuer": [
        answer(200, body(dict(METADATA, issuer="https://evil.example")), 1_000),
        answer(200, b"{", 1_001),
    ],
}


# Seeds that boot from a record: (record, steps).
RESTORED = {
    "resumed": (record(2, TOKENS), RESUMED),
    "resumed_from_version_1": (record(1, TOKENS), RESUMED),
    "endpoints_only": (record(2, None), login(1_000)[2:]),
}


def main():
    out = pathlib.Path(__file__).parent / "seeds" / "device_record_ops"
    out.mkdir(parents=True, exist_ok=True)
    for name, steps in SEEDS.items():
        (out / name).write_bytes(encode(b"", steps))
    for name, (rec, steps) in RESTORED.items():
        (out / name).write_bytes(encode(rec, steps))


if __name__ == "__main__":
    main()
