from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView

from portal.clients.selectors import request_app
from portal.core.errors import ApplicationError, PermissionDenied
from portal.royalties import held, releases, selectors, services, statements


class PlayRejectionSerializer(serializers.Serializer[Any]):
    class Meta:
        ref_name = "PlayRejection"

    index = serializers.IntegerField()
    event_id = serializers.CharField(allow_null=True)
    code = serializers.CharField()
    message = serializers.CharField()


class StatementLineSerializer(serializers.Serializer[Any]):
    class Meta:
        ref_name = "StatementLine"

    stem_id = serializers.IntegerField()
    stem_title = serializers.CharField()
    plays = serializers.IntegerField()
    attributed_seconds = serializers.CharField(help_text="Decimal seconds, truncated to ms")
    amount_minor = serializers.IntegerField()
    amount = serializers.CharField()
    held = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="Held plays of mixes with this stem, per listening rule",
    )
    soundtrack_plays = serializers.IntegerField(help_text="Qualifying plays of soundtracks")
    soundtrack_seconds = serializers.CharField(help_text="Your attributed seconds of them")
    stream_seconds = serializers.CharField(help_text="Your attributed seconds of live streams")
    share = serializers.CharField(help_text="Of your attributed listening; lines sum to 100.00%")


class StatementAppSerializer(serializers.Serializer[Any]):
    class Meta:
        ref_name = "StatementApp"

    app_name = serializers.CharField()
    soundtrack_plays = serializers.IntegerField()
    soundtrack_seconds = serializers.CharField()
    stream_seconds = serializers.CharField()
    attributed_seconds = serializers.CharField()
    amount_minor = serializers.IntegerField()
    amount = serializers.CharField()
    share = serializers.CharField(help_text="Of your attributed listening; apps sum to 100.00%")


class HeldCountSerializer(serializers.Serializer[Any]):
    class Meta:
        ref_name = "HeldCount"

    rule = serializers.CharField()
    # A field named `label` shadows Field.label (a str) in the DRF stubs; DRF itself allows it.
    label = serializers.CharField()  # type: ignore[assignment]
    plays = serializers.IntegerField()


class CanReportPlays(BasePermission):
    """Only an approved client app's credential reports plays: plays are money, and a person's
    own token (an artist's, say) could otherwise invent listening of their own stems."""

    message = (
        "Plays are reported with a client app's credential (register an app under Apps; "
        "staff approve it), not with a personal token."
    )

    def has_permission(self, request: Any, view: Any) -> bool:
        return request_app(request) is not None


class PlayIngestThrottle(UserRateThrottle):
    """Its own scope and a high rate (ROYALTIES_PLAYS_THROTTLE_RATE, default 200/s per account):
    a player batching 500 events a request is never near it; a runaway client is."""

    scope = "plays"

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        app = request_app(request)  # per app, whichever of its credentials it uses
        return self.cache_format % {"scope": self.scope, "ident": f"app-{app.pk}"} if app else None

    def get_rate(self) -> str:
        return str(getattr(settings, "ROYALTIES_PLAYS_THROTTLE_RATE", "200/s"))


class PlayIngestApi(APIView):
    permission_classes = [IsAuthenticated, CanReportPlays]
    allowed_token_scopes = ("app",)
    throttle_classes = [PlayIngestThrottle]

    class EventSerializer(serializers.Serializer[Any]):
        class Meta:
            ref_name = "PlayEvent"

        event_id = serializers.UUIDField(help_text="Unique per play; a replay is a duplicate")
        mix_id = serializers.UUIDField(help_text="A finished mix")
        listener_id = serializers.CharField(max_length=128, help_text="Pseudonymous listener")
        started_at = serializers.DateTimeField(help_text="ISO 8601 with offset; not in the future")
        ms_played = serializers.IntegerField(min_value=0, help_text="At most the mix's length")
        client = serializers.CharField(max_length=64, required=False)

    class InputSerializer(serializers.Serializer[Any]):
        class Meta:
            ref_name = "PlayBatch"

        events = serializers.ListField(
            child=serializers.DictField(), max_length=services.MAX_EVENTS_PER_REQUEST
        )

    class OutputSerializer(serializers.Serializer[Any]):
        class Meta:
            ref_name = "PlayBatchResult"

        accepted = serializers.IntegerField(help_text="Stored now")
        duplicates = serializers.IntegerField(help_text="Already stored, or repeated in the batch")
        rejected = PlayRejectionSerializer(many=True)

    @extend_schema(
        request=InputSerializer,
        responses=OutputSerializer,
        summary="Report plays (up to 500 events; each is validated on its own)",
        description=(
            "Each event: event_id (uuid), mix_id, listener_id, started_at, ms_played, client?. "
            "Rejection codes: invalid_event, invalid_event_id, unknown_mix, invalid_listener_id, "
            "invalid_started_at, started_at_in_future, invalid_ms_played, negative_ms_played, "
            "longer_than_mix, invalid_client, preview_mix (previews made for review never "
            "earn), not_this_apps_mix (only mixes this app requested), before_mix_existed, "
            "too_late (older than the late window, ROYALTIES_LATE_WINDOW_DAYS)."
        ),
    )
    def post(self, request: Request) -> Response:
        # The envelope is checked by hand: a serializer walking 500 events costs more than the
        # insert, and every event's own errors are reported per event, not as a 400.
        data = request.data
        events = data.get("events") if isinstance(data, dict) else None
        if not isinstance(events, list) or not events:
            raise ApplicationError(
                "invalid",
                'Send {"events": [...]} with 1 to 500 events.',
                fields={"events": ["Required: a non-empty list."]},
            )
        app = request_app(request)
        assert app is not None  # CanReportPlays
        result = services.plays_ingest(events=events, app=app)
        return Response(
            {
                "accepted": result.accepted,
                "duplicates": result.duplicates,
                "rejected": [
                    {"index": r.index, "event_id": r.event_id, "code": r.code, "message": r.message}
                    for r in result.rejected
                ],
            }
        )


