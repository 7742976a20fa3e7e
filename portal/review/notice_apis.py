"""The audit log (staff: all of it, an artist: the entries about their stems) and my notices,
with marking them read."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.accounts.permissions import FullScopeOnly
from portal.audit.selectors import audit_entries_for, audit_entries_shown
from portal.core.api import Pagination
from portal.review import selectors
from portal.review.apis import IsArtistOrStaff, paginated
from portal.review.notifications import notifications_mark_read
from portal.review.serializers import NotificationSerializer


# --- Audit ---------------------------------------------------------------------------------------
class AuditListApi(APIView):
    permission_classes: list[type[BasePermission]] = [
        IsAuthenticated,
        FullScopeOnly,
        IsArtistOrStaff,
    ]

    class OutputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        class Meta:
            ref_name = "AuditEntry"

        id = serializers.IntegerField()
        at = serializers.DateTimeField()
        actor = serializers.CharField(source="actor.username", allow_null=True, default=None)
        action = serializers.CharField()
        subject = serializers.CharField()
        stem_id = serializers.IntegerField(allow_null=True)
        before = serializers.JSONField(allow_null=True)
        after = serializers.JSONField(allow_null=True)
        note = serializers.CharField()

    @extend_schema(
        parameters=[OpenApiParameter("subject", str), OpenApiParameter("action", str)],
        responses=OutputSerializer(many=True),
        summary="The audit log: staff see all of it, an artist the entries about their stems "
        "(without curators' internal fields)",
    )
    def get(self, request: Request) -> Response:
        entries = audit_entries_for(user=request.user)
        if subject := request.query_params.get("subject", "").strip():
            entries = entries.filter(subject=subject)
        if action := request.query_params.get("action", "").strip():
            entries = entries.filter(action__startswith=action)
        paginator = Pagination()
        page = paginator.paginate_queryset(entries, request, view=self)
        shown = audit_entries_shown(page or [], viewer=request.user)
        return paginator.get_paginated_response(self.OutputSerializer(shown, many=True).data)


# --- Notices -------------------------------------------------------------------------------------
class NotificationListApi(APIView):
    @extend_schema(responses=NotificationSerializer(many=True), summary="My notices, newest first")
    def get(self, request: Request) -> Response:
        notices = selectors.notifications_for(user=request.user)
        return paginated(request, self, notices, NotificationSerializer)


class NotificationReadApi(APIView):
    class InputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        class Meta:
            ref_name = "NotificationRead"

        ids = serializers.ListField(
            # Bounded like the ids themselves: an out-of-range id is bad input, not a crash.
            child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
            required=False,
            help_text="Only these notices (default: all unread)",
        )

    class OutputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        class Meta:
            ref_name = "NotificationReadResult"

        marked = serializers.IntegerField()
        unread = serializers.IntegerField()

    @extend_schema(request=InputSerializer, responses=OutputSerializer, summary="Mark notices read")
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        marked = notifications_mark_read(user=request.user, ids=data.validated_data.get("ids"))
        unread = selectors.unread_count(user=request.user)
        return Response(self.OutputSerializer({"marked": marked, "unread": unread}).data)
