"""Broadcast WAV: a real render's bext and iXML chunks read back by independent readers
(wavinfo from PyPI, ffprobe, ffmpeg's ebur128 meter for the loudness figures), with the signed
manifest still verifying in Python and in Node."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime
from typing import Any

import pytest
import wavinfo

from renderer.audio import load_audio
from renderer.bwf import UNSET_LOUDNESS, bext_body, broadcast_wav, centi, originator_reference
from renderer.dsp.chunks import riff_chunks
from renderer.engine import render
from renderer.loudness import LoudnessReport, loudness_report
from renderer.manifest import build_manifest, embed_manifest, verify_file
from renderer.plan import parse_plan
from renderer.signing import generate_keypair, sign_manifest
from tests.conftest import need
from tests.factories.audio import ebur128, ebur128_maxima
from tests.helpers.manifests import REPO, plan_data, write_stems

RENDER_ID = "0b7d9a3e-1c2f-4f55-9a51-8e8a3f1d2c44"
ORIGINATED = datetime(2026, 3, 14, 15, 9, 26, tzinfo=UTC)
STEMS_META: dict[str, dict[str, Any]] = {
    "kick": {
        "license_version": 3,
        "content_sha256": "a" * 64,
        "credits": [{"artist": "Ana Núñez", "split_percent": 100}],
    },
    "pad": {
        "license_version": 3,
        "content_sha256": "b" * 64,
        "credits": [
            {"artist": "Ben", "split_percent": 62.5},
            {"artist": "Cy & Co", "split_percent": 37.5},
        ],
    },
}


@pytest.fixture(scope="module")
def delivered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("bwf")
    write_stems(folder)
    data = plan_data("wav", folder)
    data["loudness_preset"] = "ebu_r128"
    plan = parse_plan(data)
    result = render(plan)
    private, public = generate_keypair()
    manifest = sign_manifest(
        build_manifest(plan, result, render_id=RENDER_ID, stems_meta=STEMS_META), private
    )
    audio = broadcast_wav(result.audio, manifest, result.loudness_report, originated=ORIGINATED)
    path = folder / "delivered.wav"
    path.write_bytes(embed_manifest(audio, "wav", manifest))
    key = folder / "platform.pub.pem"
    key.write_bytes(public)
    return {"path": path, "key": key, "result": result, "manifest": manifest}


def test_the_chunks_sit_before_the_data_and_the_manifest_stays_last(delivered: Any) -> None:
    data = delivered["path"].read_bytes()
    ids = [chunk.id for chunk in riff_chunks(data)]
    assert ids == [b"fmt ", b"bext", b"iXML", b"data", b"svmf", b"svsg"]


def test_the_signed_manifest_still_verifies_in_python_and_node(delivered: Any) -> None:
    ok, reason = verify_file(delivered["path"].read_bytes(), delivered["key"].read_bytes())
    assert ok, reason
    node = shutil.which("node")
    need(node is not None, "node is not installed")
    assert node is not None
    key = str(delivered["key"])
    done = subprocess.run(
        [node, str(REPO / "tools" / "verify-manifest.mjs"), str(delivered["path"]), key],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["audio"].startswith("matches")


def test_wavinfo_reads_every_bext_field(delivered: Any) -> None:
    bext = wavinfo.WavInfoReader(str(delivered["path"])).bext
    assert bext is not None
    assert bext.version == 2
    assert bext.originator == "Stemvault"
    # OriginatorReference holds 32 characters: the render's UUID without its hyphens.
    assert bext.originator_ref == RENDER_ID.replace("-", "")
    assert bext.originator_date == "2026-03-14"
    assert bext.originator_time == "15:09:26"
    assert bext.time_reference == 0
    assert bext.umid == bytes(64)
    assert RENDER_ID in bext.description
    assert "ebu_r128 (-23 LUFS / -1 dBTP)" in bext.description
    # Tech 3285 is ASCII: the accent is dropped, not written as UTF-8.
    assert "Ana Nunez" in bext.description
    assert bext.coding_history == (
        "A=PCM,F=48000,W=24,M=stereo,T=Stemvault engine "
        f"{delivered['manifest']['engine_version']} mix of 2 stems mastered to -23.0 LUFS and "
        "-1.0 dBTP (ebu_r128)\r\n"
    )
    # The loudness fields are the delivered audio's, measured again from the decoded file.
    decoded = load_audio(delivered["path"].read_bytes())
    measured = loudness_report(decoded.samples, decoded.sample_rate)
    assert bext.loudness_value == pytest.approx(-23.0, abs=0.01)
    assert bext.loudness_value == round(measured.integrated_lufs, 2)
    assert bext.loudness_range == round(measured.loudness_range_lu, 2)
    assert bext.max_true_peak == round(measured.true_peak_dbtp, 2)
    assert bext.max_momentary_loudness == round(measured.max_momentary_lufs, 2)
    assert bext.max_shortterm_loudness == round(measured.max_short_term_lufs, 2)
    assert measured.loudness_range_lu > 1.0  # the intro is quieter than the main section
    assert measured.max_momentary_lufs > measured.max_short_term_lufs > -23.0


def test_ffmpegs_meter_agrees_with_the_bext_loudness_fields(delivered: Any) -> None:
    need(shutil.which("ffmpeg") is not None, "ffmpeg is not installed")
    bext = wavinfo.WavInfoReader(str(delivered["path"])).bext
    assert bext is not None
    summary = ebur128(delivered["path"])
    maxima = ebur128_maxima(delivered["path"])
    # ffmpeg prints one decimal. Its LRA bins short-term loudness in 0.1 LU steps before
    # taking the percentiles, so over a 9 s render it may differ by a few tenths.
    assert abs(summary.integrated_lufs - bext.loudness_value) <= 0.1
    assert abs(summary.true_peak_dbfs - bext.max_true_peak) <= 0.1
    assert abs(maxima.loudness_range_lu - bext.loudness_range) <= 0.5
    assert abs(maxima.max_momentary_lufs - bext.max_momentary_loudness) <= 0.1
    assert abs(maxima.max_short_term_lufs - bext.max_shortterm_loudness) <= 0.1


def test_ffprobe_reads_the_bext_chunk(delivered: Any) -> None:
    need(shutil.which("ffprobe") is not None, "ffprobe is not installed")
    done = subprocess.run(
        ["ffprobe", "-v", "error", "-show_format", "-of", "json", str(delivered["path"])],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    tags = json.loads(done.stdout)["format"]["tags"]
    assert tags["encoded_by"] == "Stemvault"
    assert tags["originator_reference"] == RENDER_ID.replace("-", "")
    assert tags["date"] == "2026-03-14" and tags["creation_time"] == "15:09:26"
    assert tags["coding_history"].startswith("A=PCM,F=48000,W=24,M=stereo,T=Stemvault")


def test_wavinfo_reads_the_credits_from_the_ixml_chunk(delivered: Any) -> None:
    ixml = wavinfo.WavInfoReader(str(delivered["path"])).ixml
    assert ixml is not None
    assert ixml.project == "Stemvault soundtrack"
    assert ixml.family_uid == RENDER_ID
    assert [t.function for t in ixml.track_list] == ["L", "R"]
    root = ixml.raw_xml
    assert root.findtext("STEMVAULT/RENDER_ID") == RENDER_ID
    assert root.findtext("STEMVAULT/LOUDNESS_PRESET") == "ebu_r128"
    credits = {
        stem.findtext("ID"): (
            stem.findtext("LICENCE_VERSION"),
            [
                (a.findtext("NAME"), a.findtext("SHARE_BPS"), a.findtext("SHARE_PERCENT"))
                for a in stem.findall("ARTIST")
            ],
        )
        for stem in root.findall("STEMVAULT/CREDITS/STEM")
    }
    assert credits == {
        "kick": ("3", [("Ana Núñez", "10000", "100.00")]),
        "pad": ("3", [("Ben", "6250", "62.50"), ("Cy & Co", "3750", "37.50")]),
    }
    sha = {s.findtext("ID"): s.findtext("CONTENT_SHA256") for s in root.iter("STEM")}
    assert sha == {"kick": "a" * 64, "pad": "b" * 64}


def test_adding_the_chunks_again_replaces_them_and_keeps_the_audio(delivered: Any) -> None:
    data = delivered["path"].read_bytes()
    later = datetime(2027, 1, 2, 3, 4, 5, tzinfo=UTC)
    again = broadcast_wav(
        data, delivered["manifest"], delivered["result"].loudness_report, originated=later
    )
    ids = [chunk.id for chunk in riff_chunks(again)]
    assert ids == [b"fmt ", b"bext", b"iXML", b"data", b"svmf", b"svsg"]
    ok, reason = verify_file(again, delivered["key"].read_bytes())
    assert ok, reason
    assert b"2027-01-0203:04:05" in again and b"2026-03-14" not in again


def test_loudness_figures_are_hundredths_and_unmeasured_ones_are_0x7fff() -> None:
    assert centi(-23.456) == -2346
    assert centi(-0.004) == 0
    assert centi(float("-inf")) == UNSET_LOUDNESS == 0x7FFF
    silent = LoudnessReport(float("-inf"), 0.0, float("-inf"), float("-inf"), float("-inf"))
    manifest = {
        "render_id": "cli-1",
        "engine_version": "x",
        "audio": {"channels": 1, "sample_rate": 44100, "bits": 24, "duration_s": 1.0},
        "plan": {"loudness_lufs": -14.0, "true_peak_dbtp": -1.0},
        "stems": [],
    }
    body = bext_body(manifest, silent, originated=ORIGINATED)
    loudness = [
        int.from_bytes(body[412 + 2 * i : 414 + 2 * i], "little", signed=True) for i in range(5)
    ]
    assert loudness == [0x7FFF, 0, 0x7FFF, 0x7FFF, 0x7FFF]
    assert (
        body[602:]
        == b"A=PCM,F=44100,W=24,M=mono,T=Stemvault engine x mix of 0 stems mastered to -14.0 LUFS and -1.0 dBTP\r\n"
    )


def test_a_render_id_too_long_for_bext_is_refused_unless_it_is_a_uuid() -> None:
    assert originator_reference(RENDER_ID) == "0b7d9a3e1c2f4f559a518e8a3f1d2c44"
    assert originator_reference("cli-0123") == "cli-0123"
    with pytest.raises(ValueError, match="32-character"):
        originator_reference("x" * 33)
