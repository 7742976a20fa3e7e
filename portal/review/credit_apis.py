"""Credits API: the credits other artists gave me, and my answer to each (accept or decline)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.accounts.permissions import FullScopeOnly, IsArtist
from portal.core.api import Pagination
from portal.core.errors import ApplicationError
from portal.review import credits as services
from portal.stems.details import split_percent
from portal.stems.models import Credit
from portal.stems.selectors import CREDIT_FILTERS, credits_given_to

F = TypeVar("F", bound=Callable[..., Any])
CREDITED: list[type[BasePermission]] = [IsAuthenticated, FullScopeOnly, IsArtist]
ERROR = OpenApiResponse(description='{"error": {"code", "message", "fields"?}}')


class SplitSerializer(serializers.Serializer):  # type: ignore[type-arg]
    class Meta:
        ref_name = "CreditSplit"

    artist = serializers.CharField(source="artist.username")
    split_bps = serializers.IntegerField()
    consent = serializers.CharField()


class CreditGivenSerializer(serializers.Serializer):  # type: ignore[type-arg]
    class Meta:
        ref_name = "CreditGiven"

    id = serializers.IntegerField()
    stem_id = serializers.IntegerField()
    stem_title = serializers.CharField(source="stem.title")
    stem_status = serializers.CharField(source="stem.status")
    uploader = serializers.CharField(source="stem.artist.username")
    split_bps = serializers.IntegerField()
    split_percent = serializers.SerializerMethodField()
    consent = serializers.CharField(help_text="pending, accepted or declined")
    consent_requested_at = serializers.DateTimeField(allow_null=True)
    consent_decided_at = serializers.DateTimeField(allow_null=True)
    consent_message = serializers.CharField()
    split = SplitSerializer(many=True, source="stem.credits.all", help_text="The whole split")

    def get_split_percent(self, credit: Credit) -> str:
        return split_percent(credit.split_bps)


class CreditPageSerializer(serializers.Serializer):  # type: ignore[type-arg]
    class Meta:
        ref_name = "CreditPage"

    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = CreditGivenSerializer(many=True)


class CreditListApi(APIView):
    permission_classes = CREDITED

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "consent",
                str,
                enum=list(CREDIT_FILTERS),
                description="pending (default) or declined: still open to answer; accepted; all",
            )
        ],
        responses={200: CreditPageSerializer, 400: ERROR, 403: ERROR},
        summary="Credits other artists gave me (default: those waiting for my answer)",
        operation_id="credits_list",
    )
    def get(self, request: Request) -> Response:
        consent = request.query_params.get("consent", "pending")
        if consent not in CREDIT_FILTERS:
            raise ApplicationError(
                "invalid",
                f"consent must be one of {', '.join(CREDIT_FILTERS)}.",
                fields={"consent": [f"One of {', '.join(CREDIT_FILTERS)}."]},
            )
        paginator = Pagination()
        page = paginator.paginate_queryset(
            credits_given_to(user=request.user, consent=consent), request, view=self
        )
        return paginator.get_paginated_response(CreditGivenSerializer(page, many=True).data)


class AnswerSerializer(serializers.Serializer):  # type: ignore[type-arg]
    class Meta:
        ref_name = "CreditAnswer"

    message = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=2000, help_text="To the uploader"
    )
    split_bps = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        min_value=1,
        max_value=10000,
        help_text="The share you read; refused with credit_changed if it changed since",
    )


def _answer_schema(verb: str, extra: str) -> Callable[[F], F]:
    return extend_schema(
        request=AnswerSerializer,
        responses={
            200: CreditGivenSerializer,
            403: OpenApiResponse(
                description="Not an artist, or the uploader answering for another"
            ),
            404: OpenApiResponse(description="No such credit among mine"),
            409: OpenApiResponse(
                description="credit_changed, stem_closed (rejected or withdrawn), "
                "consent_final (already approved) or own_credit"
            ),
        },
        summary=f"{verb} my credit{extra}",
    )


class CreditAcceptApi(APIView):
    permission_classes = CREDITED

    @_answer_schema("Accept", " (accepting twice is a no-op)")
    def post(self, request: Request, credit_id: int) -> Response:
        data = AnswerSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        credit = services.credit_accept(
            credit_id=credit_id, artist=request.user, **data.validated_data
        )
        return Response(CreditGivenSerializer(_fresh(credit)).data)


class CreditDeclineApi(APIView):
    permission_classes = CREDITED

    @_answer_schema("Decline", ": the uploader is told and corrects the credits")
    def post(self, request: Request, credit_id: int) -> Response:
        data = AnswerSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        credit = services.credit_decline(
            credit_id=credit_id, artist=request.user, **data.validated_data
        )
        return Response(CreditGivenSerializer(_fresh(credit)).data)


def _fresh(credit: Credit) -> Credit:
    return credits_given_to(user=credit.artist, consent="all").get(pk=credit.pk)
