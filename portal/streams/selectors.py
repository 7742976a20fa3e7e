"""Reads for the live player: sessions of an app, the controls timeline as the engine wants it,
a listener's dislikes and likes, segments, the playlist and what is heard now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet, Sum

from portal.clients.house import house_listener_user_id
from portal.clients.models import ClientApp
from portal.core.errors import NotFound
from portal.mixes.selectors import renderable_stems
from portal.stems.models import Stem
from portal.streams import engine, schedule
from portal.streams.models import (
    FeedbackEvent,
    SegmentStatus,
    StreamControl,
    StreamFeedback,
    StreamSegment,
    StreamSession,
)


def session_of_app(*, app: ClientApp | None, session_id: Any) -> StreamSession:
    """The session, if this app opened it. Another app's session is "not found", as a session
    that does not exist is: ids do not leak across apps."""
    if app is None:
        raise NotFound("not_found", "No such stream session.")
    session = StreamSession.objects.filter(pk=session_id, app=app).first() if session_id else None
    if session is None:
        raise NotFound("not_found", "No such stream session for this app.")
    return session


def session_of_listener(
    *, app: ClientApp | None, listener_id: str, session_id: Any
) -> StreamSession:
    """The session, if this app opened it for this listener: on the site's own player one
    signed-in user never reaches another's session (it is "not found", as for another app)."""
    session = session_of_app(app=app, session_id=session_id)
    if session.listener_id != listener_id:
        raise NotFound("not_found", "No such stream session of yours.")
    return session


def counted_seconds(session: StreamSession) -> float:
    """The seconds of the session the server counted as heard (services.counting): whole
    segments, delivered and then confirmed by a heartbeat. What the listener's time shows and
    what the stretches pay, as opposed to confirmed_s, the furthest position reported."""
    frames = (
        ready_segments(session)
        .filter(confirmed_at__isnull=False)
        .aggregate(total=Sum("frames"))["total"]
    )
    return round(int(frames or 0) / engine.SAMPLE_RATE, 3)


def known_moods() -> list[str]:
    """The moods at least one approved stem is tagged with: what a stream can honour."""
    moods: set[str] = set()
    for tags in renderable_stems().values_list("moods", flat=True):
        moods.update(str(m).strip().lower() for m in (tags or []) if str(m).strip())
    return sorted(moods)


def timeline(session: StreamSession) -> list[Any]:
    """Every control and feedback event of the session, in output-frame order."""
    events: list[tuple[int, float, int, Any]] = []
    for control in StreamControl.objects.filter(session=session):
        events.append(
            (
                control.at_frame,
                control.created_at.timestamp(),
                control.pk,
                engine.StreamEvent(
                    at_frame=int(control.at_frame),
                    kind="controls",
                    controls=engine.controls_of(control.controls),
                ),
            )
        )
    for feedback in StreamFeedback.objects.filter(session=session):
        events.append(
            (
                feedback.at_frame,
                feedback.created_at.timestamp(),
                feedback.pk,
                engine.StreamEvent(
                    at_frame=int(feedback.at_frame),
                    kind=str(feedback.event),
                    stems=frozenset(str(s) for s in feedback.stems),
                ),
            )
        )
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    return [event for *_, event in events]


def _dislike_keep() -> timedelta:
    return timedelta(seconds=int(getattr(settings, "STREAM_DISLIKE_SECONDS", 7 * 86400)))


def _like_keep() -> timedelta:
    return timedelta(seconds=int(getattr(settings, "STREAM_LIKE_SECONDS", 30 * 86400)))


def _own_stems(session: StreamSession) -> set[str]:
    """On the house app (the site's /listen/) the listener is a signed-in account, and the
    stems they uploaded or are credited on are left out of their stream: royalties' self-play
    rule looks at the app's owner only (a platform account, credited on nothing), so otherwise
    an artist would be paid for listening to their own stems."""
    user_id = house_listener_user_id(app_id=session.app_id, listener_id=session.listener_id)
    if user_id is None:
        return set()
    own = Stem.objects.filter(Q(artist_id=user_id) | Q(credits__artist_id=user_id))
    return {str(pk) for pk in own.values_list("pk", flat=True)}


@dataclass(frozen=True)
class ListenerPreferences:
    """A listener's feedback as of one moment: the stems kept out of their streams and the
    weight multipliers of the ones they liked."""

    excluded: frozenset[str]
    weights: dict[str, float]


@dataclass(frozen=True)
class FeedbackHistory:
    """A listener's dislikes and likes from `since` on (any session), and their own stems: what
    `at` turns into the preferences as of any moment from `since` on. A render run reads it once
    for all the segments it plans (within milliseconds of each other) instead of twice a
    segment; a feedback on this session bumps its generation, which ends the run."""

    since: datetime
    rows: tuple[tuple[str, datetime, tuple[str, ...]], ...]  # (event, created_at, stems)
    own: frozenset[str]

    def at(self, at: datetime) -> ListenerPreferences:
        """As `listener_preferences(session, at)`, for any `at` >= `since`."""
        if at < self.since:
            raise ValueError(f"feedback was read from {self.since}, not from {at}")
        dislike_keep, like_keep = _dislike_keep(), _like_keep()
        disliked: set[str] = set()
        liked: set[str] = set()
        for event, created_at, stems in self.rows:
            if created_at > at:
                continue
            if event == FeedbackEvent.DISLIKE and created_at > at - dislike_keep:
                disliked.update(stems)
            elif event == FeedbackEvent.LIKE and created_at > at - like_keep:
                liked.update(stems)
        excluded = frozenset(disliked | self.own)
        weight = float(getattr(settings, "STREAM_LIKE_WEIGHT", 2.0))
        return ListenerPreferences(
            excluded=excluded, weights={stem: weight for stem in sorted(liked - excluded)}
        )


