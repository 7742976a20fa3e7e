"""Soundtracks delivered as Broadcast WAV: the bext and iXML chunks of a file downloaded through
the Sync API, read back with wavinfo, and the loudness presets a request can name, measured with
the renderer's meter and ffmpeg's."""

from __future__ import annotations

import shutil
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import wavinfo

from portal.mixes.models import Mix, MixStem
from portal.stems.models import Credit, StemKind
from renderer.audio import load_audio
from renderer.loudness import integrated_loudness, loudness_report, true_peak_dbtp
from tests.conftest import need
from tests.factories.audio import ebur128
from tests.factories.stems import StemFactory, vault_of
from tests.helpers.sync_api import LIST_URL, public_key, request_soundtrack, verify


def test_a_delivered_wav_carries_bext_and_ixml_that_wavinfo_reads(
    artist: Any,
    other_artist: Any,
    app_api: Any,
    client_app: Any,
    run_jobs: Any,
    tmp_path: Path,
) -> None:
    # vault_of's vault, with the harmony stem shared by two artists so the credits show a split.
    StemFactory(artist=artist, role="drums", bpm=120.0, moods=["calm"])
    StemFactory(artist=artist, role="bass", bpm=120.0, musical_key="A minor", moods=["calm"])
    StemFactory(
        artist=artist,
        role="harmony",
        bpm=120.0,
        musical_key="A minor",
        moods=["calm"],
        credits=[(artist, 6000), (other_artist, 4000)],
    )
    StemFactory(
        artist=artist,
        role="texture",
        bpm=None,
        kind=StemKind.FIELD_RECORDING,
        moods=["calm"],
        bars=2,
    )
    mix, data = request_soundtrack(app_api, client_app, run_jobs, seed=3)
    path = tmp_path / "delivered.wav"
    path.write_bytes(data)
    verified = verify(path, public_key(tmp_path))
    assert verified.returncode == 0, verified.stderr

    info = wavinfo.WavInfoReader(str(path))
    bext, ixml = info.bext, info.ixml
    assert bext is not None and ixml is not None
    assert bext.version == 2 and bext.originator == "Stemvault"
    assert bext.originator_ref == uuid.UUID(str(mix.pk)).hex
    assert str(mix.pk) in bext.description
    assert "streaming (-14 LUFS / -1 dBTP)" in bext.description
    originated = datetime.fromisoformat(f"{bext.originator_date}T{bext.originator_time}+00:00")
    assert mix.finished_at is not None
    assert mix.created_at.replace(microsecond=0) <= originated <= mix.finished_at
    assert bext.umid == bytes(64) and bext.time_reference == 0
    assert bext.coding_history.startswith("A=PCM,F=48000,W=24,M=stereo,T=Stemvault engine ")
    assert bext.coding_history.endswith("(streaming)\r\n")

    decoded = load_audio(data)
    measured = loudness_report(decoded.samples, decoded.sample_rate)
    assert bext.loudness_value == round(measured.integrated_lufs, 2)
    assert bext.loudness_range == round(measured.loudness_range_lu, 2)
    assert bext.max_true_peak == round(measured.true_peak_dbtp, 2)
    assert bext.max_momentary_loudness == round(measured.max_momentary_lufs, 2)
    assert bext.max_shortterm_loudness == round(measured.max_short_term_lufs, 2)

    # The iXML credits are the stems the render used and their credited artists and shares,
    # as the database has them.
    used = MixStem.objects.filter(mix=mix).values_list("stem_id", flat=True)
    expected = {
        str(stem_id): sorted(
            (c.artist.display_name, str(c.split_bps))
            for c in Credit.objects.filter(stem_id=stem_id).select_related("artist")
        )
        for stem_id in used
    }
    root = ixml.raw_xml
    assert root.findtext("STEMVAULT/RENDER_ID") == str(mix.pk)
    found = {
        stem.findtext("ID"): sorted(
            (a.findtext("NAME"), a.findtext("SHARE_BPS")) for a in stem.findall("ARTIST")
        )
        for stem in root.findall("STEMVAULT/CREDITS/STEM")
    }
    assert found == expected
    assert any(len(artists) == 2 for artists in found.values())  # the shared stem played
    for stem in root.findall("STEMVAULT/CREDITS/STEM"):
        assert stem.findtext("LICENCE_VERSION") and stem.findtext("ROLE")


