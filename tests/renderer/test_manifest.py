from __future__ import annotations

import hashlib
import io
import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from cryptography.hazmat.primitives import serialization

from renderer import ENGINE_VERSION
from renderer.audio import load_audio, pcm_sha256
from renderer.engine import RenderResult, render
from renderer.manifest import build_manifest, embed_manifest, extract_manifest, verify_file
from renderer.plan import RenderPlan, parse_plan, plan_hash
from renderer.signing import generate_keypair, key_id, sign_manifest, verify_manifest
from tests.helpers.manifests import STEMS_META, cli, plan_data, write_stems


@pytest.fixture(scope="module")
def keys() -> tuple[bytes, bytes]:
    return generate_keypair()


@pytest.fixture(scope="module", params=["wav", "flac"])
def rendered(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, keys: Any
) -> tuple[RenderPlan, RenderResult, dict[str, Any], bytes]:
    folder = tmp_path_factory.mktemp(f"stems-{request.param}")
    write_stems(folder)
    plan = parse_plan(plan_data(request.param, folder))
    result = render(plan)
    manifest = build_manifest(plan, result, render_id="r-1", stems_meta=STEMS_META)
    signed = sign_manifest(manifest, keys[0])
    return plan, result, signed, embed_manifest(result.audio, result.format, signed)


def test_manifest_records_plan_engine_stems_and_placements(rendered: Any) -> None:
    plan, result, signed, _ = rendered
    assert signed["schema"] == "stemvault.manifest/2"
    assert signed["render_id"] == "r-1"
    assert signed["plan"] == plan.to_dict()
    assert signed["plan_sha256"] == plan_hash(plan)
    assert signed["engine_version"] == ENGINE_VERSION
    assert signed["audio_sha256"] == result.audio_sha256
    pad = next(s for s in signed["stems"] if s["id"] == "pad")
    assert pad["license_version"] == "svl-1.2"
    assert pad["credits"] == [
        {"artist": "Ben", "split_percent": 60.0},
        {"artist": "Cy", "split_percent": 40.0},
    ]
    kicks = [p for p in signed["placements"] if p["stem"] == "kick"]
    assert kicks == [
        {"stem": "kick", "section": "main", "start_s": 4.0, "end_s": 7.8, "gain_db": 0.0}
    ]
    # eight beats from 4 s, the last 0.3 s kick starting at 7.5 s


def test_manifest_attribution_sums_to_one_each_second(rendered: Any) -> None:
    _, _, signed, _ = rendered
    seconds = signed["attribution"]["seconds"]
    assert len(seconds) == 9
    for second in seconds:
        if second["shares"]:
            assert abs(sum(second["shares"].values()) - 1.0) <= 1e-6
    assert seconds[0]["shares"] == {"pad": 1.0}
    assert seconds[8]["shares"] == {}  # everything ended at 8 s


def test_signature_verifies_and_any_manifest_edit_breaks_it(rendered: Any, keys: Any) -> None:
    _, _, signed, _ = rendered
    assert verify_manifest(signed, keys[1])
    assert signed["signature"]["alg"] == "EdDSA"
    edited = json.loads(json.dumps(signed))
    edited["attribution"]["seconds"][0]["shares"] = {"kick": 1.0}
    assert not verify_manifest(edited, keys[1])
    _, other_public = generate_keypair()
    assert not verify_manifest(signed, other_public)


def test_key_id_is_the_start_of_the_public_key_hash(keys: Any) -> None:
    public = serialization.load_pem_public_key(keys[1])
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert key_id(keys[1]) == hashlib.sha256(raw).hexdigest()[:16]


def test_embedded_manifest_round_trips_and_the_file_still_decodes(rendered: Any) -> None:
    _, result, signed, file_bytes = rendered
    assert extract_manifest(file_bytes) == signed
    assert extract_manifest(result.audio) is None
    decoded = load_audio(file_bytes)
    assert np.array_equal(decoded.samples, result.samples)
    assert pcm_sha256(decoded) == signed["audio_sha256"]
    # Re-embedding replaces rather than duplicates.
    again = embed_manifest(file_bytes, result.format, signed)
    assert again == file_bytes


def test_container_layout_is_valid(rendered: Any) -> None:
    _, result, signed, file_bytes = rendered
    if result.format == "flac":
        assert b"STEMVAULT_MANIFEST=" in file_bytes
        assert sf.info(io.BytesIO(file_bytes)).format == "FLAC"
        return
    for extra in ("", "x"):  # one of the two payload lengths is odd and needs a pad byte
        manifest = dict(signed, note=extra)
        data = embed_manifest(result.audio, "wav", manifest)
        assert struct.unpack_from("<I", data, 4)[0] == len(data) - 8
        offset, ids = 12, []
        while offset < len(data):
            ids.append(data[offset : offset + 4])
            size = struct.unpack_from("<I", data, offset + 4)[0]
            offset += 8 + size + (size & 1)
        assert offset == len(data) and ids[-2:] == [b"svmf", b"svsg"]
        assert extract_manifest(data) == manifest
        assert np.array_equal(load_audio(data).samples, result.samples)


