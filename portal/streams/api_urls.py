from __future__ import annotations

from django.urls import path

from portal.streams import apis

urlpatterns = [
    path("streams/", apis.StreamListApi.as_view(), name="streams-list"),
    path("streams/<uuid:session_id>/", apis.StreamDetailApi.as_view(), name="streams-detail"),
    path(
        "streams/<uuid:session_id>/controls",
        apis.StreamControlsApi.as_view(),
        name="streams-controls",
    ),
    path(
        "streams/<uuid:session_id>/feedback",
        apis.StreamFeedbackApi.as_view(),
        name="streams-feedback",
    ),
    path(
        "streams/<uuid:session_id>/heartbeat",
        apis.StreamHeartbeatApi.as_view(),
        name="streams-heartbeat",
    ),
    path("streams/<uuid:session_id>/end", apis.StreamEndApi.as_view(), name="streams-end"),
    path(
        "streams/<uuid:session_id>/now-playing",
        apis.StreamNowPlayingApi.as_view(),
        name="streams-now-playing",
    ),
]
