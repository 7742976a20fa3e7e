"""Contributing without pain: every problem reported at once, beside its file and field, and a
chosen file measured (length, tempo, bars, kind, waveform) before it is sent."""

from __future__ import annotations

from typing import Any

import pytest

from portal.stems.models import Stem
from portal.stems.services.submission import stem_submit
from tests.factories.audio import encode, tone, tone_loop
from tests.factories.contributions import FORM_OK, meta, upload
from tests.helpers.storage import stored_files

XHR = {"HTTP_X_REQUESTED_WITH": "XMLHttpRequest"}


def _rows(count: int, **fields: str) -> dict[str, str]:
    return {"file-TOTAL_FORMS": str(count), "file-INITIAL_FORMS": "0", **fields}


def test_the_script_gets_every_problem_of_every_file_and_field_at_once(
    artist: Any, client_for: Any, license_v1: Any
) -> None:
    data = {
        **FORM_OK,
        "not_ai_generated": "",  # a shared field wrong...
        "credits": "nobody-here 100",
        "audio_files": [
            upload(encode(tone_loop(seed=80)), "good.wav"),
            upload(b"this is not audio at all", "notes.wav"),  # ...and two files wrong
            upload(encode(tone_loop(seed=81)), "fine.wav"),
            upload(b"RIFF\x00\x00", "cut.wav"),
        ],
        **_rows(4, **{"file-2-bars": "0"}),  # and one file's own field
    }
    response = client_for(artist).post("/contribute/", data, **XHR)
    assert response.status_code == 400
    body = response.json()
    assert {"not_ai_generated"} <= set(body["errors"])
    by_file = {(p["index"], p["field"]) for p in body["file_errors"]}
    assert (1, "files") in by_file and (3, "files") in by_file and (2, "bars") in by_file
    assert not any(index == 0 for index, _ in by_file)  # the good file is not blamed
    named = {p["index"]: p["file"] for p in body["file_errors"]}
    assert named[1] == "notes.wav" and named[3] == "cut.wav"
    assert "problems to fix" in body["message"]
    assert Stem.objects.count() == 0 and stored_files() == []


def test_the_service_names_every_bad_file_not_only_the_first(artist: Any, license_v1: Any) -> None:
    from portal.core.errors import ApplicationError

    files = [
        upload(b"junk", "one.wav"),
        upload(encode(tone_loop(seed=82)), "ok.wav"),
        upload(b"more junk", "two.wav"),
    ]
    with pytest.raises(ApplicationError) as refused:
        stem_submit(
            artist=artist,
            files=files,
            metadata=[meta(title="a"), meta(title="b"), meta(title="")],
            credits=None,
            license_version=1,
            attestations=FORM_OK_ATTESTATIONS,
            ip_address=None,
        )
    error = refused.value
    assert error.code == "invalid_files"
    problems = error.extra["file_errors"]
    assert {(p["index"], p["field"]) for p in problems} >= {
        (0, "files"),
        (2, "files"),
        (2, "title"),
    }
    assert all(p["index"] != 1 for p in problems)
    assert "2 of the 3 files need fixing" in error.message
    assert Stem.objects.count() == 0 and stored_files() == []


FORM_OK_ATTESTATIONS = {
    "made_it_and_holds_rights": True,
    "no_uncleared_samples": True,
    "not_ai_generated": True,
    "accepts_terms_version": 1,
}


def test_one_bad_file_keeps_its_own_code_and_says_which_file(artist: Any, license_v1: Any) -> None:
    from portal.core.errors import ApplicationError

    with pytest.raises(ApplicationError) as refused:
        stem_submit(
            artist=artist,
            files=[upload(b"junk", "one.wav")],
            metadata=[meta(title="a")],
            credits=None,
            license_version=1,
            attestations=FORM_OK_ATTESTATIONS,
            ip_address=None,
        )
    assert refused.value.code != "invalid_files"
    assert refused.value.extra["file_errors"][0]["file"] == "one.wav"


def test_a_chosen_file_is_measured_before_it_is_sent(artist: Any, client_for: Any) -> None:
    loop = encode(tone_loop(seconds=8.0, seed=83, bpm=120.0))
    response = client_for(artist).post("/contribute/measure/", {"file": upload(loop, "groove.wav")})
    assert response.status_code == 200
    body = response.json()
    assert body["file"] == "groove.wav" and body["format"] == "WAV"
    assert body["duration_s"] == pytest.approx(8.0, abs=0.01)
    assert body["bpm_estimate"] == pytest.approx(120.0, abs=1.0)
    assert body["bars_estimate"] == 4
    assert body["suggested_kind"] == "loop"
    assert 100 <= len(body["waveform"]) <= 160
    assert all(-1.0 <= low <= high <= 1.0 for low, high in body["waveform"])
    assert Stem.objects.count() == 0 and stored_files() == []


def test_a_short_hit_is_measured_as_a_one_shot(artist: Any, client_for: Any) -> None:
    hit = encode(tone(440.0, 0.6))  # shorter than any tempo reading needs
    body = client_for(artist).post("/contribute/measure/", {"file": upload(hit, "hit.wav")}).json()
    assert body["suggested_kind"] == "one-shot" and body["bpm_estimate"] is None
    assert body["duration_s"] == pytest.approx(0.6, abs=0.01)


def test_a_file_that_would_be_refused_is_refused_when_measured(
    artist: Any, client_for: Any
) -> None:
    response = client_for(artist).post("/contribute/measure/", {"file": upload(b"nope", "x.wav")})
    assert response.status_code == 400
    assert response.json()["message"].startswith("x.wav: ")
    no_file = client_for(artist).post("/contribute/measure/", {})
    assert no_file.status_code == 400 and "'file'" in no_file.json()["message"]


def test_only_artists_may_measure(curator: Any, client_for: Any, client: Any) -> None:
    loop = encode(tone_loop(seed=84))
    assert (
        client_for(curator)
        .post("/contribute/measure/", {"file": upload(loop, "a.wav")})
        .status_code
        == 403
    )
    anonymous = client.post("/contribute/measure/", {"file": upload(loop, "a.wav")})
    assert anonymous.status_code == 302 and "/login" in anonymous["Location"]


def test_the_page_lets_the_chosen_files_play_before_they_are_sent(
    artist: Any, client_for: Any, license_v1: Any
) -> None:
    page = client_for(artist).get("/contribute/")
    policy = page["Content-Security-Policy"]
    media = next(part for part in policy.split(";") if part.strip().startswith("media-src"))
    assert "blob:" in media
    assert "blob:" not in policy.replace(media, "")  # scripts and workers stay 'self'
