"""The provenance manifest of a render, and carrying it inside the audio file.

Manifest (schema "stemvault.manifest/2"): which plan was rendered (whole, plus its sha256), by
which engine version, from which stems (content hash, licence version, credits with royalty
splits), where each layer plays, and per second of output which stems are heard and in what
share of the energy (`attribution`, the basis of per-play royalties).

`audio_sha256` is `renderer.audio.pcm_sha256` of the decoded audio: sha256 over the ASCII
prefix "<sample_rate>:<channels>:" followed by every sample as a 24-bit integer in a
little-endian int32, channels interleaved. Hashing decoded PCM rather than file bytes means
embedding the manifest (which changes the file) does not change the hash, and any decoder can
recompute it; altering a single sample changes it.

Signing and embedding (schema 2): the manifest is written into the file as UTF-8 JSON bytes
(`renderer.signing.manifest_payload`) beside a detached JWS over exactly those bytes
(`renderer.signing`; the layout is in `renderer.embedding`). A verifier checks the signature
over the bytes it finds, in any language, then parses them strictly (duplicate keys, NaN or
Infinity refused) and compares the decoded audio with `audio_sha256`.

Schema 1 files (signature inside the JSON, over Python's re-serialisation) still verify, labelled
legacy, and only if their embedded text is byte for byte the canonical JSON the schema-1 writer
produced: that refuses the whitespace, key-order and number-spelling edits it used to accept.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any, NoReturn

import soundfile as sf

from renderer.audio import load_audio, pcm_sha256
from renderer.embedding import (
    FLAC_COMMENT_KEY,
    FLAC_SIGNATURE_COMMENT_KEY,
    WAV_CHUNK_ID,
    WAV_SIGNATURE_CHUNK_ID,
    Embedded,
    EmbeddingError,
    embed,
    extract,
)
from renderer.engine import RenderResult
from renderer.placement import hit_landings
from renderer.plan import RenderPlan, canonical_json, plan_hash
from renderer.signing import (
    ALGORITHM as LEGACY_ALGORITHM,
)
from renderer.signing import (
    JWS_ALGORITHM,
    SignatureError,
    jws_key_id,
    key_id,
    manifest_payload,
    verify_detached,
    verify_legacy_manifest,
)

SCHEMA = "stemvault.manifest/2"
LEGACY_SCHEMA = "stemvault.manifest/1"
AUDIO_HASH_METHOD = "pcm24le-v1"

__all__ = [
    "AUDIO_HASH_METHOD",
    "FLAC_COMMENT_KEY",
    "FLAC_SIGNATURE_COMMENT_KEY",
    "LEGACY_SCHEMA",
    "SCHEMA",
    "WAV_CHUNK_ID",
    "WAV_SIGNATURE_CHUNK_ID",
    "ManifestError",
    "build_manifest",
    "embed_manifest",
    "extract_manifest",
    "parse_manifest_json",
    "read_embedded_manifest",
    "verify_file",
]


class ManifestError(ValueError):
    """An embedded manifest that cannot be trusted as it stands; the message says why."""


def _finite(value: float, digits: int = 3) -> float | None:
    return round(value, digits) if math.isfinite(value) else None


def build_manifest(
    plan: RenderPlan,
    result: RenderResult,
    *,
    render_id: str,
    stems_meta: Mapping[str, Mapping[str, Any]],
) -> dict[str, Any]:
    """The unsigned manifest. `stems_meta[id]` may hold license_version and credits
    ([{artist, split_percent}]); stems missing from it get null/[]."""
    used = sorted({p.stem_id for p in result.placements})
    stems = []
    for stem_id in used:
        ref = plan.stem(stem_id)
        meta = stems_meta.get(stem_id, {})
        credits = [
            {"artist": str(c["artist"]), "split_percent": float(c["split_percent"])}
            for c in meta.get("credits", [])
        ]
        stems.append(
            {
                "id": stem_id,
                "content_sha256": meta.get("content_sha256", ref.content_sha256),
                "license_version": meta.get("license_version"),
                "credits": credits,
            }
        )
    return {
        "schema": SCHEMA,
        "render_id": render_id,
        "engine_version": result.engine_version,
        "plan": plan.to_dict(),
        "plan_sha256": plan_hash(plan),
        "audio_sha256": result.audio_sha256,
        "audio_hash_method": AUDIO_HASH_METHOD,
        "audio": {
            "format": result.format,
            "bits": 24,
            "sample_rate": result.sample_rate,
            "channels": int(result.samples.shape[1]),
            "frames": int(result.samples.shape[0]),
            "duration_s": result.duration_s,
            "loudness_lufs": _finite(result.loudness_lufs),
            "true_peak_dbtp": _finite(result.true_peak_dbtp),
            # Only when the target was out of reach (renderer.engine.master): normal renders'
            # manifests keep their exact bytes.
            **(
                {"loudness_shortfall_lu": round(result.loudness_shortfall_lu, 3)}
                if result.loudness_shortfall_lu > 0.0
                else {}
            ),
        },
        "stems": stems,
        "placements": [p.to_dict() for p in result.placements],
        "hit_points": list(plan.hit_points),
        "hits": hit_landings(plan, result.placements),
        "attribution": result.attribution,
    }


# --- public --------------------------------------------------------------------------------


def embed_manifest(audio_bytes: bytes, fmt: str, signed_manifest: dict[str, Any]) -> bytes:
    """The file with the manifest embedded (replacing any earlier one). fmt: "wav" or "flac".

    A schema-2 signature block ({"alg": "EdDSA", "jws"}) embeds `manifest_payload` (the bytes
    the JWS signs) and the JWS; a schema-1 block embeds the whole dict the schema-1 way."""
    block = signed_manifest.get("signature")
    if isinstance(block, dict) and block.get("alg") == JWS_ALGORITHM:
        return embed(audio_bytes, fmt, manifest_payload(signed_manifest), str(block["jws"]))
    return embed(audio_bytes, fmt, canonical_json(signed_manifest), None)


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        duplicate = next(key for key in keys if keys.count(key) > 1)
        raise ManifestError(f"the manifest has the key {duplicate!r} twice")
    return dict(pairs)


def _reject_constant(name: str) -> NoReturn:
    raise ManifestError(f"the manifest contains {name}, which is not JSON")


def parse_manifest_json(payload: bytes) -> dict[str, Any]:
    """Strict parse of manifest bytes: UTF-8, one JSON object, no duplicate key at any depth, no
    NaN/Infinity. Two readers of these bytes cannot see different manifests."""
    try:
        manifest = json.loads(
            payload.decode("utf-8"),
            object_pairs_hook=_reject_duplicates,
            parse_constant=_reject_constant,
        )
    except UnicodeDecodeError as exc:
        raise ManifestError("the manifest is not UTF-8") from exc
    except ManifestError:
        raise
    except ValueError as exc:
        raise ManifestError(f"the manifest is not valid JSON ({exc})") from exc
    if not isinstance(manifest, dict):
        raise ManifestError("the manifest is not a JSON object")
    return manifest


def read_embedded_manifest(file_bytes: bytes) -> tuple[dict[str, Any], Embedded] | None:
    """The embedded manifest as the dict `sign_manifest` made (schema 2: the payload plus its
    signature block rebuilt from the JWS) and the exact embedded bytes; None when the file
    carries no manifest; ManifestError when it carries one laid out or written against the
    rules (see renderer.embedding and parse_manifest_json)."""
    try:
        embedded = extract(file_bytes)
    except EmbeddingError as exc:
        raise ManifestError(str(exc)) from exc
    if embedded is None:
        return None
    manifest = parse_manifest_json(embedded.payload)
    if embedded.jws is None:
        return manifest, embedded
    if "signature" in manifest:
        raise ManifestError("a schema-2 manifest must not carry a signature block of its own")
    try:
        kid = jws_key_id(embedded.jws)
    except SignatureError as exc:
        raise ManifestError(str(exc)) from exc
    manifest["signature"] = {"alg": JWS_ALGORITHM, "key_id": kid, "jws": embedded.jws}
    return manifest, embedded


def extract_manifest(file_bytes: bytes) -> dict[str, Any] | None:
    """The embedded manifest of a WAV or FLAC file; None when there is none or it is unreadable
    or ambiguous. Unverified: use verify_file to trust it."""
    try:
        found = read_embedded_manifest(file_bytes)
    except ManifestError:
        return None
    return None if found is None else found[0]


def _check_signature(manifest: dict[str, Any], embedded: Embedded, public_key_pem: bytes) -> str:
    """Which signature verified (for the report); ManifestError or SignatureError if none."""
    if embedded.jws is not None:
        if manifest.get("schema") != SCHEMA:
            raise ManifestError(f"a JWS-signed manifest must be schema {SCHEMA!r}")
        verify_detached(embedded.jws, embedded.payload, public_key_pem)
        return f"schema 2, detached JWS ({JWS_ALGORITHM})"
    block = manifest.get("signature")
    if manifest.get("schema") != LEGACY_SCHEMA:
        raise ManifestError("the embedded manifest is not signed (no JWS beside it)")
    if not isinstance(block, dict) or block.get("alg") != LEGACY_ALGORITHM:
        raise ManifestError("the embedded schema-1 manifest is not signed")
    if canonical_json(manifest) != embedded.payload:
        # The schema-1 writer embedded exactly canonical_json(signed manifest); any other
        # spelling of the same data (spaces, key order, 1E3 for 1e3) is an edit.
        raise ManifestError(
            "the schema-1 manifest is not in the canonical form it was written in: it was edited"
        )
    try:
        expected = key_id(public_key_pem)
    except ValueError as exc:
        raise SignatureError("the public key is not a readable Ed25519 PEM key") from exc
    if block.get("key_id") != expected:
        raise SignatureError(
            f"the manifest is signed by key {block.get('key_id')}, not by key {expected}"
        )
    if not verify_legacy_manifest(manifest, public_key_pem):
        raise SignatureError("the manifest signature does not verify: the manifest was altered")
    return "LEGACY schema 1, signature over Python's canonical JSON"


def verify_file(file_bytes: bytes, public_key_pem: bytes) -> tuple[bool, str]:
    """True only if the embedded manifest's signature verifies with this key over the exact
    embedded bytes, the manifest is laid out and written strictly, AND the decoded audio hashes
    to the manifest's audio_sha256. The reason says which check failed, or which signature
    scheme passed (schema-1 files are reported as legacy)."""
    try:
        found = read_embedded_manifest(file_bytes)
        if found is None:
            return False, "no Stemvault manifest is embedded in the file"
        manifest, embedded = found
        scheme = _check_signature(manifest, embedded, public_key_pem)
    except (ManifestError, SignatureError) as exc:
        return False, str(exc)
    try:
        audio = load_audio(file_bytes)
    except (sf.LibsndfileError, RuntimeError, ValueError) as exc:
        return False, f"the audio cannot be decoded ({exc}): the file was altered"
    actual = pcm_sha256(audio)
    if actual != manifest.get("audio_sha256"):
        return False, (
            f"the audio does not match the manifest (decoded PCM sha256 {actual}, "
            f"manifest says {manifest.get('audio_sha256')}): the audio was altered"
        )
    signer = manifest["signature"]["key_id"]
    return True, f"ok: manifest signed by key {signer} ({scheme}), audio matches"
