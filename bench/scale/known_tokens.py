"""Writes COUNT fresh access tokens and their stored hashes for bench_scale.sh.

    python3 bench/scale/known_tokens.py COUNT TOKENS_FILE HASHES_FILE

A token is what Latch hands out (core/src/oauth2/token_material.rs): 32
random bytes as 43 characters of base64url without padding; the row stores
the lower-case hex SHA-256 of that text. TOKENS_FILE gets one token a line
(the wrk script walks it), HASHES_FILE the matching hash a line, in the
same order (the seed SQL imports it).
"""

import base64
import hashlib
import os
import sys


def main() -> None:
    count, tokens_path, hashes_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    with open(tokens_path, "w") as tokens, open(hashes_path, "w") as hashes:
        for _ in range(count):
            token = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=")
            tokens.write(token.decode() + "\n")
            hashes.write(hashlib.sha256(token).hexdigest() + "\n")


if __name__ == "__main__":
    main()
