"""The stems package: a render's role-group buses as credentialed files in one zip, with a
signed manifest of what each holds.

Layout of the zip (stored, not deflated: float audio barely compresses and the files are
large; fixed timestamps, so the bytes are a pure function of the render)::

    stems/01-rhythm.wav, stems/02-bass.wav, ...   one 32-bit float WAV per role group
    manifest.json   the package manifest, schema `PACKAGE_SCHEMA`, exactly the signed bytes
    manifest.jws    detached compact JWS (EdDSA, the render manifest's key) over manifest.json

The manifest comes last because it holds every file's sha256: the files are written one at a
time as they are made, so only one stem's bytes are in memory at once (a 3-minute stem is some
70 MB).

The package manifest names the render (`render_id`, the master's `audio_sha256`), how the stems
relate to it (the input gain before the limiter, `renderer.buses.SUM_TOLERANCE`), and per file
its role group, sha256, size, peak, and the stems heard in it with their content hash, licence
version and credits, copied from the render's signed manifest. It is signed exactly as the
render manifest is (renderer.signing: a detached JWS over the exact bytes), so any language with
Ed25519 checks it, and each file's sha256 ties the audio to it (`verify_stems_zip`).

Each stem file also carries its own C2PA Content Credentials (renderer.credentials, signed when
a signer is given): the render's signed manifest as the attribution assertion, only its group's
stems as ingredients (componentOf), the delivered master as its parent ingredient (parentOf),
and the signed delivery statement naming the group, the render and the file's own hash
(renderer.delivery), so a stem file taken out of the zip still verifies on its own.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any

import numpy as np

from renderer.audio import Samples
from renderer.buses import SUM_TOLERANCE, wav_float32_bytes
from renderer.credentials import CredentialsSigner
from renderer.delivery import MasterFile, sign_delivery
from renderer.signing import SignatureError, manifest_payload, sign_manifest, verify_detached

PACKAGE_SCHEMA = "stemvault.stems/1"
MANIFEST_NAME = "manifest.json"
SIGNATURE_NAME = "manifest.jws"
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can say: no wall clock in the bytes


@dataclass(frozen=True)
class StemFile:
    group: str
    name: str  # path inside the zip
    data: bytes
    stem_ids: tuple[str, ...]
    peak: float  # largest |sample|, full scale 1.0 (may exceed 1: it is before the limiter)


def stem_files(
    buses: Mapping[str, Samples],
    sample_rate: int,
    manifest: Mapping[str, Any],
    groups: Mapping[str, str],
    *,
    signer: CredentialsSigner | None,
    master: MasterFile | None = None,
    stem_formats: Mapping[str, str] | None = None,
) -> Iterator[StemFile]:
    """One float WAV per bus, in the buses' order, each with Content Credentials when `signer`
    is given (then `master` too: the delivered master, their parent ingredient, and the key
    for their delivery statements, renderer.delivery), made as they are consumed. `groups`
    maps stem id -> role group (the one the buses were mixed with)."""
    if signer is not None and master is None:
        raise ValueError("credentialed stem files need the master they are made from")
    for number, (group, samples) in enumerate(buses.items(), start=1):
        heard = tuple(
            str(s["id"]) for s in manifest.get("stems", []) if groups.get(str(s["id"])) == group
        )
        name = f"stems/{number:02d}-{group}.wav"
        data = wav_float32_bytes(samples, sample_rate)
        if signer is not None and master is not None:
            delivery = {
                "kind": "stem",
                "role_group": group,
                "render_id": manifest["render_id"],
                "stem_ids": list(heard),
                "title": f"Stemvault render {manifest['render_id']}, {group} stem",
                "level": "before the master limiter, at the master's input gain",
            }
            data = sign_delivery(
                data,
                "wav",
                delivery,
                master=master.data,
                master_fmt=master.fmt,
                manifest=manifest,
                signer=signer,
                private_key_pem=master.private_key_pem,
                stem_formats=stem_formats,
            )
        peak = float(np.max(np.abs(samples))) if samples.size else 0.0
        yield StemFile(group, name, data, heard, peak)


def file_entry(f: StemFile, manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The package manifest's entry for one file."""
    by_id = {str(s["id"]): s for s in manifest.get("stems", [])}
    keep = ("id", "title", "role", "content_sha256", "license_version", "credits")
    return {
        "name": f.name,
        "role_group": f.group,
        "sha256": hashlib.sha256(f.data).hexdigest(),
        "bytes": len(f.data),
        "peak": round(f.peak, 6),
        "stems": [{k: by_id[i][k] for k in keep if k in by_id[i]} for i in f.stem_ids],
    }


def package_manifest(
    entries: list[dict[str, Any]],
    manifest: Mapping[str, Any],
    *,
    sample_rate: int,
    frames: int,
    channels: int,
    input_gain_db: float,
) -> dict[str, Any]:
    """What the zip holds, per file (`file_entry`), tied to the render (module docstring)."""
    return {
        "schema": PACKAGE_SCHEMA,
        "render_id": manifest["render_id"],
        "mix_audio_sha256": manifest.get("audio_sha256"),
        "engine_version": manifest.get("engine_version"),
        "sample_rate": sample_rate,
        "channels": channels,
        "frames": frames,
        "encoding": "WAV, 32-bit IEEE float",
        "level": "every stem at the master's input gain, before its limiter: they sum to the "
        "mix as it entered the limiter",
        "input_gain_db": round(input_gain_db, 6),
        "sum_tolerance": SUM_TOLERANCE,
        "files": entries,
    }


def write_stems_zip(
    out: IO[bytes],
    files: Iterable[StemFile],
    manifest: Mapping[str, Any],
    *,
    private_key_pem: bytes,
    sample_rate: int,
    frames: int,
    channels: int,
    input_gain_db: float,
) -> dict[str, Any]:
    """Write the zip into `out`, each file as it comes; the signed package manifest (with its
    "signature" block)."""
    entries = []
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:
        for f in files:
            archive.writestr(zipfile.ZipInfo(f.name, date_time=_ZIP_TIME), f.data)
            entries.append(file_entry(f, manifest))
        package = package_manifest(
            entries,
            manifest,
            sample_rate=sample_rate,
            frames=frames,
            channels=channels,
            input_gain_db=input_gain_db,
        )
        signed = sign_manifest(package, private_key_pem)
        jws = signed["signature"]["jws"].encode("ascii")
        for name, data in ((MANIFEST_NAME, manifest_payload(signed)), (SIGNATURE_NAME, jws)):
            archive.writestr(zipfile.ZipInfo(name, date_time=_ZIP_TIME), data)
    return signed


def verify_stems_zip(archive: zipfile.ZipFile, public_key_pem: bytes) -> dict[str, Any]:
    """The package manifest, once its signature and every file's sha256 check; SignatureError
    says what failed (a changed byte anywhere, a file added, missing or renamed)."""
    names = archive.namelist()
    if len(names) != len(set(names)):
        raise SignatureError("the zip holds two entries of one name")
    payload = archive.read(MANIFEST_NAME)
    verify_detached(archive.read(SIGNATURE_NAME).decode("ascii"), payload, public_key_pem)
    package: dict[str, Any] = json.loads(payload)
    listed = {entry["name"]: entry["sha256"] for entry in package["files"]}
    if set(names) != {MANIFEST_NAME, SIGNATURE_NAME, *listed}:
        raise SignatureError("the zip's files are not the ones its manifest lists")
    for name, digest in listed.items():
        if hashlib.sha256(archive.read(name)).hexdigest() != digest:
            raise SignatureError(f"{name} is not the file the manifest lists")
    return package
