"""The review API's shapes: claims, decisions, queue items, checks, licenses, vault stems and
notices (the views are in apis.py)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from portal.review import selectors
from portal.review.models import Decision
from portal.stems.apis import CheckSerializer as StemCheckSerializer
from portal.stems.apis import StemDetailsSerializer
from portal.stems.models import Stem
from portal.stems.selectors import consent_summary


class ClaimSerializer(serializers.Serializer):  # type: ignore[type-arg]
    class Meta:
        ref_name = "ReviewClaim"

    curator = serializers.CharField(source="curator.display_name")
    claimed_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()


class CreditSerializer(serializers.Serializer):  # type: ignore[type-arg]
    class Meta:
        ref_name = "ReviewCredit"

    artist = serializers.CharField(source="artist.display_name")
    username = serializers.CharField(source="artist.username")
    split_bps = serializers.IntegerField()
    consent = serializers.CharField(help_text="pending, accepted or declined")
    consent_decided_at = serializers.DateTimeField(allow_null=True)
    consent_message = serializers.CharField()


class DecisionSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    class Meta:
        ref_name = "ReviewDecision"
        model = Decision
        fields = [
            "id",
            "stem_id",
            "round",
            "decision",
            "reason_title",
            "reason_text",
            "note",
            "justification",
            "curator",
            "created_at",
        ]

    stem_id = serializers.IntegerField()
    curator = serializers.CharField(source="curator.display_name")


class ArtistDecisionSerializer(DecisionSerializer):
    """What the artist reads: the outcome, reason and note (not the internal justification)."""

    class Meta(DecisionSerializer.Meta):
        ref_name = "ReviewDecisionForArtist"
        fields = [f for f in DecisionSerializer.Meta.fields if f not in ("justification",)]


class QueueItemSerializer(serializers.Serializer):  # type: ignore[type-arg]
    class Meta:
        ref_name = "ReviewQueueItem"

    id = serializers.IntegerField()
    title = serializers.CharField()
    kind = serializers.CharField()
    role = serializers.CharField()
    bpm = serializers.DecimalField(max_digits=6, decimal_places=2, allow_null=True)
    musical_key = serializers.CharField()
    moods = serializers.ListField(child=serializers.CharField())
    provenance_verdict = serializers.CharField()
    artist = serializers.CharField(source="artist.display_name")
    created_at = serializers.DateTimeField()
    claim = serializers.SerializerMethodField()
    credits_pending = serializers.SerializerMethodField(
        help_text="Usernames of the credited artists who have not answered yet"
    )
    credits_declined = serializers.SerializerMethodField(
        help_text="Usernames of the credited artists who declined their share"
    )

    @extend_schema_field(ClaimSerializer(allow_null=True))
    def get_claim(self, stem: Stem) -> dict[str, Any] | None:
        held = selectors.active_claim(stem)
        return ClaimSerializer(held).data if held else None

    def get_credits_pending(self, stem: Stem) -> list[str]:
        return [c.artist.username for c in consent_summary(stem.credits.all()).pending]

    def get_credits_declined(self, stem: Stem) -> list[str]:
        return [c.artist.username for c in consent_summary(stem.credits.all()).declined]


class CheckSerializer(StemCheckSerializer):
    """The stems domain's check, plus the stems and mixes its evidence points to."""

    class Meta:
        ref_name = "ReviewCheck"

    matched_stem_ids = serializers.SerializerMethodField()
    matched_mix_ids = serializers.SerializerMethodField()

    def get_matched_stem_ids(self, check: Any) -> list[int]:
        return selectors.evidence_references(check.evidence)[0]

    def get_matched_mix_ids(self, check: Any) -> list[str]:
        return selectors.evidence_references(check.evidence)[1]


class LicenseSerializer(serializers.Serializer):  # type: ignore[type-arg]
    class Meta:
        ref_name = "ReviewLicense"

    version = serializers.IntegerField()
    title = serializers.CharField()
    terms_sha256 = serializers.CharField()


class VaultStemSerializer(StemDetailsSerializer):
    class Meta:
        ref_name = "VaultStem"

    duration_s = serializers.FloatField()
    artist = serializers.CharField(source="artist.display_name")
    license = LicenseSerializer(source="submission.license")
    credits = CreditSerializer(many=True)
    audio_url = serializers.SerializerMethodField()

    def get_audio_url(self, stem: Stem) -> str:
        return selectors.stem_audio_url(stem.pk)


class NotificationSerializer(serializers.Serializer):  # type: ignore[type-arg]
    class Meta:
        ref_name = "Notification"

    id = serializers.IntegerField()
    kind = serializers.CharField()
    text = serializers.CharField()
    stem_id = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()
    read_at = serializers.DateTimeField(allow_null=True)
