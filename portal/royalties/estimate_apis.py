"""GET /api/v1/royalties/statements/estimate/: an artist's earnings so far in an open month.

The figures are the statement page's estimate (estimates.cached_estimate: the close's own
computation over the plays received so far, on the latest closed month's pool), labelled as an
estimate with the month, the moment they were computed and the pool they assume; money in
integer minor units with its currency. A closed month has its statement instead
(GET /api/v1/royalties/statements/?period=).
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.royalties import selectors
from portal.royalties.apis import StatementAppSerializer, StatementLineSerializer
from portal.royalties.estimates import cached_estimate
from portal.royalties.periods import month_bounds, month_of

ESTIMATE_NOTE = (
    "An estimate: this month is open. The figures count the plays received so far, by the "
    "close's own rules, and assume the pool of the latest closed month; the month's pool is "
    "set when it closes, and its statement is then final."
)


class StatementEstimateApi(APIView):
    class OutputSerializer(serializers.Serializer[Any]):
        class Meta:
            ref_name = "StatementEstimate"

        estimate = serializers.BooleanField(help_text="Always true: not a final statement")
        note = serializers.CharField()
        period = serializers.CharField(help_text="YYYY-MM, an open month")
        period_start = serializers.DateTimeField()
        period_end = serializers.DateTimeField(help_text="Exclusive")
        computed_at = serializers.DateTimeField(source="as_of")
        artist_id = serializers.IntegerField()
        currency = serializers.CharField(
            allow_null=True, help_text="Of the assumed pool; null before any month has closed"
        )
        amount_minor = serializers.IntegerField(
            allow_null=True, help_text="Earned so far, minor units; null without a pool yet"
        )
        amount = serializers.CharField()
        pool_minor = serializers.IntegerField(allow_null=True)
        pool_basis = serializers.CharField(
            allow_null=True, help_text="The closed month whose pool is assumed"
        )
        plays = serializers.IntegerField(help_text="Qualifying plays of your stems so far")
        attributed_seconds = serializers.CharField()
        share_of_pool = serializers.CharField()
        lines = StatementLineSerializer(many=True)
        by_app = StatementAppSerializer(many=True)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "period", str, required=False, description="YYYY-MM, an open month (default: now)"
            ),
            OpenApiParameter("artist", int, required=False, description="Staff only: whose"),
        ],
        responses=OutputSerializer,
        summary="My estimated earnings so far in an open month (not final until it closes)",
    )
    def get(self, request: Request) -> Response:
        artist = selectors.earnings_subject(
            viewer=request.user, artist_id=request.query_params.get("artist")
        )
        month = request.query_params.get("period") or month_of(timezone.now())
        statement = cached_estimate(month=month, artist=artist)
        start, end = month_bounds(month)
        priced = bool(statement.currency)
        body = {
            **{name: getattr(statement, name) for name in _COPIED},
            "as_of": statement.as_of,
            "estimate": True,
            "note": ESTIMATE_NOTE,
            "period_start": start,
            "period_end": end,
            "currency": statement.currency or None,
            "amount_minor": statement.amount_minor if priced else None,
            "pool_minor": statement.pool_minor if priced else None,
            "pool_basis": statement.pool_basis or None,
        }
        return Response(self.OutputSerializer(body).data)


_COPIED = (
    "period",
    "artist_id",
    "amount",
    "plays",
    "attributed_seconds",
    "share_of_pool",
    "lines",
    "by_app",
)
