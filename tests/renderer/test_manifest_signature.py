"""Schema 2's signature over the exact embedded bytes: every edit of them, and every container
trick that could make two readers see different manifests, fails with a reason; schema-1 files
still verify, as legacy, and only in the exact form their writer produced."""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from renderer.embedding import embed, extract
from renderer.engine import render
from renderer.manifest import (
    ManifestError,
    build_manifest,
    embed_manifest,
    parse_manifest_json,
    verify_file,
)
from renderer.plan import canonical_json, parse_plan
from renderer.signing import (
    SignatureError,
    b64url,
    generate_keypair,
    key_id,
    sign_manifest,
    verify_detached,
    verify_manifest,
)
from tests.helpers.manifests import STEMS_META, cli, plan_data, write_stems

# A number Python's JSON writer spells with an exponent, so that its case can be edited.
SMALL = 1e-07


@pytest.fixture(scope="module")
def keys() -> tuple[bytes, bytes]:
    return generate_keypair()


Made = tuple[str, bytes, dict[str, Any], bytes]


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory, keys: Any) -> Callable[[str], Made]:
    """fmt -> (format, the audio before embedding, the unsigned manifest, the signed file)."""
    cache: dict[str, Made] = {}

    def made(fmt: str) -> Made:
        if fmt not in cache:
            folder = tmp_path_factory.mktemp(f"sig-{fmt}")
            write_stems(folder)
            plan = parse_plan(plan_data(fmt, folder))
            result = render(plan)
            manifest = build_manifest(plan, result, render_id="r-1", stems_meta=STEMS_META)
            manifest["floor"] = SMALL
            file_bytes = embed_manifest(result.audio, fmt, sign_manifest(manifest, keys[0]))
            cache[fmt] = (fmt, result.audio, manifest, file_bytes)
        return cache[fmt]

    return made


@pytest.fixture(params=["wav", "flac"])
def made(request: pytest.FixtureRequest, build: Callable[[str], Made]) -> Made:
    return build(request.param)


@pytest.fixture
def wav(build: Callable[[str], Made]) -> Made:
    return build("wav")


@pytest.fixture
def flac(build: Callable[[str], Made]) -> Made:
    return build("flac")


