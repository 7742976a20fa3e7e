"""Counting what a stream's listener heard, server-side, and paying it through royalties.

The rule: a segment counts once, when (1) the server delivered it (the segment view records
its first fetch; a second fetch changes nothing) and (2) a heartbeat received after that fetch
reports a playback position at or past the segment's end. The position is capped by the wall
time elapsed since the session's origin (nobody hears 60 s of stream in 10 s), so a client that
fetches far ahead, replays fetches or invents heartbeats for segments it never fetched earns
nothing for them; the server's clock dates everything, so nothing can be backdated.
(3) The listener's ears were free: a listener's counted segments, over all their sessions,
lie one after another on the wall clock (two streams at once pay for one), and (4) the day's
cap of STREAM_DAILY_CAP_SECONDS paid seconds per listener has room. Both are decided under the
listener's row lock (StreamListener), so concurrent heartbeats of two sessions serialise.

Counted seconds are paid in stretches of STREAM_PLAY_SECONDS: each stretch is a mix of kind
"stream" whose signed manifest concatenates its counted segments' per-second attribution, and
its listening is one play of that mix, ingested by royalties.plays_ingest like an app's play.
From there the period close, ledger, statements and verify_period treat it as any play, and
each statement detail leads back to the stretch, its session and its segments.
"""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from portal.core.errors import ApplicationError, NotFound
from portal.mixes.models import Mix, MixStem, RenderKind, RenderStatus
from portal.royalties.services import plays_ingest
from portal.streams import engine, schedule, selectors
from portal.streams.checks import segment_frames_whole_seconds
from portal.streams.models import StreamListener, StreamSegment, StreamSession, StreamStretch
from portal.streams.services.provenance import manifest_sign

# Play event ids of stretches: uuid5 of (session, stretch number), so settling twice is one play.
STRETCH_NAMESPACE = uuid.UUID("6b1f8d1e-57a3-4c1e-9a53-3c2f2f6f0a15")


def stretch_open(*, session: StreamSession, index: int) -> StreamStretch:
    """The stretch segment `index` belongs to, with its mix, created before any of its audio is
    heard (royalties refuses plays that start before their mix existed)."""
    number = index // schedule.stretch_segments()
    existing = StreamStretch.objects.filter(session=session, number=number).first()
    if existing is not None:
        return existing
    mix = Mix.objects.create(
        kind=RenderKind.STREAM,
        client_app_id=session.app_id,
        request={"stream_session": str(session.pk), "stretch": number},
        status=RenderStatus.RENDERING,
    )
    return StreamStretch.objects.create(session=session, number=number, mix=mix)


@transaction.atomic
def segment_fetch_record(
    *, session_id: Any, index: int, now: datetime | None = None
) -> StreamSegment:
    """Deliver segment `index`: refused before it is published, recorded on its first fetch.

    Under the session's row lock, so a change of controls sees either this delivery (and keeps
    the segment) or none (and the segment is replaced before anyone has it)."""
    now = now or timezone.now()
    session = StreamSession.objects.select_for_update().filter(pk=session_id).first()
    if session is None:
        raise NotFound("not_found", "No such stream.")
    if index > schedule.published_edge(session.origin, now):
        raise NotFound("not_published", f"Segment {index} is not published yet.")
    segment = selectors.segment_ready(session, index)
    if segment is None:
        raise NotFound("not_rendered", f"Segment {index} is not ready; retry shortly.")
    if not session.is_live or session.last_activity_at + schedule.idle_after() <= now:
        return segment  # an ended or idle stream's segments may be fetched, never counted
    if segment.fetched_at is None:
        StreamSegment.objects.filter(pk=segment.pk, fetched_at__isnull=True).update(fetched_at=now)
        segment.fetched_at = now
    fields: dict[str, Any] = {"last_activity_at": now}
    if index > session.delivered_index:
        fields["delivered_index"] = index
    StreamSession.objects.filter(pk=session.pk).update(**fields)
    return segment


