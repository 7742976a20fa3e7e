"""Demo: a few hundred deterministic plays of the demo mixes in the previous UTC month, and that
month closed with a 500.00 USD pool. Idempotent: a closed month is left alone, and replayed
events are duplicates (their ids are derived from their position).

So that staff find the held-plays page populated, the demo also reports what the listening
rules hold: a bot looping a mix for just over 30 s (held by threshold_hugging) in the closed
month, and, in the current month while it is open, a listener whose plays overlap (two
devices at once; held by overlap, and releasable there)."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta
from typing import Any

from django.utils import timezone

from portal.accounts.models import Role, User
from portal.clients.demo import demo_app
from portal.core.errors import ApplicationError
from portal.mixes.models import Mix, RenderStatus
from portal.royalties.computation import compile_mix
from portal.royalties.models import Period
from portal.royalties.periods import month_bounds, month_of, previous_month
from portal.royalties.services import (
    MAX_EVENTS_PER_REQUEST,
    late_window,
    period_close,
    plays_ingest,
)
from portal.stems.models import Stem

DEMO_POOL_MINOR = 50_000
DEMO_CURRENCY = "usd"
DEMO_PLAYS = 360
_NAMESPACE = uuid.UUID("6f1c5a52-8d0e-4c55-9a1e-0c6b1d9a7e11")


def _usable(mix: Mix) -> bool:
    try:
        compiled = compile_mix(mix)
    except ApplicationError:
        return False
    ids = {int(s) for s in compiled.stems if s.isdigit()}
    return (
        bool(ids)
        and len(ids) == len(compiled.stems)
        and Stem.objects.filter(pk__in=ids).count() == len(ids)
    )


def seed(*, out: Any) -> None:
    month = previous_month(month_of(timezone.now()))
    if Period.objects.filter(month=month).exists():
        out.write(f"royalties: {month} is already closed")
        return
    app = demo_app()
    if app is None or not app.is_approved:
        out.write("royalties: the demo client app is missing, so no plays or period to seed")
        return
    # Plays can earn only on the soundtracks the reporting app requested itself.
    mixes = [
        m
        for m in Mix.objects.filter(status=RenderStatus.DONE, client_app=app).order_by(
            "created_at", "pk"
        )
        if (m.duration_ms or 0) > 0 and _usable(m)
    ]
    if not mixes:
        out.write("royalties: no finished demo mixes, so no plays or period to seed")
        return
    start, end = month_bounds(month)
    # Plays older than the late window are refused: late in a month, last month's first days
    # are out of reach, so the demo's plays fall in the part of the month that is not.
    reach = max(start, timezone.now() - late_window() + timedelta(days=1))
    reach = reach.replace(minute=0, second=0, microsecond=0)
    span_s = int((end - reach).total_seconds()) - 3600
    rng = random.Random(2024)
    events: list[dict[str, Any]] = []
    for index in range(DEMO_PLAYS):
        mix = mixes[index % len(mixes)]
        duration = int(mix.duration_ms or 0)
        threshold = min(duration, 30_000)
        roll = rng.random()
        if roll < 0.75:
            ms = rng.randint(threshold, duration)
        elif roll < 0.9:
            ms = duration
        else:
            ms = rng.randint(0, max(threshold - 1, 0))
        events.append(
            {
                "event_id": str(uuid.uuid5(_NAMESPACE, f"demo-play-{index}")),
                "mix_id": str(mix.pk),
                "listener_id": f"demo-listener-{rng.randint(1, 60):02d}",
                "started_at": (reach + timedelta(seconds=rng.randint(0, span_s))).isoformat(),
                "ms_played": ms,
                "client": "demo-player",
            }
        )
    # One listener on repeat: 24 plays of one mix in one day, 4 over the daily limit.
    heavy_day = max(start + timedelta(days=9), reach) + timedelta(hours=20)
    for repeat in range(24):
        events.append(
            {
                "event_id": str(uuid.uuid5(_NAMESPACE, f"demo-repeat-{repeat}")),
                "mix_id": str(mixes[0].pk),
                "listener_id": "demo-listener-on-repeat",
                "started_at": (heavy_day + timedelta(minutes=3 * repeat)).isoformat(),
                "ms_played": int(mixes[0].duration_ms or 0),
                "client": "demo-player",
            }
        )
    events += _looping_bot(mixes, max(start + timedelta(days=12), reach) + timedelta(hours=2))
    staff = User.objects.filter(role=Role.STAFF).order_by("pk").first()
    accepted = 0
    for begin in range(0, len(events), MAX_EVENTS_PER_REQUEST):
        result = plays_ingest(events=events[begin : begin + MAX_EVENTS_PER_REQUEST], app=app)
        accepted += result.accepted
    # The demo's month ended days ago at most: its late window is still open, so the demo
    # closes it the way staff would, forcing it with a reason that goes into the audit log.
    period = period_close(
        month=month,
        pool_minor=DEMO_POOL_MINOR,
        currency=DEMO_CURRENCY,
        actor=staff,
        force_reason="Demo seed: the demo month closes at once so `make run` shows statements.",
    )
    out.write(
        f"royalties: {accepted} demo plays over {len(mixes)} mixes; {month} closed with "
        f"{DEMO_POOL_MINOR} minor units {DEMO_CURRENCY} ({period.plays_counted} plays counted, "
        f"{period.plays_held} held by the listening rules)"
    )
    _two_devices(app, mixes, out)


def _looping_bot(mixes: list[Mix], at: Any) -> list[dict[str, Any]]:
    """A bot replaying the longest mix for just over 30 s, a minute apart: nothing a person
    does (threshold_hugging holds all 16)."""
    mix = max(mixes, key=lambda m: int(m.duration_ms or 0))
    if int(mix.duration_ms or 0) <= 40_000:
        return []  # too short a mix to tell hugging from playing it whole
    return [
        {
            "event_id": str(uuid.uuid5(_NAMESPACE, f"demo-loop-{i}")),
            "mix_id": str(mix.pk),
            "listener_id": "demo-loop-bot",
            "started_at": (at + timedelta(seconds=45 * i)).isoformat(),
            "ms_played": 30_500 + 97 * i,
            "client": "demo-player",
        }
        for i in range(16)
    ]


def _two_devices(app: Any, mixes: list[Mix], out: Any) -> None:
    """This (open) month: one listener playing on two devices at once, so the held-plays page
    has plays that staff may still release."""
    now = timezone.now()
    start, _ = month_bounds(month_of(now))
    mix = mixes[0]
    duration = int(mix.duration_ms or 0)
    first = now - timedelta(seconds=4 * duration / 1000 + 600)
    if first < start or first < mix.created_at:
        return  # the month has only just begun: nothing to show yet
    events = [
        {
            "event_id": str(uuid.uuid5(_NAMESPACE, f"demo-two-devices-{now:%Y-%m}-{i}")),
            "mix_id": str(mix.pk),
            "listener_id": "demo-two-devices",
            # Two plays every mix-length, 10 s apart: the second of each pair overlaps.
            "started_at": (
                first + timedelta(milliseconds=duration * (i // 2) + 10_000 * (i % 2))
            ).isoformat(),
            "ms_played": duration,
            "client": "demo-player",
        }
        for i in range(6)
    ]
    result = plays_ingest(events=events, app=app)
    if result.accepted:
        out.write(f"royalties: {result.accepted} plays this month from a listener on two devices")
