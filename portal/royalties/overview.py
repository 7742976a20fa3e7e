"""Reads for the earnings pages at a glance: an artist's totals and bar charts (the dashboard
and the earnings page) and every closed period with what each artist received (staff)."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Sum
from django.utils import timezone

from portal.accounts.models import User
from portal.core.errors import ApplicationError
from portal.royalties import breakdown, ledger, statements
from portal.royalties.estimates import cached_estimate
from portal.royalties.models import AllocationLine, Period
from portal.royalties.selectors import money


@dataclass(frozen=True)
class Bar:
    label: str
    value_minor: int
    amount: str
    x: int
    y: int
    width: int
    height: int
    href: str = ""


@dataclass(frozen=True)
class Chart:
    title: str
    currency: str
    bars: list[Bar]
    width: int
    height: int
    axis_y: int


logger = logging.getLogger(__name__)

CHART_HEIGHT = 180
CHART_LABEL_ROOM = 40


def _chart(
    title: str, currency: str, items: list[tuple[str, int, str]], bar_width: int = 48
) -> Chart:
    """Bar geometry for inline SVG: heights proportional to amounts, computed here, drawn by
    the template with no JavaScript."""
    gap = 16
    top = max((value for _, value, _ in items), default=0)
    bars = []
    for index, (label, value, href) in enumerate(items):
        height = round(CHART_HEIGHT * value / top) if top else 0
        height = max(height, 1) if value else 0
        bars.append(
            Bar(
                label=label,
                value_minor=value,
                amount=money(value, currency),
                x=gap + index * (bar_width + gap),
                y=CHART_HEIGHT - height + 10,
                width=bar_width,
                height=height,
                href=href,
            )
        )
    width = gap + len(items) * (bar_width + gap)
    return Chart(
        title,
        currency,
        bars,
        max(width, 200),
        CHART_HEIGHT + 10 + CHART_LABEL_ROOM,
        CHART_HEIGHT + 10,
    )


@dataclass(frozen=True)
class Overview:
    has_earnings: bool
    currency: str
    total: str
    payable: list[str]
    periods: list[tuple[str, str]]  # (month, amount), newest first
    by_period: Chart | None
    by_stem: Chart | None
    by_app: Chart | None = None
    # Open months so far (estimates, by the close's own computation), newest first.
    estimates: list[statements.Statement] = field(default_factory=list)


def earnings_overview(*, artist: User, months: int = 12, stems: int = 10) -> Overview:
    per_period = list(
        AllocationLine.objects.filter(artist=artist)
        .values("period__month", "period__currency")
        .annotate(total=Sum("amount_minor"))
        .order_by("-period__month")
    )
    payable = [
        money(ledger.balance(ledger.ARTIST_PAYABLE, artist, currency=currency), currency)
        for currency in sorted({row["period__currency"] for row in per_period})
    ]
    now = timezone.now()
    try:
        estimates = [
            cached_estimate(month=month, artist=artist)
            for month in statements.open_months_of(now=now)
        ]
    except ApplicationError:
        # A month that cannot be computed (a broken manifest: the close would refuse it too)
        # must not take the artist's earnings page down; its statement page says why.
        logger.exception("No estimate for the open months")
        estimates = []
    if not per_period:
        return Overview(False, "", "", payable, [], None, None, None, estimates)
    # Charts speak one currency: the latest period's (a platform changing currency is rare).
    currency = per_period[0]["period__currency"]
    same = [row for row in per_period if row["period__currency"] == currency]
    by_period = _chart(
        "Earnings by period",
        currency,
        [
            (row["period__month"], int(row["total"]), row["period__month"])
            for row in reversed(same[:months])
        ],
    )
    stem_totals: dict[int, int] = defaultdict(int)
    titles: dict[int, str] = {}
    for line in AllocationLine.objects.filter(
        artist=artist, period__currency=currency
    ).select_related("stem"):
        stem_totals[line.stem_id] += line.amount_minor
        titles[line.stem_id] = line.stem.title
    top = sorted(stem_totals.items(), key=lambda item: (-item[1], item[0]))[:stems]
    by_stem = _chart(
        "Earnings by stem, all periods",
        currency,
        [(titles[s][:14], v, "") for s, v in top],
        bar_width=64,
    )
    by_app = _chart(
        "Earnings by client app, last 12 periods",
        currency,
        [
            (name[:14], amount, "")
            for name, amount in breakdown.earnings_by_app(artist=artist, currency=currency)
        ][:stems],
        bar_width=64,
    )
    total = sum(int(row["total"]) for row in same)
    return Overview(
        has_earnings=True,
        currency=currency,
        total=money(total, currency),
        payable=payable,
        periods=[
            (row["period__month"], money(int(row["total"]), row["period__currency"]))
            for row in per_period
        ],
        by_period=by_period,
        by_stem=by_stem,
        by_app=by_app,
        estimates=estimates,
    )


@dataclass(frozen=True)
class PeriodRow:
    period: Period
    pool: str
    artists: list[tuple[int, str, str]]  # (artist id, name, amount), largest first


def periods_overview() -> list[PeriodRow]:
    """Closed periods, newest first, each with what every artist received (for staff)."""
    periods = list(Period.objects.select_related("closed_by").order_by("-month"))
    totals: dict[int, list[tuple[int, int]]] = defaultdict(list)
    rows = (
        AllocationLine.objects.filter(period__in=periods)
        .values("period_id", "artist_id")
        .annotate(total=Sum("amount_minor"))
    )
    for row in rows:
        totals[row["period_id"]].append((row["artist_id"], int(row["total"])))
    names = {
        user.pk: user.display_name
        for user in User.objects.filter(
            pk__in={artist for pairs in totals.values() for artist, _ in pairs}
        ).select_related("artist_profile")
    }
    return [
        PeriodRow(
            period=period,
            pool=money(period.pool_minor, period.currency),
            artists=[
                (artist, names.get(artist, str(artist)), money(total, period.currency))
                for artist, total in sorted(totals[period.pk], key=lambda p: (-p[1], p[0]))
            ],
        )
        for period in periods
    ]
