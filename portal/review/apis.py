"""Review API: the queue, claims, dossiers and decisions; resubmission and decisions for artists.

The vault's API is in vault_apis, notices and the audit log in notice_apis; the permissions and
helpers below serve all three."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.accounts.models import Role
from portal.accounts.permissions import FullScopeOnly, IsArtist, IsCurator
from portal.core.api import Pagination
from portal.review import selectors
from portal.review.models import DecisionKind, ReasonTemplate, ReviewClaim
from portal.review.serializers import (
    ArtistDecisionSerializer,
    CheckSerializer,
    ClaimSerializer,
    CreditSerializer,
    DecisionSerializer,
    LicenseSerializer,
    QueueItemSerializer,
)
from portal.review.services.claims import review_claim, review_release
from portal.review.services.decisions import review_round, stem_decide
from portal.review.services.resubmission import stem_resubmit
from portal.stems.models import Stem, StemKind, StemRole, Verdict


class IsArtistOrStaff(BasePermission):
    message = "This needs an artist or staff account."

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.role in (Role.ARTIST, Role.STAFF))


REVIEWERS: list[type[BasePermission]] = [IsAuthenticated, FullScopeOnly, IsCurator]
CONFLICT = OpenApiResponse(description="Conflict: claimed by someone else, or already decided")


def stem_or_404(stem_id: int) -> Stem:
    stem = selectors.stem_for_review(stem_id=stem_id)
    if stem is None:
        raise Http404
    return stem


def paginated(request: Request, view: APIView, items: Any, serializer: Any) -> Response:
    paginator = Pagination()
    page = paginator.paginate_queryset(items, request, view=view)
    data = serializer(page, many=True, context={"request": request}).data
    return paginator.get_paginated_response(data)


# --- Queue, claims -------------------------------------------------------------------------------
class ReviewQueueApi(APIView):
    permission_classes = REVIEWERS

    @extend_schema(
        parameters=[
            OpenApiParameter("role", str, enum=StemRole.values),
            OpenApiParameter("kind", str, enum=StemKind.values),
            OpenApiParameter("mood", str),
            OpenApiParameter("flag", str, enum=[Verdict.FLAG, Verdict.PASS]),
        ],
        responses=QueueItemSerializer(many=True),
        summary="Stems in review: flagged first, then oldest first",
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        stems = selectors.review_queue(
            role=params.get("role", ""),
            kind=params.get("kind", ""),
            mood=params.get("mood", ""),
            flag=params.get("flag", ""),
        )
        return paginated(request, self, stems, QueueItemSerializer)


class ReviewClaimApi(APIView):
    permission_classes = REVIEWERS

    @extend_schema(
        request=None,
        responses={200: ClaimSerializer, 409: CONFLICT},
        summary="Claim a stem for review (or renew my claim)",
    )
    def post(self, request: Request, stem_id: int) -> Response:
        claim: ReviewClaim = review_claim(stem=stem_or_404(stem_id), curator=request.user)
        return Response(ClaimSerializer(claim).data)

    @extend_schema(request=None, responses={204: None}, summary="Release a claim")
    def delete(self, request: Request, stem_id: int) -> Response:
        review_release(stem=stem_or_404(stem_id), user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- The dossier and the decision ----------------------------------------------------------------
class ReviewStemApi(APIView):
    permission_classes = REVIEWERS

    class OutputSerializer(QueueItemSerializer):
        class Meta:
            ref_name = "ReviewStem"

        status = serializers.CharField()
        bars = serializers.IntegerField(allow_null=True)
        genres = serializers.ListField(child=serializers.CharField())
        description = serializers.CharField()
        duration_s = serializers.FloatField()
        analysis = serializers.JSONField()
        checks = CheckSerializer(many=True)
        credits = CreditSerializer(many=True)
        license = LicenseSerializer(source="submission.license")
        attestations = serializers.JSONField(source="submission.attestations")
        receipt = serializers.SerializerMethodField()
        decisions = serializers.SerializerMethodField()
        round = serializers.SerializerMethodField()
        audio_url = serializers.SerializerMethodField()
        spectrogram_url = serializers.SerializerMethodField()
        preview_audio_url = serializers.SerializerMethodField()

        @extend_schema_field(OpenApiTypes.OBJECT)
        def get_receipt(self, stem: Stem) -> dict[str, Any] | None:
            return selectors.stem_receipt(stem, viewer=self.context["request"].user)

        @extend_schema_field(DecisionSerializer(many=True))
        def get_decisions(self, stem: Stem) -> Any:
            return DecisionSerializer(selectors.decisions_for_stem(stem=stem), many=True).data

        def get_round(self, stem: Stem) -> int:
            return review_round(stem)

        def get_audio_url(self, stem: Stem) -> str:
            return selectors.stem_audio_url(stem.pk)

        def get_spectrogram_url(self, stem: Stem) -> str:
            return reverse("review:spectrogram", args=[stem.pk])

        def get_preview_audio_url(self, stem: Stem) -> str | None:
            return selectors.preview_mix_for(stem).url

    @extend_schema(responses=OutputSerializer, summary="Everything a curator needs to decide")
    def get(self, request: Request, stem_id: int) -> Response:
        stem = stem_or_404(stem_id)
        return Response(self.OutputSerializer(stem, context={"request": request}).data)


class ReviewDecisionApi(APIView):
    permission_classes = REVIEWERS

    class InputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        class Meta:
            ref_name = "ReviewDecisionCreate"

        decision = serializers.ChoiceField(choices=DecisionKind.choices)
        reason_template = serializers.SlugRelatedField(
            slug_field="code",
            queryset=ReasonTemplate.objects.filter(is_active=True),
            required=False,
            allow_null=True,
            help_text="A reason template's code; required to reject",
        )
        note = serializers.CharField(required=False, allow_blank=True, default="")
        justification = serializers.CharField(required=False, allow_blank=True, default="")

    @extend_schema(
        request=InputSerializer,
        responses={
            201: DecisionSerializer,
            400: OpenApiResponse(description="A rule refuses it (failed check, missing reason)"),
            403: OpenApiResponse(description="Not a curator, or credited on the stem"),
            409: CONFLICT,
        },
        summary="Approve, reject or request changes (only the claim holder, or staff)",
    )
    def post(self, request: Request, stem_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        decision = stem_decide(
            stem=stem_or_404(stem_id), curator=request.user, **data.validated_data
        )
        return Response(DecisionSerializer(decision).data, status=status.HTTP_201_CREATED)


class ReasonTemplateListApi(APIView):
    permission_classes = REVIEWERS

    class OutputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        class Meta:
            ref_name = "ReasonTemplate"

        code = serializers.CharField()
        title = serializers.CharField()
        text = serializers.CharField()

    @extend_schema(responses=OutputSerializer(many=True), summary="Reasons curators can give")
    def get(self, request: Request) -> Response:
        return Response(self.OutputSerializer(selectors.reason_templates(), many=True).data)


# --- Artists: resubmission and decisions ---------------------------------------------------------
class ReviewResubmitApi(APIView):
    permission_classes: list[type[BasePermission]] = [IsAuthenticated, FullScopeOnly, IsArtist]

    class InputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        class Meta:
            ref_name = "StemResubmit"

        title = serializers.CharField(max_length=200, required=False)
        role = serializers.ChoiceField(choices=StemRole.choices, required=False)
        bpm = serializers.DecimalField(
            max_digits=6, decimal_places=2, min_value=20, required=False, allow_null=True
        )
        bars = serializers.IntegerField(
            min_value=1, max_value=1024, required=False, allow_null=True
        )
        musical_key = serializers.CharField(max_length=12, required=False, allow_blank=True)
        moods = serializers.ListField(
            child=serializers.CharField(max_length=40), required=False, max_length=20
        )
        genres = serializers.ListField(
            child=serializers.CharField(max_length=40), required=False, max_length=20
        )
        description = serializers.CharField(required=False, allow_blank=True)
        credits = serializers.ListField(
            child=serializers.DictField(),
            required=False,
            max_length=50,
            help_text='The corrected credits: [{"artist": username, "split_percent": "60.00"}] '
            "summing to exactly 100 (omitted: unchanged). A changed or new share asks its artist "
            "again.",
        )

    class OutputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        class Meta:
            ref_name = "StemResubmitted"

        id = serializers.IntegerField()
        status = serializers.CharField()
        round = serializers.SerializerMethodField()

        def get_round(self, stem: Stem) -> int:
            return review_round(stem)

    @extend_schema(
        request=InputSerializer,
        responses={200: OutputSerializer, 409: CONFLICT},
        summary="Correct my stem's metadata or credits and send it back to review (changes "
        "requested only)",
    )
    def post(self, request: Request, stem_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        stem = stem_or_404(stem_id)
        if stem.artist_id != request.user.pk:
            raise Http404  # an artist sees only their own stems
        stem = stem_resubmit(stem=stem, artist=request.user, **data.validated_data)
        return Response(self.OutputSerializer(stem).data)


class DecisionListApi(APIView):
    permission_classes: list[type[BasePermission]] = [
        IsAuthenticated,
        FullScopeOnly,
        IsArtistOrStaff,
    ]

    @extend_schema(
        parameters=[OpenApiParameter("stem", int)],
        responses=ArtistDecisionSerializer(many=True),
        summary="Decisions on my stems (staff: all), newest first",
    )
    def get(self, request: Request) -> Response:
        decisions = selectors.decisions_for(user=request.user)
        stem_id = request.query_params.get("stem", "")
        if stem_id.isdigit():
            decisions = decisions.filter(stem_id=int(stem_id))
        serializer = (
            DecisionSerializer if request.user.is_platform_staff else ArtistDecisionSerializer  # type: ignore[union-attr]
        )
        return paginated(request, self, decisions, serializer)