class StatementApi(APIView):
    class OutputSerializer(serializers.Serializer[Any]):
        class Meta:
            ref_name = "Statement"

        period = serializers.CharField()
        currency = serializers.CharField()
        artist_id = serializers.IntegerField()
        artist_name = serializers.CharField()
        closed_at = serializers.DateTimeField()
        plays = serializers.IntegerField()
        attributed_seconds = serializers.CharField()
        amount_minor = serializers.IntegerField()
        amount = serializers.CharField()
        lines = StatementLineSerializer(many=True)
        by_app = StatementAppSerializer(many=True, help_text="The same money by client app")
        soundtrack_plays = serializers.IntegerField()
        soundtrack_seconds = serializers.CharField()
        stream_seconds = serializers.CharField()
        pool = serializers.CharField()
        share_of_pool = serializers.CharField(help_text="Your part of all attributed listening")
        held_plays = serializers.IntegerField(
            help_text="Plays of mixes with your stems that a listening rule held (each once)"
        )
        held = HeldCountSerializer(many=True, help_text="Those held plays, per rule")
        held_only = StatementLineSerializer(
            many=True, help_text="Your stems that earned nothing but had held plays"
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("period", str, required=True, description="YYYY-MM, a closed month"),
            OpenApiParameter("artist", int, required=False, description="Staff only: whose"),
        ],
        responses=OutputSerializer,
        summary="My royalty statement for a closed period (staff: anyone's)",
    )
    def get(self, request: Request) -> Response:
        artist = selectors.earnings_subject(
            viewer=request.user, artist_id=request.query_params.get("artist")
        )
        statement = statements.statement_for(
            month=request.query_params.get("period", ""), artist=artist
        )
        return Response(self.OutputSerializer(statement).data)


def _staff_only(request: Request) -> Any:
    user = request.user
    if not getattr(user, "is_platform_staff", False):
        raise PermissionDenied("forbidden", "Only staff see and release held plays.")
    return user


class HeldPlaysApi(APIView):
    class GroupSerializer(serializers.Serializer[Any]):
        class Meta:
            ref_name = "HeldGroup"

        rule = serializers.CharField()
        # As above: a `label` field shadows Field.label in the DRF stubs only.
        label = serializers.CharField()  # type: ignore[assignment]
        app_id = serializers.IntegerField(help_text="0: plays from before client apps")
        app_name = serializers.CharField()
        plays = serializers.IntegerField()
        listeners = serializers.IntegerField()
        seconds = serializers.CharField(help_text="Attributed listening if released")
        amount = serializers.CharField(help_text="Closed months: what it would have drawn")

    class OutputSerializer(serializers.Serializer[Any]):
        class Meta:
            ref_name = "HeldPlays"

        month = serializers.CharField()
        closed = serializers.BooleanField(
            help_text="Closed: what the close held. Open: what the rules would hold now."
        )
        total = serializers.IntegerField()
        released = serializers.IntegerField(help_text="Plays of the month released by staff")
        groups = serializers.ListField(child=serializers.DictField())

    @extend_schema(
        parameters=[OpenApiParameter("month", str, required=True, description="YYYY-MM")],
        responses=OutputSerializer,
        summary="Staff: plays the listening rules hold in a month, by rule and app",
    )
    def get(self, request: Request) -> Response:
        _staff_only(request)
        overview = held.held_overview(
            month=request.query_params.get("month", ""), now=timezone.now()
        )
        return Response(
            {
                "month": overview.month,
                "closed": overview.closed,
                "total": overview.total,
                "released": overview.released,
                "groups": self.GroupSerializer(overview.groups, many=True).data,
            }
        )


class HeldReleaseApi(APIView):
    class InputSerializer(serializers.Serializer[Any]):
        class Meta:
            ref_name = "HeldRelease"

        month = serializers.RegexField(r"^\d{4}-(0[1-9]|1[0-2])$")
        reason = serializers.CharField(max_length=releases.MAX_REASON)
        play_ids = serializers.ListField(
            child=serializers.UUIDField(), required=False, max_length=10_000
        )
        rule = serializers.CharField(required=False, max_length=32)
        app_id = serializers.IntegerField(required=False, min_value=0)

    @extend_schema(
        request=InputSerializer,
        responses={200: OpenApiTypes.OBJECT},
        summary="Staff: release held plays of an open month (listed plays, or a rule and app)",
    )
    def post(self, request: Request) -> Response:
        actor = _staff_only(request)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        result = releases.play_release(
            month=values["month"],
            actor=actor,
            reason=values["reason"],
            play_ids=values.get("play_ids"),
            rule=values.get("rule", ""),
            app_id=values.get("app_id"),
        )
        return Response(
            {"released": result.released, "already": result.already, "by_rule": result.by_rule}
        )
