"""The Sync API: request a soundtrack, poll it and its progress, list the vocabulary."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.clients.selectors import request_app
from portal.core.api import Pagination
from portal.mixes import services
from portal.mixes.download_apis import (
    soundtrack_audio_link,
    soundtrack_audio_url,
    soundtrack_files,
)
from portal.mixes.models import Mix, RenderKind, RenderStatus
from portal.mixes.selectors import (
    mix_get_for_user,
    mix_progress,
    mix_stage,
    soundtracks_for_user,
    vocabulary,
)


class FileLinkSerializer(serializers.Serializer):  # type: ignore[type-arg]
    class Meta:
        ref_name = "SoundtrackFile"

    kind = serializers.CharField(
        help_text="audio (the master), mp3, stems, manifest, certificate or cue_sheet"
    )
    url = serializers.URLField()
    content_type = serializers.CharField()


class SoundtrackOutputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    class Meta:
        ref_name = "Soundtrack"

    id = serializers.UUIDField()
    status = serializers.CharField()
    progress = serializers.SerializerMethodField()
    stage = serializers.SerializerMethodField()
    eta_s = serializers.SerializerMethodField()
    job_id = serializers.IntegerField(allow_null=True)
    request = serializers.JSONField()
    duration_s = serializers.FloatField(allow_null=True)
    loudness_lufs = serializers.FloatField(allow_null=True)
    true_peak_dbtp = serializers.FloatField(allow_null=True)
    audio_sha256 = serializers.CharField()
    audio_url = serializers.SerializerMethodField()
    files = serializers.SerializerMethodField()
    manifest = serializers.SerializerMethodField()
    error = serializers.CharField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    # Iterating on a take (portal.mixes.versions) and a link a player can use without headers.
    name = serializers.CharField()
    notes = serializers.CharField()
    parent_id = serializers.UUIDField(allow_null=True)
    family_id = serializers.SerializerMethodField(help_text="The family's first take")
    changes = serializers.JSONField(help_text="What this version changed from its parent")
    audio_link = serializers.SerializerMethodField(
        help_text="A signed link to the audio for a player (no header needed), once done"
    )
    audio_link_expires_at = serializers.SerializerMethodField()

    def get_family_id(self, mix: Mix) -> str:
        return str(mix.family_id or mix.pk)

    def _link(self, mix: Mix) -> tuple[str, int] | None:
        links = self.context.setdefault("audio_links", {})
        if mix.pk not in links:  # one link per mix per response: URL and expiry agree
            links[mix.pk] = soundtrack_audio_link(self.context["request"], mix)
        link: tuple[str, int] | None = links[mix.pk]
        return link

    def get_audio_link(self, mix: Mix) -> str | None:
        link = self._link(mix)
        return link[0] if link else None

    def get_audio_link_expires_at(self, mix: Mix) -> str | None:
        link = self._link(mix)
        return datetime.fromtimestamp(link[1], tz=UTC).isoformat() if link else None

    def get_progress(self, mix: Mix) -> int:
        return mix_progress(mix)

    def get_stage(self, mix: Mix) -> str:
        """What the render is doing now, in words (its job's stage)."""
        return mix_stage(mix).stage

    def get_eta_s(self, mix: Mix) -> int | None:
        """Estimated seconds left (portal/jobs/progress.py); null when unknown."""
        return mix_stage(mix).eta_s

    def get_audio_url(self, mix: Mix) -> str | None:
        return soundtrack_audio_url(self.context["request"], mix)

    @extend_schema_field(FileLinkSerializer(many=True))
    def get_files(self, mix: Mix) -> list[dict[str, str]]:
        return soundtrack_files(self.context["request"], mix)

    def get_manifest(self, mix: Mix) -> dict[str, Any] | None:
        return mix.manifest if mix.status == RenderStatus.DONE else None


class SoundtrackListApi(APIView):
    # Client apps (games, editors) request soundtracks with their credentials; only plays of
    # the soundtracks an app requested itself can earn (see royalties.services.plays_ingest).
    allowed_token_scopes = ("app",)

    class InputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        class Meta:
            ref_name = "SoundtrackCreate"

        duration_s = serializers.FloatField(min_value=5, max_value=600)
        mood = serializers.CharField(
            max_length=40,
            help_text="e.g. calm, uplifting, tense: one of GET /api/v1/vocabulary/'s moods "
            "(another is refused with unknown_mood)",
        )
        bpm = serializers.FloatField(min_value=40, max_value=240, required=False, allow_null=True)
        key = serializers.CharField(
            max_length=20, required=False, allow_blank=True, help_text='e.g. "A minor", "F#m"'
        )
        hit_points = serializers.ListField(
            child=serializers.FloatField(min_value=0),
            required=False,
            max_length=32,
            help_text="Seconds, increasing, inside the duration, at least 1 s after the start "
            "and 1 s apart. Each lands within 10 ms: a hit one-shot from the vault on its exact "
            "sample, or a section change; a request whose hits cannot land is refused "
            "(hit_point_unreachable). The manifest's `hits` lists where each landed.",
        )
        intensity = serializers.FloatField(
            min_value=0, max_value=1, required=False, help_text="0 sparse .. 1 full (0.5)"
        )
        loudness_preset = serializers.CharField(
            max_length=20,
            required=False,
            allow_blank=True,
            help_text="streaming (-14 LUFS / -1 dBTP, the default), ebu_r128 "
            "(-23 LUFS / -1 dBTP) or atsc_a85 (-24 LKFS / -2 dBTP)",
        )
        loudness_lufs = serializers.FloatField(
            min_value=-30,
            max_value=-8,
            required=False,
            help_text="A custom target instead of a preset (-1 dBTP ceiling)",
        )
        # Plain strings: a format not offered is refused with the list of the offered ones
        # (mixes.soundtrack_request), not with DRF's bare "not a valid choice".
        format = serializers.CharField(
            max_length=10,
            required=False,
            help_text="The master: wav (the default) or flac; mp3 asks for a WAV master and "
            "its MP3",
        )
        formats = serializers.ListField(
            child=serializers.CharField(max_length=10),
            required=False,
            max_length=3,
            help_text="Every format to deliver: one master (wav or flac) and, if wanted, mp3 "
            '(CBR 320 kbps), e.g. ["wav", "mp3"]',
        )
        stems = serializers.BooleanField(
            required=False,
            default=False,
            help_text="Also deliver the stems: a zip of one 32-bit float WAV per role group, "
            "time-aligned and as long as the mix, summing to it before the master limiter",
        )
        seed = serializers.IntegerField(min_value=0, max_value=2**31 - 1, default=0)
        pinned_stem_ids = serializers.ListField(
            child=serializers.IntegerField(min_value=1),
            required=False,
            max_length=8,
            help_text="Stems that must play (approved stems only; another is refused with "
            "pinned_stem_unavailable); they set the tempo and key when those are left free",
        )
        muted_stem_ids = serializers.ListField(
            child=serializers.IntegerField(min_value=1),
            required=False,
            max_length=32,
            help_text="Stems that must not play",
        )

    class CreatedSerializer(serializers.Serializer):  # type: ignore[type-arg]
        class Meta:
            ref_name = "SoundtrackAccepted"

        id = serializers.UUIDField()
        status = serializers.CharField()
        progress = serializers.IntegerField()
        job_id = serializers.IntegerField(allow_null=True)

    @extend_schema(
        responses=SoundtrackOutputSerializer(many=True), summary="My soundtracks, newest first"
    )
    def get(self, request: Request) -> Response:
        paginator = Pagination()
        page = paginator.paginate_queryset(
            soundtracks_for_user(user=request.user, app=request_app(request)), request
        )
        data = SoundtrackOutputSerializer(page, many=True, context={"request": request}).data
        return paginator.get_paginated_response(data)

    @extend_schema(
        request=InputSerializer,
        responses={
            202: CreatedSerializer,
            400: OpenApiResponse(
                description="invalid: a field breaks a rule; unknown_mood: a mood the planner "
                "does not know (the message lists the known ones); pinned_stem_unavailable, "
                "pinned_stems_incompatible: a pin that is not an approved stem, or pins that "
                "cannot play together"
            ),
            422: OpenApiResponse(
                description="no_compatible_stems: the vault cannot satisfy it; "
                "hit_point_unreachable: hit points that would not land within 10 ms"
            ),
            429: OpenApiResponse(
                description="render_quota: too many renders queued or running at once, or "
                "the day's render seconds used up (Retry-After says when they reset)"
            ),
        },
        summary="Request a soundtrack; poll its URL until the status is done",
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        mix = services.soundtrack_request(
            user=request.user, data=dict(data.validated_data), app=request_app(request)
        )
        body = {"id": mix.pk, "status": mix.status, "progress": 0, "job_id": mix.job_id}
        headers = {"Location": reverse("api:mixes-soundtrack-detail", args=[mix.pk])}
        return Response(
            self.CreatedSerializer(body).data, status=status.HTTP_202_ACCEPTED, headers=headers
        )


class VocabularyApi(APIView):
    """What a request's mood may be, and what the vault holds of each mood, genre and role."""

    allowed_token_scopes = ("app",)

    class TermSerializer(serializers.Serializer):  # type: ignore[type-arg]
        class Meta:
            ref_name = "VocabularyTerm"

        name = serializers.CharField()
        approved_stems = serializers.IntegerField()

    class MoodSerializer(TermSerializer):
        class Meta:
            ref_name = "VocabularyMood"

        on_mood_map = serializers.BooleanField()
        neighbours = serializers.ListField(
            child=serializers.CharField(),
            help_text="Moods close to this one on the mood map: their stems may join its mixes",
        )

    class OutputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        class Meta:
            ref_name = "Vocabulary"

        moods = serializers.ListField(child=serializers.DictField())
        genres = serializers.ListField(child=serializers.DictField())
        roles = serializers.ListField(child=serializers.DictField())

    @extend_schema(
        responses=OutputSerializer,
        summary="The moods a soundtrack may ask for, and the vault's genres and roles, each "
        "with its count of approved stems",
    )
    def get(self, request: Request) -> Response:
        data = vocabulary()
        return Response(
            {
                "moods": self.MoodSerializer(data["moods"], many=True).data,
                "genres": self.TermSerializer(data["genres"], many=True).data,
                "roles": self.TermSerializer(data["roles"], many=True).data,
            }
        )


class SoundtrackDetailApi(APIView):
    allowed_token_scopes = ("app",)

    @extend_schema(
        responses=SoundtrackOutputSerializer,
        summary="A soundtrack's status and progress; when done, its audio URL and manifest",
    )
    def get(self, request: Request, mix_id: str) -> Response:
        mix = mix_get_for_user(
            mix_id=mix_id, app=request_app(request), user=request.user, kind=RenderKind.SOUNDTRACK
        )
        return Response(SoundtrackOutputSerializer(mix, context={"request": request}).data)
