"""The Sync API for iterating on a take: variations, versions with changes, the family."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.clients.selectors import request_app
from portal.mixes.apis import SoundtrackDetailApi, SoundtrackOutputSerializer
from portal.mixes.models import Mix, RenderKind
from portal.mixes.selectors import mix_get_for_user, soundtrack_family
from portal.mixes.versions import (
    MAX_VARIATIONS,
    soundtrack_describe,
    soundtrack_variations_create,
    soundtrack_version_create,
)

REFUSALS = {
    400: OpenApiResponse(
        description="invalid / no_changes: a change that breaks a rule or none at all; "
        "pinned_stem_unavailable, pinned_stems_incompatible: see POST /api/v1/soundtracks/"
    ),
    404: OpenApiResponse(description="mix_not_found: not a soundtrack this app may see"),
    422: OpenApiResponse(description="no_compatible_stems, hit_point_unreachable"),
    429: OpenApiResponse(description="render_quota: every version is a render"),
}


def _parent(request: Request, mix_id: str) -> Mix:
    return mix_get_for_user(
        mix_id=mix_id, app=request_app(request), user=request.user, kind=RenderKind.SOUNDTRACK
    )


def _out(request: Request, mixes: list[Mix]) -> list[dict[str, object]]:
    data = SoundtrackOutputSerializer(mixes, many=True, context={"request": request}).data
    return list(data)


class SoundtrackVariationsApi(APIView):
    allowed_token_scopes = ("app",)

    class InputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        class Meta:
            ref_name = "SoundtrackVariations"

        count = serializers.IntegerField(min_value=1, max_value=MAX_VARIATIONS, default=1)

    @extend_schema(
        request=InputSerializer,
        responses={202: SoundtrackOutputSerializer(many=True), **REFUSALS},
        summary="Variations of a soundtrack: the same request with seeds its family has not "
        "used, each its own render",
    )
    def post(self, request: Request, mix_id: str) -> Response:
        parent = _parent(request, mix_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        versions = soundtrack_variations_create(
            user=request.user,
            parent=parent,
            count=data.validated_data["count"],
            app=request_app(request),
        )
        return Response({"results": _out(request, versions)}, status=status.HTTP_202_ACCEPTED)


class SwapSerializer(serializers.Serializer):  # type: ignore[type-arg]
    class Meta:
        ref_name = "SoundtrackSwap"

    # "from" is a Python keyword: declared under another name and renamed below.
    from_ = serializers.IntegerField(min_value=1, help_text="A stem of this soundtrack")
    to = serializers.IntegerField(min_value=1, help_text="The approved stem to play instead")

    def get_fields(self) -> dict[str, serializers.Field]:  # type: ignore[type-arg]
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields


def version_from_input(request: Any, parent: Mix, data: Any) -> Mix:
    """Validate a version's changes as the REST body has them and create the version: REST and
    GraphQL (which hands its input over as that body) create versions through here."""
    checked = SoundtrackVersionsApi.InputSerializer(data=data)
    checked.is_valid(raise_exception=True)
    changes = dict(checked.validated_data)
    name, notes = changes.pop("name", ""), changes.pop("notes", "")
    if "swap" in changes:
        changes["swap"] = dict(changes["swap"])
    return soundtrack_version_create(
        user=request.user,
        parent=parent,
        changes=changes,
        app=request_app(request),
        name=name,
        notes=notes,
    )


class SoundtrackVersionsApi(APIView):
    allowed_token_scopes = ("app",)

    class InputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        class Meta:
            ref_name = "SoundtrackVersion"

        seed = serializers.IntegerField(min_value=0, max_value=2**31 - 1, required=False)
        length_s = serializers.FloatField(
            min_value=5,
            max_value=600,
            required=False,
            help_text="Extend or shorten: the tempo and the sections that still fit are kept",
        )
        pinned_stem_ids = serializers.ListField(
            child=serializers.IntegerField(min_value=1), required=False, max_length=8
        )
        muted_stem_ids = serializers.ListField(
            child=serializers.IntegerField(min_value=1), required=False, max_length=32
        )
        swap = SwapSerializer(required=False, help_text="Mute `from`, pin `to`")
        regenerate_section = serializers.IntegerField(
            min_value=0,
            required=False,
            help_text="Re-draw this section (0-based, as in the manifest's sections); the "
            "others keep their layers",
        )
        name = serializers.CharField(max_length=120, required=False, allow_blank=True)
        notes = serializers.CharField(max_length=4000, required=False, allow_blank=True)

    @extend_schema(
        request=InputSerializer,
        responses={202: SoundtrackOutputSerializer, **REFUSALS},
        summary="A new version of a soundtrack with changes, rendered with its own manifest",
    )
    def post(self, request: Request, mix_id: str) -> Response:
        parent = _parent(request, mix_id)
        version = version_from_input(request, parent, request.data)
        body = SoundtrackOutputSerializer(version, context={"request": request}).data
        headers = {"Location": reverse("api:mixes-soundtrack-detail", args=[version.pk])}
        return Response(body, status=status.HTTP_202_ACCEPTED, headers=headers)


class SoundtrackFamilyApi(APIView):
    allowed_token_scopes = ("app",)

    @extend_schema(
        responses=SoundtrackOutputSerializer(many=True),
        summary="Every take of this soundtrack's family, the first take first",
    )
    def get(self, request: Request, mix_id: str) -> Response:
        mix = _parent(request, mix_id)
        family = soundtrack_family(mix=mix, user=request.user, app=request_app(request))
        return Response({"results": _out(request, family)})


class SoundtrackDescribeApi(SoundtrackDetailApi):
    """GET /api/v1/soundtracks/<id>/ as SoundtrackDetailApi; PATCH names a take."""

    class DescribeSerializer(serializers.Serializer):  # type: ignore[type-arg]
        class Meta:
            ref_name = "SoundtrackDescribe"

        name = serializers.CharField(max_length=120, required=False, allow_blank=True)
        notes = serializers.CharField(max_length=4000, required=False, allow_blank=True)

    @extend_schema(
        request=DescribeSerializer,
        responses=SoundtrackOutputSerializer,
        summary="Name a take and keep notes on it",
    )
    def patch(self, request: Request, mix_id: str) -> Response:
        mix = mix_get_for_user(
            mix_id=mix_id, app=request_app(request), user=request.user, kind=RenderKind.SOUNDTRACK
        )
        data = self.DescribeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        mix = soundtrack_describe(user=request.user, mix=mix, **data.validated_data)
        return Response(SoundtrackOutputSerializer(mix, context={"request": request}).data)
