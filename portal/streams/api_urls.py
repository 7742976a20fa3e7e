"""Routes under /api/v1/ for this domain: the list of an app's streams, and one session's."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path

from portal.streams import apis

# Under streams/<uuid:session_id>/ (no trailing slash on the actions, as the players call them).
session_patterns: list[URLPattern | URLResolver] = [
    path("", apis.StreamDetailApi.as_view(), name="streams-detail"),
    path("controls", apis.StreamControlsApi.as_view(), name="streams-controls"),
    path("feedback", apis.StreamFeedbackApi.as_view(), name="streams-feedback"),
    path("heartbeat", apis.StreamHeartbeatApi.as_view(), name="streams-heartbeat"),
    path("end", apis.StreamEndApi.as_view(), name="streams-end"),
    path("now-playing", apis.StreamNowPlayingApi.as_view(), name="streams-now-playing"),
]

urlpatterns: list[URLPattern | URLResolver] = [
    path("streams/", apis.StreamListApi.as_view(), name="streams-list"),
    path("streams/<uuid:session_id>/", include(session_patterns)),
]
