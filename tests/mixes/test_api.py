"""The Sync API and the soundtrack pages: request, poll, download, verify; who may see what."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from portal.mixes import services
from portal.mixes.models import Mix, RenderStatus
from portal.stems.models import StemStatus
from renderer.embedding import c2pa_id3_length
from tests.conftest import need
from tests.factories.audio import ebur128
from tests.factories.mixes import MixFactory
from tests.factories.stems import StemFactory, hit_stem, vault_of
from tests.helpers.sync_api import LIST_URL, detail_url, download, public_key, verify


def test_a_client_app_requests_a_soundtrack_polls_it_and_gets_a_verifiable_file(
    artist: Any, app_api: Any, client_app: Any, run_jobs: Any, tmp_path: Path
) -> None:
    vault_of(artist)
    hit = hit_stem(artist)
    api = app_api(client_app)
    response = api.post(
        LIST_URL,
        {"duration_s": 15, "mood": "calm", "hit_points": [5.0, 10.0], "seed": 11},
        format="json",
    )
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "queued" and body["progress"] == 0 and body["job_id"]
    assert Mix.objects.get(pk=body["id"]).client_app == client_app  # its plays can earn
    polled = api.get(detail_url(body["id"])).json()
    assert polled["status"] == "queued" and polled["audio_url"] is None
    assert polled["manifest"] is None

    assert run_jobs() >= 1
    done = api.get(detail_url(body["id"])).json()
    assert done["status"] == "done" and done["progress"] == 100
    assert done["duration_s"] == pytest.approx(15.0)
    assert done["loudness_lufs"] == pytest.approx(-14.0, abs=0.1)
    assert done["true_peak_dbtp"] <= -1.0
    assert done["manifest"]["render_id"] == body["id"]
    assert done["audio_url"].endswith(reverse("api:mixes-audio", args=[body["id"]]))
    # 5 s and 10 s fall between the 120 bpm loops' bar lines: the hit one-shot marks them, on
    # the exact sample, and the manifest says where they landed.
    landed = done["manifest"]["hits"]
    assert [h["requested_s"] for h in landed] == [5.0, 10.0]
    assert [h["frame"] for h in landed] == [5 * 48000, 10 * 48000]
    assert {h["by"] for h in landed} == {"accent"} and {h["stem"] for h in landed} == {str(hit.pk)}

    data = download(api, done["audio_url"])
    # The browser's player seeks with Range requests.
    partial = api.get(done["audio_url"], HTTP_RANGE="bytes=8-15")
    assert partial.status_code == 206
    assert b"".join(partial.streaming_content) == data[8:16] == b"WAVEfmt "
    assert partial["Content-Range"] == f"bytes 8-15/{len(data)}"
    manifest = api.get(f"/api/v1/mixes/{body['id']}/manifest/").json()
    assert manifest == done["manifest"]
    audio = tmp_path / "soundtrack.wav"
    audio.write_bytes(data)
    key = public_key(tmp_path)
    verified = verify(audio, key)
    assert verified.returncode == 0, verified.stderr

    # Flip one sample near the middle of the audio: the same file no longer verifies.
    tampered = bytearray(data)
    tampered[len(data) // 2] ^= 0x40
    audio.write_bytes(bytes(tampered))
    rejected = verify(audio, key)
    assert rejected.returncode == 1
    assert "altered" in rejected.stderr


def test_the_same_request_through_the_api_gives_byte_identical_audio(
    artist: Any, api_for: Any, run_jobs: Any
) -> None:
    vault_of(artist)
    api = api_for(artist)
    request = {"duration_s": 10, "mood": "calm", "bpm": 120, "seed": 5, "format": "flac"}
    ids = [api.post(LIST_URL, request, format="json").json()["id"] for _ in range(2)]
    run_jobs()
    hashes = [api.get(detail_url(i)).json()["manifest"]["audio_sha256"] for i in ids]
    assert hashes[0] == hashes[1]
    files = [download(api, f"/api/v1/mixes/{i}/audio/") for i in ids]
    # Content Credentials (an ID3v2 tag, the C2PA way for FLAC) come first, then the stream.
    assert files[0][:3] == b"ID3"
    assert files[0][c2pa_id3_length(files[0]) :][:4] == b"fLaC"
    mixes = [Mix.objects.get(pk=i) for i in ids]
    assert mixes[0].audio_sha256 == mixes[1].audio_sha256 == hashes[0]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"duration_s": 3, "mood": "calm"}, "duration_s"),
        ({"duration_s": 700, "mood": "calm"}, "duration_s"),
        ({"duration_s": 20, "mood": "calm", "hit_points": [25]}, "hit_points"),
        ({"duration_s": 20, "mood": "calm", "hit_points": [12, 4]}, "hit_points"),
        ({"duration_s": 20, "mood": "calm", "hit_points": [0.4, 8]}, "hit_points"),
        ({"duration_s": 20, "mood": "calm", "hit_points": [8, 8.5]}, "hit_points"),
        ({"duration_s": 20, "mood": "calm", "loudness_lufs": -5}, "loudness_lufs"),
        ({"duration_s": 20, "mood": "calm", "format": "ogg"}, "format"),
        ({"duration_s": 20, "mood": "calm", "key": "H dorian"}, "key"),
        ({"duration_s": 20}, "mood"),
    ],
)
def test_invalid_requests_get_the_standard_error_shape(
    artist: Any, api_for: Any, payload: dict[str, Any], field: str
) -> None:
    vault_of(artist)
    response = api_for(artist).post(LIST_URL, payload, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and field in error["fields"]
    assert not Mix.objects.exists()


def test_a_request_the_vault_cannot_satisfy_is_a_422_with_advice(artist: Any, api_for: Any) -> None:
    vault_of(artist, bpm=120)
    response = api_for(artist).post(
        LIST_URL, {"duration_s": 20, "mood": "calm", "bpm": 200}, format="json"
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "no_compatible_stems" and "bpm" in error["message"]


def test_the_public_key_is_served_to_anyone(db: None, tmp_path: Path) -> None:
    key = public_key(tmp_path).read_text()
    assert key.startswith("-----BEGIN PUBLIC KEY-----")


# --- permissions ---------------------------------------------------------------------------


@pytest.fixture
def rendered(artist: Any) -> dict[str, Mix]:
    """A finished soundtrack requested by `artist`, and a finished preview of `artist`'s stem
    (rows and stored files only: these tests are about access, not audio)."""
    stem = StemFactory(
        artist=artist, role="melody", bpm=120, musical_key="A minor", status=StemStatus.IN_REVIEW
    )
    return {
        "soundtrack": MixFactory(kind="soundtrack", requested_by=artist, with_file=True),
        "preview": MixFactory(kind="preview", preview_of=stem, with_file=True),
    }


SOUNDTRACK_READERS = {"artist", "staff"}
PREVIEW_READERS = {"artist", "curator", "staff"}


def test_who_may_read_a_soundtrack_through_the_api(
    any_role: tuple[str, Any], rendered: dict[str, Mix], api_for: Any
) -> None:
    role, user = any_role
    api = api_for(user)
    mix = rendered["soundtrack"]
    urls = [
        detail_url(mix.pk),
        f"/api/v1/mixes/{mix.pk}/audio/",
        f"/api/v1/mixes/{mix.pk}/manifest/",
    ]
    for url in urls:
        status = api.get(url).status_code
        if user is None:
            assert status in (401, 403), url
        elif role in SOUNDTRACK_READERS:
            assert status == 200, url
        else:
            assert status == 404, url


def test_who_may_hear_a_preview(
    any_role: tuple[str, Any], rendered: dict[str, Mix], api_for: Any
) -> None:
    role, user = any_role
    api = api_for(user)
    mix = rendered["preview"]
    for url in (f"/api/v1/mixes/{mix.pk}/audio/", f"/api/v1/mixes/{mix.pk}/manifest/"):
        status = api.get(url).status_code
        if user is None:
            assert status in (401, 403), url
        elif role in PREVIEW_READERS:
            assert status == 200, url
        else:
            assert status == 404, url
    # A preview is not a soundtrack: the Sync API's soundtrack endpoint does not list it.
    if user is not None:
        assert api.get(detail_url(mix.pk)).status_code == 404


def test_anyone_signed_in_may_request_a_soundtrack_but_not_anonymously(
    any_role: tuple[str, Any], artist: Any, api_for: Any
) -> None:
    _role, user = any_role
    vault_of(artist)
    response = api_for(user).post(LIST_URL, {"duration_s": 10, "mood": "calm"}, format="json")
    if user is None:
        assert response.status_code in (401, 403)
        assert not Mix.objects.exists()
    else:
        assert response.status_code == 202
        listing = api_for(user).get(LIST_URL).json()
        assert [item["id"] for item in listing["results"]] == [response.json()["id"]]


def test_a_soundtrack_that_is_not_ready_has_no_audio_yet(artist: Any, api_for: Any) -> None:
    vault_of(artist)
    mix = services.soundtrack_request(user=artist, data={"duration_s": 10, "mood": "calm"})
    api = api_for(artist)
    response = api.get(f"/api/v1/mixes/{mix.pk}/audio/")
    assert response.status_code == 409 and response.json()["error"]["code"] == "not_ready"


# --- pages ---------------------------------------------------------------------------------


def test_a_signed_in_user_requests_a_soundtrack_from_the_page_and_watches_it(
    artist: Any, client_for: Any, run_jobs: Any
) -> None:
    vault_of(artist)
    browser = client_for(artist)
    page = browser.get("/soundtracks/")
    assert page.status_code == 200 and b'name="duration_s"' in page.content
    response = browser.post(
        "/soundtracks/",
        {"duration_s": 12, "mood": "calm", "hit_points": "4, 8", "format": "wav", "seed": 2},
    )
    assert response.status_code == 302
    mix = Mix.objects.get(requested_by=artist)
    assert response["Location"] == f"/soundtracks/{mix.pk}/"
    assert mix.request["hit_points"] == [4.0, 8.0]
    waiting = browser.get(response["Location"])
    assert b"<progress" in waiting.content and b"js/mixes.js" in waiting.content
    run_jobs()
    done = browser.get(response["Location"]).content.decode()
    assert "<progress" not in done
    assert f'src="/api/v1/mixes/{mix.pk}/audio/"' in done
    assert 'class="waveform"' in done and 'class="attribution-timeline"' in done
    mix.refresh_from_db()
    for stem in mix.stems_used.select_related("stem"):
        assert stem.stem.title in done  # legend and the text alternative table
    assert len(re.findall(r"<rect ", done)) > 0
    # The hits are drawn on the waveform and listed where the manifest says they landed.
    assert done.count('class="hit-mark"') == 2
    assert "lands at 4.000 s (a section change, 0.00 ms off)" in done
    listing = browser.get("/soundtracks/").content.decode()
    assert f"/soundtracks/{mix.pk}/" in listing


def test_the_page_shows_a_request_the_vault_cannot_satisfy_as_a_form_error(
    artist: Any, client_for: Any
) -> None:
    vault_of(artist, bpm=120)
    response = client_for(artist).post(
        "/soundtracks/", {"duration_s": 12, "mood": "calm", "bpm": 200, "format": "wav"}
    )
    assert response.status_code == 200
    assert b"cannot satisfy" in response.content
    assert not Mix.objects.exists()


def test_who_may_open_the_soundtrack_pages(
    any_role: tuple[str, Any], rendered: dict[str, Mix], client_for: Any
) -> None:
    role, user = any_role
    browser = client_for(user)
    listing = browser.get("/soundtracks/")
    detail = browser.get(f"/soundtracks/{rendered['soundtrack'].pk}/")
    preview = browser.get(f"/soundtracks/{rendered['preview'].pk}/")
    if user is None:
        assert listing.status_code == detail.status_code == preview.status_code == 302
        assert "/login/" in detail["Location"]
        return
    assert listing.status_code == 200
    assert detail.status_code == (200 if role in SOUNDTRACK_READERS else 404)
    assert preview.status_code == (200 if role in PREVIEW_READERS else 404)


# --- accuracy ------------------------------------------------------------------------------


def test_loudness_and_true_peak_hold_under_an_independent_meter(
    artist: Any, run_jobs: Any, tmp_path: Path
) -> None:
    need(shutil.which("ffmpeg") is not None, "ffmpeg is not installed (apt-get install ffmpeg)")
    vault_of(artist)
    mix = services.soundtrack_request(
        user=artist, data={"duration_s": 20, "mood": "calm", "loudness_lufs": -16, "seed": 9}
    )
    run_jobs()
    mix.refresh_from_db()
    assert mix.status == RenderStatus.DONE, mix.error
    from django.core.files.storage import default_storage

    path = tmp_path / "mix.wav"
    with default_storage.open(mix.audio.name, "rb") as handle:
        path.write_bytes(handle.read())
    integrated, peak = ebur128(path)
    assert abs(integrated - -16.0) <= 0.1
    assert peak <= -1.0