def confirm_position(*, session: StreamSession, position_s: Any, now: datetime) -> int:
    """Apply a heartbeat's position to the locked session: count the delivered segments that
    end at or before it. Returns how many segments it newly counted."""
    if isinstance(position_s, bool) or not isinstance(position_s, int | float):
        raise ApplicationError(
            "invalid_position",
            "position_s is the player's playback position in seconds of the stream.",
            fields={"position_s": ["a number of seconds, 0 or more"]},
        )
    position = float(position_s)
    if not math.isfinite(position) or position < 0:
        raise ApplicationError(
            "invalid_position",
            "position_s is 0 or more.",
            fields={"position_s": ["a number of seconds, 0 or more"]},
        )
    position = min(position, schedule.elapsed_s(session.origin, now))
    frames = math.floor(position * engine.SAMPLE_RATE)
    due = [
        segment
        for segment in selectors.ready_segments(session)
        .filter(confirmed_at__isnull=True, fetched_at__isnull=False, fetched_at__lte=now)
        .order_by("index")
        if segment.end_frame <= frames
    ]
    counted = 0
    if due:
        listener = listener_lock(session)
        for segment in due:
            counted += _segment_count(listener, segment, position=position, now=now)
        StreamListener.objects.filter(pk=listener.pk).update(
            heard_until=listener.heard_until,
            cap_day=listener.cap_day,
            cap_frames=listener.cap_frames,
        )
    if position > session.confirmed_s:
        session.confirmed_s = position
    session.last_activity_at = now
    StreamSession.objects.filter(pk=session.pk).update(
        confirmed_s=session.confirmed_s, last_activity_at=now
    )
    return counted


def listener_lock(session: StreamSession) -> StreamListener:
    """The session's listener row, locked. Taken after the session's own lock (every counting
    path locks in that order, so two sessions of one listener cannot deadlock): from here to the
    commit, no other session of this listener counts anything, on PostgreSQL as on SQLite."""
    listener, _ = StreamListener.objects.get_or_create(
        app_id=session.app_id, listener_id=session.listener_id
    )
    return StreamListener.objects.select_for_update().get(pk=listener.pk)


def overlap_slack() -> timedelta:
    return timedelta(milliseconds=int(getattr(settings, "STREAM_OVERLAP_SLACK_MS", 500)))


def daily_cap_frames() -> int:
    return int(getattr(settings, "STREAM_DAILY_CAP_SECONDS", 12 * 3600)) * engine.SAMPLE_RATE


def _segment_count(
    listener: StreamListener, segment: StreamSegment, *, position: float, now: datetime
) -> int:
    """Count one delivered segment the heartbeat played through, if the listener's ears were
    free then and the day's cap has room. Returns 1 if it counted.

    When it was heard: the heartbeat says the playhead is at `position` now, so the segment's
    end played (position - end) seconds ago. That interval can never be in the future (end <=
    position) nor before the publication schedule allows (position <= elapsed time), whatever
    the client sends. One pair of ears hears one stream at a time: the listener's counted
    intervals, over all their sessions, lie one after another on the wall clock. A segment
    heard before `heard_until` (another session's, or its own, counted listening) does not
    count; one that starts within STREAM_OVERLAP_SLACK_MS of it (jitter between heartbeats) is
    moved to start there, so the slack never accumulates: a listener's counted seconds never
    exceed the wall clock by more than the slack, however many sessions they run."""
    seconds = segment.frames / engine.SAMPLE_RATE
    until = now - timedelta(seconds=position - segment.end_frame / engine.SAMPLE_RATE)
    since = until - timedelta(seconds=seconds)
    if listener.heard_until is not None and since < listener.heard_until:
        if listener.heard_until - since > overlap_slack():
            return 0  # heard while the listener was already counted as hearing something
        since = listener.heard_until
        until = since + timedelta(seconds=seconds)
    day = since.astimezone(UTC).date()
    spent = listener.cap_frames if listener.cap_day == day else 0
    if spent + segment.frames > daily_cap_frames():
        return 0  # STREAM_DAILY_CAP_SECONDS of this listener's UTC day are paid already
    if not StreamSegment.objects.filter(pk=segment.pk, confirmed_at__isnull=True).update(
        confirmed_at=now, heard_from=since, heard_until=until
    ):
        return 0
    listener.heard_until = until
    listener.cap_day, listener.cap_frames = day, spent + segment.frames
    return 1


def stretches_settle(*, session: StreamSession, now: datetime, final: bool = False) -> int:
    """Pay every stretch whose time has passed the confirmed position (or all, once the session
    is over) and is not paid yet. Returns how many it settled."""
    size = schedule.stretch_segments()
    settled = 0
    for stretch in StreamStretch.objects.filter(session=session, settled_at__isnull=True).order_by(
        "number"
    ):
        end_s = (stretch.number + 1) * size * engine.segment_seconds()
        if final or session.confirmed_s >= end_s:
            _stretch_settle(session, stretch, now)
            settled += 1
    return settled


