"""Ed25519 signatures over a manifest's canonical JSON.

The signed bytes are `canonical_json(manifest without its "signature" key)`: keys sorted, no
whitespace, UTF-8 (renderer.plan.canonical_json). The signature block is::

    {"alg": "Ed25519", "key_id": <first 16 hex of sha256(raw 32-byte public key)>,
     "value": <base64 of the 64-byte signature>}
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from renderer.plan import canonical_json

ALGORITHM = "Ed25519"


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


def _signed_bytes(manifest: dict[str, Any]) -> bytes:
    return canonical_json({k: v for k, v in manifest.items() if k != "signature"})


def sign_manifest(manifest: dict[str, Any], private_key_pem: bytes) -> dict[str, Any]:
    """The manifest plus a "signature" block (any previous signature is replaced)."""
    private = _load_private(private_key_pem)
    signature = private.sign(_signed_bytes(manifest))
    signed = {k: v for k, v in manifest.items() if k != "signature"}
    signed["signature"] = {
        "alg": ALGORITHM,
        "key_id": key_id(public_key_pem(private_key_pem)),
        "value": base64.b64encode(signature).decode("ascii"),
    }
    return signed


def verify_manifest(signed: dict[str, Any], public_key_pem: bytes) -> bool:
    """True only if `signed` carries a valid Ed25519 signature by this public key."""
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
        public.verify(base64.b64decode(value, validate=True), _signed_bytes(signed))
    except (InvalidSignature, ValueError, binascii.Error, TypeError):
        return False
    return True
