"""The platform's Ed25519 signing key: every render's manifest is signed with it.

Where the key comes from, in order: the STEMVAULT_SIGNING_KEY setting or environment variable
(a path to a PKCS#8 PEM private key, the production way), else a key generated once and kept
in VAR_DIR/keys/ (mode 0600) so that a development checkout signs consistently across restarts.
The public half is served at /.well-known/stemvault-manifest-key.pem and
/api/v1/mixes/public-key/ so that anyone can verify a file.

Content Credentials (C2PA) are signed with a certificate chain instead (`credentials_signer`,
below): C2PA_CERT_CHAIN_PEM and C2PA_PRIVATE_KEY_PEM in production, else a development CA and
signing certificate generated once in VAR_DIR/keys/c2pa/.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from renderer.credential_chain import development_chain
from renderer.credentials import CredentialsSigner
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


# --- Content Credentials (C2PA) ------------------------------------------------------------
# A certificate chain, not a bare key: C2PA validators want an end-entity certificate issued by
# a CA (renderer.credential_chain). Configured with C2PA_CERT_CHAIN_PEM and
# C2PA_PRIVATE_KEY_PEM (paths, both or neither) in production; otherwise a development CA and a
# signing certificate are generated once into VAR_DIR/keys/c2pa/, private keys mode 0600.
C2PA_FOLDER = "c2pa"
C2PA_FILES = {
    "ca_cert_pem": "ca.pem",
    "ca_key_pem": "ca-key.pem",
    "signer_chain_pem": "signer-chain.pem",
    "signer_key_pem": "signer-key.pem",
}
C2PA_PRIVATE_FILES = {"ca-key.pem", "signer-key.pem"}


def _setting(name: str) -> str:
    return str(getattr(settings, name, "") or os.environ.get(name, "")).strip()


def c2pa_configured_paths() -> tuple[Path, Path] | None:
    """(chain, key) from the settings; None when neither is set; ImproperlyConfigured for one."""
    chain, key = _setting("C2PA_CERT_CHAIN_PEM"), _setting("C2PA_PRIVATE_KEY_PEM")
    if bool(chain) != bool(key):
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(
            "Set both C2PA_CERT_CHAIN_PEM and C2PA_PRIVATE_KEY_PEM (the certificate chain and "
            "its private key), or neither to sign with the generated development chain."
        )
    return (Path(chain), Path(key)) if chain else None


def _generated_c2pa_chain() -> Path:
    keys_folder = Path(settings.VAR_DIR) / "keys"
    keys_folder.mkdir(parents=True, exist_ok=True)
    keys_folder.chmod(0o700)
    folder = keys_folder / C2PA_FOLDER
    if not folder.exists():
        chain = development_chain(timezone.now())
        # The four files are one set (the signer must be the one this CA issued): written into a
        # private temporary folder, then renamed into place in one step. If another process got
        # there first the rename fails and its set is used.
        temporary = keys_folder / f".{C2PA_FOLDER}.{secrets.token_hex(8)}"
        temporary.mkdir(mode=0o700)
        try:
            for field, name in C2PA_FILES.items():
                mode = 0o600 if name in C2PA_PRIVATE_FILES else 0o644
                descriptor = os.open(temporary / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
                with os.fdopen(descriptor, "wb") as handle:
                    handle.write(getattr(chain, field))
            with contextlib.suppress(OSError):
                os.rename(temporary, folder)
        finally:
            if temporary.exists():
                shutil.rmtree(temporary, ignore_errors=True)
    return folder


@lru_cache(maxsize=1)
def credentials_signer() -> CredentialsSigner:
    """What signs Content Credentials. Cached per process, like the manifest key."""
    tsa_url = _setting("C2PA_TSA_URL") or None
    configured = c2pa_configured_paths()
    if configured is not None:
        chain_path, key_path = configured
        return CredentialsSigner(chain_path.read_bytes(), key_path.read_bytes(), tsa_url)
    folder = _generated_c2pa_chain()
    return CredentialsSigner(
        (folder / C2PA_FILES["signer_chain_pem"]).read_bytes(),
        (folder / C2PA_FILES["signer_key_pem"]).read_bytes(),
        tsa_url,
    )


def c2pa_ca_pem() -> bytes | None:
    """The development CA certificate (to trust it in a local validator), None if configured."""
    if c2pa_configured_paths() is not None:
        return None
    return (_generated_c2pa_chain() / C2PA_FILES["ca_cert_pem"]).read_bytes()
