"""Render ahead's hedge (portal/streams/services/rendering.py render_needed): a render job that
has not delivered while the lead is a segment short gets a second job at once, long before the
sweeper would notice a dead worker; a job on time gets none."""

from __future__ import annotations

from datetime import timedelta

import pytest

from portal.jobs.models import Job, JobStatus
from portal.jobs.services import job_claim
from portal.streams import schedule, selectors
from portal.streams.models import StreamSession
from tests.conftest import run_queued_jobs
from tests.streams.conftest import open_stream, playback_path

pytestmark = pytest.mark.django_db


def _renders(session_id: str) -> list[Job]:
    jobs = Job.objects.filter(kind="streams.render").order_by("pk")
    return [job for job in jobs if job.args["session_id"] == session_id]


def test_a_render_overdue_while_the_lead_is_short_gets_a_second_job(api, client, clock, vault):
    created = open_stream(api)
    run_queued_jobs()
    session = StreamSession.objects.get(pk=created["id"])
    filled = selectors.latest_ready(session).index
    assert filled == schedule.published_edge(session.origin, clock.now) + schedule.lead_segments()
    playlist = playback_path(created) + "/live.m3u8"

    clock.advance(timedelta(seconds=2))  # the edge moves on: the next segment is wanted
    client.get(playlist)
    (job,) = [j for j in _renders(created["id"]) if j.status == JobStatus.QUEUED]
    assert job_claim(job_id=job.pk) is not None  # taken by a worker that then dies
    client.get(playlist)
    assert [j.pk for j in _renders(created["id"]) if j.status == JobStatus.QUEUED] == []

    clock.advance(timedelta(seconds=2))  # the lead is a segment short, the job overdue
    client.get(playlist)
    hedges = [j for j in _renders(created["id"]) if j.status == JobStatus.QUEUED]
    assert len(hedges) == 1 and hedges[0].dedupe_key.startswith(job.dedupe_key + ":hedge:")
    client.get(playlist)  # one per segment length, however often the playlist is fetched
    assert len([j for j in _renders(created["id"]) if j.status == JobStatus.QUEUED]) == 1

    run_queued_jobs()
    assert selectors.latest_ready(session).index == filled + 2  # caught up to the full lead
    assert Job.objects.get(pk=job.pk).status == JobStatus.RUNNING  # the dead one, for the sweeper


def test_a_render_started_just_now_gets_no_second_job(api, client, clock, vault):
    created = open_stream(api)
    run_queued_jobs()
    playlist = playback_path(created) + "/live.m3u8"
    clock.advance(timedelta(seconds=2))
    client.get(playlist)
    (job,) = [j for j in _renders(created["id"]) if j.status == JobStatus.QUEUED]
    clock.advance(timedelta(milliseconds=1800))
    assert job_claim(job_id=job.pk) is not None  # a busy worker took it only now
    clock.advance(timedelta(milliseconds=300))  # the lead is a segment short; the job is not late
    client.get(playlist)
    assert [j.status for j in _renders(created["id"])][-1] == JobStatus.RUNNING
    assert len(_renders(created["id"])) == 2  # the session's first job, and this one
