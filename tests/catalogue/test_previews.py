"""Previews: a short, low-bitrate excerpt per stem, rendered once by a job, behind a signed link
that needs no header and expires; never accepted back as an original (test_preview_reupload)."""

from __future__ import annotations

import io
import json
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.test import Client

from portal.catalogue.services.previews import previews_request
from tests.factories.audio import tone_loop
from tests.factories.stems import StemFactory

pytestmark = pytest.mark.django_db


def ffprobe(data: bytes, folder: Path) -> dict:
    """What ffmpeg's prober reads from the file: an independent reader of our encoder's output
    (from a file, not a pipe, so that it reads the duration from the whole stream)."""
    path = folder / "preview.mp3"
    path.write_bytes(data)
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
        capture_output=True,
        check=True,
    )
    return json.loads(result.stdout)


@pytest.fixture
def long_stem(artist):
    """A 45 s stem: longer than a preview may be."""
    return StemFactory(artist=artist, title="Long pluck", samples=tone_loop(45.0, seed=7))


def _detail(api, stem):
    response = api.get(f"/api/v1/catalogue/{stem.pk}/")
    assert response.status_code == 200, response.content
    return response.json()


def test_the_command_queues_one_preview_job_per_stem_and_the_job_stores_it(
    long_stem, client_app, app_api, run_jobs
):
    from django.core.management import call_command

    from portal.catalogue.models import StemPreview
    from portal.jobs.models import Job

    api = app_api(client_app)
    api.get("/api/v1/catalogue/")
    assert not Job.objects.filter(kind="catalogue.preview").exists()  # a GET writes nothing
    assert _detail(api, long_stem)["preview_status"] == "preparing"
    call_command("catalogue_previews", stdout=io.StringIO())
    call_command("catalogue_previews", stdout=io.StringIO())
    assert Job.objects.filter(kind="catalogue.preview").count() == 1

    assert run_jobs() == 1

    preview = StemPreview.objects.get(stem=long_stem)
    assert default_storage.exists(preview.audio)
    body = _detail(api, long_stem)
    assert body["preview_status"] == "ready"
    assert body["preview"]["content_type"] == "audio/mpeg"
    assert body["preview"]["expires_at"] > time.time()
    call_command("catalogue_previews", stdout=io.StringIO())
    assert Job.objects.filter(kind="catalogue.preview").count() == 1  # never rendered twice


def test_the_preview_is_a_short_low_bitrate_mp3_not_the_master(
    long_stem, client_app, app_api, run_jobs, tmp_path
):
    from portal.catalogue.models import StemPreview

    previews_request(stems=[long_stem])
    run_jobs()
    preview = StemPreview.objects.get(stem=long_stem)
    with default_storage.open(preview.audio, "rb") as handle:
        data = handle.read()

    probe = ffprobe(data, tmp_path)
    (stream,) = probe["streams"]
    assert stream["codec_name"] == "mp3"
    assert int(stream["bit_rate"]) <= 96_000
    assert float(probe["format"]["duration"]) <= 30.1  # of a 45 s stem
    assert long_stem.duration_s > 44
    assert len(data) < long_stem.size_bytes / 10
    # Quiet at its end: the cut is faded, never a click.
    from renderer.audio import load_audio

    heard = load_audio(data)
    tail = heard.samples[-int(0.05 * heard.sample_rate) :]
    assert float(np.max(np.abs(tail))) < 0.05


def test_the_preview_link_plays_without_credentials_and_then_expires(
    long_stem, client_app, app_api, run_jobs, monkeypatch, settings
):
    from portal.catalogue.presenting import PREVIEW_LINK_SECONDS
    from portal.core import stored_files

    api = app_api(client_app)
    previews_request(stems=[long_stem])
    run_jobs()
    preview = _detail(api, long_stem)["preview"]
    link = preview["url"]
    assert link.startswith("http")  # absolute: an app hands it to a player on its own origin
    assert abs(preview["expires_at"] - (time.time() + PREVIEW_LINK_SECONDS)) < 30

    if settings.AWS_STORAGE_BUCKET_NAME:
        # A presigned URL: the bucket serves it to anyone holding it, until S3 says it expired.
        request = urllib.request.Request(link, headers={"Range": "bytes=0-99"})
        with urllib.request.urlopen(request) as response:
            assert response.status == 206
            assert response.headers["Content-Type"] == "audio/mpeg"
            assert len(response.read()) == 100
        # Signature V4 says how long (X-Amz-Expires), V2 until when (Expires).
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)
        if "X-Amz-Expires" in query:
            assert query["X-Amz-Expires"] == [str(PREVIEW_LINK_SECONDS)]
        else:
            assert abs(int(query["Expires"][0]) - preview["expires_at"]) <= 2
        return
    anonymous = Client()
    response = anonymous.get(link, HTTP_RANGE="bytes=0-99")  # as <audio> asks
    assert response.status_code == 206
    assert response["Content-Type"] == "audio/mpeg"
    assert len(b"".join(response.streaming_content)) == 100

    later = time.time() + PREVIEW_LINK_SECONDS + 5
    monkeypatch.setattr(stored_files.time, "time", lambda: later)
    assert anonymous.get(link).status_code == 404


def test_a_stem_that_left_the_vault_gets_no_preview(artist, run_jobs):
    from portal.catalogue.models import StemPreview
    from portal.catalogue.services.previews import preview_render
    from portal.stems.models import StemStatus

    stem = StemFactory(artist=artist, status=StemStatus.TAKEN_DOWN)
    result = preview_render(stem_id=stem.pk)
    assert result["stored"] is False
    assert not StemPreview.objects.exists()


def test_a_stem_entering_the_vault_gets_its_preview_queued(
    artist, curator, run_jobs, django_capture_on_commit_callbacks
):
    from portal.catalogue.models import StemPreview
    from portal.jobs.models import Job
    from portal.review.services.claims import review_claim
    from portal.review.services.decisions import stem_decide

    stem = StemFactory(artist=artist, in_review=True, samples=tone_loop(5.0, seed=9))
    assert not Job.objects.filter(kind="catalogue.preview").exists()
    review_claim(stem=stem, curator=curator)
    with django_capture_on_commit_callbacks(execute=True):  # the signal is sent after commit
        stem_decide(stem=stem, curator=curator, decision="approve")

    assert Job.objects.filter(kind="catalogue.preview", args={"stem_id": stem.pk}).count() == 1
    run_jobs()
    assert StemPreview.objects.filter(stem=stem).exists()


def test_a_preview_job_for_a_stem_whose_file_is_gone_fails_once_for_good(artist, run_jobs):
    from portal.jobs.models import Job, JobStatus

    stem = StemFactory(artist=artist, samples=None)  # no file in storage
    previews_request(stems=[stem])
    run_jobs()
    job = Job.objects.get(kind="catalogue.preview")
    assert job.status == JobStatus.FAILED and job.attempts == 1
