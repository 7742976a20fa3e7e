"""/api/v1/streams/: client apps open live streams for their listeners, steer them, confirm
playback with heartbeats, and end them. Every endpoint takes the app's credential ("app" scope);
a session is only ever visible to the app that opened it."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.clients.models import ClientApp
from portal.clients.selectors import request_app
from portal.streams import engine, schedule, selectors
from portal.streams.models import StreamSession
from portal.streams.playback import playlist_path
from portal.streams.services import sessions


def session_body(
    request: Request, session: StreamSession, *, route: str = "api:streams-{}"
) -> dict[str, Any]:
    return {
        "id": str(session.pk),
        "status": session.status,
        "listener_id": session.listener_id,
        "seed": session.seed,
        "controls": session.controls,
        "playlist_url": request.build_absolute_uri(playlist_path(session)),
        "segment_seconds": engine.segment_seconds(),
        "codecs": engine.CODECS,
        "delivered_index": session.delivered_index,
        "confirmed_s": round(session.confirmed_s, 3),
        "counted_s": selectors.counted_seconds(session),
        "idle_timeout_s": int(schedule.idle_after().total_seconds()),
        "created_at": session.created_at.isoformat(),
        "links": {
            name: request.build_absolute_uri(reverse(route.format(name), args=[session.pk]))
            for name in ("detail", "controls", "feedback", "heartbeat", "end", "now-playing")
        },
    }


class AppStreamView(APIView):
    """Base: app-credential endpoints. Subclasses for the site's own player (/listen/) resolve
    the app and listener differently (see portal/streams/listen.py)."""

    allowed_token_scopes = ("app",)
    route = "api:streams-{}"  # the URL names of the session's links in its body

    def app_of(self, request: Request) -> ClientApp | None:
        return request_app(request)

    def session(self, request: Request, session_id: Any) -> StreamSession:
        return selectors.session_of_app(app=self.app_of(request), session_id=session_id)

    def body(self, request: Request, session: StreamSession) -> dict[str, Any]:
        return session_body(request, session, route=self.route)


class StreamCreateInput(serializers.Serializer):  # type: ignore[type-arg]
    listener_id = serializers.CharField(max_length=128)
    mood = serializers.CharField(max_length=40, help_text="One of the vault's moods")
    intensity = serializers.FloatField(min_value=0, max_value=1)
    bpm = serializers.FloatField(required=False, allow_null=True, min_value=40, max_value=240)
    key = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=12)
    seed = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=2**31 - 1
    )


class StreamListApi(AppStreamView):
    input_class: type[serializers.Serializer] = StreamCreateInput  # type: ignore[type-arg]

    @extend_schema(
        request=StreamCreateInput,
        responses={201: dict},
        summary="Open a live stream for one of the app's listeners",
    )
    def post(self, request: Request) -> Response:
        data = self.input_class(data=request.data)
        data.is_valid(raise_exception=True)
        session = sessions.stream_create(
            app=self.app_of(request), **self.create_args(request, data.validated_data)
        )
        return Response(self.body(request, session), status=status.HTTP_201_CREATED)

    def create_args(self, request: Request, validated: dict[str, Any]) -> dict[str, Any]:
        return dict(validated)


class StreamDetailApi(AppStreamView):
    @extend_schema(responses=dict, summary="A stream session: status, controls, playlist URL")
    def get(self, request: Request, session_id: str) -> Response:
        return Response(self.body(request, self.session(request, session_id)))


class StreamControlsApi(AppStreamView):
    class InputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        class Meta:
            ref_name = "StreamControls"

        mood = serializers.CharField(required=False, max_length=40)
        intensity = serializers.FloatField(required=False, min_value=0, max_value=1)

    @extend_schema(
        request=InputSerializer,
        responses=dict,
        summary="Change mood/intensity; heard from the first bar after what was delivered",
    )
    def post(self, request: Request, session_id: str) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        change = sessions.stream_controls_change(
            session=self.session(request, session_id), **data.validated_data
        )
        return Response(
            {
                "controls": change.session.controls,
                "applies_from_frame": change.at_frame,
                "heard_from_frame": change.heard_from_frame,
                "heard_from_s": change.heard_from_s,
            }
        )


class StreamFeedbackApi(AppStreamView):
    class InputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        class Meta:
            ref_name = "StreamFeedback"

        event = serializers.ChoiceField(choices=["like", "dislike", "skip"])

    @extend_schema(request=InputSerializer, responses=dict, summary="Like, dislike or skip")
    def post(self, request: Request, session_id: str) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        feedback, change = sessions.stream_feedback_give(
            session=self.session(request, session_id), event=data.validated_data["event"]
        )
        return Response(
            {
                "event": feedback.event,
                "stems": feedback.stems,
                "heard_from_frame": change.heard_from_frame,
                "heard_from_s": change.heard_from_s,
            }
        )


class PositionInput(serializers.Serializer):  # type: ignore[type-arg]
    position_s = serializers.FloatField(min_value=0, help_text="Playback position in the stream")


class StreamHeartbeatApi(AppStreamView):
    # One per player every few seconds: the owner-wide user throttle would cut a busy app's
    # listeners off; a heartbeat only ever confirms what the server already delivered.
    throttle_classes = ()

    @extend_schema(request=PositionInput, responses=dict, summary="The player's position")
    def post(self, request: Request, session_id: str) -> Response:
        data = PositionInput(data=request.data)
        data.is_valid(raise_exception=True)
        session = sessions.stream_heartbeat(
            session=self.session(request, session_id),
            position_s=data.validated_data["position_s"],
        )
        return Response(
            {
                "confirmed_s": round(session.confirmed_s, 3),
                "counted_s": selectors.counted_seconds(session),
                "status": session.status,
            }
        )


class StreamEndApi(AppStreamView):
    class InputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        class Meta:
            ref_name = "StreamEnd"

        position_s = serializers.FloatField(required=False, min_value=0)

    @extend_schema(request=InputSerializer, responses=dict, summary="End a stream session")
    def post(self, request: Request, session_id: str) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        session = sessions.stream_end(
            session=self.session(request, session_id),
            position_s=data.validated_data.get("position_s"),
        )
        return Response(self.body(request, session))


class StreamNowPlayingApi(AppStreamView):
    throttle_classes = ()

    @extend_schema(responses=dict, summary="The stems sounding at a position, and their artists")
    def get(self, request: Request, session_id: str) -> Response:
        raw = request.query_params.get("position_s")
        try:
            position = float(raw) if raw else None
        except ValueError:
            position = None
        session = self.session(request, session_id)
        return Response(selectors.now_playing(session, position))
