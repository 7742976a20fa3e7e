"""Render quotas: how many soundtracks an account or a client app may have rendering at once,
and how many seconds of them it may request per UTC day.

Two separate pools: a person's own requests (the web page, a personal token) count against
their account; requests made with a client app's credential count against that app, not its
owner's account. Previews are the platform's (for its curators) and count against nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import FloatField, Q, Sum
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.utils import timezone

from portal.accounts.models import User
from portal.clients.models import ClientApp
from portal.core.errors import ApplicationError
from portal.mixes.models import Mix, RenderKind, RenderStatus

ACTIVE_STATUSES = (RenderStatus.QUEUED, RenderStatus.RENDERING)


@dataclass(frozen=True)
class RenderQuota:
    """Where a requester stands: renders queued or running, seconds requested today."""

    holder: str  # "account" or "app", for messages
    active: int
    max_active: int
    seconds_today: float
    max_seconds_per_day: int
    resets_at: datetime


def _limits(app: Any) -> tuple[str, int, int]:
    if app is not None:
        return (
            "app",
            settings.MIXES_MAX_CONCURRENT_RENDERS_PER_APP,
            settings.MIXES_RENDER_SECONDS_PER_DAY_PER_APP,
        )
    return (
        "account",
        settings.MIXES_MAX_CONCURRENT_RENDERS_PER_ACCOUNT,
        settings.MIXES_RENDER_SECONDS_PER_DAY_PER_ACCOUNT,
    )


def _utc_day_start(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def render_quota_of(*, user: Any, app: Any = None) -> RenderQuota:
    """The quota standing of `app` (when its credential asks) or of `user`'s own requests."""
    holder, max_active, max_seconds = _limits(app)
    scope = Q(client_app=app) if app is not None else Q(requested_by=user, client_app=None)
    soundtracks = Mix.objects.filter(scope, kind=RenderKind.SOUNDTRACK)
    day_start = _utc_day_start(timezone.now())
    active = soundtracks.filter(status__in=ACTIVE_STATUSES).count()
    # The requested length (the request's duration_s), for every soundtrack asked for since
    # 00:00 UTC except the ones that failed: a failure is the platform's, not the requester's.
    requested = Cast(KeyTextTransform("duration_s", "request"), FloatField())
    seconds = (
        soundtracks.filter(created_at__gte=day_start)
        .exclude(status=RenderStatus.FAILED)
        .aggregate(total=Sum(requested))["total"]
    )
    return RenderQuota(
        holder=holder,
        active=active,
        max_active=max_active,
        seconds_today=float(seconds or 0.0),
        max_seconds_per_day=max_seconds,
        resets_at=day_start + timedelta(days=1),
    )


def _lock_holder(*, user: Any, app: Any) -> None:
    """Serialise the holder's requests: the count and the insert that follows it happen under
    this row lock (PostgreSQL's SELECT ... FOR UPDATE; SQLite's write lock, taken at BEGIN
    IMMEDIATE, already serialises every writer)."""
    if app is not None:
        ClientApp.objects.select_for_update().filter(pk=app.pk).first()
    else:
        User.objects.select_for_update().filter(pk=user.pk).first()


def render_quota_check(*, user: Any, app: Any = None, duration_s: float) -> RenderQuota:
    """Refuse a soundtrack request over its holder's quota, with a 429 that says where it
    stands and when it frees. Call it inside the transaction that creates the mix."""
    _lock_holder(user=user, app=app)
    quota = render_quota_of(user=user, app=app)
    whose = "this app's" if quota.holder == "app" else "your account's"
    if quota.active >= quota.max_active:
        raise ApplicationError(
            "render_quota",
            f"Too many renders at once: {quota.active} of {quota.max_active} of {whose} "
            "concurrent renders used (queued or rendering); one frees when a render finishes.",
            status=429,
        )
    if quota.seconds_today + duration_s > quota.max_seconds_per_day:
        now = timezone.now()
        retry_after = max(1, math.ceil((quota.resets_at - now).total_seconds()))
        raise ApplicationError(
            "render_quota",
            f"Daily render allowance reached: {quota.seconds_today:g} of "
            f"{quota.max_seconds_per_day} s of {whose} render seconds used today, and this "
            f"request asks for {duration_s:g} s more; resets at "
            f"{quota.resets_at:%H:%M} UTC ({quota.resets_at:%Y-%m-%d}).",
            status=429,
            extra={"retry_after_s": retry_after},
        )
    return quota
