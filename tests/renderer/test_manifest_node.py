"""Another language verifies our renders: tools/verify-manifest.mjs (Node's built-in Ed25519)
reads the manifest out of a real WAV and FLAC render and checks its JWS with the PEM key; and
joserfc, an independent JOSE implementation, accepts the same JWS as a detached EdDSA JWS."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from renderer.credential_chain import development_chain
from renderer.credentials import CredentialsSigner, sign_credentials
from renderer.embedding import extract
from renderer.engine import render
from renderer.manifest import build_manifest, embed_manifest
from renderer.plan import parse_plan
from renderer.signing import generate_keypair, key_id, sign_manifest
from tests.helpers.deliveries import node_verify
from tests.helpers.manifests import STEMS_META, plan_data, write_stems


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, Path]:
    private, public = generate_keypair()
    path = tmp_path_factory.mktemp("keys") / "platform.pub.pem"
    path.write_bytes(public)
    return private, path


@pytest.fixture(scope="module", params=["wav", "flac"])
def rendered(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, keys: Any
) -> tuple[Path, dict[str, Any]]:
    folder = tmp_path_factory.mktemp(f"node-{request.param}")
    write_stems(folder)
    plan = parse_plan(plan_data(request.param, folder))
    result = render(plan)
    manifest = build_manifest(plan, result, render_id="r-node", stems_meta=STEMS_META)
    signed = sign_manifest(manifest, keys[0])
    path = folder / f"mix.{request.param}"
    path.write_bytes(embed_manifest(result.audio, result.format, signed))
    return path, signed


def test_node_verifies_a_real_render(rendered: Any, keys: Any) -> None:
    path, signed = rendered
    done = node_verify(path, keys[1])
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["key_id"] == key_id(keys[1].read_bytes())
    assert summary["render_id"] == "r-node"
    assert summary["audio_sha256"] == signed["audio_sha256"]
    # Node hashes the WAV's 24-bit PCM itself; a FLAC's audio needs a decoder it does not have.
    expected = "matches" if path.suffix == ".wav" else "not checked"
    assert summary["audio"].startswith(expected)


def test_node_verifies_a_render_with_content_credentials(
    rendered: Any, keys: Any, tmp_path: Path
) -> None:
    # The delivered files carry C2PA Content Credentials after the manifest (a WAV's last
    # chunk, a FLAC's leading ID3v2 tag): the Node verifier accepts exactly that addition.
    path, signed = rendered
    fmt = path.suffix[1:]
    chain = development_chain(datetime.now(UTC))
    signer = CredentialsSigner(chain.signer_chain_pem, chain.signer_key_pem)
    credentialed = tmp_path / path.name
    credentialed.write_bytes(sign_credentials(path.read_bytes(), fmt, signed, signer))
    done = node_verify(credentialed, keys[1])
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["render_id"] == "r-node"
    # Anything beside the credentials is still refused.
    data = credentialed.read_bytes()
    if fmt == "wav":
        extra = bytearray(data + b"junk\x01\x00\x00\x00x\x00")
        extra[4:8] = (len(extra) - 8).to_bytes(4, "little")
        credentialed.write_bytes(bytes(extra))
        reason = "C2PA chunk must be one chunk, the last"
    else:
        # A TXXX frame slipped into the tag, its size fixed up: more than the GEOB.
        end = 10 + ((data[6] << 21) | (data[7] << 14) | (data[8] << 7) | data[9])
        body = b"\x03note\x00hidden"
        frame = b"TXXX" + bytes([0, 0, 0, len(body)]) + b"\x00\x00" + body
        size = end - 10 + len(frame)
        header = data[:6] + bytes((size >> shift) & 0x7F for shift in (21, 14, 7, 0))
        credentialed.write_bytes(header + data[10:end] + frame + data[end:])
        reason = "may hold only the Content Credentials' GEOB"
    refused = node_verify(credentialed, keys[1])
    assert refused.returncode == 1 and reason in refused.stderr, refused.stderr


def test_node_refuses_an_edited_manifest_byte(rendered: Any, keys: Any, tmp_path: Path) -> None:
    path, _ = rendered
    data = path.read_bytes()
    needle = b'"render_id":"r-node"'
    assert data.count(needle) == 1
    edited = tmp_path / path.name
    edited.write_bytes(data.replace(needle, b'"render_id":"r-nodf"'))
    done = node_verify(edited, keys[1])
    assert done.returncode == 1 and "signature does not verify" in done.stderr


def test_node_refuses_another_key_and_a_trailing_chunk(rendered: Any, tmp_path: Path) -> None:
    path, _ = rendered
    other = tmp_path / "other.pub.pem"
    other.write_bytes(generate_keypair()[1])
    done = node_verify(path, other)
    assert done.returncode == 1 and "signed by key" in done.stderr
    if path.suffix == ".wav":
        data = bytearray(path.read_bytes() + b"LIST\x04\x00\x00\x00INFO")
        data[4:8] = (len(data) - 8).to_bytes(4, "little")
        extra = tmp_path / "extra.wav"
        extra.write_bytes(bytes(data))
        done = node_verify(extra, tmp_path / "other.pub.pem")
        assert done.returncode == 1 and "last two RIFF chunks" in done.stderr


def test_node_refuses_an_altered_wav_sample(rendered: Any, keys: Any, tmp_path: Path) -> None:
    path, _ = rendered
    if path.suffix != ".wav":
        pytest.skip("Node has no FLAC decoder; Python's verify checks a FLAC's audio")
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0x01  # inside the data chunk
    altered = tmp_path / path.name
    altered.write_bytes(bytes(data))
    done = node_verify(altered, keys[1])
    assert done.returncode == 1 and "audio does not match" in done.stderr


def test_an_independent_jose_library_accepts_the_detached_jws(rendered: Any, keys: Any) -> None:
    jws = pytest.importorskip("joserfc.jws")
    okp = pytest.importorskip("joserfc.jwk")
    path, _ = rendered
    embedded = extract(path.read_bytes())
    assert embedded is not None and embedded.jws is not None
    key = okp.OKPKey.import_key(keys[1].read_bytes())
    with pytest.warns(Warning, match="EdDSA"):  # joserfc notes RFC 9864's newer name
        verified = jws.deserialize_compact(
            embedded.jws, key, algorithms=["EdDSA"], payload=embedded.payload
        )
    assert verified.payload == embedded.payload
    with pytest.raises(Exception, match="signature"), pytest.warns(Warning):
        jws.deserialize_compact(
            embedded.jws, key, algorithms=["EdDSA"], payload=embedded.payload + b" "
        )
