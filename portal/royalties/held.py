"""Reads for staff: which plays the listening rules hold, by rule and by app, and what they
would be worth if released. An open month is computed now (the same period_compute as the
close, read-only); a closed month shows what its close marked."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.core.paginator import Page, Paginator
from django.db.models import Count

from portal.accounts.models import User
from portal.clients.models import ClientApp
from portal.core.errors import ApplicationError
from portal.core.pages import page_with_rows
from portal.mixes.models import Mix
from portal.royalties import rules
from portal.royalties.allocation import allocate, seconds_text
from portal.royalties.computation import PeriodComputation, compile_mix, period_compute
from portal.royalties.explain import label
from portal.royalties.marks import MARK_RULE
from portal.royalties.models import Period, Play, PlayRelease
from portal.royalties.periods import month_bounds, month_of, parse_month, previous_month
from portal.royalties.selectors import money

NO_APP = 0  # plays stored before client apps existed carry no app


@dataclass(frozen=True)
class HeldGroup:
    rule: str
    label: str
    app_id: int  # NO_APP for plays without one
    app_name: str
    plays: int
    listeners: int
    seconds: str  # attributed listening the group would add if released
    amount: str  # closed month: what it would have drawn from the pool; open month: ""


@dataclass(frozen=True)
class HeldOverview:
    month: str
    closed: bool
    period: Period | None
    groups: list[HeldGroup]
    by_rule: list[tuple[str, str, int]]  # (rule, label, plays), every rule
    total: int
    released: int


def _app_names(app_ids: set[int]) -> dict[int, str]:
    names = {
        pk: f"{name} ({owner})"
        for pk, name, owner in ClientApp.objects.filter(pk__in=app_ids).values_list(
            "pk", "name", "owner__username"
        )
    }
    names[NO_APP] = "no app (plays from before client apps)"
    return names


def held_overview(*, month: str, now: datetime) -> HeldOverview:
    parse_month(month)
    period = Period.objects.filter(month=month).first()
    released = PlayRelease.objects.filter(play__accounting_period=month).count()
    if period is None:
        groups = _groups_computed(period_compute(month=month, pool_minor=0, as_of=now))
    else:
        groups = _groups_stored(period)
    totals: dict[str, int] = defaultdict(int)
    for group in groups:
        totals[group.rule] += group.plays
    return HeldOverview(
        month=month,
        closed=period is not None,
        period=period,
        groups=groups,
        by_rule=[(rule, label(rule), totals[rule]) for rule in rules.RULES],
        total=sum(totals.values()),
        released=released,
    )


def _groups_computed(computed: PeriodComputation) -> list[HeldGroup]:
    held = computed.play_mark >= MARK_RULE
    if not held.any():
        return []
    mixes = list(computed.mixes.values())
    app_pk = np.array([a or NO_APP for a in computed.app_ids], dtype=np.int64)
    names = _app_names({int(a) for a in app_pk})
    groups = []
    idx = np.flatnonzero(held)
    rule_codes = computed.play_mark[idx] - MARK_RULE
    apps = app_pk[computed.play_app[idx]]
    for code, app in sorted({(int(c), int(a)) for c, a in zip(rule_codes, apps, strict=True)}):
        members = idx[(rule_codes == code) & (apps == app)]
        weight = allocate(mixes, computed.play_mix[members], computed.play_ms[members], 0)
        rule = rules.rule_of(code)
        groups.append(
            HeldGroup(
                rule=rule,
                label=label(rule),
                app_id=app,
                app_name=names.get(app, str(app)),
                plays=int(members.size),
                listeners=int(np.unique(computed.play_listener[members]).size),
                seconds=seconds_text(weight.total_weight),
                amount="",
            )
        )
    return groups


def _groups_stored(period: Period) -> list[HeldGroup]:
    rows = list(
        Play.objects.filter(accounting_period=period.month)
        .exclude(held_by="")
        .values("held_by", "app_id")
        .annotate(plays=Count("pk"), listeners=Count("listener_id", distinct=True))
        .order_by("held_by", "app_id")
    )
    names = _app_names({row["app_id"] or NO_APP for row in rows})
    total_weight = int(period.total_weight)
    groups = []
    for row in rows:
        played = list(
            Play.objects.filter(
                accounting_period=period.month, held_by=row["held_by"], app_id=row["app_id"]
            ).values_list("mix_id", "ms_played")
        )
        mix_ids = sorted({m for m, _ in played}, key=str)
        compiled = [compile_mix(m) for m in sorted(Mix.objects.filter(pk__in=mix_ids), key=_key)]
        index = {mix_id: i for i, mix_id in enumerate(mix_ids)}
        weight = allocate(
            compiled,
            np.fromiter((index[m] for m, _ in played), dtype=np.int64, count=len(played)),
            np.fromiter((ms for _, ms in played), dtype=np.int64, count=len(played)),
            0,
        ).total_weight
        # Had they counted, the same pool would have been shared over more listening.
        drawn = period.pool_minor * weight // (total_weight + weight) if weight else 0
        app = row["app_id"] or NO_APP
        groups.append(
            HeldGroup(
                rule=row["held_by"],
                label=label(row["held_by"]),
                app_id=app,
                app_name=names.get(app, str(app)),
                plays=row["plays"],
                listeners=row["listeners"],
                seconds=seconds_text(weight),
                amount=money(drawn, period.currency),
            )
        )
    return groups


def _key(mix: Mix) -> str:
    return str(mix.pk)


@dataclass(frozen=True)
class HeldPlay:
    event_id: str
    listener_id: str
    mix_id: str
    started_at: datetime
    ms_played: int


def held_plays(
    *, month: str, rule: str, app_id: int, now: datetime, page: int | str = 1, per_page: int = 100
) -> Page[HeldPlay]:
    """One (rule, app) group's plays, in event id order, a page at a time (of HeldPlay)."""
    parse_month(month)
    if rule not in rules.RULES:
        raise ApplicationError("invalid_rule", f"No listening rule {rule!r}.")
    app_filter: dict[str, Any] = {"app__isnull": True} if app_id == NO_APP else {"app_id": app_id}
    fields = ("event_id", "listener_id", "mix_id", "started_at", "ms_played")
    if Period.objects.filter(month=month).exists():
        stored = Play.objects.filter(accounting_period=month, held_by=rule, **app_filter)
        page_obj = Paginator(stored.order_by("event_id").values_list(*fields), per_page).get_page(
            page
        )
        rows = list(page_obj.object_list)
    else:
        computed = period_compute(month=month, pool_minor=0, as_of=now)
        code = MARK_RULE + rules.code_of(rule)
        wanted = None if app_id == NO_APP else app_id
        app_index = computed.app_ids.index(wanted) if wanted in computed.app_ids else -1
        members = np.flatnonzero((computed.play_mark == code) & (computed.play_app == app_index))
        ids = sorted(computed.play_ids[i] for i in members)
        # Paginate the ids, then read only one page of rows (a group can be large).
        page_obj = Paginator(ids, per_page).get_page(page)
        found = {
            row[0]: row
            for row in Play.objects.filter(pk__in=list(page_obj.object_list)).values_list(*fields)
        }
        rows = [found[i] for i in page_obj.object_list if i in found]
    return page_with_rows(
        page_obj,
        [HeldPlay(str(e), listener, str(m), started, ms) for e, listener, m, started, ms in rows],
    )


