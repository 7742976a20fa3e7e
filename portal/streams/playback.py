"""The HLS side of a session: its live media playlist, init segment and media segments.

Players (hls.js, Safari's native HLS, ffmpeg) fetch these with no credentials of their own, so
the URLs carry a capability: the session id and an HMAC of it (django.core.signing). The views
keep nothing in memory between requests: the playlist comes from the session's rows and the
clock (portal/streams/schedule.py), the segments from storage.

Blocking playlist reloads (RFC 8216bis 6.2.5.2; the playlist declares CAN-BLOCK-RELOAD=YES): a
reload that asks for a segment not listed yet (`?_HLS_msn=M`) is held until segment M is
listed, then answered at once, so a player learns of a segment at its publication time instead
of up to a reload interval later, and publication can run only a fraction of a segment ahead of
the playhead (portal/streams/schedule.py). The wait needs no per-listener state: publication is
a pure function of the session's origin and the clock, so the view sleeps until M's publication
time and then reads the rows as any reload does (polling briefly only if the worker has not
stored M yet). It is bounded: three target durations, then 503 (the RFC's timeout), and a
request more than two segments beyond the live edge is refused with 400 at once.

Segments are served by the web process, not redirected to storage: each fetch must reach the
server to be counted (and to be refused ahead of its publication time), and the bytes then come
from the same origin as the page, which needs no CORS on the bucket. A CDN in front would cache
the init segment only.
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta

from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from portal.core.errors import NotFound
from portal.streams import engine, schedule, selectors
from portal.streams.models import StreamSession
from portal.streams.services.counting import segment_fetch_record
from portal.streams.services.provenance import init_bytes, segment_bytes
from portal.streams.services.rendering import render_needed

_SIGNER = signing.Signer(salt="stemvault.streams.playback")
FIRST_SEGMENT_WAIT_S = 3.0
BLOCK_TARGET_DURATIONS = 3  # RFC 8216bis 6.2.5.2: a held reload times out after 3 x target
BLOCK_AHEAD_LIMIT = 2  # 6.2.5.2: _HLS_msn beyond the last listed segment + 2 is a bad request
LATE_POLL_S = 0.05  # past its publication time, how often a held reload looks for the segment
_sleep = time.sleep  # tests put their clock's advance here
PLAYLIST_TYPE = "application/vnd.apple.mpegurl"  # RFC 8216 4
SEGMENT_TYPE = "audio/mp4"


def playback_token(session_id: object) -> str:
    return _SIGNER.signature(str(session_id))


def playlist_path(session: StreamSession) -> str:
    return reverse("streams-playlist", args=[session.pk, playback_token(session.pk)])


def _session(session_id: uuid.UUID | str, token: str) -> StreamSession:
    if not constant_time_compare(token, playback_token(session_id)):
        raise Http404("No such stream.")
    session = StreamSession.objects.filter(pk=session_id).first()
    if session is None:
        raise Http404("No such stream.")
    return session


def _uint(value: str, name: str) -> int:
    if not value.isascii() or not value.isdigit():
        raise ValueError(f"{name} is a whole number >= 0; got {value!r}.")
    return int(value)


def requested_sequence(request: HttpRequest) -> int | None:
    """The `_HLS_msn` delivery directive of a playlist request (None: an ordinary reload).
    `_HLS_part` is checked and then ignored: the playlist has no partial segments, so a part
    of segment M is available exactly when M is. `_HLS_skip` is ignored: no delta updates
    are offered (no CAN-SKIP-UNTIL), so a client asking for one gets the whole playlist."""
    msn, part = request.GET.get("_HLS_msn"), request.GET.get("_HLS_part")
    if part is not None:
        if msn is None:
            raise ValueError("_HLS_part needs _HLS_msn (RFC 8216bis 6.2.5.2).")
        _uint(part, "_HLS_part")
    return None if msn is None else _uint(msn, "_HLS_msn")


def _plain(text: str, status: int) -> HttpResponse:
    response = HttpResponse(text, status=status, content_type="text/plain")
    response["Cache-Control"] = "no-store"
    return response


def held_playlist(
    session: StreamSession, msn: int, since: datetime
) -> selectors.PlaylistView | None:
    """The playlist once it lists segment `msn`, or once the session has ended; None if neither
    happens within BLOCK_TARGET_DURATIONS target durations of `since`. Sleeps to the segment's
    publication time (the schedule says when), then reads; only a segment the worker has not
    stored by then is polled for, every LATE_POLL_S."""
    deadline = since + timedelta(seconds=BLOCK_TARGET_DURATIONS * engine.target_duration())
    due = schedule.publish_time(session.origin, msn)
    ring_at = due
    while True:
        now = timezone.now()
        wake = due if now < due else now + timedelta(seconds=LATE_POLL_S)
        _sleep(max(0.0, (min(wake, deadline) - now).total_seconds()))
        now = timezone.now()
        current = StreamSession.objects.filter(pk=session.pk).first()
        if current is None:
            return None
        view = selectors.playlist(current, now)
        if view.ended or view.last >= msn:
            # Answered before anything else: the player's next reload, which follows this
            # answer and its segment fetch at once, rings for the renders (playlist_view), so
            # they run while it waits rather than beside the fetch.
            return view
        if now >= deadline:
            return None
        if now >= ring_at:
            # Late: the segment's render has not landed; let the render-ahead's hedge look
            # (a second job once the first is half a segment overdue), every half segment.
            render_needed(session=current, now=now)
            ring_at = now + timedelta(seconds=engine.segment_seconds() / 2)


def playlist_view(request: HttpRequest, session_id: uuid.UUID | str, token: str) -> HttpResponse:
    session = _session(session_id, token)
    try:
        msn = requested_sequence(request)
    except ValueError as exc:
        return _plain(str(exc), 400)
    now = timezone.now()
    # The player reloads the playlist once a segment (held until the next one is published):
    # that is what keeps the render lead topped up while somebody listens, and lets it lapse
    # when nobody does.
    render_needed(session=session, now=now)
    view = selectors.playlist(session, now)
    if msn is not None and view.text and not view.ended and msn > view.last:
        if msn > view.last + BLOCK_AHEAD_LIMIT:
            return _plain(
                f"_HLS_msn={msn} is more than {BLOCK_AHEAD_LIMIT} segments beyond the last one "
                f"listed ({view.last}); ask for {view.last + 1}.",
                400,
            )
        held = held_playlist(session, msn, now)
        if held is None:
            response = _plain(f"Segment {msn} is not ready yet; retry.", 503)
            response["Retry-After"] = "1"
            return response
        view = held
    waited = 0.0
    while not view.text and not view.ended and waited < FIRST_SEGMENT_WAIT_S:
        # A fresh session: its first segment is a few tens of ms away on a worker. Waiting
        # here answers the player as soon as it exists, not after hls.js's 1 s retry delay.
        time.sleep(0.02)
        waited += 0.02
        view = selectors.playlist(session, timezone.now())
    if not view.text:
        response = HttpResponse("No segment is ready yet; retry.", status=404)
        response["Cache-Control"] = "no-store"
        response["Retry-After"] = "1"
        return response
    response = HttpResponse(view.text, content_type=PLAYLIST_TYPE)
    response["Cache-Control"] = "no-cache" if not view.ended else "max-age=60"
    return response


def init_view(request: HttpRequest, session_id: uuid.UUID | str, token: str) -> HttpResponse:
    _session(session_id, token)
    response = HttpResponse(init_bytes(), content_type=SEGMENT_TYPE)
    response["Cache-Control"] = "public, max-age=86400"
    return response


def segment_view(
    request: HttpRequest, session_id: uuid.UUID | str, token: str, index: int
) -> HttpResponse:
    session = _session(session_id, token)
    try:
        segment = segment_fetch_record(session_id=session.pk, index=index)
    except NotFound as exc:
        # Not published yet, or not rendered yet: hls.js retries a 404 fragment load.
        response = HttpResponse(exc.message, status=404, content_type="text/plain")
        response["Cache-Control"] = "no-store"
        return response
    response = HttpResponse(segment_bytes(segment), content_type=SEGMENT_TYPE)
    # Not cacheable by shared caches: every delivery must reach the server to be counted.
    response["Cache-Control"] = "private, no-store"
    return response