def listener_feedback(session: StreamSession, since: datetime) -> FeedbackHistory:
    """The feedback that can count at `since` or later: the dislikes within STREAM_DISLIKE_SECONDS
    and the likes within STREAM_LIKE_SECONDS before it, and everything after. One query, and on
    the house app one for the listener's own stems."""
    rows = StreamFeedback.objects.filter(
        session__app_id=session.app_id,
        session__listener_id=session.listener_id,
        event__in=[FeedbackEvent.DISLIKE, FeedbackEvent.LIKE],
        created_at__gt=since - max(_dislike_keep(), _like_keep()),
    ).values_list("event", "created_at", "stems")
    return FeedbackHistory(
        since=since,
        rows=tuple(
            (event, created, tuple(str(s) for s in stems)) for event, created, stems in rows
        ),
        own=frozenset(_own_stems(session)),
    )


def listener_preferences(session: StreamSession, at: datetime) -> ListenerPreferences:
    """The stems this listener disliked within STREAM_DISLIKE_SECONDS before `at` (any session),
    and on the house app their own stems, are excluded; the ones liked within
    STREAM_LIKE_SECONDS get STREAM_LIKE_WEIGHT, unless excluded."""
    return listener_feedback(session, at).at(at)


def listener_excluded(session: StreamSession, at: datetime) -> frozenset[str]:
    return listener_preferences(session, at).excluded


def listener_weights(session: StreamSession, at: datetime) -> dict[str, float]:
    """Liked stems' weight multipliers (STREAM_LIKE_WEIGHT), minus any disliked since."""
    return listener_preferences(session, at).weights


def ready_segments(session: StreamSession) -> QuerySet[StreamSegment]:
    return StreamSegment.objects.filter(session=session, status=SegmentStatus.READY)


def latest_ready(session: StreamSession) -> StreamSegment | None:
    return ready_segments(session).order_by("-index").first()


def segment_ready(session: StreamSession, index: int) -> StreamSegment | None:
    return ready_segments(session).filter(index=index).first()


def state_before(session: StreamSession, index: int) -> Any:
    """The engine state at the start of segment `index`, or at the last boundary before it that
    is rendered (first_change_frame accepts any boundary at or before its frame)."""
    previous = ready_segments(session).filter(index__lt=index).order_by("-index").first()
    if previous is None:
        return engine.stream_open(seed=int(session.seed), controls=session.initial_controls)
    return engine.state_from_json(previous.state_after)


@dataclass(frozen=True)
class PlaylistView:
    text: str  # empty while nothing is published and rendered yet
    ended: bool
    last: int = -1  # the media sequence number of the last segment listed (-1: none)


def playlist(session: StreamSession, now: datetime) -> PlaylistView:
    """The live media playlist: the last STREAM_PLAYLIST_WINDOW segments that are published and
    rendered, contiguous from the window's start (RFC 8216 6.2.2 sliding window). An ended
    session's playlist ends at the last segment it delivered (EXT-X-ENDLIST). A live one
    declares blocking reloads (portal/streams/playback.py answers them)."""
    ended = not session.is_live
    edge = schedule.published_edge(session.origin, now)
    if ended:
        edge = min(edge, max(session.delivered_index, 0))
    first = max(0, edge - schedule.playlist_window() + 1)
    ready = set(
        ready_segments(session)
        .filter(index__gte=first, index__lte=edge)
        .values_list("index", flat=True)
    )
    listed: list[tuple[int, float, str]] = []
    for index in range(first, edge + 1):
        if index not in ready:
            break  # a gap: the player waits for it rather than skipping audio
        listed.append((index, engine.segment_seconds(), f"seg/{index}.m4s"))
    if not listed:
        return PlaylistView(text="", ended=ended)
    text = engine.media_playlist(
        segments=listed, init_uri="init.mp4", ended=ended, can_block_reload=True
    )
    return PlaylistView(text=text, ended=ended, last=listed[-1][0])


def now_playing(session: StreamSession, position_s: float | None) -> dict[str, Any]:
    """What sounds at `position_s` of the stream (the player's playhead), from the manifest of
    the delivered segment there, with each stem's title and credited artists."""
    seconds = engine.segment_seconds()
    if position_s is None or position_s < 0:
        index = max(session.delivered_index, 0)
    else:
        index = int(position_s // seconds)
    segment = segment_ready(session, index)
    if segment is None:
        segment = ready_segments(session).filter(index__lte=index).order_by("-index").first()
    if segment is None:
        return {
            "segment": None,
            "position_s": position_s,
            "stems": [],
            "controls": session.controls,
        }
    ids = [int(s) for s in segment.stems if str(s).isdigit()]
    stems = (
        Stem.objects.filter(pk__in=ids).select_related("artist").prefetch_related("credits__artist")
    )
    shown = []
    for stem in sorted(stems, key=lambda s: s.pk):
        artists = [c.artist.display_name for c in stem.credits.all()] or [stem.artist.display_name]
        shown.append({"id": stem.pk, "title": stem.title, "role": stem.role, "artists": artists})
    return {
        "segment": segment.index,
        "position_s": position_s,
        "stems": shown,
        "controls": session.controls,
    }
