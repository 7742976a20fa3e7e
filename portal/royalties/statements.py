"""Reads: an artist's statement for a month, by stem and by client app, with soundtrack plays
and live-stream seconds side by side.

A closed month's statement is what the close stored (AllocationLine, AllocationDetail). An open
month's is an estimate: the same `period_compute` the close runs, on the plays received so far,
with the last closed month's pool (the real pool is set when staff close the month). There is no
second formula: closing the month with that pool over the same plays pays exactly the estimate
(tests/royalties/test_statement_estimate.py holds to it).

Every figure is exact: amounts in integer minor units, formatted in their currency; shares in
basis points split by largest remainder so that each column adds up to 100.00%; an amount per
client app is the artist's line amounts split over the mixes behind them by the same rule.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from portal.accounts.models import User
from portal.core.apportion import NothingToAllocate, percent_shares, percent_text
from portal.core.errors import NotFound
from portal.royalties import breakdown, held
from portal.royalties.allocation import seconds_text
from portal.royalties.breakdown import DetailRow, LineRow
from portal.royalties.computation import period_compute
from portal.royalties.explain import label as rule_label
from portal.royalties.models import AllocationDetail, AllocationLine, Period, Play
from portal.royalties.periods import month_of, parse_month
from portal.royalties.rules import RULES
from portal.royalties.selectors import closed_period, money
from portal.stems.models import Stem


@dataclass(frozen=True)
class StatementLine:
    stem_id: int
    stem_title: str
    plays: int  # qualifying plays that reached the stem: soundtrack plays and stream stretches
    attributed_seconds: str
    weight: int
    amount_minor: int
    amount: str
    # Held plays of mixes with this stem, per listening rule (every rule, zeros included).
    held: dict[str, int] = field(default_factory=dict)
    soundtrack_plays: int = 0
    soundtrack_seconds: str = "0.000"
    stream_seconds: str = "0.000"
    share: str = "0.00%"  # of the artist's attributed listening; the column sums to 100.00%

    @property
    def held_plays(self) -> int:
        return sum(self.held.values())


@dataclass(frozen=True)
class HeldCount:
    rule: str
    label: str
    plays: int


@dataclass(frozen=True)
class Statement:
    period: str
    currency: str
    artist_id: int
    artist_name: str
    closed_at: datetime | None
    pool_minor: int
    plays: int
    attributed_seconds: str
    amount_minor: int
    amount: str
    lines: list[StatementLine]
    # Plays of mixes with the artist's stems that a listening rule held, per rule (each play
    # once), and the artist's stems that earned nothing but had held plays.
    held: list[HeldCount] = field(default_factory=list)
    held_only: list[StatementLine] = field(default_factory=list)
    by_app: list[breakdown.AppLine] = field(default_factory=list)
    soundtrack_plays: int = 0
    soundtrack_seconds: str = "0.000"
    stream_seconds: str = "0.000"
    pool: str = ""
    # The artist's part of everyone's attributed listening: their part of the pool.
    share_of_pool: str = "0.00%"
    # An open month: figures so far, on `pool_basis`'s pool ("" when no month has closed yet,
    # and then no amount is shown, only listening and shares).
    estimate: bool = False
    pool_basis: str = ""
    as_of: datetime | None = None

    @property
    def held_plays(self) -> int:
        return sum(h.plays for h in self.held)


# (stem id, plays, weight, amount) and (stem id, mix id, plays, weight): what a statement is
def statement_for(*, month: str, artist: User) -> Statement:
    """A closed month's statement (NotFound before the month is closed)."""
    period = closed_period(month)
    lines = [
        (line.stem_id, line.plays, int(line.weight), line.amount_minor)
        for line in AllocationLine.objects.filter(period=period, artist=artist)
    ]
    details = [
        (stem_id, str(mix_id), plays, int(weight))
        for stem_id, mix_id, plays, weight in AllocationDetail.objects.filter(
            line__period=period, line__artist=artist
        ).values_list("line__stem_id", "mix_id", "plays", "weight")
    ]
    return _statement(
        month=month,
        artist=artist,
        currency=period.currency,
        pool_minor=period.pool_minor,
        total_weight=int(period.total_weight),
        lines=lines,
        details=details,
        held_per_mix=held.held_per_mix_stored(month),
        closed_at=period.closed_at,
    )


def estimate_pool() -> tuple[int, str, str]:
    """The pool an open month is estimated with: the latest closed month's (pool, currency,
    which month), or (0, "", "") before any month has closed."""
    latest = Period.objects.order_by("-month").first()
    if latest is None:
        return 0, "", ""
    return latest.pool_minor, latest.currency, latest.month


def estimate_month_check(month: str, *, now: datetime) -> None:
    """NotFound unless `month` is one an estimate is shown for: started, not closed, and the
    current month or one with plays."""
    parse_month(month)
    if month > month_of(now):
        raise NotFound("period_not_started", f"{month} has not started yet.")
    if Period.objects.filter(month=month).exists():
        raise NotFound("period_closed", f"{month} is closed: see its statement.")
    if month != month_of(now) and not Play.objects.filter(accounting_period=month).exists():
        raise NotFound("period_not_closed", f"{month} is not closed and has no plays.")


