"""Renders: preview mixes and soundtracks, each with its signed provenance manifest."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class RenderKind(models.TextChoices):
    PREVIEW = "preview", "Preview of a stem in context"
    SOUNDTRACK = "soundtrack", "Soundtrack requested through the API"
    # One paid stretch of a live stream (portal/streams): the segments a listener was
    # delivered and confirmed, with their attribution, so plays pay it like a soundtrack.
    STREAM = "stream", "Stretch of a live stream"


class RenderStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RENDERING = "rendering", "Rendering"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class Mix(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=16, choices=RenderKind.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="mixes",
    )
    # The client app whose credential requested it: only that app's plays of it can earn.
    client_app = models.ForeignKey(
        "clients.ClientApp",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="mixes",
    )
    preview_of = models.ForeignKey(
        "stems.Stem", null=True, blank=True, on_delete=models.PROTECT, related_name="previews"
    )
    request = models.JSONField(default=dict, help_text="What the client asked for")
    plan = models.JSONField(default=dict, blank=True)
    plan_sha256 = models.CharField(max_length=64, blank=True)
    status = models.CharField(
        max_length=16, choices=RenderStatus.choices, default=RenderStatus.QUEUED
    )
    job = models.ForeignKey(
        "jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    audio = models.FileField(max_length=300, blank=True)
    audio_format = models.CharField(max_length=8, blank=True)
    audio_sha256 = models.CharField(max_length=64, blank=True)
    duration_s = models.FloatField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    loudness_lufs = models.FloatField(null=True, blank=True)
    true_peak_dbtp = models.FloatField(null=True, blank=True)
    manifest = models.JSONField(default=dict, blank=True, help_text="The signed manifest")
    waveform = models.JSONField(
        default=list, blank=True, help_text="Peak level per slice of the output, 0..1, for display"
    )
    error = models.TextField(blank=True)
    # Iterating on a take: each version is its own render (its own request, plan and manifest)
    # made from `parent` with `changes`; `family` is the first take, shared by every version,
    # so a family is listed by one indexed column. Both null for a first take.
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="versions"
    )
    family = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="family_members"
    )
    changes = models.JSONField(
        default=dict, blank=True, help_text="What this version changed from its parent"
    )
    name = models.CharField(max_length=120, blank=True)
    notes = models.TextField(blank=True, max_length=4000)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} {self.id}"


class MixStem(models.Model):
    """Which stems a mix used (denormalised from the manifest for queries like "mixes of X")."""

    mix = models.ForeignKey(Mix, on_delete=models.CASCADE, related_name="stems_used")
    stem = models.ForeignKey("stems.Stem", on_delete=models.PROTECT, related_name="mix_uses")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["mix", "stem"], name="mix_stem_once")]
