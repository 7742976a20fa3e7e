"""Reads for client apps."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Case, QuerySet, Value, When

from portal.accounts.models import User
from portal.clients.models import (
    AppCredential,
    AppStatus,
    ClientApp,
    RefusedPlays,
    WebhookDelivery,
)
from portal.core.errors import NotFound


def apps_of(*, owner: User) -> QuerySet[ClientApp]:
    return ClientApp.objects.filter(owner=owner).prefetch_related("credentials")


def app_of(*, owner: User, app_id: int) -> ClientApp:
    app = ClientApp.objects.filter(owner=owner, pk=app_id).first()
    if app is None:
        raise NotFound("app_not_found", "No such app of yours.")
    return app


def webhook_deliveries(*, app: ClientApp) -> QuerySet[WebhookDelivery]:
    """An app's webhook deliveries, newest first."""
    return WebhookDelivery.objects.filter(app=app).order_by("-created_at", "-pk")


def apps_for_staff(*, status: str | None = None) -> QuerySet[ClientApp]:
    """Every app, the ones waiting for a decision first (they are what staff act on)."""
    apps = ClientApp.objects.select_related("owner", "reviewed_by")
    if status:
        apps = apps.filter(status=status)
    waiting = Case(When(status=AppStatus.PENDING, then=Value(0)), default=Value(1))
    return apps.order_by(waiting, "-created_at")


def request_app(request: Any) -> ClientApp | None:
    """The approved client app whose credential authenticated this API request, if any."""
    credential = getattr(request, "auth", None)
    return credential.app if isinstance(credential, AppCredential) else None


def pending_count() -> int:
    return ClientApp.objects.filter(status=AppStatus.PENDING).count()


def refusals_by_app(*, since: datetime) -> dict[int, dict[str, int]]:
    """Per app id, the events refused at ingestion since `since`, by rejection code."""
    totals: dict[int, dict[str, int]] = {}
    for app_id, counts in RefusedPlays.objects.filter(received_at__gte=since).values_list(
        "app_id", "counts"
    ):
        mine = totals.setdefault(app_id, {})
        for code, count in counts.items():
            mine[code] = mine.get(code, 0) + int(count)
    return {app_id: dict(sorted(c.items())) for app_id, c in totals.items()}
