"""Render ahead's hedge (portal/streams/services/rendering.py render_needed): a render job that
has not delivered while the lead is a segment short gets a second job at once, long before the
sweeper would notice a dead worker; a job on time gets none."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from portal.jobs.models import Job, JobStatus
from portal.jobs.services import job_claim
from portal.streams import engine, schedule, selectors
from portal.streams.models import StreamSession
from tests.conftest import run_queued_jobs
from tests.streams.conftest import open_stream, playback_path

pytestmark = pytest.mark.django_db


def _renders(session_id: str) -> list[Job]:
    jobs = Job.objects.filter(kind="streams.render").order_by("pk")
    return [job for job in jobs if job.args["session_id"] == session_id]


def _when_edge_is(session: StreamSession, edge: int) -> datetime:
    """The moment the published edge reaches `edge` (plus a little: past the boundary)."""
    seconds = edge * engine.segment_seconds() - schedule.publish_ahead_s() + 0.05
    return session.origin + timedelta(seconds=seconds)


def _queued(session_id: str) -> list[Job]:
    return [job for job in _renders(session_id) if job.status == JobStatus.QUEUED]


def test_a_render_overdue_while_the_lead_is_short_gets_a_second_job(api, client, clock, vault):
    created = open_stream(api)
    run_queued_jobs()
    session = StreamSession.objects.get(pk=created["id"])
    filled = selectors.latest_ready(session).index
    assert filled >= schedule.published_edge(session.origin, clock.now) + schedule.lead_segments()
    playlist = playback_path(created) + "/live.m3u8"

    # The edge moves on until the next segment is within the lead: a render job is wanted.
    clock.set(_when_edge_is(session, filled + 1 - schedule.lead_segments()))
    client.get(playlist)
    (job,) = _queued(created["id"])
    assert job_claim(job_id=job.pk) is not None  # taken by a worker that then dies
    client.get(playlist)
    assert _queued(created["id"]) == []

    # A segment later the lead is short and the job overdue: a second job races it.
    clock.set(_when_edge_is(session, filled + 2 - schedule.lead_segments()))
    client.get(playlist)
    hedges = _queued(created["id"])
    assert len(hedges) == 1 and hedges[0].dedupe_key.startswith(job.dedupe_key + ":hedge:")
    client.get(playlist)  # one per segment length, however often the playlist is fetched
    assert len(_queued(created["id"])) == 1

    run_queued_jobs()
    edge = schedule.published_edge(session.origin, clock.now)
    assert selectors.latest_ready(session).index >= edge + schedule.lead_segments()  # caught up
    assert Job.objects.get(pk=job.pk).status == JobStatus.RUNNING  # the dead one, for the sweeper


def test_a_render_started_just_now_gets_no_second_job(api, client, clock, vault):
    created = open_stream(api)
    run_queued_jobs()
    session = StreamSession.objects.get(pk=created["id"])
    filled = selectors.latest_ready(session).index
    playlist = playback_path(created) + "/live.m3u8"
    clock.set(_when_edge_is(session, filled + 1 - schedule.lead_segments()))
    client.get(playlist)
    (job,) = _queued(created["id"])
    short = _when_edge_is(session, filled + 2 - schedule.lead_segments())
    clock.set(short - timedelta(milliseconds=300))
    assert job_claim(job_id=job.pk) is not None  # a busy worker took it only now
    clock.set(short)  # the lead is a segment short; the job is not late
    client.get(playlist)
    assert [j.status for j in _renders(created["id"])][-1] == JobStatus.RUNNING
    assert len(_renders(created["id"])) == 2  # the session's first job, and this one
