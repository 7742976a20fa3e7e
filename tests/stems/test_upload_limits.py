"""Uploads that cannot exhaust memory, through the API, the form and the provenance job.

A bomb is a few hundred kilobytes whose header declares hours of audio (the incident: a 377 KB
FLAC made the web process try to allocate 10 GiB), or a header that declares less than the
file holds. Each is refused with the limit in the message, before or one block past the budget,
and leaves no row and no file."""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from portal.jobs.models import Job, JobStatus
from portal.jobs.services import job_execute
from portal.stems.models import Stem, StemStatus
from portal.stems.services import submission
from tests.factories.audio import RATE, encode, flac_declaring, tone_loop
from tests.factories.contributions import ATTESTED, FORM_OK, meta, upload
from tests.helpers.storage import nothing_left_behind, stored_files

FOUR_H_TEN_MIN = (4 * 3600 + 10 * 60) * RATE
LOOP = {"kind": "loop", "bpm": "120", "bars": 2}


@pytest.fixture
def decoded(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The frame counts of every soundfile read from here on (whatever reads them)."""
    counts: list[int] = []
    real = sf.SoundFile.read

    def spy(self: sf.SoundFile, *args: Any, **kwargs: Any) -> np.ndarray:
        out = real(self, *args, **kwargs)
        counts.append(len(out))
        return out

    monkeypatch.setattr(sf.SoundFile, "read", spy)
    return counts


def flac_bomb() -> bytes:
    """One second of real FLAC under a STREAMINFO that declares 4 h 10 min."""
    return flac_declaring(
        encode(tone_loop(1.0, seed=90), fmt="FLAC", subtype="PCM_16"), FOUR_H_TEN_MIN
    )


def _api_post(api: Any, *files: Any, metadata: dict[str, Any]) -> Any:
    payload = {
        "files": list(files),
        "metadata": json.dumps({**meta(title=""), **metadata}),
        "license_version": 1,
        **{k: ("true" if v is True else v) for k, v in ATTESTED.items()},
    }
    return api.post("/api/v1/stems/", payload, format="multipart")


def _form_post(browser: Any, *files: Any, metadata: dict[str, Any]) -> Any:
    return browser.post("/contribute/", {**FORM_OK, **metadata, "audio_files": list(files)})


def test_a_flac_bomb_is_refused_through_the_api_with_the_limit_and_nothing_stored(
    artist, api_for, license_v1, decoded
):
    bomb = flac_bomb()
    assert len(bomb) < 400_000
    response = _api_post(api_for(artist), upload(bomb, "bomb.flac"), metadata=LOOP)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "duration"
    assert "bomb.flac" in error["message"]
    assert "declares 4 h 10 min of audio; a loop may be at most 2 min" in error["message"]
    assert error["fields"]["files"]
    assert sum(decoded) == 0  # judged on its header alone
    nothing_left_behind([])


def test_a_flac_bomb_is_refused_through_the_form_with_the_limit_and_nothing_stored(
    artist, client_for, license_v1, decoded
):
    response = _form_post(client_for(artist), upload(flac_bomb(), "bomb.flac"), metadata=LOOP)
    assert response.status_code == 400
    html = response.content.decode()
    assert "declares 4 h 10 min of audio; a loop may be at most 2 min" in html
    assert sum(decoded) == 0
    nothing_left_behind([])


def test_a_wav_claiming_endless_data_is_refused_through_the_api_without_decoding(
    artist, api_for, license_v1, decoded
):
    raw = bytearray(encode(tone_loop(1.0, seed=91), subtype="PCM_16"))
    raw[4:8] = b"\xff\xff\xff\xff"
    at = raw.index(b"data")
    raw[at + 4 : at + 8] = b"\xff\xff\xff\xff"
    response = _api_post(api_for(artist), upload(bytes(raw), "stream.wav"), metadata=LOOP)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "truncated"
    assert sum(decoded) == 0
    nothing_left_behind([])


@pytest.mark.parametrize(
    ("declared", "kind", "code", "words"),
    [
        (RATE, LOOP, "header_mismatch", "declares 48000 frames but the file holds more"),
        (0, {"kind": "one-shot"}, "duration", "decodes to more than 10.00 s of audio"),
    ],
    ids=["declares-1s-holds-20s", "unknown-length-past-the-kind"],
)
def test_a_flac_whose_header_lies_is_stopped_by_the_decoding_budget(
    artist, api_for, license_v1, decoded, declared, kind, code, words
):
    liar = flac_declaring(encode(tone_loop(20.0, seed=92), fmt="FLAC", subtype="PCM_16"), declared)
    response = _api_post(api_for(artist), upload(liar, "liar.flac"), metadata=kind)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == code and words in error["message"]
    budget = RATE if declared else 10 * RATE
    assert sum(decoded) == budget + 1  # stopped one frame past the budget, not at 20 s
    nothing_left_behind([])


def _peak_bytes_of_submit(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Wrap stem_submit (what the API and the form call) to record its peak traced memory."""
    peaks: list[int] = []
    real = submission.stem_submit

    def traced(**kwargs: Any) -> Any:
        tracemalloc.start()
        try:
            return real(**kwargs)
        finally:
            peaks.append(tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()

    monkeypatch.setattr(submission, "stem_submit", traced)
    return peaks


@pytest.mark.parametrize("path", ["api", "form"])
def test_a_request_with_many_files_decodes_them_one_at_a_time(
    artist, api_for, client_for, license_v1, monkeypatch, path
):
    # Six 20 s files: 5.8 MB each as 24-bit WAV, 7.7 MB each decoded. Handled file by file, the
    # request's peak is one file's, however many it carries; decoded together it would be six.
    peaks = _peak_bytes_of_submit(monkeypatch)
    files = [upload(encode(tone_loop(20.0, seed=100 + i)), f"take{i}.wav") for i in range(7)]
    one_file_bytes = files[0].size
    post: Callable[..., Any]
    if path == "api":
        api = api_for(artist)
        post = lambda *f: _api_post(api, *f, metadata={"kind": "stem"})  # noqa: E731
    else:
        browser = client_for(artist)
        post = lambda *f: _form_post(browser, *f, metadata={"kind": "stem"})  # noqa: E731
    assert post(files[0]).status_code in (201, 302)
    assert post(*files[1:]).status_code in (201, 302)
    assert Stem.objects.count() == 7 and len(stored_files()) == 7
    one, six = peaks
    assert six < 1.5 * one
    assert six < 2 * one_file_bytes  # one file's bytes and a block, never the decoded audio


def test_the_provenance_job_stops_a_stored_file_that_decodes_longer_than_it_declares(
    artist, submit, decoded
):
    (stem,) = submit(artist, upload(encode(tone_loop(2.0, seed=93), fmt="FLAC"), "t.flac"))
    # The stored bytes change under the stem (a restored backup, a tampered bucket): the job
    # decodes them as the untrusted upload they are.
    liar = flac_declaring(encode(tone_loop(30.0, seed=93), fmt="FLAC"), 2 * RATE)
    default_storage.delete(stem.audio.name)
    name = default_storage.save(stem.audio.name, ContentFile(liar))
    Stem.objects.filter(pk=stem.pk).update(audio=name)
    decoded.clear()
    job_execute(stem.provenance_job_id)
    job = Job.objects.get(pk=stem.provenance_job_id)
    assert job.status == JobStatus.FAILED and job.attempts == 1  # a retry would decode the same
    assert job.error_code == "audio_header_mismatch"
    assert "declares 96000 frames but the file holds more" in job.error
    assert sum(decoded) == 2 * RATE + 1
    assert Stem.objects.get(pk=stem.pk).status == StemStatus.PROCESSING  # unjudged, not judged
