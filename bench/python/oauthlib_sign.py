"""OAuth1 signing and verification with oauthlib, timed with timeit, over
exactly the requests of core/benches/peers.rs (same keys, nonce, timestamp,
parameters; oauthlib always sends oauth_version="1.0", and so does the Rust
bench).

  bench/python/.venv/bin/python bench/python/oauthlib_sign.py [--seconds S]

Prints one JSON object: for every case, ns per Client.sign call, per
SignatureOnlyEndpoint.validate_request and per ResourceEndpoint
.validate_protected_resource_request, and the oauth_signature produced (so
that scripts/bench.sh can check it against Latch's for the same input).
Each figure is the best of 5 timeit repeats of an autoranged loop count.
"""

import argparse
import json
import sys
import timeit

from oauthlib.oauth1 import (
    SIGNATURE_HMAC_SHA1,
    SIGNATURE_HMAC_SHA256,
    Client,
    RequestValidator,
    ResourceEndpoint,
    SignatureOnlyEndpoint,
)

CONSUMER_KEY = "xvz1evFS4wEEPTGEFPHBog"
CONSUMER_SECRET = "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw"
TOKEN = "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb"
TOKEN_SECRET = "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE"
NONCE = "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg"
TS = "1318622958"

SMALL_URL = "https://api.example.com/1.1/statuses/home_timeline.json?count=20&since_id=12345"
LARGE_URL = "https://api.example.com/1.1/statuses/update.json"
LARGE_BODY = "&".join(
    f"status{i:02}=Hello+Ladies+%2B+Gentlemen%2C+a+signed+OAuth+request%21+{i:02}"
    for i in range(50)
)
FORM = {"Content-Type": "application/x-www-form-urlencoded"}

CASES = [
    ("small_sha1", "GET", SMALL_URL, None, SIGNATURE_HMAC_SHA1),
    ("small_sha256", "GET", SMALL_URL, None, SIGNATURE_HMAC_SHA256),
    ("large_sha1", "POST", LARGE_URL, LARGE_BODY, SIGNATURE_HMAC_SHA1),
    ("large_sha256", "POST", LARGE_URL, LARGE_BODY, SIGNATURE_HMAC_SHA256),
]


class Validator(RequestValidator):
    """Accepts these credentials; lookups are dict-free constants, so the
    timing is oauthlib's own parsing and checking."""

    allowed_signature_methods = (SIGNATURE_HMAC_SHA1, SIGNATURE_HMAC_SHA256)
    # The fixed 2011 timestamp must pass the freshness window, as Latch's
    # bench passes `now` = the timestamp.
    timestamp_lifetime = 10**10

    @property
    def safe_characters(self):
        return set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")

    client_key_length = (10, 64)
    access_token_length = (10, 64)
    nonce_length = (10, 64)
    enforce_ssl = True

    dummy_client = "dummy-client-key-0000000"
    dummy_access_token = "dummy-access-token-00000"

    def validate_client_key(self, client_key, request):
        return client_key == CONSUMER_KEY

    def get_client_secret(self, client_key, request):
        return CONSUMER_SECRET

    def validate_access_token(self, client_key, token, request):
        return token == TOKEN

    def get_access_token_secret(self, client_key, token, request):
        return TOKEN_SECRET

    def validate_timestamp_and_nonce(self, client_key, timestamp, nonce, request, request_token=None, access_token=None):
        return True

    def validate_realms(self, client_key, token, request, uri=None, realms=None):
        return True

    def check_realms(self, realms):
        return True


def client(method):
    return Client(
        CONSUMER_KEY,
        client_secret=CONSUMER_SECRET,
        resource_owner_key=TOKEN,
        resource_owner_secret=TOKEN_SECRET,
        signature_method=method,
        nonce=NONCE,
        timestamp=TS,
    )


def best_ns(stmt, seconds):
    timer = timeit.Timer(stmt)
    number, took = timer.autorange()
    # Scale the loop so that each repeat takes about `seconds` / 5.
    number = max(1, int(number * (seconds / 5) / max(took, 1e-9)))
    return min(timer.repeat(repeat=5, number=number)) / number * 1e9


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=2.0, help="time per figure")
    args = ap.parse_args()
    validator = Validator()
    sig_only = SignatureOnlyEndpoint(validator)
    resource = ResourceEndpoint(validator)
    out = {"python": sys.version.split()[0], "oauthlib": __import__("oauthlib").__version__, "cases": {}}
    for name, method, url, body, sm in CASES:
        headers = FORM if body else {}
        c = client(sm)
        uri, signed_headers, signed_body = c.sign(url, http_method=method, body=body, headers=dict(headers))
        auth = signed_headers["Authorization"]
        signature = auth.split('oauth_signature="', 1)[1].split('"', 1)[0]
        ok, _ = sig_only.validate_request(uri, method, signed_body, signed_headers)
        assert ok, f"{name}: SignatureOnlyEndpoint refused its own signature"
        ok, _ = resource.validate_protected_resource_request(uri, method, signed_body, signed_headers)
        assert ok, f"{name}: ResourceEndpoint refused its own signature"

        def sign():
            client(sm).sign(url, http_method=method, body=body, headers=dict(headers))

        def verify_signature_only():
            sig_only.validate_request(uri, method, signed_body, signed_headers)

        def verify_resource():
            resource.validate_protected_resource_request(uri, method, signed_body, signed_headers)

        out["cases"][name] = {
            "signature": signature,
            "sign_ns": best_ns(sign, args.seconds),
            "verify_signature_only_ns": best_ns(verify_signature_only, args.seconds),
            "verify_resource_ns": best_ns(verify_resource, args.seconds),
        }
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
