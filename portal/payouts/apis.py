from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.core.api import Pagination
from portal.payouts import selectors


class PayoutListApi(APIView):
    """An artist's own payouts; staff see everyone's. Curators get 403."""

    class OutputSerializer(serializers.Serializer[Any]):
        class Meta:
            ref_name = "Payout"

        id = serializers.IntegerField()
        artist_id = serializers.IntegerField()
        period = serializers.CharField()
        amount_minor = serializers.IntegerField()
        currency = serializers.CharField()
        status = serializers.CharField()
        stripe_transfer_id = serializers.CharField(allow_null=True)
        amount_reversed_minor = serializers.IntegerField()
        error_code = serializers.CharField()
        error = serializers.CharField()
        attempts = serializers.IntegerField()
        against_test_server = serializers.BooleanField(source="run.against_test_server")
        created_at = serializers.DateTimeField()
        updated_at = serializers.DateTimeField()

    # The paginated envelope, built here because a nested class body cannot see OutputSerializer.
    PageSerializer = type(
        "PayoutPageSerializer",
        (serializers.Serializer,),
        {
            "Meta": type("Meta", (), {"ref_name": "PayoutPage"}),
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": OutputSerializer(many=True),
        },
    )

    @extend_schema(
        responses=PageSerializer,
        summary="List payouts (your own; staff: all)",
    )
    def get(self, request: Request) -> Response:
        payouts = selectors.payouts_visible_to(user=request.user)
        paginator = Pagination()
        page = paginator.paginate_queryset(payouts, request, view=self)
        return paginator.get_paginated_response(self.OutputSerializer(page, many=True).data)
