"""A job's stage and estimated time left: read off the progress its handler reports, the
estimate extrapolated from the attempt's elapsed time and fraction done."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from portal.jobs.models import Job, JobStatus
from portal.jobs.progress import job_progress, stage_for
from portal.jobs.registry import job_kind
from portal.stems.provenance_jobs import PROVENANCE_JOB_KIND

pytestmark = pytest.mark.django_db


def _job(artist, **fields):
    now = timezone.now()
    return Job.objects.create(kind=PROVENANCE_JOB_KIND, owner=artist, run_after=now, **fields)


def test_the_stage_is_the_one_the_reported_figure_falls_in():
    assert stage_for(PROVENANCE_JOB_KIND, 0) == "starting"
    assert stage_for(PROVENANCE_JOB_KIND, 44) == "measuring loudness, tempo and quality"
    assert stage_for(PROVENANCE_JOB_KIND, 45) == "fingerprinting the sound"
    assert stage_for(PROVENANCE_JOB_KIND, 99) == "finishing"
    assert stage_for("no.such.kind", 50) == "working"


def test_the_time_left_extrapolates_the_pace_so_far(artist):
    now = timezone.now()
    job = _job(
        artist, status=JobStatus.RUNNING, progress=25, started_at=now - timedelta(seconds=30)
    )
    shown = job_progress(job, now=now)
    # A quarter done in 30 s: three quarters more take 90 s at that pace.
    assert (shown.stage, shown.elapsed_s, shown.eta_s) == (
        "measuring loudness, tempo and quality",
        30,
        90,
    )
    job.progress = 75
    assert job_progress(job, now=now).eta_s == 10


def test_no_estimate_before_the_pace_means_something_or_once_finished(artist):
    now = timezone.now()
    queued = _job(artist)
    assert job_progress(queued, now=now) == job_progress(queued, now=now)
    assert job_progress(queued, now=now).stage == "waiting for a worker"
    assert job_progress(queued, now=now).eta_s is None
    early = _job(
        artist, status=JobStatus.RUNNING, progress=2, started_at=now - timedelta(seconds=5)
    )
    assert job_progress(early, now=now).eta_s is None
    instant = _job(artist, status=JobStatus.RUNNING, progress=50, started_at=now)
    assert job_progress(instant, now=now).eta_s is None
    done = _job(
        artist,
        status=JobStatus.DONE,
        progress=100,
        started_at=now - timedelta(seconds=12),
        finished_at=now - timedelta(seconds=2),
    )
    shown = job_progress(done, now=now)
    assert (shown.stage, shown.elapsed_s, shown.eta_s) == ("finished", 10, None)


def test_the_job_api_gives_the_stage_and_the_estimate(artist, api_for):
    job = _job(
        artist,
        status=JobStatus.RUNNING,
        progress=60,
        started_at=timezone.now() - timedelta(seconds=60),
    )
    body = api_for(artist).get(f"/api/v1/jobs/{job.pk}/").json()
    assert body["stage"] == "comparing with the vault and our renders"
    assert body["progress"] == 60
    assert 38 <= body["eta_s"] <= 42 and 59 <= body["elapsed_s"] <= 62


def test_the_stem_page_shows_the_stage(artist, client_for):
    from tests.factories.stems import StemFactory

    stem = StemFactory(artist=artist, status="processing")
    job = _job(
        artist,
        status=JobStatus.RUNNING,
        progress=45,
        started_at=timezone.now() - timedelta(seconds=9),
    )
    stem.provenance_job = job
    stem.save(update_fields=["provenance_job"])
    page = client_for(artist).get(f"/stems/{stem.pk}/").content.decode()
    assert "Fingerprinting the sound, 45% — about 11 s left" in page


def test_stages_must_ascend():
    with pytest.raises(ValueError, match="ascending"):
        job_kind("tests.bad_stages", stages=((50, "later"), (10, "earlier")))


def test_a_rendering_soundtrack_reports_its_stage_and_time_left(artist, api_for):
    from portal.mixes.models import RenderStatus
    from portal.mixes.services import RENDER_JOB_KIND
    from tests.factories.mixes import MixFactory

    job = Job.objects.create(
        kind=RENDER_JOB_KIND,
        owner=artist,
        run_after=timezone.now(),
        status=JobStatus.RUNNING,
        progress=45,
        started_at=timezone.now() - timedelta(seconds=45),
    )
    mix = MixFactory(requested_by=artist, status=RenderStatus.RENDERING, job=job)
    body = api_for(artist).get(f"/api/v1/soundtracks/{mix.pk}/").json()
    assert body["stage"] == "rendering the audio" and body["progress"] == 45
    assert 53 <= body["eta_s"] <= 58
