"""The provenance manifest of a render, and carrying it inside the audio file.

Manifest (schema "stemvault.manifest/1"): which plan was rendered (whole, plus its sha256), by
which engine version, from which stems (content hash, licence version, credits with royalty
splits), where each layer plays, and per second of output which stems are heard and in what
share of the energy (`attribution`, the basis of per-play royalties).

`audio_sha256` is `renderer.audio.pcm_sha256` of the decoded audio: sha256 over the ASCII
prefix "<sample_rate>:<channels>:" followed by every sample as a 24-bit integer in a
little-endian int32, channels interleaved. Hashing decoded PCM rather than file bytes means
embedding the manifest (which changes the file) does not change the hash, and any decoder can
recompute it; altering a single sample changes it.

Embedding (the manifest is the signed manifest's canonical JSON, UTF-8):

* WAV: a RIFF chunk with id ``b"svmf"`` (StemVault ManiFest) appended after the existing chunks;
  the RIFF size field is updated and an odd-sized payload gets the pad byte RIFF requires.
  Decoders skip chunks they do not know.
* FLAC: a Vorbis comment ``STEMVAULT_MANIFEST=<json>`` in the VORBIS_COMMENT metadata block
  (type 4), which is created right after STREAMINFO when the file has none.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Mapping
from typing import Any

import soundfile as sf

from renderer.audio import load_audio, pcm_sha256
from renderer.dsp.chunks import riff_chunks
from renderer.engine import RenderResult
from renderer.plan import RenderPlan, canonical_json, plan_hash
from renderer.signing import key_id, verify_manifest

SCHEMA = "stemvault.manifest/1"
WAV_CHUNK_ID = b"svmf"
FLAC_COMMENT_KEY = "STEMVAULT_MANIFEST"
AUDIO_HASH_METHOD = "pcm24le-v1"


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
        },
        "stems": stems,
        "placements": [p.to_dict() for p in result.placements],
        "hit_points": list(plan.hit_points),
        "attribution": result.attribution,
    }


# --- WAV -----------------------------------------------------------------------------------


def _embed_wav(data: bytes, payload: bytes) -> bytes:
    parts = [data[:12]]
    for chunk in riff_chunks(data):
        if chunk.id != WAV_CHUNK_ID:  # re-embedding replaces the old manifest
            parts.append(data[chunk.offset : chunk.next])
    parts.append(WAV_CHUNK_ID + struct.pack("<I", len(payload)) + payload)
    if len(payload) & 1:
        parts.append(b"\x00")
    out = bytearray(b"".join(parts))
    struct.pack_into("<I", out, 4, len(out) - 8)
    return bytes(out)


def _extract_wav(data: bytes) -> bytes | None:
    for chunk in riff_chunks(data):
        if chunk.id == WAV_CHUNK_ID:
            return data[chunk.body : chunk.end]
    return None


# --- FLAC ----------------------------------------------------------------------------------

_STREAMINFO, _VORBIS_COMMENT = 0, 4


def _flac_blocks(data: bytes) -> tuple[list[tuple[int, bytes]], int]:
    """Metadata blocks as (type, body) and the offset where the audio frames begin."""
    if data[:4] != b"fLaC":
        raise ValueError("not a FLAC file")
    blocks = []
    offset = 4
    while True:
        if offset + 4 > len(data):
            raise ValueError("truncated FLAC metadata")
        header = data[offset]
        length = int.from_bytes(data[offset + 1 : offset + 4], "big")
        blocks.append((header & 0x7F, data[offset + 4 : offset + 4 + length]))
        offset += 4 + length
        if header & 0x80:
            return blocks, offset


def _parse_comments(body: bytes) -> tuple[bytes, list[bytes]]:
    (vendor_len,) = struct.unpack_from("<I", body, 0)
    vendor = body[4 : 4 + vendor_len]
    offset = 4 + vendor_len
    (count,) = struct.unpack_from("<I", body, offset)
    offset += 4
    comments = []
    for _ in range(count):
        (length,) = struct.unpack_from("<I", body, offset)
        comments.append(body[offset + 4 : offset + 4 + length])
        offset += 4 + length
    return vendor, comments


def _build_comments(vendor: bytes, comments: list[bytes]) -> bytes:
    parts = [struct.pack("<I", len(vendor)), vendor, struct.pack("<I", len(comments))]
    for comment in comments:
        parts += [struct.pack("<I", len(comment)), comment]
    return b"".join(parts)


def _is_manifest_comment(comment: bytes) -> bool:
    key = comment.split(b"=", 1)[0]
    return key.upper() == FLAC_COMMENT_KEY.encode()


def _embed_flac(data: bytes, payload: bytes) -> bytes:
    blocks, audio_start = _flac_blocks(data)
    vendor: bytes = b"stemvault"
    comments: list[bytes] = []
    kept: list[tuple[int, bytes]] = []
    for block_type, body in blocks:
        if block_type == _VORBIS_COMMENT:
            vendor, comments = _parse_comments(body)
        else:
            kept.append((block_type, body))
    comments = [c for c in comments if not _is_manifest_comment(c)]
    comments.append(FLAC_COMMENT_KEY.encode() + b"=" + payload)
    body = _build_comments(vendor, comments)
    if len(body) >= 1 << 24:
        raise ValueError("manifest too large for a FLAC metadata block (16 MiB)")
    insert_at = 1 if kept and kept[0][0] == _STREAMINFO else 0
    kept.insert(insert_at, (_VORBIS_COMMENT, body))
    out = [b"fLaC"]
    for index, (block_type, block_body) in enumerate(kept):
        last = 0x80 if index == len(kept) - 1 else 0
        out.append(bytes([last | block_type]) + len(block_body).to_bytes(3, "big") + block_body)
    out.append(data[audio_start:])
    return b"".join(out)


def _extract_flac(data: bytes) -> bytes | None:
    blocks, _ = _flac_blocks(data)
    for block_type, body in blocks:
        if block_type == _VORBIS_COMMENT:
            for comment in _parse_comments(body)[1]:
                if _is_manifest_comment(comment):
                    return comment.split(b"=", 1)[1]
    return None


# --- public --------------------------------------------------------------------------------


def embed_manifest(audio_bytes: bytes, fmt: str, signed_manifest: dict[str, Any]) -> bytes:
    """The file with the manifest embedded (replacing any earlier one). fmt: "wav" or "flac"."""
    payload = canonical_json(signed_manifest)
    if fmt == "wav":
        return _embed_wav(audio_bytes, payload)
    if fmt == "flac":
        return _embed_flac(audio_bytes, payload)
    raise ValueError(f"cannot embed a manifest in {fmt!r} files")


def extract_manifest(file_bytes: bytes) -> dict[str, Any] | None:
    """The embedded manifest of a WAV or FLAC file; None when there is none or it is unreadable."""
    try:
        if file_bytes[:4] == b"RIFF":
            payload = _extract_wav(file_bytes)
        elif file_bytes[:4] == b"fLaC":
            payload = _extract_flac(file_bytes)
        else:
            return None
        if payload is None:
            return None
        manifest = json.loads(payload.decode("utf-8"))
    except (ValueError, struct.error, UnicodeDecodeError):
        return None
    return manifest if isinstance(manifest, dict) else None


def verify_file(file_bytes: bytes, public_key_pem: bytes) -> tuple[bool, str]:
    """True only if the embedded manifest's signature verifies with this key AND the decoded
    audio hashes to the manifest's audio_sha256. The reason says which check failed."""
    manifest = extract_manifest(file_bytes)
    if manifest is None:
        return False, "no readable Stemvault manifest is embedded in the file"
    if "signature" not in manifest:
        return False, "the embedded manifest is not signed"
    if not verify_manifest(manifest, public_key_pem):
        try:
            expected = key_id(public_key_pem)
        except ValueError:
            return False, "the public key is not a readable Ed25519 PEM key"
        signer = (
            manifest["signature"].get("key_id") if isinstance(manifest["signature"], dict) else None
        )
        if signer != expected:
            return False, f"the manifest is signed by key {signer}, not by key {expected}"
        return False, "the manifest signature does not verify: the manifest was altered"
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
    return True, f"ok: manifest signed by key {manifest['signature']['key_id']}, audio matches"
