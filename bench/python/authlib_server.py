"""The Python peer for Latch's load benchmark: an OAuth 2.0 server built with
Authlib + Flask, in-memory stores, the same endpoints `latch serve` offers:

  POST /oauth2/token       client_credentials, client_secret_basic
  GET  /api/ping           Bearer-protected, {"ping":"pong"}
  POST /oauth2/introspect  RFC 7662, client_secret_basic

Served by gunicorn with one worker per core (scripts/bench.sh):

  BENCH_CLIENT_ID=... BENCH_CLIENT_SECRET=... BENCH_TOKEN=... \
    gunicorn -w 2 -b 127.0.0.1:PORT authlib_server:app

Each gunicorn worker is its own process with its own in-memory store, so the
client and one access token (BENCH_TOKEN, scope "read") are seeded into every
worker at start: the ping and introspection runs use that token whichever
worker answers. Tokens issued during the run are stored in the issuing
worker's memory (a dict), as an in-memory store would.
"""

import hmac
import os
import time

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2.rfc6749 import ClientMixin, TokenMixin, grants
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from flask import Flask, jsonify

CLIENT_ID = os.environ.get("BENCH_CLIENT_ID", "bench-client")
CLIENT_SECRET = os.environ.get("BENCH_CLIENT_SECRET", "bench-secret")
SEED_TOKEN = os.environ.get("BENCH_TOKEN", "bench-token")


class Client(ClientMixin):
    def __init__(self, client_id, client_secret, scope):
        self.client_id = client_id
        self.client_secret = client_secret
        self.scope = scope

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return None

    def get_allowed_scope(self, scope):
        if not scope:
            return ""
        allowed = set(self.scope.split())
        return " ".join(s for s in scope.split() if s in allowed)

    def check_redirect_uri(self, redirect_uri):
        return False

    def check_client_secret(self, client_secret):
        return hmac.compare_digest(self.client_secret, client_secret)

    def check_endpoint_auth_method(self, method, endpoint):
        return method == "client_secret_basic"

    def check_response_type(self, response_type):
        return False

    def check_grant_type(self, grant_type):
        return grant_type == "client_credentials"


class Token(TokenMixin):
    def __init__(self, access_token, client_id, scope, issued_at, expires_in):
        self.access_token = access_token
        self.client_id = client_id
        self.scope = scope
        self.issued_at = issued_at
        self.expires_in = expires_in
        self.revoked = False

    def check_client(self, client):
        return client.get_client_id() == self.client_id

    def get_scope(self):
        return self.scope

    def get_expires_in(self):
        return self.expires_in

    def get_expires_at(self):
        return self.issued_at + self.expires_in

    def is_expired(self):
        return time.time() >= self.get_expires_at()

    def is_revoked(self):
        return self.revoked


CLIENTS = {CLIENT_ID: Client(CLIENT_ID, CLIENT_SECRET, "read write")}
TOKENS = {SEED_TOKEN: Token(SEED_TOKEN, CLIENT_ID, "read", int(time.time()), 3600)}


def query_client(client_id):
    return CLIENTS.get(client_id)


def save_token(token, request):
    TOKENS[token["access_token"]] = Token(
        token["access_token"],
        request.client.get_client_id(),
        token.get("scope", ""),
        int(time.time()),
        token["expires_in"],
    )


class ClientCredentials(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic"]


class Introspection(IntrospectionEndpoint):
    CLIENT_AUTH_METHODS = ["client_secret_basic"]

    def query_token(self, token_string, token_type_hint):
        return TOKENS.get(token_string)

    def check_permission(self, token, client, request):
        return True

    def introspect_token(self, token):
        return {
            "active": True,
            "client_id": token.client_id,
            "token_type": "Bearer",
            "scope": token.get_scope(),
            "exp": token.get_expires_at(),
            "iat": token.issued_at,
        }


class Validator(BearerTokenValidator):
    def authenticate_token(self, token_string):
        return TOKENS.get(token_string)


app = Flask(__name__)
app.config["OAUTH2_SCOPES_SUPPORTED"] = ["read", "write"]
app.config["OAUTH2_TOKEN_EXPIRES_IN"] = {"client_credentials": 3600}
server = AuthorizationServer(app, query_client=query_client, save_token=save_token)
server.register_grant(ClientCredentials)
server.register_endpoint(Introspection)
require_oauth = ResourceProtector()
require_oauth.register_token_validator(Validator())


@app.post("/oauth2/token")
def token():
    return server.create_token_response()


@app.post("/oauth2/introspect")
def introspect():
    return server.create_endpoint_response(Introspection.ENDPOINT_NAME)


@app.get("/api/ping")
@require_oauth()
def ping():
    return jsonify(ping="pong")
