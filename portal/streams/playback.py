"""The HLS side of a session: its live media playlist, init segment and media segments.

Players (hls.js, Safari's native HLS, ffmpeg) fetch these with no credentials of their own, so
the URLs carry a capability: the session id and an HMAC of it (django.core.signing). The views
keep nothing in memory between requests: the playlist comes from the session's rows and the
clock (portal/streams/schedule.py), the segments from storage.

Segments are served by the web process, not redirected to storage: each fetch must reach the
server to be counted (and to be refused ahead of its publication time), and the bytes then come
from the same origin as the page, which needs no CORS on the bucket. A CDN in front would cache
the init segment only.
"""

from __future__ import annotations

import time
import uuid

from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from portal.core.errors import NotFound
from portal.streams import selectors
from portal.streams.models import StreamSession
from portal.streams.services.counting import segment_fetch_record
from portal.streams.services.provenance import init_bytes, segment_bytes
from portal.streams.services.rendering import render_needed

_SIGNER = signing.Signer(salt="stemvault.streams.playback")
FIRST_SEGMENT_WAIT_S = 3.0
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


def playlist_view(request: HttpRequest, session_id: uuid.UUID | str, token: str) -> HttpResponse:
    session = _session(session_id, token)
    now = timezone.now()
    # The player reloads the playlist every target duration: that is what keeps the render
    # lead topped up while somebody listens, and lets it lapse when nobody does.
    render_needed(session=session, now=now)
    view = selectors.playlist(session, now)
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
