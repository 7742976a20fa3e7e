"""Content Credentials in the renderer: signed last, tolerated by our manifest reader as exactly
one C2PA store (a WAV's last chunk, a FLAC's leading ID3v2 tag), and nothing else beside it."""

from __future__ import annotations

import io
import json
import struct
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import c2pa
import pytest

from renderer.audio import AudioStream
from renderer.credential_chain import development_chain, signing_algorithm
from renderer.credentials import (
    MIME_TYPES,
    CredentialsError,
    CredentialsSigner,
    sign_credentials,
)
from renderer.dsp.chunks import riff_chunk, riff_chunks
from renderer.embedding import c2pa_id3_length, embed, extract
from renderer.engine import render
from renderer.manifest import build_manifest, embed_manifest, verify_file
from renderer.plan import parse_plan
from renderer.signing import generate_keypair, sign_manifest
from renderer.validate import sniff_container
from tests.helpers.manifests import STEMS_META, plan_data, write_stems

Signed = tuple[str, bytes, bytes]  # format, the credentialed file, the manifest public key


@pytest.fixture(scope="module")
def signer() -> CredentialsSigner:
    chain = development_chain(datetime.now(UTC))
    return CredentialsSigner(chain.signer_chain_pem, chain.signer_key_pem)


@pytest.fixture(scope="module")
def build(
    tmp_path_factory: pytest.TempPathFactory, signer: CredentialsSigner
) -> Callable[[str], Signed]:
    private, public = generate_keypair()
    cache: dict[str, Signed] = {}

    def made(fmt: str) -> Signed:
        if fmt not in cache:
            folder = tmp_path_factory.mktemp(f"c2pa-{fmt}")
            write_stems(folder)
            plan = parse_plan(plan_data(fmt, folder))
            result = render(plan)
            manifest = build_manifest(plan, result, render_id="r-1", stems_meta=STEMS_META)
            signed = sign_manifest(manifest, private)
            data = sign_credentials(embed_manifest(result.audio, fmt, signed), fmt, signed, signer)
            cache[fmt] = (fmt, data, public)
        return cache[fmt]

    return made


@pytest.fixture(params=["wav", "flac"])
def made(request: pytest.FixtureRequest, build: Callable[[str], Signed]) -> Signed:
    return build(request.param)


def _state(data: bytes, fmt: str) -> str:
    with c2pa.Reader(MIME_TYPES[fmt], io.BytesIO(data)) as reader:
        return str(json.loads(reader.json())["validation_state"])


def _with_riff_size(parts: bytes) -> bytes:
    out = bytearray(parts)
    struct.pack_into("<I", out, 4, len(out) - 8)
    return bytes(out)


def test_a_credentialed_render_still_verifies_and_its_credentials_are_valid(made: Any) -> None:
    fmt, data, public = made
    ok, reason = verify_file(data, public)
    assert ok, reason
    assert _state(data, fmt) == "Valid"
    if fmt == "wav":
        assert [c.id for c in riff_chunks(data)][-3:] == [b"svmf", b"svsg", b"C2PA"]
    else:
        assert data[c2pa_id3_length(data) :][:4] == b"fLaC"


def test_a_chunk_after_the_wavs_c2pa_chunk_fails(build: Callable[[str], Signed]) -> None:
    _, data, public = build("wav")
    ok, reason = verify_file(_with_riff_size(data + riff_chunk(b"junk", b"x")), public)
    assert not ok and "C2PA chunk must be one chunk, the last" in reason


def test_a_second_c2pa_chunk_fails(build: Callable[[str], Signed]) -> None:
    _, data, public = build("wav")
    last = list(riff_chunks(data))[-1]
    ok, reason = verify_file(_with_riff_size(data + data[last.offset : last.next]), public)
    assert not ok and "C2PA chunk must be one chunk" in reason


def test_a_c2pa_chunk_before_the_manifest_is_not_the_allowed_one(
    build: Callable[[str], Signed],
) -> None:
    _, data, public = build("wav")
    chunks = list(riff_chunks(data))
    c2pa_chunk, ours = chunks[-1], chunks[-3:-1]
    moved = (
        data[: ours[0].offset]
        + data[c2pa_chunk.offset :]
        + data[ours[0].offset : c2pa_chunk.offset]
    )
    ok, reason = verify_file(_with_riff_size(moved), public)
    assert not ok and "nothing may follow it" in reason


def test_an_id3_tag_holding_more_than_the_credentials_fails(
    build: Callable[[str], Signed],
) -> None:
    _, data, public = build("flac")
    end = c2pa_id3_length(data)
    # An extra TXXX frame inside the tag, sizes fixed up (ID3v2.4: syncsafe).
    frame_body = b"\x03note\x00hidden"
    frame = b"TXXX" + _syncsafe(len(frame_body)) + b"\x00\x00" + frame_body
    body = data[10:end] + frame
    tampered = data[:6] + _syncsafe(len(body)) + body + data[end:]
    ok, reason = verify_file(tampered, public)
    assert not ok and "may hold only the Content Credentials' GEOB" in reason


def _syncsafe(value: int) -> bytes:
    return bytes((value >> shift) & 0x7F for shift in (21, 14, 7, 0))


def test_re_embedding_a_manifest_drops_the_stale_credentials(made: Any) -> None:
    fmt, data, _ = made
    embedded = extract(data)
    assert embedded is not None
    again = embed(data, fmt, embedded.payload, embedded.jws)
    if fmt == "wav":
        assert b"C2PA" not in [c.id for c in riff_chunks(again)]
    else:
        assert again[:4] == b"fLaC"
    with pytest.raises(c2pa.C2paError.ManifestNotFound):
        _state(again, fmt)


def test_credentials_refuse_a_format_they_cannot_carry(signer: CredentialsSigner) -> None:
    with pytest.raises(CredentialsError, match="'ogg'"):
        sign_credentials(b"", "ogg", {}, signer)


def test_the_signing_algorithm_follows_the_key(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519

    def pem(key: Any) -> bytes:
        return bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )

    assert signing_algorithm(pem(ec.generate_private_key(ec.SECP384R1()))) == "es384"
    assert signing_algorithm(pem(ed25519.Ed25519PrivateKey.generate())) == "ed25519"
    with pytest.raises(ValueError, match=r"(?i)secp256k1"):
        signing_algorithm(pem(ec.generate_private_key(ec.SECP256K1())))


def test_a_credentialed_flac_is_still_read_as_flac_with_its_declared_length(
    build: Callable[[str], Signed],
) -> None:
    _, data, _ = build("flac")
    assert data[:3] == b"ID3"
    # Not mistaken for an MP3 (which also starts with an ID3v2 tag) by the upload checks...
    assert sniff_container(data) == "FLAC"
    # ...and the decoder still judges the FLAC's own STREAMINFO (its declared length).
    plain = data[c2pa_id3_length(data) :]
    with AudioStream(data) as credentialed, AudioStream(plain) as bare:
        assert credentialed.header.declared_frames == bare.header.declared_frames
        assert credentialed.header.declared_frames is not None
        assert credentialed.header.format == "FLAC"
