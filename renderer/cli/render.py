"""Render a plan JSON to a 24-bit WAV/FLAC with a signed provenance manifest embedded, and
C2PA Content Credentials when a certificate chain is given (as the portal's renders have)."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from renderer.bwf import broadcast_wav
from renderer.credentials import CredentialsError, CredentialsSigner, sign_credentials
from renderer.delivery import sign_delivery
from renderer.engine import MAX_MAKEUP_GAIN_DB, RenderError, render
from renderer.manifest import build_manifest, embed_manifest
from renderer.memory import keep_freed_memory
from renderer.mp3 import MP3_BIT_RATE, encode_mp3
from renderer.plan import PlanError, StemRef, canonical_json, parse_plan, plan_hash
from renderer.signing import generate_keypair, key_id, public_key_pem, sign_manifest
from renderer.stems import load_stem_file
from renderer.threads import pin_blas_threads

SIGNING_KEY_ENV = "STEMVAULT_SIGNING_KEY"
# The same names as the portal's settings: one chain signs the portal's and the CLI's files.
C2PA_CHAIN_ENV, C2PA_KEY_ENV = "C2PA_CERT_CHAIN_PEM", "C2PA_PRIVATE_KEY_PEM"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("plan", type=Path, help="render plan JSON (stem paths relative to it)")
    parser.add_argument("--out", type=Path, required=True, help="output file (.wav or .flac)")
    parser.add_argument(
        "--key",
        type=Path,
        help=f"Ed25519 private key PEM; default ${SIGNING_KEY_ENV}, else an ephemeral key whose "
        "public half is written beside the output as OUT.pub.pem",
    )
    parser.add_argument(
        "--c2pa-chain",
        type=Path,
        help=f"PEM certificate chain (signer first) for Content Credentials; default "
        f"${C2PA_CHAIN_ENV}. Without a chain and its key the file gets no Content Credentials "
        "(the CLI says so): a C2PA signature needs a certificate, not a bare key",
    )
    parser.add_argument(
        "--c2pa-key", type=Path, help=f"its PEM private key; default ${C2PA_KEY_ENV}"
    )
    parser.add_argument(
        "--mp3",
        action="store_true",
        help="also write OUT.mp3 (CBR 320 kbps, with Content Credentials when signed)",
    )
    parser.add_argument("--render-id", help="render id for the manifest (default: from the plan)")
    parser.add_argument(
        "--stems-meta",
        type=Path,
        help="JSON {stem_id: {license_version, credits: [{artist, split_percent}]}}",
    )


def write_atomic(path: Path, data: bytes) -> None:
    """Write under a temporary name in the same folder, then rename over the target."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()


def sidecar(out: Path, suffix: str) -> Path:
    return out.with_name(out.stem + suffix)


