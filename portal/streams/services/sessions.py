"""Writes for stream sessions: open, change the controls, give feedback, end, expire when idle."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from portal.clients.models import ClientApp
from portal.core.errors import ApplicationError, Conflict
from portal.core.music import parse_key
from portal.jobs.services import job_enqueue
from portal.streams import engine, schedule, selectors
from portal.streams.models import (
    FeedbackEvent,
    SegmentStatus,
    SessionStatus,
    StreamControl,
    StreamFeedback,
    StreamSession,
)
from portal.streams.services.counting import confirm_position, stretches_settle
from portal.streams.services.rendering import render_needed

EXPIRE_JOB_KIND = "streams.expire"
MAX_SEED = 2**31 - 1


def _validated_controls(
    *, mood: str, intensity: Any, bpm: Any = None, key: Any = None
) -> dict[str, Any]:
    fields: dict[str, list[str]] = {}
    mood = str(mood or "").strip().lower()
    known = selectors.known_moods()
    if not mood:
        fields["mood"] = ["Name a mood."]
    elif mood not in known:
        listed = ", ".join(known) if known else "none yet: the vault has no approved stems"
        fields["mood"] = [f"Unknown mood {mood!r}. Known moods: {listed}."]
    if (
        isinstance(intensity, bool)
        or not isinstance(intensity, int | float)
        or not 0.0 <= float(intensity) <= 1.0
    ):
        fields["intensity"] = ["intensity is a number from 0 to 1."]
    if bpm is not None and (
        isinstance(bpm, bool) or not isinstance(bpm, int | float) or not 40 <= float(bpm) <= 240
    ):
        fields["bpm"] = ["bpm is a number from 40 to 240, or left out."]
    if key not in (None, "") and parse_key(str(key)) is None:
        fields["key"] = [f"Unreadable key {key!r}: write e.g. A minor, F#m or Bb."]
    if fields:
        raise ApplicationError(
            "invalid_controls",
            "Some stream controls need fixing: "
            + " ".join(m for ms in fields.values() for m in ms),
            fields=fields,
            extra={"known_moods": known},
        )
    return {
        "mood": mood,
        "intensity": round(float(intensity), 4),
        "bpm": float(bpm) if bpm is not None else None,
        "key": str(key) if key not in (None, "") else None,
    }


def _live_sessions(app: ClientApp, now: datetime) -> int:
    return StreamSession.objects.filter(
        app=app, status=SessionStatus.LIVE, last_activity_at__gt=now - schedule.idle_after()
    ).count()


def _schedule_expiry(session: StreamSession) -> None:
    due = session.last_activity_at + schedule.idle_after()
    job_enqueue(
        kind=EXPIRE_JOB_KIND,
        args={"session_id": str(session.pk)},
        dedupe_key=f"{EXPIRE_JOB_KIND}:{session.pk}:{int(due.timestamp())}",
        run_after=due,
    )


@transaction.atomic
def stream_create(
    *,
    app: ClientApp | None,
    listener_id: str,
    mood: str,
    intensity: Any,
    bpm: Any = None,
    key: Any = None,
    seed: Any = None,
) -> StreamSession:
    """Open a live session for one of the app's listeners and start rendering its first
    segments. Refused over the app's STREAM_MAX_SESSIONS_PER_APP live sessions."""
    if app is None:
        raise ApplicationError(
            "app_credential_required",
            "Streams are opened with a client app's credential (Authorization: Bearer sva_...).",
            status=403,
        )
    listener_id = str(listener_id or "").strip()
    if not listener_id or len(listener_id) > 128:
        raise ApplicationError(
            "invalid_listener_id",
            "listener_id is the app's own id of the listener, 1 to 128 characters.",
            fields={"listener_id": ["1 to 128 characters."]},
        )
    controls = _validated_controls(mood=mood, intensity=intensity, bpm=bpm, key=key)
    if seed is None:
        seed = secrets.randbelow(MAX_SEED + 1)
    elif isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise ApplicationError(
            "invalid_seed",
            f"seed is a whole number from 0 to {MAX_SEED}, or left out.",
            fields={"seed": [f"0 to {MAX_SEED}."]},
        )
    now = timezone.now()
    limit = int(getattr(settings, "STREAM_MAX_SESSIONS_PER_APP", 500))
    # Locks the app row: two requests at the limit cannot both pass the count.
    ClientApp.objects.select_for_update().filter(pk=app.pk).first()
    if _live_sessions(app, now) >= limit:
        raise ApplicationError(
            "too_many_sessions",
            f"This app has {limit} live stream sessions (STREAM_MAX_SESSIONS_PER_APP); end one "
            "or let one go idle first.",
            status=429,
        )
    session = StreamSession(
        app=app,
        listener_id=listener_id,
        seed=seed,
        initial_controls=controls,
        controls=controls,
        origin=now,
        last_activity_at=now,
    )
    session.full_clean()
    session.save()
    _schedule_expiry(session)
    render_needed(session=session, now=now)
    return session


def _lock_live(session: StreamSession, now: datetime) -> StreamSession:
    """The session row, locked; Conflict unless it is live and not idle."""
    locked = StreamSession.objects.select_for_update().get(pk=session.pk)
    if locked.is_live and locked.last_activity_at + schedule.idle_after() <= now:
        # Idle already: the expiry job records it (raising here would roll that write back).
        raise Conflict("session_over", "This stream session went idle; open a new one.")
    if not locked.is_live:
        raise Conflict(
            "session_over",
            f"This stream session is {locked.get_status_display().lower()}; open a new one.",
        )
    return locked


def _touch(session: StreamSession, now: datetime) -> None:
    session.last_activity_at = now
    StreamSession.objects.filter(pk=session.pk).update(last_activity_at=now)


