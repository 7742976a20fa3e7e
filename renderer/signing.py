"""Ed25519 signatures over a manifest: a detached JWS over the exact manifest bytes (schema 2),
and the schema-1 signature kept for verifying files signed before it.

Schema 2 (``stemvault.manifest/2``): the signature is a JWS in the compact serialisation with
detached content (RFC 7515 section 7.1 and appendix F) and the EdDSA algorithm over an Ed25519
key (RFC 8037 section 3.1)::

    jws     = BASE64URL(header) + ".." + BASE64URL(signature)
    header  = {"alg":"EdDSA","kid":<key id>}                       (exactly these bytes, UTF-8)
    signed  = ASCII(BASE64URL(header) + "." + BASE64URL(payload))  (RFC 7515 section 5.1)

where `payload` is the manifest exactly as it is embedded in the file. Why this scheme:

* It signs bytes, not a data model. A verifier in any language takes the payload bytes out of
  the file and checks the signature over them; it never re-serialises JSON, so it needs no
  canonical-JSON implementation agreeing with Python's to the last float digit, and any edit of
  the embedded text (whitespace, key order, an exponent's case, a duplicate key) breaks the
  signature instead of being normalised away as the schema-1 signature allowed.
* It needs only base64url and Ed25519, which every platform has (Node's `crypto.verify(null,
  ...)`, Go's `crypto/ed25519`, OpenSSL, libsodium), and any JOSE library verifies it as a
  detached JWS. RFC 8785 canonical JSON with integer shares was the other choice: it would
  have changed the attribution shares every consumer reads and still needs a canonicaliser on
  every verifier. COSE_Sign1 needs CBOR, which fewer verifiers have built in.
* The key is the platform's existing Ed25519 key; no new key material or format.
* "EdDSA" rather than RFC 9864's fully specified "Ed25519": every JOSE library deployed today
  knows "EdDSA"; the ambiguity RFC 9864 removes (Ed25519 or Ed448) cannot arise here because
  the verifier accepts only an Ed25519 public key, named by `kid`.

Hand-written on `cryptography` rather than a JOSE library: the compact form over one fixed
header is a dozen lines, the JOSE libraries in reach (joserfc) are test-only dependencies of
this project, and a general library would accept headers (`crit`, `b64`, `jku`...) this format
must refuse. The test suite checks the output against joserfc and against a Node verifier.

Strictness: the header and signature must be canonical base64url (no padding, zero spare bits),
the header must be exactly the one above, and the signature 64 bytes; anything else is refused
with a reason (`SignatureError`), so no two different JWS texts verify for the same payload.

Schema 1 (legacy): `signature = {"alg": "Ed25519", "key_id", "value": base64(signature)}` inside
the manifest, over `canonical_json(manifest without "signature")` (renderer.plan.canonical_json:
sorted keys, no whitespace, UTF-8). Only verified, never produced.

`key_id` is the first 16 hex digits of sha256 over the raw 32-byte public key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from renderer.plan import canonical_json

ALGORITHM = "Ed25519"  # the schema-1 signature block's "alg"
JWS_ALGORITHM = "EdDSA"  # RFC 8037 section 3.1
SIGNATURE_BYTES = 64


class SignatureError(ValueError):
    """A signature that does not verify; the message says why."""


def generate_keypair() -> tuple[bytes, bytes]:
    """A fresh key pair as (PKCS#8 PEM private key, SubjectPublicKeyInfo PEM public key)."""
    private = Ed25519PrivateKey.generate()
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return private_pem, public_key_pem(private_pem)


def _load_private(private_key_pem: bytes) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(private_key_pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the private key is not an Ed25519 key")
    return key


def _load_public(public_key_pem: bytes) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(public_key_pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("the public key is not an Ed25519 key")
    return key


def public_key_pem(private_key_pem: bytes) -> bytes:
    return (
        _load_private(private_key_pem)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def key_id(public_key_pem: bytes) -> str:
    raw = _load_public(public_key_pem).public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return hashlib.sha256(raw).hexdigest()[:16]


# --- schema 2: detached JWS over the exact payload bytes -----------------------------------


def b64url(data: bytes) -> str:
    """RFC 7515 section 2: base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode_strict(text: str, what: str) -> bytes:
    """Decode base64url, refusing padding, other alphabets and non-zero spare bits: only the one
    encoding `b64url` produces is accepted, so the text cannot be varied without the bytes."""
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise SignatureError(f"the JWS {what} is not base64url") from exc
    if b64url(data) != text:
        raise SignatureError(f"the JWS {what} is not in canonical base64url")
    return data


def jws_header(kid: str) -> bytes:
    """The one protected header this format uses, as its exact bytes."""
    return json.dumps({"alg": JWS_ALGORITHM, "kid": kid}, separators=(",", ":")).encode("ascii")


def _signing_input(header_b64: str, payload: bytes) -> bytes:
    return f"{header_b64}.{b64url(payload)}".encode("ascii")  # RFC 7515 section 5.1, step 5


def sign_detached(payload: bytes, private_key_pem: bytes) -> str:
    """The detached compact JWS (``header..signature``) over exactly `payload`."""
    private = _load_private(private_key_pem)
    header_b64 = b64url(jws_header(key_id(public_key_pem(private_key_pem))))
    signature = private.sign(_signing_input(header_b64, payload))
    return f"{header_b64}..{b64url(signature)}"


def jws_key_id(jws: str) -> str:
    """The `kid` a detached JWS names; SignatureError if the JWS is not of this format."""
    parts = jws.split(".")
    if len(parts) != 3 or parts[1] != "":
        raise SignatureError("the JWS is not a detached compact serialisation (header..signature)")
    header = b64url_decode_strict(parts[0], "header")
    try:
        fields = json.loads(header.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise SignatureError("the JWS header is not JSON") from exc
    if not isinstance(fields, dict) or fields.get("alg") != JWS_ALGORITHM:
        raise SignatureError(f'the JWS header must name "alg":"{JWS_ALGORITHM}"')
    kid = fields.get("kid")
    if not isinstance(kid, str) or header != jws_header(kid):
        # Only the exact header we write is accepted: no crit, b64, jku or other parameters.
        raise SignatureError('the JWS header must be exactly {"alg":"EdDSA","kid":"<key id>"}')
    return kid


def verify_detached(jws: str, payload: bytes, public_key_pem: bytes) -> None:
    """Check a detached JWS over exactly `payload`; SignatureError says what is wrong."""
    try:
        expected = key_id(public_key_pem)
        public = _load_public(public_key_pem)
    except ValueError as exc:
        raise SignatureError("the public key is not a readable Ed25519 PEM key") from exc
    signer = jws_key_id(jws)
    if signer != expected:
        raise SignatureError(f"the manifest is signed by key {signer}, not by key {expected}")
    header_b64, _, signature_b64 = jws.split(".")
    signature = b64url_decode_strict(signature_b64, "signature")
    if len(signature) != SIGNATURE_BYTES:
        raise SignatureError(f"the JWS signature is {len(signature)} bytes, not 64")
    try:
        public.verify(signature, _signing_input(header_b64, payload))
    except InvalidSignature as exc:
        raise SignatureError(
            "the manifest signature does not verify: the manifest bytes were altered"
        ) from exc


def manifest_payload(manifest: dict[str, Any]) -> bytes:
    """The bytes a schema-2 manifest is embedded and signed as: its canonical JSON without the
    "signature" block. Verifiers never recompute this; they check the bytes in the file."""
    return canonical_json({k: v for k, v in manifest.items() if k != "signature"})


def sign_manifest(manifest: dict[str, Any], private_key_pem: bytes) -> dict[str, Any]:
    """The manifest plus a "signature" block (any previous signature is replaced):
    ``{"alg": "EdDSA", "key_id", "jws"}``, the jws detached over `manifest_payload(manifest)`,
    which is what `renderer.manifest.embed_manifest` writes into the file."""
    signed = {k: v for k, v in manifest.items() if k != "signature"}
    jws = sign_detached(manifest_payload(signed), private_key_pem)
    signed["signature"] = {"alg": JWS_ALGORITHM, "key_id": jws_key_id(jws), "jws": jws}
    return signed


# --- schema 1 (legacy): signature inside the JSON, over Python's canonical re-serialisation --


def _legacy_signed_bytes(manifest: dict[str, Any]) -> bytes:
    return canonical_json({k: v for k, v in manifest.items() if k != "signature"})


def verify_legacy_manifest(signed: dict[str, Any], public_key_pem: bytes) -> bool:
    """True only if `signed` carries a valid schema-1 Ed25519 signature by this public key."""
    block = signed.get("signature")
    if not isinstance(block, dict) or block.get("alg") != ALGORITHM:
        return False
    value = block.get("value")
    if not isinstance(value, str):
        return False
    try:
        public = _load_public(public_key_pem)
        if block.get("key_id") != key_id(public_key_pem):
            return False
        public.verify(base64.b64decode(value, validate=True), _legacy_signed_bytes(signed))
    except (InvalidSignature, ValueError, binascii.Error, TypeError):
        return False
    return True


def verify_manifest(signed: dict[str, Any], public_key_pem: bytes) -> bool:
    """True only if the manifest dict (as stored or served by the API) carries a valid signature
    by this public key: schema 2's detached JWS over its payload, or a legacy schema-1 block.
    A file is verified over its exact embedded bytes instead: `renderer.manifest.verify_file`."""
    block = signed.get("signature")
    if not isinstance(block, dict):
        return False
    if block.get("alg") == JWS_ALGORITHM:
        jws = block.get("jws")
        if not isinstance(jws, str):
            return False
        try:
            verify_detached(jws, manifest_payload(signed), public_key_pem)
        except SignatureError:
            return False
        return block.get("key_id") == jws_key_id(jws)
    return verify_legacy_manifest(signed, public_key_pem)
