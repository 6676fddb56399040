#!/usr/bin/env python3
"""An OAuth 1.0a provider nobody at Latch wrote the protocol of: oauthlib's
provider endpoints (RequestTokenEndpoint, AuthorizationEndpoint,
AccessTokenEndpoint, ResourceEndpoint; RFC 5849) behind Python's
http.server, with one client, one user and everything in memory. The
consumer's end-to-end test (tests/tests/consumer_e2e.rs) logs a user in
through it.

    python provider.py --callback URI

Prints one JSON line {"base", "client_key", "client_secret"} and serves
until killed:

    POST /oauth1/request_token   temporary credentials (RFC 5849 §2.1)
    GET  /oauth1/authorize       the sign-in form; POST it (alice / wonderland)
    POST /oauth1/access_token    token credentials (§2.3)
    GET  /me                     {"id": ..., "username": ...} for a signed request
"""
import argparse
import html
import json
import secrets
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from oauthlib.oauth1 import (
    AccessTokenEndpoint,
    AuthorizationEndpoint,
    RequestTokenEndpoint,
    RequestValidator,
    ResourceEndpoint,
)
from oauthlib.oauth1.rfc5849 import errors

CLIENT_KEY = "latchconsumerkey0123456"
CLIENT_SECRET = "latch-consumer-secret-0123456789"
USERS = {"alice": ("wonderland", "u-1865")}


class Validator(RequestValidator):
    """In-memory storage; every check oauthlib asks for."""

    def __init__(self, callback):
        super().__init__()
        self.callback = callback
        self.lock = threading.Lock()
        self.request_tokens = {}  # token -> secret
        self.verifiers = {}  # token -> (verifier, user)
        self.access_tokens = {}  # token -> (secret, user)
        self.nonces = set()

    # The consumer's nonces and tokens are base64url: allow '-' and '_'.
    @property
    def safe_characters(self):
        return set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")

    @property
    def nonce_length(self):
        return 16, 64

    @property
    def enforce_ssl(self):
        return False  # loopback only

    @property
    def dummy_client(self):
        return "dummyclientkey00000000"

    @property
    def dummy_request_token(self):
        return "dummyrequesttoken00000"

    @property
    def dummy_access_token(self):
        return "dummyaccesstoken000000"

    def validate_client_key(self, client_key, request):
        return client_key == CLIENT_KEY

    def get_client_secret(self, client_key, request):
        return CLIENT_SECRET if client_key == CLIENT_KEY else "dummy-secret"

    def validate_timestamp_and_nonce(self, client_key, timestamp, nonce, request,
                                     request_token=None, access_token=None):
        key = (client_key, timestamp, nonce, request_token, access_token)
        with self.lock:
            if key in self.nonces:
                return False
            self.nonces.add(key)
            return True

    def validate_redirect_uri(self, client_key, redirect_uri, request):
        return redirect_uri == self.callback

    def get_redirect_uri(self, token, request):
        return self.callback

    def validate_requested_realms(self, client_key, realms, request):
        return True

    def get_default_realms(self, client_key, request):
        return []

    def get_realms(self, token, request):
        return []

    def validate_realms(self, client_key, token, request, uri=None, realms=None):
        return True

    def verify_realms(self, token, realms, request):
        return True

    def save_request_token(self, token, request):
        with self.lock:
            self.request_tokens[token["oauth_token"]] = token["oauth_token_secret"]

    def validate_request_token(self, client_key, token, request):
        return token in self.request_tokens

    def verify_request_token(self, token, request):
        return token in self.request_tokens

    def get_request_token_secret(self, client_key, token, request):
        return self.request_tokens.get(token, "dummy-secret")

    def save_verifier(self, token, verifier, request):
        with self.lock:
            # create_authorization_response merges its credentials into
            # the verifier dict.
            self.verifiers[token] = (verifier["oauth_verifier"], verifier.get("user"))

    def validate_verifier(self, client_key, token, verifier, request):
        saved = self.verifiers.get(token)
        if saved is None or not secrets.compare_digest(saved[0], verifier):
            return False
        request.user = saved[1]
        return True

    def invalidate_request_token(self, client_key, request_token, request):
        with self.lock:
            self.request_tokens.pop(request_token, None)
            self.verifiers.pop(request_token, None)

    def save_access_token(self, token, request):
        with self.lock:
            self.access_tokens[token["oauth_token"]] = (token["oauth_token_secret"], request.user)

    def validate_access_token(self, client_key, token, request):
        return token in self.access_tokens

    def get_access_token_secret(self, client_key, token, request):
        return self.access_tokens.get(token, ("dummy-secret", None))[0]


