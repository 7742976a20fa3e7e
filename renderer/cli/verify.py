"""Check a delivered file: a master's embedded manifest's signature and that the audio matches
it; an MP3 or a stem file's Content Credentials and signed delivery statement
(renderer.delivery_verify); a stems zip's signed package manifest and every stem file in it.

The public key must come from the verifier, never from the file's neighbourhood: a key file
lying beside the audio proves nothing, since whoever forged the file could have put their own
key there. So the key is `--public-key PEM`, or `--portal-url URL` (the portal's published key at
URL/.well-known/stemvault-manifest-key.pem, over HTTPS unless the host is this machine), or the
STEMVAULT_PUBLIC_KEY environment variable (a PEM file's path, or the PEM text itself).
"""

from __future__ import annotations

import argparse
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from renderer.delivery_verify import verify_delivery, verify_stems_package
from renderer.manifest import ManifestError, read_embedded_manifest, verify_file
from renderer.validate import sniff_container

PUBLIC_KEY_ENV = "STEMVAULT_PUBLIC_KEY"
WELL_KNOWN_KEY_PATH = "/.well-known/stemvault-manifest-key.pem"
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})


class KeyNotFound(Exception):
    pass


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "file", type=Path, help="a delivered WAV or FLAC master, MP3, stem WAV or stems zip"
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--public-key",
        type=Path,
        help=f"the signer's Ed25519 public key (PEM); without it or --portal-url, "
        f"${PUBLIC_KEY_ENV} (a path or the PEM text). A key beside FILE is never used",
    )
    where.add_argument(
        "--portal-url",
        help=f"the portal whose published key ({WELL_KNOWN_KEY_PATH}) signed the file",
    )


def fetch_portal_key(portal_url: str) -> bytes:
    parts = urllib.parse.urlsplit(portal_url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise KeyNotFound(f"--portal-url must be an https:// URL, not {portal_url!r}")
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
        # Over plain HTTP anyone on the path could hand us their own key.
        raise KeyNotFound("--portal-url must use https:// (plain http only for this machine)")
    url = portal_url.rstrip("/") + WELL_KNOWN_KEY_PATH
    try:
        with urllib.request.urlopen(url, timeout=15) as response:
            body: bytes = response.read(64 * 1024)
    except (urllib.error.URLError, OSError) as exc:
        raise KeyNotFound(f"cannot fetch the portal's public key from {url}: {exc}") from exc
    return body


def _public_key(args: argparse.Namespace, environ: dict[str, str]) -> bytes:
    if args.public_key is not None:
        try:
            return Path(args.public_key).read_bytes()
        except OSError as exc:
            raise KeyNotFound(f"cannot read --public-key: {exc}") from exc
    if args.portal_url is not None:
        return fetch_portal_key(args.portal_url)
    value = environ.get(PUBLIC_KEY_ENV, "").strip()
    if value.startswith("-----BEGIN"):
        return value.encode("ascii", "replace") + b"\n"
    if value:
        try:
            return Path(value).read_bytes()
        except OSError as exc:
            raise KeyNotFound(f"cannot read ${PUBLIC_KEY_ENV}: {exc}") from exc
    raise KeyNotFound(
        f"no public key: pass --public-key PEM, --portal-url URL, or set ${PUBLIC_KEY_ENV}. "
        "A key file beside the audio is never used: a forger could have put it there"
    )


def main(args: argparse.Namespace) -> int:
    try:
        public_pem = _public_key(args, dict(os.environ))
        data = args.file.read_bytes()
    except (KeyNotFound, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    ok, lines = verify_any(data, public_pem)
    for line in lines if ok else lines[:-1]:
        print(f"{args.file}: {line}")
    if ok:
        return 0
    print(f"{args.file}: FAILED: {lines[-1]}", file=sys.stderr)
    return 1


def _is_master(data: bytes) -> bool:
    """Whether the file carries a Stemvault manifest of its own (or a damaged one: verify_file
    says what is wrong with it); a stem WAV carries none, only its delivery statement."""
    try:
        return read_embedded_manifest(data) is not None
    except ManifestError:
        return True


def verify_any(data: bytes, public_pem: bytes) -> tuple[bool, list[str]]:
    """Whether the file verifies, and the lines to report (a failure's reason last)."""
    if data[:4] == b"PK\x03\x04":
        return verify_stems_package(data, public_pem)
    kind = sniff_container(data)
    if kind == "MP3" or (kind == "WAV" and not _is_master(data)):
        ok, reason = verify_delivery(data, "mp3" if kind == "MP3" else "wav", public_pem)
    else:
        ok, reason = verify_file(data, public_pem)
    return ok, [reason]
