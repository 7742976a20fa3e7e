"""Render ahead: keep STREAM_LEAD_SEGMENTS segments rendered beyond each live session's published
edge, on the render queue, STREAM_RENDER_BATCH segments at a time.

A "streams.render" job renders the session's next segments from the state stored on the last
ready one, so any worker continues any session. Each segment is committed under the session's
row lock, only if the job still holds its claim (job_claim_assert), the session's generation
is the one it rendered for (no change discarded the run meanwhile) and nobody committed that
index first (a conditional unique constraint backs this up): two workers never both commit a
segment. A worker killed mid-segment leaves its job running with a stale heartbeat; the
sweeper hands it to another worker, but only after JOB_STALE_AFTER_S, so a playlist fetch that
finds the lead a segment short with its job overdue sends a hedge job at once (see
render_needed): a listener's buffer never waits for the sweeper.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

from portal.jobs.models import Job, JobStatus
from portal.jobs.services import job_claim_assert, job_enqueue
from portal.streams import engine, schedule, selectors
from portal.streams.models import StreamSegment, StreamSession
from portal.streams.services.counting import stretch_open
from portal.streams.services.provenance import manifest_sign, self_output_register

RENDER_JOB_KIND = "streams.render"


def render_needed(*, session: StreamSession, now: datetime) -> bool:
    """Enqueue a render job if the session's next segment is within the lead; True if one is."""
    if not session.is_live:
        return False
    last = selectors.latest_ready(session)
    following = last.index + 1 if last is not None else 0
    edge = schedule.published_edge(session.origin, now)
    if following > edge + schedule.lead_segments():
        return False
    key = f"{RENDER_JOB_KIND}:{session.pk}:{session.generation}:{following}"
    args = {"session_id": str(session.pk), "generation": session.generation}
    job = job_enqueue(kind=RENDER_JOB_KIND, args=args, dedupe_key=key)
    if following < edge + schedule.lead_segments() and _overdue(job, now):
        # The lead is a segment short and the job for it has not delivered: its worker may be
        # dead (SIGKILL: the sweeper notices only after JOB_STALE_AFTER_S, longer than the
        # lead), stuck in a slow run, or its doorbell lost with a broker restart. A second job,
        # at most one per segment length, races it while the lead still covers a render; the
        # loser commits nothing. Waiting for the lead to run out first left the listener's
        # buffer a fraction of a segment.
        bucket = int(now.timestamp() // engine.segment_seconds())
        job_enqueue(kind=RENDER_JOB_KIND, args=args, dedupe_key=f"{key}:hedge:{bucket}")
    return True


def _overdue(job: Job, now: datetime) -> bool:
    """True if `job` has had half a segment length (tens of renders' worth) and the segment it
    was for is still missing: finished without it, or queued or running all that time."""
    if job.is_finished:
        return True
    since = job.started_at if job.status == JobStatus.RUNNING else job.enqueued_at
    since = since or job.created_at
    return (now - since).total_seconds() >= engine.segment_seconds() / 2


def _segment_wall_time(session: StreamSession, index: int) -> datetime:
    return schedule.publish_time(session.origin, index)


def _store(session: StreamSession, segment: Any, data: bytes) -> str:
    name = (
        f"streams/{session.pk}/{segment.index:07d}-g{session.generation}-"
        f"{uuid.uuid4().hex[:10]}.m4s"
    )
    return default_storage.save(name, ContentFile(data))


def _commit(
    session: StreamSession,
    segment: Any,
    *,
    generation: int,
    after: int | None,
    key: str,
    manifest: dict[str, Any],
    first_of_run: bool,
) -> tuple[StreamSegment, StreamSession] | None:
    """Record the rendered segment, or None if the run is void (see the module docstring).
    Returns the row and the session as locked for it (its fresh state, for the next segment)."""
    try:
        with transaction.atomic():
            locked = StreamSession.objects.select_for_update().get(pk=session.pk)
            job_claim_assert()
            # Only its id: the row itself carries the state and the manifest, tens of kB.
            previous = selectors.ready_segments(locked).order_by("-index").values("pk").first()
            if (
                not locked.is_live
                or locked.generation != generation
                or (previous["pk"] if previous else None) != after
            ):
                return None
            row = StreamSegment.objects.create(
                session=locked,
                index=segment.index,
                generation=generation,
                start_frame=segment.start_frame,
                frames=int(segment.samples.shape[0]),
                state_after=segment.state_after.to_json(),
                storage_key=key,
                manifest=manifest,
                stems=sorted(segment.stems, key=lambda s: (len(s), s)),
                rendered_at=timezone.now(),
            )
            if first_of_run or segment.index % schedule.stretch_segments() == 0:
                # A stretch opens with its first segment; a run that starts inside one (after
                # a change, or on another worker) checks it is there.
                stretch_open(session=locked, index=segment.index)
            return row, locked
    except IntegrityError:
        return None


def _render(
    session: StreamSession,
    state: Any,
    index: int,
    events: list[Any],
    feedback: selectors.FeedbackHistory,
) -> tuple[Any, Any]:
    """Plan, mix and master segment `index`; (the segment, its signed manifest and bytes)."""
    wall = _segment_wall_time(session, index)
    vault = engine.vault_now()
    preferences = feedback.at(wall)
    segment = engine.render_segment(
        state,
        vault=vault,
        events=events,
        excluded=preferences.excluded,
        weights=preferences.weights,
    )
    pcm = engine.delivered_pcm(segment)
    manifest = manifest_sign(
        engine.segment_manifest(
            segment, session_id=str(session.pk), seed=int(session.seed), vault=vault, pcm=pcm
        )
    )
    return segment, (manifest, engine.embed_manifest(engine.media_segment(segment, pcm), manifest))


def stream_render_ahead(
    *, session_id: str, generation: int, progress: Callable[[int], None]
) -> dict[str, Any]:
    """Render the session's next segments until the lead is met; a void run stops early.

    The session, its last segment and its timeline are read once: each commit re-reads the
    session under its lock (and hands it on), and every control or feedback bumps the
    generation, so a run whose timeline went stale commits nothing more. The vault is read for
    every segment (licence at planning time); the listener's feedback across sessions once a
    run (its segments are planned within milliseconds of each other), each segment taking the
    preferences as of its own wall time."""
    rendered: list[int] = []
    cache_before = engine.STEM_CACHE.hits
    session = StreamSession.objects.filter(pk=session_id).first()
    previous = selectors.latest_ready(session) if session is not None else None
    state = None if previous is None else engine.state_from_json(previous.state_after)
    events: list[Any] | None = None
    feedback: selectors.FeedbackHistory | None = None
    chunk = schedule.self_output_segments()
    checked: int | None = None  # `below` at the last self-output check
    while session is not None and session.is_live and session.generation == generation:
        now = timezone.now()
        if session.last_activity_at + schedule.idle_after() <= now:
            break  # nobody is listening: the idle timer ends it
        edge = schedule.published_edge(session.origin, now)
        index = previous.index + 1 if previous is not None else 0
        if index > edge + schedule.lead_segments() + schedule.render_batch() - 1:
            break
        if state is None:
            state = engine.stream_open(seed=int(session.seed), controls=session.initial_controls)
        if events is None:
            events = selectors.timeline(session)
        if feedback is None:
            feedback = selectors.listener_feedback(session, _segment_wall_time(session, index))
        segment, (manifest, data) = _render(session, state, index, events, feedback)
        key = _store(session, segment, data)
        committed = _commit(
            session,
            segment,
            generation=generation,
            after=previous.pk if previous else None,
            key=key,
            manifest=manifest,
            first_of_run=not rendered,
        )
        if committed is None:
            default_storage.delete(key)
            break
        previous, session = committed
        state = segment.state_after  # what the row stores, without its JSON round trip
        rendered.append(previous.index)
        # Every segment: where a lost claim or the time limit stops the run. One value for the
        # whole run (its length is the lead's shortfall, no fraction of anything), so the job's
        # row is written once a run, not once a segment (the heartbeat thread keeps it fresh).
        progress(50)
        boundary = max(session.delivered_index, edge) + 1
        below = min(boundary, previous.index + 1)
        # A chunk becomes whole only when `below` crosses a multiple of its size: between
        # crossings in one run there is nothing new to register (and nothing to ask the DB).
        if checked is None or below // chunk != checked // chunk:
            self_output_register(session=session, below=below)
            checked = below
    return {
        "session_id": session_id,
        "generation": generation,
        "rendered": rendered,
        "stem_cache_hits": engine.STEM_CACHE.hits - cache_before,
    }
