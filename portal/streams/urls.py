from __future__ import annotations

from django.urls import path, re_path

from portal.streams import listen, playback, trace

# The site's player (portal/streams/listen.py): the page and the endpoints it calls.
_LISTEN = "listen/streams/<uuid:session_id>/"

urlpatterns = [
    # A live stream's play behind a line of an artist's statement (portal/royalties/urls.py
    # has the statement itself; streams stand above royalties, so the trace lives here).
    re_path(
        r"^royalties/statements/(?P<month>\d{4}-\d{2})/stems/(?P<stem_id>\d+)/streams/"
        r"(?P<event_id>[0-9a-f-]{36})/$",
        trace.statement_stream,
        name="statement-stream",
    ),
    path("listen/", listen.listen_page, name="listen"),
    path("listen/streams/", listen.ListenStartApi.as_view(), name="listen-start"),
    path(_LISTEN, listen.ListenDetailApi.as_view(), name="listen-detail"),
    path(_LISTEN + "controls", listen.ListenControlsApi.as_view(), name="listen-controls"),
    path(_LISTEN + "feedback", listen.ListenFeedbackApi.as_view(), name="listen-feedback"),
    path(_LISTEN + "heartbeat", listen.ListenHeartbeatApi.as_view(), name="listen-heartbeat"),
    path(_LISTEN + "end", listen.ListenEndApi.as_view(), name="listen-end"),
    path(_LISTEN + "now-playing", listen.ListenNowPlayingApi.as_view(), name="listen-now-playing"),
    path(
        "streams/<uuid:session_id>/<str:token>/live.m3u8",
        playback.playlist_view,
        name="streams-playlist",
    ),
    path("streams/<uuid:session_id>/<str:token>/init.mp4", playback.init_view, name="streams-init"),
    path(
        "streams/<uuid:session_id>/<str:token>/seg/<int:index>.m4s",
        playback.segment_view,
        name="streams-segment",
    ),
]
