"""The vault's raw material: stems, their credits, license, receipt and provenance checks."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class StemKind(models.TextChoices):
    LOOP = "loop", "Loop"
    ONE_SHOT = "one-shot", "One-shot"
    STEM = "stem", "Stem"
    FIELD_RECORDING = "field-recording", "Field recording"


class StemRole(models.TextChoices):
    DRUMS = "drums", "Drums"
    PERCUSSION = "percussion", "Percussion"
    BASS = "bass", "Bass"
    HARMONY = "harmony", "Harmony"
    MELODY = "melody", "Melody"
    VOCALS = "vocals", "Vocals"
    TEXTURE = "texture", "Texture"
    FX = "fx", "FX"


class StemStatus(models.TextChoices):
    PROCESSING = "processing", "Processing"
    REJECTED = "rejected", "Rejected"
    IN_REVIEW = "in_review", "In review"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    APPROVED = "approved", "Approved"
    WITHDRAWN = "withdrawn", "Withdrawn"
    TAKEN_DOWN = "taken_down", "Taken down"


class Verdict(models.TextChoices):
    PENDING = "pending", "Pending"
    PASS = "pass", "Pass"
    FLAG = "flag", "Flag"
    FAIL = "fail", "Fail"


STANDARD_PERMITTED_USES = (
    "Synchronisation with one audiovisual production (film, series, advertisement, game, "
    "online video), including its trailers and promotion",
    "Broadcast, streaming, download and public performance of that production worldwide",
    "Editing, looping and cutting the soundtrack to picture, without remixing its stems "
    "into other music",
)


def standard_permitted_uses() -> list[str]:
    return list(STANDARD_PERMITTED_USES)


class LicenseTemplate(models.Model):
    """A versioned license the artist grants. Terms never change once published: a new text is
    a new version, and every stem keeps the hash of the exact terms it was licensed under."""

    version = models.PositiveIntegerField(unique=True)
    title = models.CharField(max_length=200)
    terms = models.TextField()
    terms_sha256 = models.CharField(max_length=64)
    # What a licensee of a soundtrack may do with it, as this version grants: the licence
    # certificate prints the uses every stem's licence in the soundtrack grants. Fixed with
    # the version, like the terms (license_template_publish refuses a change).
    permitted_uses = models.JSONField(default=standard_permitted_uses)
    is_current = models.BooleanField(default=True)
    published_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"v{self.version} {self.title}"


class Submission(models.Model):
    """One contribution: one or several files sent together under one license and attestation."""

    artist = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="submissions"
    )
    license = models.ForeignKey(LicenseTemplate, on_delete=models.PROTECT)
    attestations = models.JSONField(default=dict)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)


class Stem(models.Model):
    submission = models.ForeignKey(Submission, on_delete=models.PROTECT, related_name="stems")
    artist = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="stems"
    )
    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=StemKind.choices)
    role = models.CharField(max_length=20, choices=StemRole.choices)
    bpm = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    bars = models.PositiveIntegerField(null=True, blank=True)
    musical_key = models.CharField(max_length=12, blank=True, help_text="e.g. C, F#m, Bbm")
    moods = models.JSONField(default=list, blank=True)
    genres = models.JSONField(default=list, blank=True)
    description = models.TextField(blank=True)
    status = models.CharField(
        max_length=20, choices=StemStatus.choices, default=StemStatus.PROCESSING, db_index=True
    )
    # Storage: a generated name, never the client's; the client's name is kept for display only.
    audio = models.FileField(max_length=300)
    original_filename = models.CharField(max_length=255)
    size_bytes = models.BigIntegerField()
    file_sha256 = models.CharField(max_length=64)
    # The decoded PCM's hash: a re-wrapped or renamed copy of the same sound has the same one.
    # Unique, so two simultaneous uploads of one file cannot both get in.
    pcm_sha256 = models.CharField(max_length=64, unique=True)
    audio_format = models.CharField(max_length=16)
    sample_rate = models.PositiveIntegerField()
    channels = models.PositiveSmallIntegerField()
    duration_s = models.FloatField()
    analysis = models.JSONField(default=dict, blank=True)
    fingerprint = models.BinaryField(null=True, blank=True)
    provenance_verdict = models.CharField(
        max_length=10, choices=Verdict.choices, default=Verdict.PENDING
    )
    provenance_job = models.ForeignKey(
        "jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rejection_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "role"])]

    def __str__(self) -> str:
        return f"{self.title} (#{self.pk})"

    @property
    def is_renderable(self) -> bool:
        """Only approved stems sound in future renders; withdrawals and takedowns leave."""
        return self.status == StemStatus.APPROVED


class CreditConsent(models.TextChoices):
    PENDING = "pending", "Waiting for an answer"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"


class Credit(models.Model):
    """Who made a stem and their share of its royalties, in basis points (10000 = 100%).

    Royalties follow these rows, so each credited artist must accept their share before the stem
    can be approved: `consent` is the current answer of `artist` (the uploader's own credit is
    accepted as they write it); the audit log keeps every answer given."""

    stem = models.ForeignKey(Stem, on_delete=models.CASCADE, related_name="credits")
    artist = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="credits"
    )
    split_bps = models.PositiveIntegerField()
    # Fail closed: a row written without a word about consent waits for the credited artist.
    consent = models.CharField(
        max_length=10, choices=CreditConsent.choices, default=CreditConsent.PENDING
    )
    consent_requested_at = models.DateTimeField(null=True, blank=True)
    consent_decided_at = models.DateTimeField(null=True, blank=True)
    consent_message = models.TextField(blank=True, help_text="What the artist said with it")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["stem", "artist"], name="credit_once_per_artist"),
            models.CheckConstraint(
                condition=models.Q(split_bps__gt=0, split_bps__lte=10000), name="credit_split_range"
            ),
        ]


class ContributionReceipt(models.Model):
    """What the artist attested, when, from where, for which exact audio: downloadable JSON."""

    stem = models.OneToOneField(Stem, on_delete=models.CASCADE, related_name="receipt")
    body = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)


class CheckName(models.TextChoices):
    EXACT_DUPLICATE = "exact_duplicate", "Exact duplicate"
    NEAR_DUPLICATE = "near_duplicate", "Near duplicate"
    CONTAINMENT = "containment", "Contains a vault stem"
    SELF_OUTPUT = "self_output", "Platform's own output"
    METADATA = "metadata", "Metadata"
    QUALITY = "quality", "Quality"


class ProvenanceCheck(models.Model):
    stem = models.ForeignKey(Stem, on_delete=models.CASCADE, related_name="checks")
    check_name = models.CharField(max_length=32, choices=CheckName.choices)
    verdict = models.CharField(max_length=10, choices=Verdict.choices)
    summary = models.TextField(help_text="A sentence a person can read")
    evidence = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["stem", "check_name"], name="one_result_per_check")
        ]


class RenderedAudio(models.Model):
    """Fingerprints of everything the platform rendered: the self-output guard's index.

    The renderer registers every output here (through stems.services.rendered_audio.rendered_audio_register),
    so an upload of a render, or of an excerpt of one, fails provenance.
    """

    key = models.CharField(max_length=64, unique=True, help_text='e.g. "mix:<uuid>"')
    fingerprint = models.BinaryField()
    duration_s = models.FloatField()
    # Where the rendered file is stored, so that an old-format fingerprint can be recomputed
    # from its audio without stems reaching up into the domain that rendered it.
    audio_name = models.CharField(max_length=300, blank=True)
    # The stems audible in the render (from its manifest's placements). An upload that copies
    # one of them also matches the render; the self-output guard leaves such a match to the
    # near-duplicate check, which names the stem (see provenance_checks.check_self_output).
    stem_ids = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
