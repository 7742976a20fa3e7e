"""Content Credentials (C2PA) on every delivered soundtrack, read back with c2pa-python's own
Reader: valid apart from the development certificate being untrusted, the stems listed as
ingredients, the Stemvault manifest carried as an assertion, and tampering detected."""

from __future__ import annotations

import io
import json
import stat
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import c2pa
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import default_storage
from django.test import override_settings
from django.utils import timezone

from portal.mixes import keys, services
from portal.mixes.keys import verification_key_pem
from portal.mixes.models import Mix, RenderStatus
from portal.stems.models import Stem
from renderer.credential_chain import development_chain
from renderer.credentials import ATTRIBUTION_LABEL, DIGITAL_SOURCE_TYPE, STEM_METADATA_KEY
from renderer.dsp.chunks import riff_chunks
from renderer.embedding import c2pa_id3_length
from renderer.manifest import read_embedded_manifest, verify_file
from tests.factories.stems import vault_of

MIME = {"wav": "audio/wav", "flac": "audio/flac"}
REQUEST = {"duration_s": 8, "mood": "calm", "seed": 5}


@pytest.fixture(autouse=True)
def _fresh_signer_cache() -> Iterator[None]:
    keys.credentials_signer.cache_clear()
    yield
    keys.credentials_signer.cache_clear()


def _render(user: Any, run_jobs: Any, fmt: str) -> tuple[Mix, bytes]:
    mix = services.soundtrack_request(user=user, data={**REQUEST, "format": fmt})
    run_jobs()
    mix.refresh_from_db()
    assert mix.status == RenderStatus.DONE, mix.error
    with default_storage.open(mix.audio.name, "rb") as handle:
        return mix, handle.read()


def _read(data: bytes, fmt: str, context: Any = None) -> dict[str, Any]:
    with c2pa.Reader(MIME[fmt], io.BytesIO(data), context=context) as reader:
        report: dict[str, Any] = json.loads(reader.json())
    return report


def _codes(report: dict[str, Any]) -> set[str]:
    return {status["code"] for status in report.get("validation_status", [])}


def _active(report: dict[str, Any]) -> dict[str, Any]:
    manifest: dict[str, Any] = report["manifests"][report["active_manifest"]]
    return manifest


def _assertion(manifest: dict[str, Any], label: str) -> Any:
    return next(a["data"] for a in manifest["assertions"] if a["label"] == label)


def _c2pa_store(data: bytes, fmt: str) -> tuple[int, int]:
    """(start, end) of the bytes c2pa-rs wrote: the WAV's C2PA chunk or the FLAC's ID3v2 tag."""
    if fmt == "wav":
        last = list(riff_chunks(data))[-1]
        assert last.id == b"C2PA"
        return last.offset, last.next
    return 0, c2pa_id3_length(data)


def _audio_offset(data: bytes, fmt: str) -> int:
    """A byte well inside the audio samples."""
    if fmt == "wav":
        chunk = next(c for c in riff_chunks(data) if c.id == b"data")
        return chunk.body + chunk.size // 2
    return (c2pa_id3_length(data) + len(data)) // 2


@pytest.mark.parametrize("fmt", ["wav", "flac"])
def test_a_delivered_file_carries_credentials_valid_but_for_the_untrusted_dev_certificate(
    artist: Any, run_jobs: Any, fmt: str
) -> None:
    vault_of(artist)
    mix, data = _render(artist, run_jobs, fmt)
    report = _read(data, fmt)
    # The only failure: the development CA is on no trust list.
    assert _codes(report) == {"signingCredential.untrusted"}
    assert report["validation_state"] == "Valid"
    results = report["validation_results"]["activeManifest"]
    assert {s["code"] for s in results["failure"]} == {"signingCredential.untrusted"}
    assert {"claimSignature.validated", "assertion.dataHash.match"} <= {
        s["code"] for s in results["success"]
    }
    manifest = _active(report)
    assert manifest["signature_info"]["alg"] == "Es256"
    assert manifest["signature_info"]["common_name"] == "Stemvault Content Credentials"

    actions = _assertion(manifest, "c2pa.actions.v2")["actions"]
    created = actions[0]
    assert created["action"] == "c2pa.created"
    assert created["digitalSourceType"] == DIGITAL_SOURCE_TYPE
    assert created["softwareAgent"] == {
        "name": "Stemvault",
        "version": mix.manifest["engine_version"],
    }

    # Every stem heard is an ingredient, with the hash of its stored file, licence and credits.
    stems = {s["id"]: s for s in mix.manifest["stems"]}
    assert stems
    ingredients = {i["instance_id"]: i for i in manifest["ingredients"]}
    assert set(ingredients) == {f"urn:stemvault:stem:{stem_id}" for stem_id in stems}
    for stem_id, entry in stems.items():
        stem = Stem.objects.select_related("submission__license").get(pk=int(stem_id))
        ingredient = ingredients[f"urn:stemvault:stem:{stem_id}"]
        assert ingredient["title"] == stem.title
        assert ingredient["relationship"] == "componentOf"
        assert ingredient["format"] == f"audio/{stem.audio_format.lower()}"
        meta = ingredient["metadata"][STEM_METADATA_KEY]
        assert meta["content_sha256"] == stem.file_sha256
        assert meta["license_version"] == stem.submission.license.version
        assert meta["credits"] == entry["credits"]
        assert [c["split_bps"] for c in meta["credits"]] == [10000]
    placed = [a for a in actions if a["action"] == "c2pa.placed"]
    assert len(placed) == len(stems)

    # The attribution assertion is the file's own signed Stemvault manifest, to the last field.
    embedded, _ = read_embedded_manifest(data) or pytest.fail("no Stemvault manifest")
    assert _assertion(manifest, ATTRIBUTION_LABEL) == embedded == mix.manifest
    # And our own verifier still accepts the credentialed file.
    ok, reason = verify_file(data, verification_key_pem())
    assert ok, reason