def _with_content_hashes(data: dict[str, Any], base: Path) -> dict[str, Any]:
    """The plan's canonical form with every file stem's sha256 filled in."""
    canonical = parse_plan(data).to_dict()
    for stem in canonical["stems"]:
        if stem.get("content_sha256") is None and stem.get("path") is not None:
            path = base / stem["path"]
            try:
                stem["content_sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
            except OSError as exc:
                raise PlanError(
                    f"stem {stem['id']!r}: cannot read {str(path)!r}: {exc.strerror}"
                ) from exc
    return canonical


def _c2pa_signer(args: argparse.Namespace) -> tuple[CredentialsSigner | None, str]:
    """(the signer, "") or (None, why not). ValueError for a chain without its key."""
    chain = args.c2pa_chain or (Path(v) if (v := os.environ.get(C2PA_CHAIN_ENV)) else None)
    key = args.c2pa_key or (Path(v) if (v := os.environ.get(C2PA_KEY_ENV)) else None)
    if chain is None and key is None:
        return None, (
            "no Content Credentials (C2PA) written: no certificate chain given (--c2pa-chain "
            f"and --c2pa-key, or ${C2PA_CHAIN_ENV} and ${C2PA_KEY_ENV}); the file carries the "
            "signed Stemvault manifest only"
        )
    if chain is None or key is None:
        raise ValueError("give both the C2PA certificate chain and its private key, or neither")
    return CredentialsSigner(chain.read_bytes(), key.read_bytes()), ""


def main(args: argparse.Namespace) -> int:
    try:
        raw = json.loads(args.plan.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"error: cannot read plan {args.plan}: {exc}", file=sys.stderr)
        return 2
    base = args.plan.resolve().parent
    try:
        plan = parse_plan(_with_content_hashes(raw, base))
    except PlanError as exc:
        print(f"error: invalid plan: {exc.message}", file=sys.stderr)
        return 2

    def load(ref: StemRef) -> bytes:
        path = ref.path if ref.path is None else str(base / ref.path)
        return load_stem_file(replace(ref, path=path))

    out: Path = args.out
    wanted_suffix = "." + plan.format
    if out.suffix.lower() != wanted_suffix:
        out = out.with_suffix(wanted_suffix)
        print(f"note: the plan renders {plan.format}; writing {out}", file=sys.stderr)

    ephemeral = False
    key_path = args.key or (
        Path(os.environ[SIGNING_KEY_ENV]) if os.environ.get(SIGNING_KEY_ENV) else None
    )
    if key_path is not None:
        try:
            private_pem = key_path.read_bytes()
            public_pem = public_key_pem(private_pem)
        except (OSError, ValueError) as exc:
            print(f"error: cannot use signing key {key_path}: {exc}", file=sys.stderr)
            return 2
    else:
        private_pem, public_pem = generate_keypair()
        ephemeral = True

    try:
        c2pa_signer, no_credentials = _c2pa_signer(args)
    except (OSError, ValueError) as exc:
        print(f"error: cannot use the C2PA signing chain: {exc}", file=sys.stderr)
        return 2

    stems_meta: dict[str, Any] = {}
    if args.stems_meta is not None:
        try:
            stems_meta = json.loads(args.stems_meta.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            print(f"error: cannot read stems metadata {args.stems_meta}: {exc}", file=sys.stderr)
            return 2

    try:
        keep_freed_memory()
        pin_blas_threads()
        result = render(plan, load=load)
    except RenderError as exc:
        # The plan parsed but yields no valid audio (silent, not finite): nothing is written.
        print(f"error: render failed: {exc.message}", file=sys.stderr)
        return 1
    except PlanError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    render_id = args.render_id or f"cli-{plan_hash(plan)[:16]}"
    manifest = sign_manifest(
        build_manifest(plan, result, render_id=render_id, stems_meta=stems_meta), private_pem
    )
    audio = result.audio
    if result.format == "wav":  # a Broadcast WAV: bext and iXML before the data chunk
        audio = broadcast_wav(audio, manifest, result.loudness_report, originated=datetime.now(UTC))
    audio = embed_manifest(audio, result.format, manifest)
    mp3 = encode_mp3(result.samples, result.sample_rate) if args.mp3 else None
    if c2pa_signer is not None:
        try:  # last: the credentials' hash covers every byte written before them
            audio = sign_credentials(audio, result.format, manifest, c2pa_signer)
            if mp3 is not None:
                delivery = {"kind": "mp3", "render_id": render_id, "bit_rate": MP3_BIT_RATE}
                mp3 = sign_delivery(  # names the master just credentialed as its parent
                    mp3,
                    "mp3",
                    delivery,
                    master=audio,
                    master_fmt=result.format,
                    manifest=manifest,
                    signer=c2pa_signer,
                    private_key_pem=private_pem,
                )
        except CredentialsError as exc:
            print(f"error: render failed: {exc}", file=sys.stderr)
            return 1
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(out, audio)
        if mp3 is not None:
            write_atomic(out.with_suffix(".mp3"), mp3)
        write_atomic(sidecar(out, ".manifest.json"), canonical_json(manifest) + b"\n")
        if ephemeral:
            write_atomic(sidecar(out, ".pub.pem"), public_pem)
    except OSError as exc:
        print(f"error: render failed: cannot write {out}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    if ephemeral:
        print(
            f"note: no signing key given (--key or ${SIGNING_KEY_ENV}); signed with an ephemeral "
            f"key, public half in {sidecar(out, '.pub.pem')} (verify names it: "
            f"--public-key {sidecar(out, '.pub.pem')}; it is never picked up on its own)",
            file=sys.stderr,
        )
    if no_credentials:
        print(f"note: {no_credentials}", file=sys.stderr)
    if result.loudness_shortfall_lu > 0.0:
        print(
            f"note: the plan's {plan.loudness_lufs:g} LUFS is out of reach within the "
            f"{MAX_MAKEUP_GAIN_DB:g} dB make-up bound; rendered "
            f"{result.loudness_shortfall_lu:.2f} LU under it",
            file=sys.stderr,
        )
    print(
        f"{out}: {result.duration_s:.3f} s, {result.loudness_lufs:.2f} LUFS, "
        f"{result.true_peak_dbtp:.2f} dBTP, audio sha256 {result.audio_sha256}, "
        f"signed by key {key_id(public_pem)}"
    )
    return 0
