"""Checking a delivery made from a master (an MP3, a stem file, the stems zip): what
`renderer verify` runs on files that carry no Stemvault manifest of their own
(renderer.delivery says what they carry instead, and why).

A delivery verifies only if every one of these holds, checked in this order so the first
failure names what was changed:

1. layout: the Content Credentials are where c2pa-rs puts them and nothing else is: an MP3's
   one leading ID3v2 tag holding only the C2PA GEOB, a WAV's one ``C2PA`` chunk, its last;
2. the C2PA manifest store validates with c2pa-python's Reader (data hash over the file,
   hashed assertions, the claim signature, the parent ingredient's own manifest); the only
   failure tolerated is an untrusted signing certificate, since trust in the signer is what
   the Stemvault key below provides;
3. the `io.stemvault.delivery` assertion's detached JWS verifies with the public key the
   verifier gave over the exact statement bytes it carries, and its readable fields are exactly
   those bytes parsed (strictly: no duplicate key, no NaN);
4. the file's bytes without the credentials hash to the statement's `content_sha256`;
5. the `io.stemvault.attribution` assertion is the master's manifest signed by the same key,
   and its bytes hash to the statement's `master.manifest_sha256`;
6. the parentOf ingredient is the master the statement names (instance id, file sha256).
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
import zipfile
from collections.abc import Mapping
from typing import Any

import c2pa

from renderer.credentials import (
    ATTRIBUTION_LABEL,
    DELIVERY_LABEL,
    MASTER_METADATA_KEY,
    MIME_TYPES,
)
from renderer.delivery import DELIVERY_SCHEMA
from renderer.dsp.chunks import riff_chunks
from renderer.embedding import C2PA_CHUNK_ID, EmbeddingError, c2pa_id3_length
from renderer.manifest import ManifestError, parse_manifest_json
from renderer.signing import SignatureError, manifest_payload, verify_detached, verify_manifest
from renderer.stem_package import verify_stems_zip

UNTRUSTED = "signingCredential.untrusted"  # the one C2PA failure a development chain has


class DeliveryError(ValueError):
    """A delivery that does not verify; the message says which check failed."""


def without_credentials(data: bytes, fmt: str) -> bytes:
    """The file's bytes as they were before c2pa-rs added the Content Credentials."""
    if fmt == "mp3":
        try:
            end = c2pa_id3_length(data, "mp3")
        except EmbeddingError as exc:
            raise DeliveryError(str(exc)) from exc
        if end == 0:
            raise DeliveryError(
                "the MP3 has no Content Credentials (no ID3v2 tag holding a C2PA store before "
                "its audio): they were stripped, or this is not a Stemvault delivery"
            )
        return data[end:]
    if len(data) < 12 or struct.unpack_from("<I", data, 4)[0] != len(data) - 8:
        raise DeliveryError("the RIFF size is not the file's size: bytes were added or cut")
    chunks = list(riff_chunks(data))
    if not chunks or chunks[-1].next != len(data):
        raise DeliveryError("the WAV's chunks do not end where the file does")
    ids = [c.id for c in chunks]
    if C2PA_CHUNK_ID not in ids:
        raise DeliveryError(
            "the WAV carries neither a Stemvault manifest nor Content Credentials (no C2PA "
            "chunk): they were stripped, or this is not a Stemvault file"
        )
    if ids.count(C2PA_CHUNK_ID) > 1 or ids[-1] != C2PA_CHUNK_ID:
        raise DeliveryError("the file's C2PA chunk must be one chunk, the last")
    out = bytearray(data[: chunks[-1].offset])
    struct.pack_into("<I", out, 4, len(out) - 8)
    return bytes(out)


def c2pa_report(data: bytes, fmt: str) -> dict[str, Any]:
    """c2pa-python's report; DeliveryError when there is no store or it cannot be read."""
    try:
        with c2pa.Reader(MIME_TYPES[fmt], io.BytesIO(data)) as reader:
            report: dict[str, Any] = json.loads(reader.json())
    except c2pa.C2paError.ManifestNotFound as exc:
        raise DeliveryError("the file carries no C2PA manifest: it was stripped") from exc
    except c2pa.C2paError as exc:
        raise DeliveryError(f"the Content Credentials cannot be read ({exc})") from exc
    return report


def _failures(results: Mapping[str, Any] | None) -> set[str]:
    failures = (results or {}).get("activeManifest", {}).get("failure", [])
    return {str(f["code"]) for f in failures} - {UNTRUSTED}


def _assertion(manifest: Mapping[str, Any], label: str) -> Any:
    found = [a["data"] for a in manifest.get("assertions", []) if a.get("label") == label]
    if len(found) != 1:
        raise DeliveryError(f"the Content Credentials carry {len(found)} {label} assertions, not 1")
    return found[0]