@pytest.mark.parametrize("fmt", ["wav", "flac"])
def test_a_changed_sample_breaks_the_credentials_data_hash(
    artist: Any, run_jobs: Any, fmt: str
) -> None:
    vault_of(artist)
    _, data = _render(artist, run_jobs, fmt)
    tampered = bytearray(data)
    tampered[_audio_offset(data, fmt)] ^= 0x01
    codes = _codes(_read(bytes(tampered), fmt))
    assert "assertion.dataHash.mismatch" in codes
    assert codes == {"assertion.dataHash.mismatch", "signingCredential.untrusted"}


@pytest.mark.parametrize("fmt", ["wav", "flac"])
def test_a_changed_assertion_is_detected(artist: Any, run_jobs: Any, fmt: str) -> None:
    vault_of(artist)
    _, data = _render(artist, run_jobs, fmt)
    start, end = _c2pa_store(data, fmt)
    # The attribution assertion's audio hash method, a string no other assertion holds.
    at = data.index(b"pcm24le-v1", start, end)
    tampered = data[:at] + b"pcm24le-v2" + data[at + 10 :]
    codes = _codes(_read(tampered, fmt))
    assert "assertion.hashedURI.mismatch" in codes, codes


@pytest.mark.parametrize("fmt", ["wav", "flac"])
def test_a_stripped_manifest_leaves_no_credentials(artist: Any, run_jobs: Any, fmt: str) -> None:
    vault_of(artist)
    _, data = _render(artist, run_jobs, fmt)
    start, end = _c2pa_store(data, fmt)
    stripped = bytearray(data[:start] + data[end:])
    if fmt == "wav":
        struct.pack_into("<I", stripped, 4, len(stripped) - 8)
    with pytest.raises(c2pa.C2paError.ManifestNotFound):
        _read(bytes(stripped), fmt)
    # The Stemvault manifest does not depend on the credentials.
    ok, reason = verify_file(bytes(stripped), verification_key_pem())
    assert ok, reason


def test_with_the_development_ca_trusted_the_credentials_are_trusted(
    artist: Any, run_jobs: Any
) -> None:
    # The chain is well formed for C2PA (profile, EKU, issuer): trusting our CA is all it takes.
    vault_of(artist)
    _, data = _render(artist, run_jobs, "wav")
    ca = keys.c2pa_ca_pem()
    assert ca is not None
    settings = c2pa.Settings.from_dict({"trust": {"trust_anchors": ca.decode("ascii")}})
    with c2pa.Context(settings) as context:
        report = _read(data, "wav", context=context)
    assert report["validation_state"] == "Trusted"
    assert _codes(report) == set()


# --- the signing chain ---------------------------------------------------------------------


def test_first_run_generates_a_ca_and_signer_kept_private_and_reuses_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("C2PA_CERT_CHAIN_PEM", "C2PA_PRIVATE_KEY_PEM"):
        monkeypatch.delenv(name, raising=False)
    with override_settings(C2PA_CERT_CHAIN_PEM="", C2PA_PRIVATE_KEY_PEM="", VAR_DIR=tmp_path):
        first = keys.credentials_signer()
        folder = tmp_path / "keys" / "c2pa"
        names = sorted(p.name for p in folder.iterdir())
        assert names == ["ca-key.pem", "ca.pem", "signer-chain.pem", "signer-key.pem"]
        for name in ("ca-key.pem", "signer-key.pem"):
            assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600
        assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
        keys.credentials_signer.cache_clear()
        second = keys.credentials_signer()
        assert second == first  # read back, not generated again
        assert sorted(p.name for p in (tmp_path / "keys").iterdir()) == ["c2pa"]

    signer, ca = x509.load_pem_x509_certificates(first.cert_chain_pem)
    assert ca.public_bytes(serialization.Encoding.PEM) == (folder / "ca.pem").read_bytes()
    signer.verify_directly_issued_by(ca)
    assert not signer.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    usage = signer.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and not usage.value.key_cert_sign
    eku = signer.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.EMAIL_PROTECTION]
    assert isinstance(signer.public_key(), ec.EllipticCurvePublicKey)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_a_configured_chain_signs_instead(tmp_path: Path) -> None:
    chain = development_chain(timezone.now())
    (tmp_path / "chain.pem").write_bytes(chain.signer_chain_pem)
    (tmp_path / "key.pem").write_bytes(chain.signer_key_pem)
    with override_settings(
        C2PA_CERT_CHAIN_PEM=str(tmp_path / "chain.pem"),
        C2PA_PRIVATE_KEY_PEM=str(tmp_path / "key.pem"),
        VAR_DIR=tmp_path / "var",
    ):
        signer = keys.credentials_signer()
        assert keys.c2pa_ca_pem() is None
    assert signer.cert_chain_pem == chain.signer_chain_pem
    assert signer.private_key_pem == chain.signer_key_pem
    assert not (tmp_path / "var" / "keys" / "c2pa").exists()


def test_half_a_configured_chain_is_refused(tmp_path: Path) -> None:
    with (
        override_settings(C2PA_CERT_CHAIN_PEM=str(tmp_path / "chain.pem"), C2PA_PRIVATE_KEY_PEM=""),
        pytest.raises(
            ImproperlyConfigured, match="both C2PA_CERT_CHAIN_PEM and C2PA_PRIVATE_KEY_PEM"
        ),
    ):
        keys.credentials_signer()
