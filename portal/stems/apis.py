"""The stems API: contribute, list, read, withdraw, receipts, audio, licenses."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse, HttpResponseBase, JsonResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.accounts.permissions import IsArtist
from portal.core.api import Pagination
from portal.core.errors import ApplicationError, NotFound
from portal.stems import details, selectors
from portal.stems.downloads import audio_response
from portal.stems.models import Stem
from portal.stems.services import lifecycle, submission


class IgnoreAccept(BaseContentNegotiation):
    """For downloads: an <audio> element's Accept header must not turn into a 406."""

    def select_parser(self, request: Any, parsers: Any) -> Any:
        return parsers[0] if parsers else None

    def select_renderer(self, request: Any, renderers: Any, format_suffix: Any = None) -> Any:
        return renderers[0], renderers[0].media_type


class JobSummarySerializer(serializers.Serializer):  # type: ignore[type-arg]
    class Meta:
        ref_name = "StemJob"

    id = serializers.IntegerField()
    status = serializers.CharField()
    progress = serializers.IntegerField()
    error = serializers.CharField()


class StemDetailsSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """What an artist says about a stem: the fields every stem representation starts with."""

    id = serializers.IntegerField()
    title = serializers.CharField()
    kind = serializers.CharField()
    role = serializers.CharField()
    bpm = serializers.DecimalField(max_digits=6, decimal_places=2, allow_null=True)
    bars = serializers.IntegerField(allow_null=True)
    musical_key = serializers.CharField()
    moods = serializers.ListField(child=serializers.CharField())
    genres = serializers.ListField(child=serializers.CharField())


class StemSerializer(StemDetailsSerializer):
    class Meta:
        ref_name = "Stem"

    description = serializers.CharField()
    status = serializers.CharField()
    provenance_verdict = serializers.CharField()
    rejection_reason = serializers.CharField()
    original_filename = serializers.CharField()
    audio_format = serializers.CharField()
    sample_rate = serializers.IntegerField()
    channels = serializers.IntegerField()
    duration_s = serializers.FloatField()
    size_bytes = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    withdrawn_at = serializers.DateTimeField(allow_null=True)
    job = JobSummarySerializer(source="provenance_job", allow_null=True)


class CheckSerializer(serializers.Serializer):  # type: ignore[type-arg]
    class Meta:
        ref_name = "StemProvenanceCheck"

    check_name = serializers.CharField()
    verdict = serializers.CharField()
    summary = serializers.CharField()
    evidence = serializers.JSONField()


class CreditSerializer(serializers.Serializer):  # type: ignore[type-arg]
    class Meta:
        ref_name = "StemCredit"

    artist = serializers.CharField(source="artist.username")
    split_bps = serializers.IntegerField()
    consent = serializers.CharField(help_text="pending, accepted or declined by that artist")
    consent_decided_at = serializers.DateTimeField(allow_null=True)
    consent_message = serializers.CharField()