def _signed_statement(active: Mapping[str, Any], public_key_pem: bytes) -> dict[str, Any]:
    statement = _assertion(active, DELIVERY_LABEL)
    block = statement.get("signature") if isinstance(statement, dict) else None
    if not isinstance(block, dict) or not all(
        isinstance(block.get(k), str) for k in ("jws", "payload")
    ):
        raise DeliveryError("the delivery assertion carries no signed statement")
    payload = block["payload"].encode("utf-8")
    try:
        verify_detached(block["jws"], payload, public_key_pem)
        signed = parse_manifest_json(payload)
    except (SignatureError, ManifestError) as exc:
        raise DeliveryError(f"delivery statement: {exc}") from exc
    if signed != {k: v for k, v in statement.items() if k != "signature"}:
        raise DeliveryError("the delivery assertion's fields are not the statement it signs")
    if signed.get("schema") != DELIVERY_SCHEMA:
        raise DeliveryError(f"the delivery statement is not schema {DELIVERY_SCHEMA!r}")
    return signed


def _check_master(active: Mapping[str, Any], signed: Mapping[str, Any], key: bytes) -> None:
    master = signed.get("master") or {}
    manifest = _assertion(active, ATTRIBUTION_LABEL)
    if not verify_manifest(manifest, key):
        raise DeliveryError(
            "the master's manifest (attribution assertion) is not signed by the key"
        )
    if hashlib.sha256(manifest_payload(manifest)).hexdigest() != master.get("manifest_sha256"):
        raise DeliveryError("the attribution assertion is not the master's manifest signed for")
    parents = [i for i in active.get("ingredients", []) if i.get("relationship") == "parentOf"]
    if len(parents) != 1:
        raise DeliveryError(f"the file names {len(parents)} parent ingredients, not 1: the master")
    parent = parents[0]
    meta = (parent.get("metadata") or {}).get(MASTER_METADATA_KEY) or {}
    if parent.get("instance_id") != master.get("instance_id") or meta.get("sha256") != master.get(
        "file_sha256"
    ):
        raise DeliveryError("the parent ingredient is not the master the statement names")
    if not parent.get("active_manifest"):
        raise DeliveryError("the parent ingredient carries no C2PA manifest of the master")
    if _failures(parent.get("validation_results")):
        raise DeliveryError("the master's Content Credentials inside this file do not validate")


def check_delivery(data: bytes, fmt: str, public_key_pem: bytes) -> dict[str, Any]:
    """The signed delivery statement of an MP3 (`fmt` "mp3") or stem WAV ("wav") once every
    check in the module docstring passes; DeliveryError with the first that fails."""
    content = without_credentials(data, fmt)
    report = c2pa_report(data, fmt)
    codes = {str(s["code"]) for s in report.get("validation_status", [])} - {UNTRUSTED}
    if codes or report.get("validation_state") not in ("Valid", "Trusted"):
        raise DeliveryError(
            f"the Content Credentials do not validate ({', '.join(sorted(codes))}): the file "
            "was changed after it was signed"
        )
    active = report["manifests"][report["active_manifest"]]
    signed = _signed_statement(active, public_key_pem)
    if signed.get("format") != fmt:
        raise DeliveryError(f"the statement is for a {signed.get('format')} file, not {fmt}")
    if hashlib.sha256(content).hexdigest() != signed.get("content_sha256"):
        raise DeliveryError("the audio does not match the signed statement: it was altered")
    _check_master(active, signed, public_key_pem)
    return signed


def _summary(signed: Mapping[str, Any]) -> str:
    master = signed.get("master") or {}
    what = f"{signed.get('role_group')} stem" if signed.get("kind") == "stem" else "MP3"
    return (
        f"ok: {what} of render {signed.get('render_id')}, delivery statement signed by the key given, Content "
        f"Credentials valid, bytes match; made from master {master.get('instance_id')} "
        f"(sha256 {master.get('file_sha256')})"
    )


def verify_delivery(data: bytes, fmt: str, public_key_pem: bytes) -> tuple[bool, str]:
    """(True, summary) when `check_delivery` passes, else (False, the reason)."""
    try:
        return True, _summary(check_delivery(data, fmt, public_key_pem))
    except DeliveryError as exc:
        return False, str(exc)


def verify_stems_package(data: bytes, public_key_pem: bytes) -> tuple[bool, list[str]]:
    """The stems zip: its signed package manifest and file hashes (renderer.stem_package), then
    every stem file as a delivery of the package's render and role group. Lines to report."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            package = verify_stems_zip(archive, public_key_pem)
            lines = [f"ok: package manifest of render {package['render_id']} signed, files listed"]
            for entry in package["files"]:
                try:
                    signed = check_delivery(archive.read(entry["name"]), "wav", public_key_pem)
                except DeliveryError as exc:
                    raise DeliveryError(f"{entry['name']}: {exc}") from exc
                if (signed.get("render_id"), signed.get("role_group")) != (
                    package["render_id"],
                    entry["role_group"],
                ):
                    raise DeliveryError(f"{entry['name']} is not this package's render and group")
                lines.append(f"{entry['name']}: {_summary(signed)}")
    except (zipfile.BadZipFile, KeyError) as exc:
        return False, [f"not a stems package ({exc})"]
    except SignatureError as exc:
        return False, [f"package: {exc}"]
    except DeliveryError as exc:
        return False, [str(exc)]
    return True, lines
