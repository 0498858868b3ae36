"""Verifies a signed Docker schema 1 manifest the way schema 1 clients do, with an independent
ECDSA implementation (the `cryptography` package): python3 schema1_verify.py BODY_FILE DIGEST.

Checks: the JWS protected header's formatLength/formatTail rebuild the payload; the payload's
SHA-256 is the Docker-Content-Digest; the ES256 signature verifies with the JWK; the JWK's kid is
libtrust's key id of that key; the payload is the manifest without its signatures."""

import base64
import hashlib
import json
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


body = open(sys.argv[1], "rb").read()
digest = sys.argv[2]
manifest = json.loads(body)
sig = manifest["signatures"][0]
protected = json.loads(b64d(sig["protected"]))
payload = body[: protected["formatLength"]] + b64d(protected["formatTail"])
assert "sha256:" + hashlib.sha256(payload).hexdigest() == digest, "digest is not the payload's"
unsigned = dict(manifest)
del unsigned["signatures"]
assert json.loads(payload) == unsigned, "payload is not the manifest without signatures"

jwk = sig["header"]["jwk"]
assert sig["header"]["alg"] == "ES256" and jwk["kty"] == "EC" and jwk["crv"] == "P-256"
x = int.from_bytes(b64d(jwk["x"]), "big")
y = int.from_bytes(b64d(jwk["y"]), "big")
key = ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
raw = b64d(sig["signature"])
der_sig = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
signing_input = (sig["protected"] + "." + base64.urlsafe_b64encode(payload).decode().rstrip("=")).encode()
key.verify(der_sig, signing_input, ec.ECDSA(hashes.SHA256()))  # raises on a bad signature

der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
kid = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode()
kid = ":".join(kid[i : i + 4] for i in range(0, 48, 4))
assert jwk["kid"] == kid, (jwk["kid"], kid)
print("schema1 signature: ok")
