"""The clearance lookup: a clip of a delivered soundtrack, cut, re-encoded and talked over, names
its render, where in it, who licensed it and when, and links to a public certificate."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from portal.mixes.models import Mix
from portal.stems.fingerprint_indexes import reset_indexes
from portal.stems.models import StemKind
from tests.factories import audio
from tests.factories.accounts import UserFactory
from tests.factories.mixes import MixFactory
from tests.factories.stems import StemFactory
from tests.helpers.sync_api import request_soundtrack

URL = "/api/v1/clearance/"
EXCERPT_AT_S = 9.0


@pytest.fixture(autouse=True)
def _cold_render_index() -> Iterator[None]:
    reset_indexes()  # the render index is a per-process cache; each test builds its own
    yield
    reset_indexes()


def _post(clip: bytes, name: str = "clip.mp3", api: APIClient | None = None) -> Any:
    return (api or APIClient()).post(
        URL, {"file": SimpleUploadedFile(name, clip)}, format="multipart"
    )


# Human recordings from the corpus as the vault: synthesised role loops are a few steady tones
# that speech-shaped noise at -6 dB buries almost entirely, which no real soundtrack is.
CORPUS_VAULT = (
    ("drums", "arovane_beat_a", StemKind.LOOP),
    ("bass", "bass_dnb_f", StemKind.LOOP),
    ("harmony", "ambi_piano", StemKind.LOOP),
    ("texture", "ambi_drone", StemKind.FIELD_RECORDING),
)


@pytest.fixture
def soundtrack(
    artist: Any, app_api: Any, client_app: Any, run_jobs: Any, corpus_dir: Any
) -> tuple[Mix, Any]:
    for role, name, kind in CORPUS_VAULT:
        decoded = audio.decode((corpus_dir / f"{name}.flac").read_bytes())
        StemFactory(
            artist=artist,
            role=role,
            kind=kind,
            bpm=None if kind == StemKind.FIELD_RECORDING else 120.0,
            musical_key="" if role == "drums" else "A minor",
            moods=["calm"],
            samples=decoded,
            sample_rate=44100,
        )
    mix, data = request_soundtrack(app_api, client_app, run_jobs, duration_s=24, seed=3)
    return mix, audio.decode(data)


def _talked_over_excerpt(samples: Any, at_s: float, seconds: float, rate: int = 48000) -> bytes:
    start = round(at_s * rate)
    excerpt = samples[start : start + round(seconds * rate)]
    voice = audio.speech_like_noise(seconds, rate, seed=7)
    return audio.ffmpeg_mp3(audio.over_at(excerpt, voice, -6.0), rate)


def _same_audio_at(samples: Any, a_s: float, b_s: float, seconds: float = 4.0) -> bool:
    """The render sounds the same from a_s as from b_s (a loop repeated sample for sample): a
    clip cannot tell such offsets apart, and either is a right answer."""
    rate = 48000
    a, b = (samples[round(t * rate) : round((t + seconds) * rate), 0] for t in (a_s, b_s))
    if a.shape != b.shape or not a.size:
        return False
    return float(np.corrcoef(a, b)[0, 1]) > 0.99


def test_a_reencoded_excerpt_with_speech_over_it_names_its_render_licence_and_offset(
    soundtrack: tuple[Mix, Any], developer: Any
) -> None:
    mix, samples = soundtrack
    clip = _talked_over_excerpt(samples, EXCERPT_AT_S, 8.0)
    response = _post(clip)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["matched"] is True
    assert body["clip"]["format"] == "MP3" and 7.9 < body["clip"]["duration_s"] < 8.2
    best = body["matches"][0]
    assert best["render_id"] == str(mix.pk) and best["kind"] == "soundtrack"
    # Where the clip starts in the render (MP3 adds its encoder delay: a few ms).
    starts_at = best["offset_s"] - best["clip_offset_s"]
    assert abs(starts_at - EXCERPT_AT_S) < 0.1 or _same_audio_at(samples, starts_at, EXCERPT_AT_S)
    assert best["licensed"] is True
    assert best["licensee"] == developer.display_name
    assert best["client_app"] == mix.client_app.name
    assert best["licensed_at"] == mix.finished_at.isoformat()
    assert best["evidence"]["aligned_landmarks"] >= best["evidence"]["chance_landmarks"]
    assert developer.email not in response.content.decode()
    # The certificate it links to is public, and names the licence without the e-mail.
    assert best["certificate_url"].endswith(f"/clearance/certificates/{mix.pk}/")
    page = APIClient().get(best["certificate_url"])
    assert page.status_code == 200
    text = page.content.decode()
    assert str(mix.pk) in text and developer.display_name in text
    assert developer.email not in text


def test_the_public_page_shows_the_same_answer(soundtrack: tuple[Mix, Any], client: Any) -> None:
    mix, samples = soundtrack
    assert client.get("/clearance/").status_code == 200
    clip = _talked_over_excerpt(samples, 4.0, 10.0)
    page = client.post("/clearance/", {"file": SimpleUploadedFile("claim.mp3", clip)})
    assert page.status_code == 200
    text = page.content.decode()
    assert str(mix.pk) in text and f"/clearance/certificates/{mix.pk}/" in text
    assert "<script" not in text  # CSP: the page works without any script


def test_an_unrelated_recording_is_not_matched(
    soundtrack: tuple[Mix, Any], corpus_dir: Any
) -> None:
    recording = audio.decode((corpus_dir / "loop_amen_full.flac").read_bytes())
    rate = 44100
    music = np.tile(recording, (int(np.ceil(10 * rate / recording.shape[0])), 1))[: 10 * rate]
    voice = audio.speech_like_noise(10.0, rate, seed=8)
    response = _post(audio.ffmpeg_mp3(audio.over_at(music, voice, -6.0), rate))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["matched"] is False and body["matches"] == []
    assert body["indexed_renders"] >= 1  # it was compared, with the soundtrack in the index
    assert body["message"].startswith("No match")


def test_a_preview_is_named_but_not_licensed(soundtrack: tuple[Mix, Any]) -> None:
    mix, samples = soundtrack
    Mix.objects.filter(pk=mix.pk).update(kind="preview")
    body = _post(_talked_over_excerpt(samples, 2.0, 10.0)).json()
    assert body["matches"][0]["render_id"] == str(mix.pk)
    assert body["matches"][0]["licensed"] is False
    assert body["matches"][0]["certificate_url"] is None
    assert APIClient().get(f"/clearance/certificates/{mix.pk}/").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("clip", "code"),
    [
        (lambda: audio.ffmpeg_mp3(audio.pink_noise(3.0), 48000), "too_short"),
        (lambda: b"GIF89a" + bytes(4000), "unsupported_container"),
        (lambda: b"", "empty"),
        (lambda: b"ID3\x03\x00\x00\x00\x00\x00\x00" + bytes(5000), "not_audio"),
        (lambda: audio.encode(audio.pink_noise(6.0, 16000), 16000), "sample_rate"),
        (lambda: audio.encode(np.zeros((48000 * 6, 2), np.float32)), "silent"),
    ],
    ids=["too-short", "garbage", "empty", "broken-mp3", "low-rate", "silent"],
)
def test_unusable_clips_are_refused_with_what_to_fix(clip: Any, code: str) -> None:
    response = _post(clip())
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == code and error["message"]


@pytest.mark.django_db
def test_a_clip_over_the_length_limit_is_refused(settings: Any) -> None:
    long = audio.encode(audio.pink_noise(181.0, 22050), 22050, fmt="FLAC", subtype="PCM_16")
    response = _post(long, "long.flac")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "too_long"


@pytest.mark.django_db
def test_an_upload_over_the_size_limit_is_refused_before_it_is_read(settings: Any) -> None:
    settings.CLEARANCE_MAX_UPLOAD_BYTES = 100_000
    clip = audio.encode(audio.pink_noise(6.0), subtype="PCM_16")  # 1.1 MB
    response = _post(clip, "clip.wav")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    page = APIClient().post("/clearance/", {"file": SimpleUploadedFile("c.wav", clip)})
    assert page.status_code == 413 and b"MB limit" in page.content


@pytest.mark.django_db
def test_a_missing_file_says_which_field_to_send() -> None:
    response = APIClient().post(URL, {"clip": "x"}, format="multipart")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "missing_file"


@pytest.mark.django_db
def test_lookups_are_throttled_per_address_signed_in_or_not(settings: Any) -> None:
    settings.CLEARANCE_THROTTLE_RATE = "2/min"
    signed_in = APIClient()
    signed_in.force_authenticate(UserFactory())
    clip = b"GIF89a" + bytes(100)
    assert _post(clip).status_code == 400
    assert _post(clip, api=signed_in).status_code == 400  # same address, same allowance
    assert _post(clip).status_code == 429
    page = APIClient().post("/clearance/", {"file": SimpleUploadedFile("c.mp3", clip)})
    assert page.status_code == 429


@pytest.mark.django_db
def test_a_certificate_never_shows_an_email_as_the_licensee() -> None:
    user = UserFactory(username="someone@example.com", email="someone@example.com")
    mix = MixFactory(requested_by=user)
    page = APIClient().get(f"/clearance/certificates/{mix.pk}/")
    assert page.status_code == 200
    assert b"someone@example.com" not in page.content
