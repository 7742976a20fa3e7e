"""Deliveries made from a master (its MP3, the stem files): Content Credentials naming the
master as their parent, and a Stemvault-signed statement that `renderer verify` checks.

An MP3 or a stem file cannot carry the render's Stemvault manifest the way the master does:
that manifest's `audio_sha256` is the master's decoded PCM, which an MP3 decodes to only
within codec error (and differently in each decoder) and a stem not at all. So each delivery
carries, in its C2PA manifest, the *delivery statement* (schema `DELIVERY_SCHEMA`): what the
file is (kind, render id, format; an MP3's bit rate, a stem's role group and stems), the
sha256 of the file's exact bytes before its Content Credentials were added
(`content_sha256`), and the master it was made from (the sha256 of its signed manifest's bytes,
its decoded-audio hash, the sha256 and C2PA instance id of the delivered master file). The
statement is signed like the render manifest (renderer.signing: a detached EdDSA JWS, the
render key) over its exact bytes, which travel with it as text, so no verifier re-serialises
JSON. It goes into the `io.stemvault.delivery` assertion as its readable fields plus a
"signature" block ``{"alg", "key_id", "jws", "payload"}``; a verifier checks the JWS over
`payload` and that the readable fields are exactly the parsed payload.

Why inside the C2PA manifest rather than in an ID3 frame (MP3) or RIFF chunk (stem) of our
own: the C2PA claim already binds every byte of the file but its store, so the statement needs
to bind only the audio, and the file stays one standard container with one metadata store
(c2pa-rs writes the MP3's ID3v2 tag; a tag of ours beside it would be a second place for a
reader to look, and bytes `renderer.embedding` would have to police). The pre-credential bytes
are recovered exactly: an MP3 less its leading ID3v2 tag holding only the C2PA GEOB (c2pa-rs
only prepends it), a WAV less its last chunk, the ``C2PA`` chunk, with the RIFF size put back.

The forgery this stops: C2PA alone says who signed, and a development certificate is untrusted
whoever made it, so a forger's own chain over other audio, carrying a copy of a genuine
attribution assertion, would validate just as well. The statement's signature needs the render
key, whose public half the verifier supplies (never one found beside the file), and its
`content_sha256` ties it to these bytes only. Verification: `renderer.delivery_verify`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from renderer.credentials import (
    CredentialsSigner,
    Parent,
    parent_ingredient,
    render_instance_id,
    sign_credentials,
)
from renderer.signing import JWS_ALGORITHM, jws_key_id, manifest_payload, sign_detached

DELIVERY_SCHEMA = "stemvault.delivery/1"
CONTENT_HASH_OF = {
    "mp3": "the file's bytes after its leading ID3v2 tag (the Content Credentials' GEOB)",
    "wav": "the file's bytes without its last RIFF chunk (the Content Credentials' C2PA "
    "chunk), with the RIFF size of the file without it",
}


@dataclass(frozen=True)
class MasterFile:
    """The master a delivery is made from, as delivered (credentialed), and the render key that
    signs the delivery statements (the one that signed the master's manifest)."""

    data: bytes
    fmt: str
    private_key_pem: bytes


def master_reference(master_sha256: str, fmt: str, manifest: Mapping[str, Any]) -> dict[str, Any]:
    """What a delivery statement says of the master it was made from (`master_sha256`: of the
    master file's bytes as delivered)."""
    return {
        "render_id": str(manifest["render_id"]),
        "format": fmt,
        "instance_id": render_instance_id(str(manifest["render_id"]), fmt),
        "file_sha256": master_sha256,
        "manifest_sha256": hashlib.sha256(manifest_payload(dict(manifest))).hexdigest(),
        "audio_sha256": manifest.get("audio_sha256"),
    }


def delivery_statement(
    delivery: Mapping[str, Any],
    fmt: str,
    content: bytes,
    *,
    master_sha256: str,
    master_fmt: str,
    manifest: Mapping[str, Any],
    private_key_pem: bytes,
) -> dict[str, Any]:
    """The signed statement for a delivery of format `fmt` whose bytes (before credentials) are
    `content`: `delivery`'s fields, the schema, the content hash and the master reference, plus
    the "signature" block carrying the exact signed bytes."""
    statement = {
        **delivery,
        "schema": DELIVERY_SCHEMA,
        "format": fmt,
        "content_sha256": hashlib.sha256(content).hexdigest(),
        "content_hash_of": CONTENT_HASH_OF[fmt],
        "master": master_reference(master_sha256, master_fmt, manifest),
    }
    payload = manifest_payload(statement)
    jws = sign_detached(payload, private_key_pem)
    statement["signature"] = {
        "alg": JWS_ALGORITHM,
        "key_id": jws_key_id(jws),
        "jws": jws,
        "payload": payload.decode("utf-8"),
    }
    return statement


def sign_delivery(
    data: bytes,
    fmt: str,
    delivery: Mapping[str, Any],
    *,
    master: bytes,
    master_fmt: str,
    manifest: Mapping[str, Any],
    signer: CredentialsSigner,
    private_key_pem: bytes,
    stem_formats: Mapping[str, str] | None = None,
) -> bytes:
    """`data` (an MP3 or a stem WAV made from the render) with Content Credentials whose parent
    ingredient is the delivered `master` and whose delivery assertion is the signed statement.
    `manifest` is the master's signed Stemvault manifest; `private_key_pem` its Ed25519 key."""
    master_sha256 = hashlib.sha256(master).hexdigest()
    statement = delivery_statement(
        delivery,
        fmt,
        data,
        master_sha256=master_sha256,
        master_fmt=master_fmt,
        manifest=manifest,
        private_key_pem=private_key_pem,
    )
    parent = Parent(master, master_fmt, parent_ingredient(master_sha256, master_fmt, manifest))
    return sign_credentials(
        data,
        fmt,
        dict(manifest),
        signer,
        stem_formats=stem_formats,
        delivery=statement,
        parent=parent,
    )