def make_handler(validator, base):
    request_token = RequestTokenEndpoint(validator)
    authorization = AuthorizationEndpoint(validator)
    access_token = AccessTokenEndpoint(validator)
    resource = ResourceEndpoint(validator)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def send(self, status, headers, body):
            body = body.encode() if isinstance(body, str) else (body or b"")
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def parts(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            headers = {k: v for k, v in self.headers.items()}
            return base + self.path, body, headers

        def sign_in_form(self, token, message=""):
            token = html.escape(token, quote=True)
            return (
                "<!doctype html><title>Sign in</title>"
                f"<p>{html.escape(message)}</p>"
                '<form method="post" action="/oauth1/authorize">'
                f'<input type="hidden" name="oauth_token" value="{token}">'
                '<input name="username"><input type="password" name="password">'
                "<button>Allow</button></form>"
            )

        def do_GET(self):
            uri, body, headers = self.parts()
            path = urlparse(self.path).path
            if path == "/oauth1/authorize":
                token = parse_qs(urlparse(self.path).query).get("oauth_token", [""])[0]
                try:
                    authorization.get_realms_and_credentials(uri, "GET", body, headers)
                except errors.OAuth1Error as e:
                    return self.send(400, {"Content-Type": "text/plain"}, e.description or "bad")
                return self.send(200, {"Content-Type": "text/html"}, self.sign_in_form(token))
            if path == "/me":
                valid, req = resource.validate_protected_resource_request(uri, "GET", body, headers)
                if not valid:
                    return self.send(401, {"WWW-Authenticate": 'OAuth realm="me"'}, "")
                _, user = validator.access_tokens[req.resource_owner_key]
                out = {"id": USERS[user][1], "username": user}
                return self.send(200, {"Content-Type": "application/json"}, json.dumps(out))
            self.send(404, {}, "")

        def do_POST(self):
            uri, body, headers = self.parts()
            path = urlparse(self.path).path
            if path == "/oauth1/request_token":
                h, b, s = request_token.create_request_token_response(uri, "POST", body, headers)
                return self.send(s, h, b)
            if path == "/oauth1/access_token":
                h, b, s = access_token.create_access_token_response(uri, "POST", body, headers)
                return self.send(s, h, b)
            if path == "/oauth1/authorize":
                form = {k: v[0] for k, v in parse_qs(body).items()}
                user = form.get("username", "")
                if USERS.get(user, (None,))[0] != form.get("password"):
                    return self.send(200, {"Content-Type": "text/html"},
                                     self.sign_in_form(form.get("oauth_token", ""), "Wrong password"))
                # The form body carries oauth_token; oauthlib reads it from the URI.
                authorize_uri = base + "/oauth1/authorize?oauth_token=" + form.get("oauth_token", "")
                h, b, s = authorization.create_authorization_response(
                    authorize_uri, "POST", "", {}, credentials={"user": user})
                return self.send(s, h, b)
            self.send(404, {}, "")

    return Handler


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--callback", required=True)
    a = p.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), None)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    server.RequestHandlerClass = make_handler(Validator(a.callback), base)
    print(json.dumps({"base": base, "client_key": CLIENT_KEY, "client_secret": CLIENT_SECRET}), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