def _stretch_settle(session: StreamSession, stretch: StreamStretch, now: datetime) -> None:
    size = schedule.stretch_segments()
    segments = list(
        selectors.ready_segments(session)
        .filter(
            index__gte=stretch.number * size,
            index__lt=(stretch.number + 1) * size,
            confirmed_at__isnull=False,
        )
        .order_by("index")
    )
    mix = Mix.objects.select_for_update().get(pk=stretch.mix_id)
    stretch.settled_at = now
    if not segments:
        mix.status, mix.error, mix.finished_at = RenderStatus.FAILED, "Nothing was heard.", now
        mix.save(update_fields=["status", "error", "finished_at"])
        stretch.save(update_fields=["settled_at"])
        return
    manifest = stretch_manifest(session, stretch, segments)
    seconds = sum(s.frames for s in segments) / engine.SAMPLE_RATE
    mix.manifest = manifest
    mix.duration_s = seconds
    mix.duration_ms = round(seconds * 1000)
    mix.status, mix.finished_at = RenderStatus.DONE, now
    mix.save(update_fields=["manifest", "duration_s", "duration_ms", "status", "finished_at"])
    used = sorted({int(e["id"]) for e in manifest["stems"] if str(e["id"]).isdigit()})
    MixStem.objects.bulk_create([MixStem(mix=mix, stem_id=i) for i in used], ignore_conflicts=True)
    StreamSegment.objects.filter(pk__in=[s.pk for s in segments]).update(play_mix=mix)
    event_id = uuid.uuid5(STRETCH_NAMESPACE, f"{session.pk}:{stretch.number}")
    started = schedule.stream_time(session.origin, segments[0].start_frame)
    result = plays_ingest(
        events=[
            {
                "event_id": str(event_id),
                "mix_id": str(mix.pk),
                "listener_id": session.listener_id,
                "started_at": started.isoformat(),
                "ms_played": mix.duration_ms,
                "client": "stream",
            }
        ],
        app=session.app,
    )
    if result.rejected:
        # Our own server-side play refused: a bug to see, never to pay around silently.
        raise ApplicationError("stream_play_refused", result.rejected[0].message, status=500)
    stretch.seconds = seconds
    stretch.play_event_id = event_id
    stretch.save(update_fields=["settled_at", "seconds", "play_event_id"])


def stretch_manifest(
    session: StreamSession, stretch: StreamStretch, segments: list[StreamSegment]
) -> dict[str, Any]:
    """The stretch's signed manifest: `stretch_body` with the stems' credits, signed."""
    return manifest_sign(stretch_body(session, stretch, segments))


def stretch_body(
    session: StreamSession, stretch: StreamStretch, segments: list[StreamSegment]
) -> dict[str, Any]:
    """The stretch's manifest before credits and signature: its stems (from the segments'
    signed manifests), the per-second attribution of the counted segments back to back, and
    each segment's index, frames and signature, so any second traces to the segment it came
    from. Pure over the rows: verify_period's streams check rebuilds it to compare."""
    stems: dict[str, dict[str, Any]] = {}
    seconds: list[dict[str, Any]] = []
    trace: list[dict[str, Any]] = []
    placed = 0
    for segment in segments:
        if not segment_frames_whole_seconds(segment.frames):
            # Its per-second map cannot be laid after the previous one (see checks.py, which
            # refuses such a STREAM_SEGMENT_SECONDS at start-up): paying it would misattribute.
            raise ApplicationError(
                "segment_not_whole_seconds",
                f"Segment {segment.index} of stream {session.pk} lasts {segment.frames} frames, "
                f"not a whole number of seconds at {engine.SAMPLE_RATE} Hz; set "
                "STREAM_SEGMENT_SECONDS to a whole number.",
                status=500,
            )
        for entry in segment.manifest.get("stems") or []:
            stems.setdefault(str(entry.get("id")), {"id": str(entry.get("id"))})
        # Placed by frames, not by rows counted so far: a segment's map may omit silent seconds.
        offset = placed // engine.SAMPLE_RATE
        placed += int(segment.frames)
        for row in (segment.manifest.get("attribution") or {}).get("seconds") or []:
            seconds.append({"t": offset + int(row["t"]), "shares": dict(row.get("shares") or {})})
        trace.append(
            {
                "index": segment.index,
                "start_frame": segment.start_frame,
                "frames": segment.frames,
                "signature": _signature_of(segment.manifest),
            }
        )
    manifest = {
        "format": "stemvault.stream-stretch/1",
        "render_id": str(stretch.mix_id),
        "stream": {
            "session_id": str(session.pk),
            "stretch": stretch.number,
            "seed": int(session.seed),
            "segments": trace,
        },
        "stems": [stems[k] for k in sorted(stems, key=lambda s: (len(s), s))],
        "attribution": {"resolution_s": 1, "seconds": seconds},
    }
    return manifest


def _signature_of(manifest: dict[str, Any]) -> Any:
    """The segment manifest's signature: schema 2's detached JWS (schema 1's value before it),
    which pins every byte of the segment's manifest to the stretch that paid it."""
    block = manifest.get("signature") or {}
    return block.get("jws") or block.get("value")