@dataclass(frozen=True)
class OpenMonth:
    month: str
    plays: int
    late_until: datetime
    closable_without_reason: bool


def open_months(*, now: datetime, late_window: timedelta) -> list[OpenMonth]:
    """Months with plays that are not closed, and last month, oldest first, each with the
    moment its late window passes (the periods page and the held page link them)."""
    closed = set(Period.objects.values_list("month", flat=True))
    counts = dict(
        Play.objects.exclude(accounting_period__in=closed)
        .values("accounting_period")
        .annotate(plays=Count("pk"))
        .values_list("accounting_period", "plays")
    )
    last = previous_month(month_of(now))
    if last not in closed:
        counts.setdefault(last, 0)
    out = []
    for month in sorted(counts):
        _, end = month_bounds(month)
        until = end + late_window
        out.append(OpenMonth(month, counts[month], until, now >= until))
    return out


def held_per_mix_stored(month: str) -> dict[str, dict[str, int]]:
    """Held plays per mix and rule, as a closed month's close marked them."""
    per_mix: dict[str, dict[str, int]] = defaultdict(dict)
    for mix_id, rule, plays in (
        Play.objects.filter(accounting_period=month)
        .exclude(held_by="")
        .values_list("mix_id", "held_by")
        .annotate(plays=Count("pk"))
        .order_by()
    ):
        per_mix[str(mix_id)][rule] = plays
    return per_mix


def held_per_mix_computed(computed: PeriodComputation) -> dict[str, dict[str, int]]:
    """Held plays per mix and rule, as the computation of an open month holds them now."""
    position = {play_id: i for i, play_id in enumerate(computed.play_ids)}
    keys = list(computed.mixes)
    per_mix: dict[str, dict[str, int]] = defaultdict(dict)
    for rule, ids in computed.held_ids.items():
        for play_id in ids:
            key = keys[int(computed.play_mix[position[play_id]])]
            per_mix[key][rule] = per_mix[key].get(rule, 0) + 1
    return per_mix


def held_of_artist(
    per_mix: dict[str, dict[str, int]], artist: User
) -> tuple[dict[str, int], dict[int, dict[str, int]]]:
    """Held plays of the month's mixes crediting `artist` (as their signed manifests say):
    per rule, each play once, and per stem of theirs. Counts only: whose other stems are in
    those mixes, and who listened, is not the artist's to see."""
    totals = {rule: 0 for rule in rules.RULES}
    per_stem: dict[int, dict[str, int]] = {}
    for mix_id, manifest in Mix.objects.filter(pk__in=list(per_mix)).values_list("pk", "manifest"):
        stems = {
            int(stem["id"])
            for stem in (manifest or {}).get("stems") or []
            if str(stem.get("id", "")).isdigit()
            and any(c.get("artist_id") == artist.pk for c in stem.get("credits") or [])
        }
        if not stems:
            continue
        for rule, plays in per_mix[str(mix_id)].items():
            totals[rule] = totals.get(rule, 0) + plays
            for stem_id in stems:
                counts = per_stem.setdefault(stem_id, {r: 0 for r in rules.RULES})
                counts[rule] = counts.get(rule, 0) + plays
    return totals, per_stem