def test_verify_file_accepts_the_untampered_file(rendered: Any, keys: Any) -> None:
    _, _, _, file_bytes = rendered
    ok, reason = verify_file(file_bytes, keys[1])
    assert ok, reason


def test_flipping_one_audio_byte_fails_verification(rendered: Any, keys: Any) -> None:
    _, _, _, file_bytes = rendered
    tampered = bytearray(file_bytes)
    middle = len(file_bytes) // 2  # well inside the audio data of both formats
    tampered[middle] ^= 0x01
    ok, reason = verify_file(bytes(tampered), keys[1])
    assert not ok
    assert "audio" in reason


def test_changing_one_manifest_character_fails_verification(rendered: Any, keys: Any) -> None:
    _, _, signed, file_bytes = rendered
    needle = f'"render_id":"{signed["render_id"]}"'.encode()
    assert file_bytes.count(needle) == 1
    tampered = file_bytes.replace(needle, needle.replace(b"r-1", b"r-2"))
    ok, reason = verify_file(tampered, keys[1])
    assert not ok
    assert "signature" in reason


def test_verify_file_with_the_wrong_key_fails(rendered: Any) -> None:
    _, _, _, file_bytes = rendered
    ok, reason = verify_file(file_bytes, generate_keypair()[1])
    assert not ok and "signed by key" in reason


# --- CLI -----------------------------------------------------------------------------------


def test_cli_render_then_verify_and_tamper(tmp_path: Path) -> None:
    write_stems(tmp_path)
    (tmp_path / "plan.json").write_text(json.dumps(plan_data("wav")))
    out = tmp_path / "out" / "mix.wav"
    done = cli("render", str(tmp_path / "plan.json"), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "ephemeral" in done.stderr
    assert out.exists() and (tmp_path / "out" / "mix.pub.pem").exists()
    sidecar = json.loads((tmp_path / "out" / "mix.manifest.json").read_text())
    assert sidecar == extract_manifest(out.read_bytes())
    assert all(len(s["content_sha256"]) == 64 for s in sidecar["stems"])
    assert not list((tmp_path / "out").glob(".*tmp"))  # no temporary files left behind

    # The ephemeral key lies beside the file, but verify never picks it up on its own.
    unnamed = cli("verify", str(out))
    assert unnamed.returncode == 2 and "no public key" in unnamed.stderr
    verified = cli("verify", str(out), "--public-key", str(tmp_path / "out" / "mix.pub.pem"))
    assert verified.returncode == 0, verified.stderr
    assert "schema 2" in verified.stdout

    data = bytearray(out.read_bytes())
    data[len(data) // 3] ^= 0x10
    bad = tmp_path / "out" / "bad.wav"
    bad.write_bytes(bytes(data))
    failed = cli("verify", str(bad), "--public-key", str(tmp_path / "out" / "mix.pub.pem"))
    assert failed.returncode != 0
    assert "FAILED" in failed.stderr


def test_cli_uses_the_signing_key_from_the_environment(tmp_path: Path) -> None:
    write_stems(tmp_path)
    private, public = generate_keypair()
    (tmp_path / "key.pem").write_bytes(private)
    (tmp_path / "key.pub.pem").write_bytes(public)
    data = plan_data("flac")
    (tmp_path / "plan.json").write_text(json.dumps(data))
    env = {"STEMVAULT_SIGNING_KEY": str(tmp_path / "key.pem")}
    done = cli("render", str(tmp_path / "plan.json"), "--out", str(tmp_path / "mix.wav"), env=env)
    assert done.returncode == 0, done.stderr
    flac = tmp_path / "mix.flac"  # the plan's format wins over the suffix asked for
    assert flac.exists() and not (tmp_path / "mix.pub.pem").exists()
    env = {"STEMVAULT_PUBLIC_KEY": str(tmp_path / "key.pub.pem")}
    assert cli("verify", str(flac), env=env).returncode == 0
    other = tmp_path / "other.pub.pem"
    other.write_bytes(generate_keypair()[1])
    assert cli("verify", str(flac), "--public-key", str(other)).returncode != 0


def test_cli_reports_plan_errors_without_a_traceback(tmp_path: Path) -> None:
    data = plan_data("wav")
    data["duration_s"] = -1
    (tmp_path / "plan.json").write_text(json.dumps(data))
    done = cli("render", str(tmp_path / "plan.json"), "--out", str(tmp_path / "x.wav"))
    assert done.returncode == 2
    assert "duration_s must be > 0" in done.stderr and "Traceback" not in done.stderr
