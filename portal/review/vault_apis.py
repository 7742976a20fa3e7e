"""Vault API: the approved stems, searchable, and staff's takedown of one."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.accounts.permissions import FullScopeOnly, IsStaff
from portal.review import selectors
from portal.review.apis import CONFLICT, REVIEWERS, paginated, stem_or_404
from portal.review.serializers import VaultStemSerializer
from portal.review.services.takedowns import stem_takedown
from portal.stems.models import StemKind, StemRole


class VaultListApi(APIView):
    permission_classes = REVIEWERS

    class FilterSerializer(serializers.Serializer):  # type: ignore[type-arg]
        class Meta:
            ref_name = "VaultFilter"

        q = serializers.CharField(required=False, allow_blank=True, help_text="Text in the title")
        role = serializers.ChoiceField(choices=StemRole.choices, required=False)
        kind = serializers.ChoiceField(choices=StemKind.choices, required=False)
        bpm_min = serializers.DecimalField(max_digits=6, decimal_places=2, required=False)
        bpm_max = serializers.DecimalField(max_digits=6, decimal_places=2, required=False)
        key = serializers.CharField(required=False, allow_blank=True)
        mood = serializers.CharField(required=False, allow_blank=True)
        genre = serializers.CharField(required=False, allow_blank=True)

    @extend_schema(
        parameters=[FilterSerializer],
        responses=VaultStemSerializer(many=True),
        summary="Approved stems with license and credits, searchable",
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        stems = selectors.vault_stems(**filters.validated_data)
        return paginated(request, self, stems, VaultStemSerializer)


class VaultTakedownApi(APIView):
    permission_classes: list[type[BasePermission]] = [IsAuthenticated, FullScopeOnly, IsStaff]

    class InputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        class Meta:
            ref_name = "TakedownCreate"

        reason = serializers.CharField(max_length=2000)

    class OutputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        class Meta:
            ref_name = "Takedown"

        stem_id = serializers.IntegerField()
        status = serializers.CharField(source="stem.status")
        reason = serializers.CharField()
        created_at = serializers.DateTimeField()

    @extend_schema(
        request=InputSerializer,
        responses={201: OutputSerializer, 409: CONFLICT},
        summary="Take an approved stem down: it leaves every future render",
    )
    def post(self, request: Request, stem_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        takedown = stem_takedown(
            stem=stem_or_404(stem_id), staff=request.user, reason=data.validated_data["reason"]
        )
        return Response(self.OutputSerializer(takedown).data, status=status.HTTP_201_CREATED)
