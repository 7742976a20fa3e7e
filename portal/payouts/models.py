"""Stripe Connect accounts, the raw webhook events, payout runs and payouts.

Money never lives here as a balance: the ledger (portal.royalties.ledger) holds every amount as
append-only entries. A Payout row is the *intent* to move one amount with one idempotency key;
its status says how far that intent got.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class ConnectedAccount(models.Model):
    """An artist's Stripe connected account and the last state Stripe told us about."""

    artist = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="connected_account"
    )
    # Null until Stripe has answered; the key is stored first so a retry after a timeout gets
    # the same account back instead of creating a second one.
    stripe_account_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    create_idempotency_key = models.CharField(max_length=80, unique=True)
    payouts_enabled = models.BooleanField(default=False)
    details_submitted = models.BooleanField(default=False)
    transfers_active = models.BooleanField(default=False)
    requirements_due = models.JSONField(default=list, blank=True)
    disabled_reason = models.CharField(max_length=120, blank=True)
    # `created` (Unix seconds) of the newest account.updated event applied: older ones are
    # ignored, so out-of-order delivery cannot roll the state back.
    last_event_created = models.BigIntegerField(null=True, blank=True)
    # Created on the local Stripe-compatible test server (the demo), not on Stripe.
    on_test_server = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.stripe_account_id or 'pending'} ({self.artist_id})"

    @property
    def can_receive_payouts(self) -> bool:
        return bool(self.stripe_account_id) and self.payouts_enabled


class StripeEventStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    PROCESSED = "processed", "Processed"
    IGNORED = "ignored", "Ignored"
    FAILED = "failed", "Failed"


class StripeEvent(models.Model):
    """A verified webhook event, stored before anything acts on it (unique event id)."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    created = models.BigIntegerField(help_text="Stripe's `created`, Unix seconds")
    account = models.CharField(max_length=64, blank=True, help_text="Connect account, if any")
    payload = models.JSONField()
    status = models.CharField(
        max_length=16, choices=StripeEventStatus.choices, default=StripeEventStatus.RECEIVED
    )
    received_at = models.DateTimeField(auto_now_add=True)
    deliveries = models.PositiveIntegerField(default=1)
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=300, blank=True, help_text="What processing did")
    processing_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.event_id} {self.type}"


class PayoutRunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    NEEDS_ATTENTION = "needs_attention", "Done, some payouts need attention"


class PayoutRun(models.Model):
    period = models.CharField(max_length=7, help_text="YYYY-MM")
    currency = models.CharField(max_length=3)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    status = models.CharField(
        max_length=20, choices=PayoutRunStatus.choices, default=PayoutRunStatus.RUNNING
    )
    # Set when the run talked to the local Stripe-compatible test server (the demo), so nobody
    # mistakes these payouts for real money.
    against_test_server = models.BooleanField(default=False)
    summary = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"run {self.pk} for {self.period}"


class PayoutStatus(models.TextChoices):
    PENDING = "pending", "Pending"  # row and ledger reservation exist; Stripe not called yet
    IN_FLIGHT = "in_flight", "In flight"  # Stripe called, outcome not known yet
    PAID = "paid", "Paid"
    FAILED = "failed", "Failed"  # Stripe refused; the amount went back to payable
    REVERSED = "reversed", "Reversed"  # the transfer was fully reversed; back to payable


OPEN_STATUSES = (PayoutStatus.PENDING, PayoutStatus.IN_FLIGHT)


class Payout(models.Model):
    """One Stripe Transfer to one artist for one period, or the attempt at it."""

    run = models.ForeignKey(PayoutRun, on_delete=models.PROTECT, related_name="payouts")
    artist = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payouts"
    )
    period = models.CharField(max_length=7)
    sequence = models.PositiveIntegerField(default=1, help_text="1 + earlier failed attempts")
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    destination = models.CharField(max_length=64, help_text="Stripe account id at creation")
    status = models.CharField(
        max_length=16, choices=PayoutStatus.choices, default=PayoutStatus.PENDING
    )
    idempotency_key = models.CharField(max_length=100, unique=True)
    stripe_transfer_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    amount_reversed_minor = models.BigIntegerField(default=0)
    error_code = models.CharField(max_length=40, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # Further Stripe transfers that carry this payout's metadata besides the one that paid it:
    # the artist was paid more than once. Set when we first see one (webhook or reconcile),
    # for a person to undo on Stripe; the ledger never counts them.
    duplicate_transfer_ids = models.JSONField(default=list, blank=True)
    flagged_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # At most one live payout per artist and period: a rerun can never create a second.
            models.UniqueConstraint(
                fields=["artist", "period"],
                condition=~Q(status="failed"),
                name="payouts_one_live_payout_per_artist_period",
            ),
            models.UniqueConstraint(
                fields=["artist", "period", "sequence"], name="payouts_unique_sequence"
            ),
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="payouts_amount_positive"),
            models.CheckConstraint(
                condition=Q(amount_reversed_minor__gte=0)
                & Q(amount_reversed_minor__lte=models.F("amount_minor")),
                name="payouts_reversed_within_amount",
            ),
        ]
        indexes = [models.Index(fields=["status"]), models.Index(fields=["period", "status"])]

    def __str__(self) -> str:
        return f"payout {self.idempotency_key} {self.status}"

    @property
    def is_flagged(self) -> bool:
        return self.flagged_at is not None
