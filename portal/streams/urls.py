from __future__ import annotations

from django.urls import path

from portal.streams import playback

urlpatterns = [
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