def statement_estimate(
    *, month: str, artist: User, pool_minor: int | None = None, currency: str = ""
) -> Statement:
    """An open month's statement so far, by the close's own computation. The pool is the
    latest closed month's unless given (NotFound for a closed or a future month)."""
    now = timezone.now()
    estimate_month_check(month, now=now)
    basis = ""
    if pool_minor is None:
        pool_minor, currency, basis = estimate_pool()
    if not currency:
        pool_minor = 0
    try:
        computed = period_compute(month=month, pool_minor=pool_minor, as_of=now)
    except NothingToAllocate:
        # No qualifying listening yet: nobody has earned anything of the pool so far.
        computed = period_compute(month=month, pool_minor=0, as_of=now)
    allocation = computed.allocation
    lines = [
        (int(line.stem_id), line.plays, line.weight, line.amount_minor)
        for line in allocation.lines
        if line.artist_id == artist.pk and line.stem_id.isdigit()
    ]
    details = [
        (int(d.stem_id), d.mix_key, d.plays, d.weight)
        for d in allocation.details()
        if d.artist_id == artist.pk and d.stem_id.isdigit()
    ]
    return _statement(
        month=month,
        artist=artist,
        currency=currency,
        pool_minor=pool_minor,
        total_weight=allocation.total_weight,
        lines=lines,
        details=details,
        held_per_mix=held.held_per_mix_computed(computed),
        closed_at=None,
        estimate=True,
        pool_basis=basis,
        as_of=now,
    )


def _statement(
    *,
    month: str,
    artist: User,
    currency: str,
    pool_minor: int,
    total_weight: int,
    lines: list[LineRow],
    details: list[DetailRow],
    held_per_mix: dict[str, dict[str, int]],
    closed_at: datetime | None,
    estimate: bool = False,
    pool_basis: str = "",
    as_of: datetime | None = None,
) -> Statement:
    def cash(amount_minor: int) -> str:
        return money(amount_minor, currency) if currency else "—"

    lines = sorted(lines, key=lambda line: (-line[3], -line[2], line[0]))
    mixes = breakdown.mix_facts({mix_id for _, mix_id, _, _ in details})
    # Per stem: [soundtrack plays, soundtrack weight, stream weight].
    kinds: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    for stem_id, mix_id, plays, weight in details:
        is_stream, _ = mixes[mix_id]
        if is_stream:
            kinds[stem_id][2] += weight
        else:
            kinds[stem_id][0] += plays
            kinds[stem_id][1] += weight
    held_totals, held_per_stem = held.held_of_artist(held_per_mix, artist)
    no_held = {rule: 0 for rule in RULES}
    titles = dict(
        Stem.objects.filter(pk__in={s for s, *_ in lines} | set(held_per_stem)).values_list(
            "pk", "title"
        )
    )
    shares = percent_shares([weight for _, _, weight, _ in lines])
    statement_lines = [
        StatementLine(
            stem_id=stem_id,
            stem_title=titles.get(stem_id, f"Stem {stem_id}"),
            plays=plays,
            attributed_seconds=seconds_text(weight),
            weight=weight,
            amount_minor=amount,
            amount=cash(amount),
            held=held_per_stem.get(stem_id, no_held),
            soundtrack_plays=kinds[stem_id][0],
            soundtrack_seconds=seconds_text(kinds[stem_id][1]),
            stream_seconds=seconds_text(kinds[stem_id][2]),
            share=percent_text(bps),
        )
        for (stem_id, plays, weight, amount), bps in zip(lines, shares, strict=True)
    ]
    earning = {line.stem_id for line in statement_lines}
    held_only = [
        StatementLine(
            stem_id=stem_id,
            stem_title=titles.get(stem_id, f"Stem {stem_id}"),
            plays=0,
            attributed_seconds=seconds_text(0),
            weight=0,
            amount_minor=0,
            amount=cash(0),
            held=counts,
        )
        for stem_id, counts in sorted(held_per_stem.items())
        if stem_id not in earning
    ]
    weight = sum(line[2] for line in lines)
    total = sum(line[3] for line in lines)
    return Statement(
        period=month,
        currency=currency,
        artist_id=artist.pk,
        artist_name=artist.display_name,
        closed_at=closed_at,
        pool_minor=pool_minor,
        pool=cash(pool_minor),
        plays=sum(line[1] for line in lines),
        attributed_seconds=seconds_text(weight),
        amount_minor=total,
        amount=cash(total),
        lines=statement_lines,
        held=[HeldCount(rule, rule_label(rule), held_totals.get(rule, 0)) for rule in RULES],
        held_only=held_only,
        by_app=breakdown.by_app(lines, details, mixes, cash),
        soundtrack_plays=sum(k[0] for k in kinds.values()),
        soundtrack_seconds=seconds_text(sum(k[1] for k in kinds.values())),
        stream_seconds=seconds_text(sum(k[2] for k in kinds.values())),
        # Floored to the basis point: a share of the pool, never rounded up.
        share_of_pool=percent_text(10_000 * weight // total_weight if total_weight else 0),
        estimate=estimate,
        pool_basis=pool_basis,
        as_of=as_of,
    )


def open_months_of(*, now: datetime) -> list[str]:
    """The months an estimate is shown for: not closed, not after `now`'s month, and either
    holding plays or the current month; newest first, at most two."""
    closed = set(Period.objects.values_list("month", flat=True))
    current = month_of(now)
    played = set(
        Play.objects.filter(accounting_period__lte=current)
        .exclude(accounting_period__in=closed)
        .values_list("accounting_period", flat=True)
        .distinct()
    )
    months = played | ({current} - closed)
    return sorted(months, reverse=True)[:2]
