"""The platform's Ed25519 signing key: every render's manifest is signed with it.

Where the key comes from, in order: the STEMVAULT_SIGNING_KEY setting or environment variable
(a path to a PKCS#8 PEM private key, the production way), else a key generated once and kept
in VAR_DIR/keys/ (mode 0600) so that a development checkout signs consistently across restarts.
The public half is served at /.well-known/stemvault-manifest-key.pem and
/api/v1/mixes/public-key/ so that anyone can verify a file.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from functools import lru_cache
from pathlib import Path

from django.conf import settings

from renderer.signing import generate_keypair, key_id, public_key_pem

GENERATED_KEY_NAME = "stemvault-signing-ed25519.pem"


def _configured_path() -> Path | None:
    value = getattr(settings, "STEMVAULT_SIGNING_KEY", "") or os.environ.get(
        "STEMVAULT_SIGNING_KEY", ""
    )
    return Path(value) if str(value).strip() else None


def _generated_key() -> bytes:
    folder = Path(settings.VAR_DIR) / "keys"
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    path = folder / GENERATED_KEY_NAME
    if not path.exists():
        private_pem, _ = generate_keypair()
        # Written under a private temporary name, then hard-linked into place: link() fails if
        # another process got there first, so two processes starting together never end up
        # signing with different keys.
        temporary = folder / f".{GENERATED_KEY_NAME}.{secrets.token_hex(8)}"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(private_pem)
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
    return path.read_bytes()


@lru_cache(maxsize=1)
def signing_key_pem() -> bytes:
    """The private key (PEM). Cached per process: the key does not change while it runs."""
    configured = _configured_path()
    if configured is not None:
        return configured.read_bytes()
    return _generated_key()


def verification_key_pem() -> bytes:
    """The public key (SubjectPublicKeyInfo PEM) anyone can verify manifests with."""
    return public_key_pem(signing_key_pem())


def signing_key_id() -> str:
    return key_id(verification_key_pem())
