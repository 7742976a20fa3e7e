"""The portal publishes its manifest key at a well-known address, and `renderer verify
--portal-url` checks a file against that key, over HTTP to a live portal."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from portal.mixes.keys import signing_key_pem, verification_key_pem
from renderer.audio import load_audio, pcm_sha256
from renderer.manifest import SCHEMA, embed_manifest
from renderer.signing import generate_keypair, sign_manifest
from tests.conftest import ROOT
from tests.factories.audio import encode, tone

WELL_KNOWN = "/.well-known/stemvault-manifest-key.pem"


def test_the_well_known_key_is_the_published_signing_key(db: None) -> None:
    anonymous = Client()
    response = anonymous.get(WELL_KNOWN)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/x-pem-file")
    assert response.content == verification_key_pem()
    assert response.content == anonymous.get("/api/v1/mixes/public-key/").content
    assert anonymous.post(WELL_KNOWN).status_code == 405


def _signed_file(tmp_path: Path, private_pem: bytes, name: str) -> Path:
    audio = encode(tone(1000.0, 0.1, level=0.1))
    manifest = {"schema": SCHEMA, "render_id": name, "audio_sha256": pcm_sha256(load_audio(audio))}
    path = tmp_path / f"{name}.wav"
    path.write_bytes(embed_manifest(audio, "wav", sign_manifest(manifest, private_pem)))
    return path


def _verify(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "renderer", "verify", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )


@pytest.mark.django_db(transaction=True)
def test_verify_fetches_the_key_from_the_portal_url(live_server: Any, tmp_path: Path) -> None:
    genuine = _signed_file(tmp_path, signing_key_pem(), "genuine")
    done = _verify(str(genuine), "--portal-url", live_server.url)
    assert done.returncode == 0, done.stderr
    assert "schema 2" in done.stdout

    forged = _signed_file(tmp_path, generate_keypair()[0], "forged")
    failed = _verify(str(forged), "--portal-url", live_server.url + "/")
    assert failed.returncode == 1 and "signed by key" in failed.stderr

    gone = _verify(str(genuine), "--portal-url", live_server.url + "/nowhere")
    assert gone.returncode == 2 and "cannot fetch the portal's public key" in gone.stderr
