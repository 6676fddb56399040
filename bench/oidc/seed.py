#!/usr/bin/env python3
"""Mints refresh tokens for the OpenID load run (scripts/bench.sh): logs in
once on Latch's consent page like a browser (stdlib only), approves COUNT
authorization requests with the session, redeems each code (PKCE S256),
and prints one refresh token per line.

    seed.py BASE CLIENT_ID SECRET USERNAME PASSWORD SCOPE COUNT REDIRECT_URI
"""
import base64
import hashlib
import html
import http.client
import json
import re
import secrets
import sys
import urllib.parse


def main():
    base, cid, secret, user, password, scope, count, redirect = sys.argv[1:9]
    u = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname, u.port)
    cookies = {}

    def request(method, path, body=None, headers=None):
        h = dict(headers or {})
        if cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        data = r.read()
        for k, v in r.getheaders():
            if k.lower() == "set-cookie":
                name, _, rest = v.partition("=")
                value = rest.split(";", 1)[0]
                if value:
                    cookies[name] = value
                else:
                    cookies.pop(name, None)
        return r, data

    basic = base64.b64encode(f"{cid}:{secret}".encode()).decode()
    for i in range(int(count)):
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        q = urllib.parse.urlencode({
            "response_type": "code", "client_id": cid, "redirect_uri": redirect, "scope": scope,
            "state": "s", "nonce": secrets.token_urlsafe(8), "code_challenge": challenge,
            "code_challenge_method": "S256",
        })
        r, page = request("GET", f"/oauth2/authorize?{q}")
        assert r.status == 200, (r.status, page[:200])
        fields = {html.unescape(n): html.unescape(v) for n, v in
                  re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.decode())}
        if b'name="password"' in page:
            fields.update(username=user, password=password)
        fields["decision"] = "approve"
        r, _ = request("POST", "/oauth2/authorize", urllib.parse.urlencode(fields),
                       {"Content-Type": "application/x-www-form-urlencoded"})
        assert r.status in (302, 303), r.status
        loc = urllib.parse.urlsplit(r.getheader("Location"))
        code = urllib.parse.parse_qs(loc.query)["code"][0]
        r, body = request("POST", "/oauth2/token", urllib.parse.urlencode({
            "grant_type": "authorization_code", "code": code, "redirect_uri": redirect,
            "code_verifier": verifier}),
            {"Content-Type": "application/x-www-form-urlencoded", "Authorization": f"Basic {basic}"})
        assert r.status == 200, body
        print(json.loads(body)["refresh_token"])


if __name__ == "__main__":
    main()