class StemCreateApi(APIView):
    """POST: contribute; GET: my stems."""

    parser_classes = [MultiPartParser, FormParser]

    def get_permissions(self) -> list[Any]:
        permissions = list(super().get_permissions())
        if self.request.method == "POST":
            permissions.append(IsArtist())
        return permissions

    class InputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        class Meta:
            ref_name = "StemCreate"

        files = serializers.ListField(
            child=serializers.FileField(allow_empty_file=True, use_url=False),
            help_text="One or several WAV, FLAC or AIFF files (repeat the field).",
        )
        metadata = serializers.JSONField(
            help_text="JSON: one object per file, or one object for all files (titles then "
            "default to the file names). Keys: title, kind, role, bpm, bars, musical_key, "
            "moods, genres, description."
        )
        credits = serializers.JSONField(
            required=False,
            help_text='JSON list of {"artist": username, "split_percent": "60.00"} summing to '
            "exactly 100; omitted = you, 100%.",
        )
        license_version = serializers.IntegerField()
        made_it_and_holds_rights = serializers.BooleanField(default=False)
        no_uncleared_samples = serializers.BooleanField(default=False)
        not_ai_generated = serializers.BooleanField(default=False)
        accepts_terms_version = serializers.IntegerField(required=False, allow_null=True)

    class CreatedSerializer(serializers.Serializer):  # type: ignore[type-arg]
        class Meta:
            ref_name = "StemCreated"

        stems = StemSerializer(many=True)

    class PageSerializer(serializers.Serializer):  # type: ignore[type-arg]
        class Meta:
            ref_name = "StemPage"

        count = serializers.IntegerField()
        next = serializers.URLField(allow_null=True)
        previous = serializers.URLField(allow_null=True)
        results = StemSerializer(many=True)

    @extend_schema(
        request={"multipart/form-data": InputSerializer},
        responses={201: CreatedSerializer},
        summary="Contribute one or several stems",
        operation_id="stems_create",
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        files = values["files"]
        metadata = values["metadata"]
        if isinstance(metadata, dict):
            metadata = details.metadata_per_file(files=files, common=metadata)
        elif not isinstance(metadata, list) or not all(isinstance(m, dict) for m in metadata):
            raise ApplicationError(
                "invalid",
                "metadata must be a JSON object or a list of objects, one per file.",
                fields={"metadata": ["Give a JSON object or a list of objects."]},
            )
        credits = values.get("credits")
        if credits is not None and not isinstance(credits, list):
            raise ApplicationError(
                "invalid",
                "credits must be a JSON list.",
                fields={"credits": ["Give a JSON list."]},
            )
        stems = submission.stem_submit(
            artist=request.user,  # type: ignore[arg-type]
            files=files,
            metadata=metadata,
            credits=credits,
            license_version=values["license_version"],
            attestations={
                "made_it_and_holds_rights": values["made_it_and_holds_rights"],
                "no_uncleared_samples": values["no_uncleared_samples"],
                "not_ai_generated": values["not_ai_generated"],
                "accepts_terms_version": values.get("accepts_terms_version"),
            },
            ip_address=request.META.get("REMOTE_ADDR"),
        )
        body = self.CreatedSerializer({"stems": stems}).data
        return Response(body, status=status.HTTP_201_CREATED)

    class ListedSerializer(StemSerializer):
        class Meta:
            ref_name = "StemListed"

        uploader = serializers.CharField(source="artist.username")
        my_share_bps = serializers.IntegerField(
            allow_null=True, help_text="Your share of its royalties, in basis points"
        )
        my_consent = serializers.CharField(allow_null=True)

    @extend_schema(
        responses=PageSerializer,
        summary="My stems (contributed or credited on), newest first",
        operation_id="stems_list",
    )
    def get(self, request: Request) -> Response:
        paginator = Pagination()
        page = paginator.paginate_queryset(
            selectors.stem_list_for_artist(user=request.user), request, view=self
        )
        return paginator.get_paginated_response(self.ListedSerializer(page, many=True).data)


class StemDetailApi(APIView):
    class OutputSerializer(StemSerializer):
        class Meta:
            ref_name = "StemDetail"

        artist = serializers.CharField(source="artist.username")
        license_version = serializers.IntegerField(source="submission.license.version")
        analysis = serializers.JSONField()
        checks = serializers.SerializerMethodField()
        credits = CreditSerializer(many=True, source="credits.all")

        @extend_schema_field(CheckSerializer(many=True))
        def get_checks(self, stem: Stem) -> Any:
            # The artist reads evidence without other artists' stems that are not in the vault.
            shown = selectors.checks_shown(stem=stem, viewer=self.context["request"].user)
            return CheckSerializer(shown, many=True).data

    @extend_schema(responses=OutputSerializer, summary="A stem: analysis, checks, job progress")
    def get(self, request: Request, stem_id: int) -> Response:
        stem = selectors.stem_get_for_user(stem_id=stem_id, user=request.user)
        return Response(self.OutputSerializer(stem, context={"request": request}).data)


class StemWithdrawApi(APIView):
    @extend_schema(request=None, responses=StemSerializer, summary="Withdraw my stem")
    def post(self, request: Request, stem_id: int) -> Response:
        stem = selectors.stem_get_for_user(stem_id=stem_id, user=request.user)
        stem = lifecycle.stem_withdraw(stem=stem, actor=request.user)  # type: ignore[arg-type]
        return Response(StemSerializer(Stem.objects.get(pk=stem.pk)).data)


class StemReceiptApi(APIView):
    content_negotiation_class = IgnoreAccept

    @extend_schema(
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT, description="The receipt JSON")},
        summary="Download a stem's contribution receipt",
    )
    def get(self, request: Request, stem_id: int) -> HttpResponse:
        stem = selectors.stem_get_for_user(stem_id=stem_id, user=request.user)
        return receipt_response(stem, viewer=request.user)


def receipt_response(stem: Stem, *, viewer: Any) -> HttpResponse:
    body = selectors.receipt_shown(stem=stem, viewer=viewer)
    if body is None:
        raise NotFound("no_receipt", "This stem has no contribution receipt.")
    response = JsonResponse(body, json_dumps_params={"indent": 2})
    response["Content-Disposition"] = f'attachment; filename="stemvault-receipt-{stem.pk}.json"'
    return response


class StemAudioApi(APIView):
    content_negotiation_class = IgnoreAccept

    @extend_schema(
        responses={
            (200, "audio/*"): OpenApiResponse(OpenApiTypes.BINARY, description="The audio"),
            302: OpenApiResponse(description="Redirect to a short-lived signed URL"),
        },
        summary="Download a stem's audio (the artist, curators, staff)",
    )
    def get(self, request: Request, stem_id: int) -> HttpResponseBase:
        stem = selectors.stem_get_for_user(stem_id=stem_id, user=request.user)
        return audio_response(stem)


class LicenseListApi(APIView):
    permission_classes = [AllowAny]

    class OutputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        class Meta:
            ref_name = "License"

        version = serializers.IntegerField()
        title = serializers.CharField()
        terms = serializers.CharField()
        terms_sha256 = serializers.CharField()
        is_current = serializers.BooleanField()
        published_at = serializers.DateTimeField()

    @extend_schema(responses=OutputSerializer(many=True), summary="Published license versions")
    def get(self, request: Request) -> Response:
        return Response(self.OutputSerializer(selectors.license_list(), many=True).data)
