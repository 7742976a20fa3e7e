from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import override_settings

from portal.mixes import keys
from renderer.signing import generate_keypair, sign_manifest, verify_manifest


@pytest.fixture(autouse=True)
def _fresh_key_cache() -> Iterator[None]:
    keys.signing_key_pem.cache_clear()
    yield
    keys.signing_key_pem.cache_clear()


def test_a_configured_key_file_is_the_signing_key(tmp_path: Path) -> None:
    private_pem, public_pem = generate_keypair()
    path = tmp_path / "platform.pem"
    path.write_bytes(private_pem)
    with override_settings(STEMVAULT_SIGNING_KEY=str(path)):
        assert keys.signing_key_pem() == private_pem
        assert keys.verification_key_pem() == public_pem


def test_without_configuration_a_key_is_generated_once_and_kept_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STEMVAULT_SIGNING_KEY", raising=False)
    with override_settings(STEMVAULT_SIGNING_KEY="", VAR_DIR=tmp_path):
        first = keys.signing_key_pem()
        keys.signing_key_pem.cache_clear()
        assert keys.signing_key_pem() == first  # read back, not generated again
        stored = tmp_path / "keys" / keys.GENERATED_KEY_NAME
        assert stored.read_bytes() == first
        assert stat.S_IMODE(stored.stat().st_mode) == 0o600
        signed = sign_manifest({"render_id": "x"}, first)
        assert verify_manifest(signed, keys.verification_key_pem())