@pytest.mark.parametrize(
    ("preset", "target", "ceiling"),
    [("streaming", -14.0, -1.0), ("ebu_r128", -23.0, -1.0), ("atsc_a85", -24.0, -2.0)],
)
def test_each_loudness_preset_delivers_its_target_under_its_ceiling(
    artist: Any,
    app_api: Any,
    client_app: Any,
    run_jobs: Any,
    tmp_path: Path,
    preset: str,
    target: float,
    ceiling: float,
) -> None:
    vault_of(artist)
    mix, data = request_soundtrack(app_api, client_app, run_jobs, loudness_preset=preset)
    assert mix.plan["loudness_preset"] == preset
    decoded = load_audio(data)
    assert abs(integrated_loudness(decoded.samples, decoded.sample_rate) - target) <= 0.5
    assert true_peak_dbtp(decoded.samples, decoded.sample_rate) <= ceiling
    bext = wavinfo.WavInfoReader(str(_write(tmp_path, data))).bext
    assert bext is not None and f"{preset} (" in bext.description
    assert abs(bext.loudness_value - target) <= 0.5 and bext.max_true_peak <= ceiling
    need(shutil.which("ffmpeg") is not None, "ffmpeg is not installed")
    independent = ebur128(_write(tmp_path, data))
    assert abs(independent.integrated_lufs - target) <= 0.5
    assert independent.true_peak_dbfs <= ceiling + 0.05  # ffmpeg prints one decimal


def _write(folder: Path, data: bytes) -> Path:
    path = folder / "delivered.wav"
    path.write_bytes(data)
    return path


def test_an_unknown_preset_is_refused_with_the_known_ones(
    artist: Any, app_api: Any, client_app: Any
) -> None:
    vault_of(artist)
    response = app_api(client_app).post(
        LIST_URL, {"duration_s": 10, "mood": "calm", "loudness_preset": "loud"}, format="json"
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    (message,) = error["fields"]["loudness_preset"]
    for known in ("streaming (-14 LUFS / -1 dBTP)", "ebu_r128 (-23", "atsc_a85 (-24"):
        assert known in message
    assert not Mix.objects.exists()


def test_a_preset_and_a_different_loudness_are_refused_together(
    artist: Any, app_api: Any, client_app: Any
) -> None:
    vault_of(artist)
    response = app_api(client_app).post(
        LIST_URL,
        {"duration_s": 10, "mood": "calm", "loudness_preset": "ebu_r128", "loudness_lufs": -16},
        format="json",
    )
    assert response.status_code == 400
    assert "loudness_lufs" in response.json()["error"]["fields"]
    assert not Mix.objects.exists()


def test_a_custom_loudness_without_a_preset_still_works_under_the_default_ceiling(
    artist: Any, app_api: Any, client_app: Any, run_jobs: Any
) -> None:
    vault_of(artist)
    mix, data = request_soundtrack(app_api, client_app, run_jobs, loudness_lufs=-18)
    assert "loudness_preset" not in mix.plan
    assert (mix.plan["loudness_lufs"], mix.plan["true_peak_dbtp"]) == (-18, -1.0)
    decoded = load_audio(data)
    assert abs(integrated_loudness(decoded.samples, decoded.sample_rate) + 18) <= 0.5


def test_the_soundtrack_page_offers_the_presets(artist: Any, client_for: Any) -> None:
    vault_of(artist)
    browser = client_for(artist)
    page = browser.get("/soundtracks/").content.decode()
    assert 'name="loudness_preset"' in page and "ATSC A/85 broadcast" in page
    response = browser.post(
        "/soundtracks/",
        {"duration_s": 12, "mood": "calm", "format": "wav", "loudness_preset": "atsc_a85"},
    )
    assert response.status_code == 302
    mix = Mix.objects.get(requested_by=artist)
    assert mix.request["loudness_preset"] == "atsc_a85"
    assert (mix.plan["loudness_lufs"], mix.plan["true_peak_dbtp"]) == (-24.0, -2.0)