@dataclass(frozen=True)
class Change:
    session: StreamSession
    at_frame: int
    heard_from_frame: int

    @property
    def heard_from_s(self) -> float:
        return round(self.heard_from_frame / engine.SAMPLE_RATE, 3)


def _change_point(session: StreamSession, now: datetime) -> tuple[int, int]:
    """(first segment index a change can reach, its first frame): after everything already
    delivered or published, since a published segment may be in a player's hands already (and a
    URI a live playlist listed may not leave it again, RFC 8216 6.2.2). Publication runs only
    STREAM_PUBLISH_AHEAD_S ahead of real time, so this waits out at most that plus a segment."""
    boundary = max(session.delivered_index, schedule.published_edge(session.origin, now)) + 1
    return boundary, schedule.frame_of_index(boundary)


def _discard_ahead(session: StreamSession, boundary: int) -> None:
    """Segments rendered ahead of `boundary` go; the next render starts from what was delivered."""
    selectors.ready_segments(session).filter(index__gte=boundary).update(
        status=SegmentStatus.DISCARDED
    )
    session.generation += 1
    StreamSession.objects.filter(pk=session.pk).update(generation=session.generation)


@transaction.atomic
def stream_controls_change(
    *, session: StreamSession, mood: Any = None, intensity: Any = None
) -> Change:
    """Change mood and/or intensity from the first bar line after what was delivered."""
    now = timezone.now()
    session = _lock_live(session, now)
    if mood is None and intensity is None:
        raise ApplicationError(
            "nothing_to_change", "Send mood, intensity or both.", fields={"mood": ["or intensity"]}
        )
    current = dict(session.controls)
    controls = _validated_controls(
        mood=current["mood"] if mood is None else mood,
        intensity=current["intensity"] if intensity is None else intensity,
        bpm=current.get("bpm"),
        key=current.get("key"),
    )
    boundary, at_frame = _change_point(session, now)
    heard = engine.first_change_frame(selectors.state_before(session, boundary), at_frame)
    StreamControl.objects.create(
        session=session, controls=controls, at_frame=at_frame, heard_from_frame=heard
    )
    session.controls = controls
    StreamSession.objects.filter(pk=session.pk).update(controls=controls)
    _discard_ahead(session, boundary)
    _touch(session, now)
    render_needed(session=session, now=now)
    return Change(session, at_frame, heard)


def _stems_heard(session: StreamSession) -> list[str]:
    """The stems audible at the listener's moment: the delivered segment at the last confirmed
    playhead, else the last one delivered."""
    seconds = engine.segment_seconds()
    candidates = []
    if session.confirmed_s > 0:
        candidates.append(int(session.confirmed_s // seconds))
    candidates.append(session.delivered_index)
    for index in candidates:
        segment = selectors.segment_ready(session, index) if index >= 0 else None
        if segment is not None and segment.fetched_at is not None:
            return [str(s) for s in segment.stems]
    return []


@transaction.atomic
def stream_feedback_give(*, session: StreamSession, event: str) -> tuple[StreamFeedback, Change]:
    """like | dislike | skip, from the first bar line after what was delivered."""
    if event not in FeedbackEvent.values:
        raise ApplicationError(
            "invalid_event",
            "event is like, dislike or skip.",
            fields={"event": ["like, dislike or skip"]},
        )
    now = timezone.now()
    session = _lock_live(session, now)
    stems = _stems_heard(session) if event != FeedbackEvent.SKIP else []
    if event != FeedbackEvent.SKIP and not stems:
        raise Conflict(
            "nothing_heard_yet", f"Nothing has been delivered to {event} yet; play first."
        )
    boundary, at_frame = _change_point(session, now)
    heard = engine.first_change_frame(selectors.state_before(session, boundary), at_frame)
    feedback = StreamFeedback.objects.create(
        session=session, event=event, stems=stems, at_frame=at_frame, heard_from_frame=heard
    )
    _discard_ahead(session, boundary)
    _touch(session, now)
    render_needed(session=session, now=now)
    return feedback, Change(session, at_frame, heard)


def _expire(session: StreamSession, now: datetime, *, status: str = SessionStatus.IDLE) -> None:
    session.status = status
    session.ended_at = (
        min(now, session.last_activity_at + schedule.idle_after())
        if status == SessionStatus.IDLE
        else now
    )
    StreamSession.objects.filter(pk=session.pk).update(
        status=session.status, ended_at=session.ended_at
    )
    stretches_settle(session=session, now=now, final=True)


@transaction.atomic
def stream_end(*, session: StreamSession, position_s: Any = None) -> StreamSession:
    """End a session; a final playback position confirms what was heard up to it first."""
    now = timezone.now()
    session = _lock_live(session, now)
    if position_s is not None:
        confirm_position(session=session, position_s=position_s, now=now)
    _expire(session, now, status=SessionStatus.ENDED)
    return session


@transaction.atomic
def stream_expire_if_idle(*, session_id: str) -> str:
    """The idle timer: end a session nobody fetched or confirmed for STREAM_IDLE_SECONDS, or
    set the timer again for its latest activity."""
    now = timezone.now()
    session = StreamSession.objects.select_for_update().filter(pk=session_id).first()
    if session is None or not session.is_live:
        return "over"
    if session.last_activity_at + schedule.idle_after() <= now:
        _expire(session, now)
        return "expired"
    _schedule_expiry(session)
    return "rescheduled"


@transaction.atomic
def stream_heartbeat(*, session: StreamSession, position_s: Any) -> StreamSession:
    """The player's playback position: confirms the delivered segments it has played through
    (see services.counting) and pays the stretches it completes."""
    now = timezone.now()
    session = _lock_live(session, now)
    confirm_position(session=session, position_s=position_s, now=now)
    stretches_settle(session=session, now=now)
    return session
