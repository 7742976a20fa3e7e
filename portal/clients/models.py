"""Client apps: the games, shops and video tools that request soundtracks and report plays.

Plays earn money, so only credentials of a staff-approved app can report them. A person's own
API token never can: an artist could otherwise invent listening of their own stems.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AppStatus(models.TextChoices):
    PENDING = "pending", "Waiting for approval"
    APPROVED = "approved", "Approved"
    SUSPENDED = "suspended", "Suspended"
    REJECTED = "rejected", "Rejected"


class ClientApp(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="client_apps"
    )
    name = models.CharField(max_length=80)
    website = models.URLField(blank=True)
    description = models.TextField(blank=True, help_text="What the app is and who listens")
    status = models.CharField(max_length=16, choices=AppStatus.choices, default=AppStatus.PENDING)
    status_reason = models.TextField(blank=True, help_text="Why staff suspended or rejected it")
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Where the app hears that its renders are done or failed (portal.clients.webhooks), and
    # the secret each delivery's signature is keyed with (issued by the portal, shown to the
    # owner: the app verifies with it).
    webhook_url = models.URLField(max_length=500, blank=True)
    webhook_secret = models.CharField(max_length=80, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="client_app_name_per_owner")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_approved(self) -> bool:
        return self.status == AppStatus.APPROVED


class AppCredential(models.Model):
    """A bearer credential of an app. Only its SHA-256 is stored, as for personal tokens.

    Authentication joins the app and accepts the credential only while the app is approved, so
    suspending an app stops every one of its credentials at the next request.
    """

    SCOPE = "app"  # what FullScopeOnly and the views' allowed_token_scopes compare against

    app = models.ForeignKey(ClientApp, on_delete=models.CASCADE, related_name="credentials")
    name = models.CharField(max_length=80)
    prefix = models.CharField(max_length=16)
    key_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.app.name}: {self.name} ({self.prefix}…)"

    @property
    def scope(self) -> str:
        return self.SCOPE

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class RefusedPlays(models.Model):
    """Events of one ingestion batch that an app reported and the portal refused, by code.

    Append-only, and written only for batches with refusals: honest apps' batches write
    nothing here, and concurrent batches of one app never wait on a shared counter row. Staff
    read these to see who is trying what (backdated batches, previews, other apps' mixes).
    """

    app = models.ForeignKey(ClientApp, on_delete=models.CASCADE, related_name="refusals")
    received_at = models.DateTimeField()
    counts = models.JSONField(help_text='{"code": number of events refused with it}')
    total = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["app", "received_at"], name="clients_refusals_app")]


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Being delivered"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class WebhookDelivery(models.Model):
    """One event for one app's webhook, and every attempt to deliver it.

    One row per event id (unique): an event enqueued twice (a retried render job) is delivered
    once, and the receiver gets the same id on every attempt to deduplicate its side.
    """

    app = models.ForeignKey(ClientApp, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.CharField(max_length=100, unique=True)
    event_type = models.CharField(max_length=40)
    payload = models.JSONField(help_text="The event as sent: the body is its canonical JSON")
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    attempt_log = models.JSONField(
        default=list, blank=True, help_text="[{at, url, status_code, error, ms}] per attempt"
    )
    job = models.ForeignKey(
        "jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["app", "created_at"], name="clients_delivery_app")]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} -> {self.app}"
