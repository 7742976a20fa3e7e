"""The curators' gate: claims on stems under review, decisions, reasons, takedowns, notices."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ReviewClaim(models.Model):
    """Who is reviewing a stem right now. One row per stem at most (the one-to-one is what makes
    claiming race-safe): an expired claim is taken over by a conditional UPDATE, a fresh one is
    an INSERT that the unique stem column lets only one curator win."""

    stem = models.OneToOneField("stems.Stem", on_delete=models.CASCADE, related_name="review_claim")
    curator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="review_claims"
    )
    claimed_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.stem_id} claimed by {self.curator_id} until {self.expires_at:%H:%M}"


class ReasonTemplate(models.Model):
    """A reason curators pick when rejecting or requesting changes; staff edit them in the admin.

    Decisions copy the title and text they were given, so editing a template later never
    rewrites what an artist was told."""

    code = models.SlugField(max_length=50, unique=True)
    title = models.CharField(max_length=120)
    text = models.TextField(help_text="Shown to the artist, followed by the curator's note.")
    is_active = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "title"]

    def __str__(self) -> str:
        return self.title


class DecisionKind(models.TextChoices):
    APPROVE = "approve", "Approve"
    REJECT = "reject", "Reject"
    REQUEST_CHANGES = "request_changes", "Request changes"


class Decision(models.Model):
    """One curator's verdict closing one review round of a stem.

    `round` counts the times the stem entered review (1 for the submission, +1 per
    resubmission after changes were requested). The unique (stem, round) constraint is the
    database's guarantee that a round never gets two decisions, whatever the application does.
    """

    stem = models.ForeignKey("stems.Stem", on_delete=models.PROTECT, related_name="decisions")
    round = models.PositiveIntegerField()
    curator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="review_decisions"
    )
    decision = models.CharField(max_length=20, choices=DecisionKind.choices)
    reason_template = models.ForeignKey(
        ReasonTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason_title = models.CharField(max_length=120, blank=True)
    reason_text = models.TextField(blank=True)
    note = models.TextField(blank=True, help_text="Free note, shown to the artist")
    justification = models.TextField(
        blank=True, help_text="Why a flagged stem is approved (internal)"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["stem", "round"], name="one_decision_per_review_round")
        ]

    def __str__(self) -> str:
        return f"{self.get_decision_display()} stem {self.stem_id} round {self.round}"


class Takedown(models.Model):
    """Staff removed an approved stem from the vault (and so from every future render)."""

    stem = models.OneToOneField("stems.Stem", on_delete=models.PROTECT, related_name="takedown")
    staff = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)


class NotificationKind(models.TextChoices):
    APPROVED = "approved", "Stem approved"
    REJECTED = "rejected", "Stem rejected"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    TAKEN_DOWN = "taken_down", "Stem taken down"
    CREDIT_REQUESTED = "credit_requested", "Credit to confirm"
    CREDIT_DECLINED = "credit_declined", "Credit declined"


class Notification(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    stem = models.ForeignKey(
        "stems.Stem", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=32, choices=NotificationKind.choices)
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "read_at"])]

    def __str__(self) -> str:
        return f"{self.kind} for {self.user_id}"