def _private(private_pem: bytes) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(private_pem, password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return key


def _parts(file_bytes: bytes) -> tuple[bytes, str]:
    embedded = extract(file_bytes)
    assert embedded is not None and embedded.jws is not None
    return embedded.payload, embedded.jws


def _refit(made: Any, payload: bytes) -> bytes:
    """The file re-embedded with edited manifest bytes and the original JWS: the attacker
    fixes up chunk sizes and block lengths, so only the signature can notice."""
    fmt, audio, _, file_bytes = made
    return embed(audio, fmt, payload, _parts(file_bytes)[1])


def _fails(file_bytes: bytes, public: bytes, *expected: str) -> None:
    ok, reason = verify_file(file_bytes, public)
    assert not ok
    assert any(text in reason for text in expected), reason


def test_the_embedded_bytes_are_exactly_what_the_jws_signs(made: Any, keys: Any) -> None:
    payload, jws = _parts(made[3])
    assert payload == canonical_json(made[2])
    verify_detached(jws, payload, keys[1])  # raises if not
    header = json.loads(base64.urlsafe_b64decode(jws.split(".")[0] + "=="))
    assert header == {"alg": "EdDSA", "kid": key_id(keys[1])}
    ok, reason = verify_file(made[3], keys[1])
    assert ok and "schema 2" in reason, reason


EDITS: dict[str, Callable[[bytes], bytes]] = {
    "exponent case": lambda p: p.replace(b"1e-07", b"1E-07", 1),
    "whitespace": lambda p: p.replace(b'"render_id":', b'"render_id": ', 1),
    "reordered keys": lambda p: json.dumps(
        dict(reversed(list(json.loads(p).items()))), separators=(",", ":"), ensure_ascii=False
    ).encode(),
    "changed share": lambda p: p.replace(b'"shares":{"pad":1.0}', b'"shares":{"pad":0.9}', 1),
    "changed render id": lambda p: p.replace(b'"render_id":"r-1"', b'"render_id":"r-2"', 1),
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_an_edit_of_the_signed_bytes_fails(made: Any, keys: Any, edit: str) -> None:
    payload = _parts(made[3])[0]
    edited = EDITS[edit](payload)
    assert edited != payload and json.loads(edited) is not None
    _fails(_refit(made, edited), keys[1], "signature does not verify")


def test_a_one_byte_edit_in_place_fails(made: Any, keys: Any) -> None:
    for old, new in ((b"1e-07", b"1E-07"), (b'"pad":1.0}', b'"pad":0.9}')):
        assert made[3].count(old) >= 1
        _fails(made[3].replace(old, new, 1), keys[1], "signature does not verify")


def test_a_duplicate_key_fails_before_anything_trusts_it(made: Any, keys: Any) -> None:
    payload = _parts(made[3])[0]
    duplicated = b'{"render_id":"r-2",' + payload[1:]
    _fails(_refit(made, duplicated), keys[1], "key 'render_id' twice")


def test_the_strict_parser_refuses_duplicates_at_any_depth_and_nan() -> None:
    assert parse_manifest_json(b'{"a":{"b":1,"c":2}}') == {"a": {"b": 1, "c": 2}}
    with pytest.raises(ManifestError, match="'b' twice"):
        parse_manifest_json(b'{"a":{"b":1,"b":2}}')
    with pytest.raises(ManifestError, match="NaN"):
        parse_manifest_json(b'{"a":NaN}')
    with pytest.raises(ManifestError, match="not a JSON object"):
        parse_manifest_json(b"[1]")


def test_a_jws_with_another_header_or_spelling_is_refused(made: Any, keys: Any) -> None:
    payload, jws = _parts(made[3])
    header, _, signature = jws.split(".")
    # The signature's last base64url character carries 4 spare bits: another spelling of the
    # same 64 bytes must not verify.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet[alphabet.index(signature[-1]) + 1]  # same top 2 bits, a spare bit set
    with pytest.raises(SignatureError, match="canonical base64url"):
        verify_detached(f"{header}..{signature[:-1]}{last}", payload, keys[1])
    # A header with another parameter, correctly signed with the right key, is still refused.
    private = _private(keys[0])
    crit = b64url(json.dumps({"alg": "EdDSA", "kid": key_id(keys[1]), "crit": ["x"]}).encode())
    forged = private.sign(f"{crit}.{b64url(payload)}".encode())
    with pytest.raises(SignatureError, match="exactly"):
        verify_detached(f"{crit}..{b64url(forged)}", payload, keys[1])
    with pytest.raises(SignatureError, match="detached"):
        verify_detached(f"{header}.{b64url(payload)}.{signature}", payload, keys[1])


def test_the_signature_must_come_from_the_given_key(made: Any) -> None:
    _fails(made[3], generate_keypair()[1], "signed by key")


def test_a_stripped_signature_fails(made: Any, keys: Any) -> None:
    fmt, audio, _, file_bytes = made
    _fails(embed(audio, fmt, _parts(file_bytes)[0], None), keys[1], "not signed")


# --- container tricks ----------------------------------------------------------------------


def _riff(data: bytes, extra: bytes) -> bytes:
    out = bytearray(data + extra)
    struct.pack_into("<I", out, 4, len(out) - 8)
    return bytes(out)


def test_a_riff_chunk_after_the_manifest_fails(wav: Made, keys: Any) -> None:
    data = wav[3]
    _fails(_riff(data, b"LIST\x04\x00\x00\x00INFO"), keys[1], "follows the manifest")
    second = b"svmf" + struct.pack("<I", 2) + b"{}"
    _fails(_riff(data, second), keys[1], "2 svmf chunks")


def test_bytes_past_the_riff_size_or_a_pad_byte_edit_fail(wav: Made, keys: Any) -> None:
    data = wav[3]
    _fails(data + b"\x00\x00", keys[1], "RIFF header says")
    embedded = extract(data)
    assert embedded is not None
    if len(embedded.payload) % 2 == 0:  # make the manifest chunk need a pad byte
        data = _refit(wav, embedded.payload + b" ")
    pad = data.index(b"svsg") - 1
    assert data[pad] == 0
    _fails(data[:pad] + b"\x01" + data[pad + 1 :], keys[1], "non-zero pad byte")


def _flac_insert_after_metadata(data: bytes, block: bytes) -> bytes:
    """The file with one more metadata block at the end of the metadata."""
    offset = 4
    while True:
        header = data[offset]
        length = int.from_bytes(data[offset + 1 : offset + 4], "big")
        if header & 0x80:
            cleared = bytes([header & 0x7F]) + data[offset + 1 : offset + 4]
            end = offset + 4 + length
            return data[:offset] + cleared + data[offset + 4 : end] + block + data[end:]
        offset += 4 + length


def test_flac_metadata_after_the_manifest_fails(flac: Made, keys: Any) -> None:
    data = flac[3]
    padding = bytes([0x80 | 1]) + (8).to_bytes(3, "big") + bytes(8)
    _fails(_flac_insert_after_metadata(data, padding), keys[1], "block follows the manifest")
    comments = struct.pack("<I", 1) + b"x" + struct.pack("<I", 0)
    second = bytes([0x80 | 4]) + len(comments).to_bytes(3, "big") + comments
    _fails(_flac_insert_after_metadata(data, second), keys[1], "more than one VORBIS_COMMENT")


def _with_comments(
    data: bytes, change: Callable[[list[bytes]], list[bytes]], tail: bytes = b""
) -> bytes:
    """The file with its last metadata block (the VORBIS_COMMENT block) rebuilt: its comments
    changed and `tail` appended, every length kept right as a careful tagger would."""
    offset = 4
    while not data[offset] & 0x80:
        offset += 4 + int.from_bytes(data[offset + 1 : offset + 4], "big")
    assert data[offset] & 0x7F == 4
    end = offset + 4 + int.from_bytes(data[offset + 1 : offset + 4], "big")
    body = data[offset + 4 : end]
    (vendor_len,) = struct.unpack_from("<I", body, 0)
    at = 8 + vendor_len
    comments = []
    for _ in range(struct.unpack_from("<I", body, 4 + vendor_len)[0]):
        (length,) = struct.unpack_from("<I", body, at)
        comments.append(body[at + 4 : at + 4 + length])
        at += 4 + length
    comments = change(comments)
    rebuilt = body[: 4 + vendor_len] + struct.pack("<I", len(comments))
    rebuilt += b"".join(struct.pack("<I", len(c)) + c for c in comments) + tail
    return (
        data[:offset]
        + bytes([data[offset]])
        + len(rebuilt).to_bytes(3, "big")
        + rebuilt
        + data[end:]
    )


def test_flac_comments_around_the_manifest_are_checked(flac: Made, keys: Any) -> None:
    data = flac[3]
    assert _with_comments(data, lambda c: c) == data
    assert verify_file(_with_comments(data, lambda c: [b"TITLE=x", *c]), keys[1])[0]
    _fails(_with_comments(data, lambda c: [*c, b"TITLE=x"]), keys[1], "last two Vorbis comments")
    _fails(_with_comments(data, lambda c: [c[-2], *c]), keys[1], "2 STEMVAULT_MANIFEST comments")
    _fails(_with_comments(data, lambda c: c, b"\x00"), keys[1], "bytes after its last comment")
    lowered = data.replace(b"STEMVAULT_MANIFEST_JWS=", b"Stemvault_MANIFEST_JWS=")
    _fails(lowered, keys[1], "spelt differently")


# --- schema 1 (legacy) ---------------------------------------------------------------------


def _legacy_signed(
    manifest: dict[str, Any], private_pem: bytes, public_pem: bytes
) -> dict[str, Any]:
    """A schema-1 manifest, signed the way the schema-1 writer did (written out independently)."""
    legacy = dict(manifest, schema="stemvault.manifest/1")
    value = _private(private_pem).sign(canonical_json(legacy))
    return dict(
        legacy,
        signature={
            "alg": "Ed25519",
            "key_id": key_id(public_pem),
            "value": base64.b64encode(value).decode(),
        },
    )


@pytest.fixture
def legacy(made: Any, keys: Any) -> tuple[dict[str, Any], bytes]:
    fmt, audio, manifest, _ = made
    signed = _legacy_signed(manifest, *keys)
    return signed, embed_manifest(audio, fmt, signed)


def test_a_schema_1_file_still_verifies_and_is_labelled_legacy(legacy: Any, keys: Any) -> None:
    signed, file_bytes = legacy
    embedded = extract(file_bytes)
    assert embedded is not None and embedded.jws is None
    assert embedded.payload == canonical_json(signed)  # the schema-1 layout: one JSON blob
    assert verify_manifest(signed, keys[1])
    ok, reason = verify_file(file_bytes, keys[1])
    assert ok and "LEGACY schema 1" in reason, reason


def test_schema_1_edits_that_re_serialise_alike_now_fail(legacy: Any, keys: Any) -> None:
    # The schema-1 verifier re-serialised the parsed JSON, so each of these used to verify.
    _, file_bytes = legacy
    _fails(file_bytes.replace(b"1e-07", b"1E-07", 1), keys[1], "canonical form")
    if file_bytes[:4] == b"RIFF":
        _fails(_riff(file_bytes, b"LIST\x04\x00\x00\x00INFO"), keys[1], "follows the manifest")
    embedded = extract(file_bytes)
    assert embedded is not None
    duplicated = b'{"render_id":"r-1",' + embedded.payload[1:]
    fmt = "wav" if file_bytes[:4] == b"RIFF" else "flac"
    _fails(embed(file_bytes, fmt, duplicated, None), keys[1], "key 'render_id' twice")
    spaced = embedded.payload.replace(b'"render_id":', b'"render_id": ', 1)
    _fails(embed(file_bytes, fmt, spaced, None), keys[1], "canonical form")


def test_a_schema_2_manifest_without_its_jws_is_not_taken_for_legacy(made: Any, keys: Any) -> None:
    fmt, audio, manifest, _ = made
    signed = _legacy_signed(manifest, *keys)
    signed["schema"] = "stemvault.manifest/2"  # a v2 payload dressed in a v1 signature block
    _fails(embed(audio, fmt, canonical_json(signed), None), keys[1], "not signed")


# --- the CLI: the key comes from the verifier, never from beside the file -------------------


def test_a_forged_file_with_its_own_key_beside_it_fails(tmp_path: Path, keys: Any) -> None:
    write_stems(tmp_path)
    (tmp_path / "plan.json").write_text(json.dumps(plan_data("wav")))
    forged = tmp_path / "forged.wav"
    # No --key: the forger's own ephemeral key, its public half written as forged.pub.pem.
    done = cli("render", str(tmp_path / "plan.json"), "--out", str(forged))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "forged.pub.pem").exists()
    alone = cli("verify", str(forged))
    assert alone.returncode == 2 and "no public key" in alone.stderr
    platform = tmp_path / "platform.pub.pem"
    platform.write_bytes(keys[1])
    by_env = cli("verify", str(forged), env={"STEMVAULT_PUBLIC_KEY": str(platform)})
    assert by_env.returncode == 1 and "signed by key" in by_env.stderr
    by_text = cli("verify", str(forged), env={"STEMVAULT_PUBLIC_KEY": keys[1].decode()})
    assert by_text.returncode == 1 and "signed by key" in by_text.stderr


def test_verify_refuses_a_portal_url_over_plain_http_elsewhere(tmp_path: Path) -> None:
    target = tmp_path / "x.wav"
    target.write_bytes(b"RIFF")
    done = cli("verify", str(target), "--portal-url", "http://portal.example")
    assert done.returncode == 2 and "https://" in done.stderr
