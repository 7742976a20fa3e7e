"""The site's own player, /listen/: the page, and the stream endpoints it calls.

The endpoints are the app API's (portal/streams/apis.py) with two things resolved differently:
the app is the house app (portal/clients/house.py) and the listener is the signed-in user, so
the page needs no credential of its own and a user reaches only their own sessions. They take
the session cookie only, with Django's CSRF check (DRF's SessionAuthentication enforces it), and
live beside the page rather than under /api/v1/: they are the page's, not a public API.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request

from portal.clients.house import house_app, house_app_ensure, house_listener_id
from portal.clients.models import ClientApp
from portal.core.csp import media_source_policy
from portal.streams import apis, engine, selectors
from portal.streams.models import StreamSession

ROUTE = "listen-{}"
START_INTENSITY = 0.5


@login_required
def listen_page(request: HttpRequest) -> HttpResponse:
    moods = selectors.known_moods()
    response = render(
        request,
        "streams/listen.html",
        {
            "moods": moods,
            "intensity": START_INTENSITY,
            "start_url": reverse("listen-start"),
            "segment_seconds": engine.segment_seconds(),
        },
    )
    # The middleware keeps a policy a view set: this page's differs only in blob: media.
    response["Content-Security-Policy"] = media_source_policy()
    return response


class ListenView(apis.AppStreamView):
    authentication_classes = (SessionAuthentication,)
    permission_classes = (IsAuthenticated,)
    route = ROUTE
    schema = None  # the page's own endpoints: not in the public API's schema and docs

    def app_of(self, request: Request) -> ClientApp | None:
        return house_app()

    def session(self, request: Request, session_id: Any) -> StreamSession:
        return selectors.session_of_listener(
            app=self.app_of(request),
            listener_id=house_listener_id(request.user),  # type: ignore[arg-type]
            session_id=session_id,
        )


class ListenStartInput(serializers.Serializer):  # type: ignore[type-arg]
    mood = serializers.CharField(max_length=40)
    intensity = serializers.FloatField(min_value=0, max_value=1)


class ListenStartApi(ListenView, apis.StreamListApi):
    input_class = ListenStartInput

    def app_of(self, request: Request) -> ClientApp | None:
        # Opening a stream is the one write that may create the house app (on first use).
        return house_app_ensure()

    def create_args(self, request: Request, validated: dict[str, Any]) -> dict[str, Any]:
        return {**validated, "listener_id": house_listener_id(request.user)}  # type: ignore[arg-type]


class ListenDetailApi(ListenView, apis.StreamDetailApi):
    pass


class ListenControlsApi(ListenView, apis.StreamControlsApi):
    pass


class ListenFeedbackApi(ListenView, apis.StreamFeedbackApi):
    pass


class ListenHeartbeatApi(ListenView, apis.StreamHeartbeatApi):
    pass


class ListenEndApi(ListenView, apis.StreamEndApi):
    pass


class ListenNowPlayingApi(ListenView, apis.StreamNowPlayingApi):
    pass
