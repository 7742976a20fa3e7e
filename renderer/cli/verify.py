"""Check a rendered file: its embedded manifest's signature and that the audio matches it."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from renderer.manifest import verify_file

PUBLIC_KEY_ENV = "STEMVAULT_PUBLIC_KEY"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="rendered WAV or FLAC")
    parser.add_argument(
        "--public-key",
        type=Path,
        help=f"Ed25519 public key PEM; default ${PUBLIC_KEY_ENV}, else FILE's .pub.pem beside it",
    )


def _public_key_path(args: argparse.Namespace) -> Path | None:
    if args.public_key is not None:
        return Path(args.public_key)
    if os.environ.get(PUBLIC_KEY_ENV):
        return Path(os.environ[PUBLIC_KEY_ENV])
    beside = args.file.with_name(args.file.stem + ".pub.pem")
    return beside if beside.exists() else None


def main(args: argparse.Namespace) -> int:
    key_path = _public_key_path(args)
    if key_path is None:
        print(
            f"error: no public key: pass --public-key, set ${PUBLIC_KEY_ENV}, or put "
            f"{args.file.stem}.pub.pem beside the file",
            file=sys.stderr,
        )
        return 2
    try:
        data = args.file.read_bytes()
        public_pem = key_path.read_bytes()
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    ok, reason = verify_file(data, public_pem)
    if ok:
        print(f"{args.file}: {reason}")
        return 0
    print(f"{args.file}: FAILED: {reason}", file=sys.stderr)
    return 1
