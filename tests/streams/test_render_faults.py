"""Render ahead survives faults (issue 15, item 8), with real worker processes on Redis.

A listener plays a live session in real time over HTTP against the live server (the simulated
listener of bench/stream_listeners.py: playlist reloads, segment fetches and heartbeats, an
underrun being a segment that arrives after the playhead needs it), while two `dramatiq` worker
processes render its segments ahead. Then one fault: a worker SIGKILLed in the middle of a
segment, a job that stalls in the middle of one while its worker lives on, or the broker's
connections cut and its queues emptied (a Redis restart with nothing on disk). The jobs run
with their production timings: the sweeper would notice a dead worker only after
JOB_STALE_AFTER_S (20 s), longer than the whole lead, so it is the render-ahead itself that must
recover. In each case the listener hears no underrun and no gap, the media sequence stays
contiguous, and the segments rendered ahead of the playhead never run out.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.utils import timezone

from bench._listeners_load import Outcome, run_listeners
from portal.jobs.models import Job, JobStatus, WorkerBeat
from portal.streams import engine, schedule, selectors
from portal.streams.models import StreamSegment, StreamSession
from tests.conftest import need, wait_for
from tests.factories.clients import app_credential

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

FAULTS = ("tests.helpers.stream_faults",)
HOLD_AT = 10  # first rendered about 12 s after the session opens (past the warm-up), played at 20 s
LISTEN_S = 36.0
# The job timings of production (portal/settings.py), not the conftest's fast ones.
PRODUCTION_JOBS = {
    "JOB_HEARTBEAT_S": "2",
    "JOB_STALE_AFTER_S": "20",
    "JOB_REDELIVER_AFTER_S": "15",
    "JOB_SWEEP_INTERVAL_S": "2",
}


@pytest.fixture(autouse=True)
def _real_broker() -> None:
    need(
        settings.BROKER_KIND == "redis",
        "needs Redis (BROKER_URL=redis://...): this test's web process and the separate worker "
        "processes that render for it meet only through a real broker (the embedded one lives "
        "inside a single process)",
    )


class Listening:
    """One simulated listener in a thread of its own, and the render lead sampled meanwhile."""

    def __init__(self, live_server: Any, app: Any, seed: int) -> None:
        address = urlsplit(live_server.url)
        self.seed, self.outcome = seed, Outcome()
        self.leads: list[int] = []  # rendered segments beyond the one a listener plays now
        self.thread = threading.Thread(
            target=self._run, args=(address.hostname, address.port, app_credential(app))
        )

    def _run(self, host: str, port: int, credential: str) -> None:
        self.outcome = asyncio.run(
            run_listeners(
                host=host,
                port=port,
                credential=credential,
                count=1,
                seconds=LISTEN_S,
                ramp_s=0,
                seed0=self.seed,
                segment_s=engine.segment_seconds(),
                moods=("calm",),
            )
        )

    def session(self) -> StreamSession | None:
        return StreamSession.objects.filter(listener_id=f"bench-{self.seed}").first()

    def run(self, on_tick: Callable[[StreamSession], None]) -> Outcome:
        """Listen to the end, calling on_tick(session) every 0.1 s."""
        self.thread.start()
        full = False
        while self.thread.is_alive():
            time.sleep(0.1)
            session = self.session()
            if session is None:
                continue
            on_tick(session)
            if not session.is_live:
                continue
            last = selectors.latest_ready(session)
            # The playhead of a player that started at the origin, which no real one is ahead
            # of; sampled once the lead was first filled.
            playing = math.floor(
                (timezone.now() - session.origin).total_seconds() / engine.segment_seconds()
            )
            lead = (last.index if last else -1) - playing
            full = full or lead >= 2
            if full:
                self.leads.append(lead)
        self.thread.join()
        return self.outcome


def _workers(worker_process: Callable[..., Any], fault_dir: Path | None, **env: str) -> list[Any]:
    """Two worker processes, each one serving the render queue, booted and beating."""
    extra = {**PRODUCTION_JOBS, **env}
    modules: tuple[str, ...] = ()
    if fault_dir is not None:
        extra["STREAM_FAULT_DIR"] = str(fault_dir)
        modules = FAULTS
    workers = [worker_process(extra, modules) for _ in range(2)]
    wait_for(lambda: WorkerBeat.objects.count() >= 2, timeout=90)
    return workers


def _assert_served(listening: Listening, outcome: Outcome) -> StreamSession:
    assert outcome.started == 1, outcome
    assert (outcome.underruns, outcome.gaps, outcome.errors) == (0, 0, 0), outcome
    assert outcome.segments >= LISTEN_S / engine.segment_seconds() - 1, outcome
    assert listening.leads and min(listening.leads) >= 1, (
        f"the render lead ran out: {listening.leads}"
    )
    session = listening.session()
    assert session is not None
    indexes = list(
        selectors.ready_segments(session).order_by("index").values_list("index", flat=True)
    )
    assert indexes == list(range(len(indexes))), "one segment per index, no gap, none twice"
    return session


def test_a_worker_killed_mid_segment_never_stalls_the_listener(
    worker_process, live_server, vault, stream_app, tmp_path
):
    from tests.helpers.stream_faults import held

    (tmp_path / "hold-at").write_text(str(HOLD_AT))
    workers = _workers(worker_process, tmp_path)
    killed: list[Any] = []

    def kill_the_holder(session: StreamSession) -> None:
        pid = held(tmp_path)
        if pid is not None and not killed:
            holder = next(w for w in workers if w.holds(pid))
            holder.kill()  # SIGKILL, in the middle of segment HOLD_AT
            killed.append(holder)

    listening = Listening(live_server, stream_app, seed=1501)
    outcome = listening.run(kill_the_holder)

    assert killed, f"no worker reached segment {HOLD_AT}"
    assert killed[0].process.poll() is not None
    session = _assert_served(listening, outcome)
    assert selectors.segment_ready(session, HOLD_AT) is not None
    # The killed worker's job is still running on paper (its heartbeat stale for less than
    # JOB_STALE_AFTER_S, or handed back by the sweeper since): another job rendered the segment.
    rendered_by = [
        job
        for job in Job.objects.filter(kind="streams.render", status=JobStatus.DONE)
        if job.args["session_id"] == str(session.pk) and HOLD_AT in job.result["rendered"]
    ]
    assert len(rendered_by) == 1


def test_a_job_stalled_mid_segment_never_stalls_the_listener_and_commits_nothing_late(
    worker_process, live_server, vault, stream_app, tmp_path
):
    from tests.helpers.stream_faults import held

    (tmp_path / "hold-at").write_text(str(HOLD_AT))
    # Longer than the whole lead: the listener would reach the segment before the job ends.
    workers = _workers(worker_process, tmp_path, STREAM_FAULT_HOLD_S="12")
    slow: list[int] = []

    def note_the_slow_job(session: StreamSession) -> None:
        if held(tmp_path) is not None and not slow:
            running = Job.objects.filter(kind="streams.render", status=JobStatus.RUNNING)
            slow.extend(j.pk for j in running if j.args["session_id"] == str(session.pk))

    listening = Listening(live_server, stream_app, seed=1502)
    outcome = listening.run(note_the_slow_job)

    assert slow, f"no job reached segment {HOLD_AT}"
    assert all(w.process.poll() is None for w in workers), "the slow worker lived on"
    session = _assert_served(listening, outcome)
    # The slow job ended once let go, having committed nothing: another had the segment first.
    jobs = wait_for(
        lambda: (
            (js := list(Job.objects.filter(pk__in=slow))) and all(j.is_finished for j in js) and js
        ),
        timeout=60,
    )
    holder = [j for j in jobs if HOLD_AT not in j.result.get("rendered", [HOLD_AT])]
    assert holder, [j.result for j in jobs]
    assert StreamSegment.objects.filter(session=session, index=HOLD_AT).count() == 1


def _cut_the_broker(session: StreamSession) -> int | None:
    """Close every connection to the broker's Redis database (this test's, the live server's
    and the workers'), as a Redis restart does; once the web has rung for a render meanwhile
    (the workers reconnect only after dramatiq's 3 s restart delay), empty the queues, as a
    restart of a Redis that keeps nothing on disk does. Returns the job whose doorbell was lost."""
    import dramatiq
    import redis

    server = redis.Redis.from_url(settings.BROKER_URL)
    database = int(server.connection_pool.connection_kwargs.get("db", 0))
    me = server.client_id()
    for client in server.client_list():
        if int(client["db"]) == database and int(client["id"]) != me:
            server.client_kill_filter(_id=client["id"])
    since = timezone.now()

    def rung() -> int | None:
        jobs = Job.objects.filter(
            kind="streams.render", status=JobStatus.QUEUED, created_at__gte=since
        )
        return next((j.pk for j in jobs if j.args["session_id"] == str(session.pk)), None)

    try:
        lost = wait_for(rung, timeout=2.5, interval=0.02)
    except AssertionError:
        lost = None
    dramatiq.get_broker().flush_all()
    return lost


def test_a_broker_interruption_never_stalls_the_listener(
    worker_process, live_server, vault, stream_app
):
    _workers(worker_process, None)
    lost: list[int | None] = []

    def interrupt(session: StreamSession) -> None:
        now = timezone.now()
        if lost or (now - session.origin).total_seconds() <= 12:
            return
        # Cut when the lead is one segment above the floor at which the web rings for a render
        # (rendering.render_needed), so the next publication (within a segment) rings while the
        # workers are still away (dramatiq's 3 s restart delay). Renders ring every
        # STREAM_RENDER_BATCH publications: a fixed moment would miss the ring half the time.
        last = selectors.latest_ready(session)
        edge = schedule.published_edge(session.origin, now)
        if last is not None and last.index + 1 - edge == schedule.lead_segments() + 1:
            lost.append(_cut_the_broker(session))

    listening = Listening(live_server, stream_app, seed=1503)
    outcome = listening.run(interrupt)

    assert lost and lost[0] is not None, "no render was rung while the broker was down"
    _assert_served(listening, outcome)
