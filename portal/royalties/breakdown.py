"""Reads: an artist's earnings by client app and by kind of listening (soundtrack plays, live
stream seconds), from the (stem, mix) details behind their statement lines.

An amount per app is the artist's line amounts split over the mixes behind each line by their
weights (largest remainder, ties to the lower mix id), then summed per app: the apps' amounts add
up to the statement's total, to the minor unit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from portal.accounts.models import User
from portal.core.apportion import largest_remainder, percent_shares, percent_text
from portal.mixes.models import Mix, RenderKind
from portal.royalties.allocation import seconds_text
from portal.royalties.models import AllocationDetail, AllocationLine, Period

NO_APP = "Plays from before client apps"

# (stem id, plays, weight, amount) and (stem id, mix id, plays, weight): what a statement is
# built from, read from the close's rows or from a computation.
LineRow = tuple[int, int, int, int]
DetailRow = tuple[int, str, int, int]


@dataclass(frozen=True)
class AppLine:
    app_name: str
    soundtrack_plays: int
    soundtrack_seconds: str
    stream_seconds: str
    attributed_seconds: str
    amount_minor: int
    amount: str
    share: str


def mix_facts(mix_ids: Iterable[str]) -> dict[str, tuple[bool, str]]:
    """Per mix: whether it is a stretch of a live stream, and the name of its client app."""
    return {
        str(pk): (kind == RenderKind.STREAM, name or NO_APP)
        for pk, kind, name in Mix.objects.filter(pk__in=list(mix_ids)).values_list(
            "pk", "kind", "client_app__name"
        )
    }


def by_app(
    lines: list[LineRow],
    details: list[DetailRow],
    mixes: dict[str, tuple[bool, str]],
    cash: Callable[[int], str],
) -> list[AppLine]:
    """Each line's amount split over its mixes by their weights (largest remainder, ties to
    the lower mix id), then summed per client app: the apps' amounts add up to the total."""
    per_stem: dict[int, list[DetailRow]] = defaultdict(list)
    for detail in sorted(details, key=lambda d: d[1]):
        per_stem[detail[0]].append(detail)
    # Per app: [soundtrack plays, soundtrack weight, stream weight, amount].
    apps: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for stem_id, _, weight, amount in lines:
        behind = per_stem[stem_id]
        if not behind:
            continue
        parts = largest_remainder(amount, [d[3] for d in behind]) if weight else [0] * len(behind)
        for (_, mix_id, plays, mix_weight), part in zip(behind, parts, strict=True):
            is_stream, app = mixes[mix_id]
            row = apps[app]
            if is_stream:
                row[2] += mix_weight
            else:
                row[0] += plays
                row[1] += mix_weight
            row[3] += part
    names = sorted(apps, key=lambda name: (-apps[name][3], -(apps[name][1] + apps[name][2]), name))
    shares = percent_shares([apps[name][1] + apps[name][2] for name in names])
    return [
        AppLine(
            app_name=name,
            soundtrack_plays=apps[name][0],
            soundtrack_seconds=seconds_text(apps[name][1]),
            stream_seconds=seconds_text(apps[name][2]),
            attributed_seconds=seconds_text(apps[name][1] + apps[name][2]),
            amount_minor=apps[name][3],
            amount=cash(apps[name][3]),
            share=percent_text(bps),
        )
        for name, bps in zip(names, shares, strict=True)
    ]


def earnings_by_app(*, artist: User, currency: str, months: int = 12) -> list[tuple[str, int]]:
    """(app name, minor units) over the artist's last `months` closed periods in `currency`,
    largest first: each period's lines split over their mixes as its statement splits them."""
    periods = list(
        Period.objects.filter(currency=currency, lines__artist=artist)
        .distinct()
        .order_by("-month")
        .values_list("pk", flat=True)[:months]
    )
    lines: dict[int, list[LineRow]] = defaultdict(list)
    for period_id, stem_id, plays, weight, amount in AllocationLine.objects.filter(
        period_id__in=periods, artist=artist
    ).values_list("period_id", "stem_id", "plays", "weight", "amount_minor"):
        lines[period_id].append((stem_id, plays, int(weight), amount))
    details: dict[int, list[DetailRow]] = defaultdict(list)
    for period_id, stem_id, mix_id, plays, weight in AllocationDetail.objects.filter(
        line__period_id__in=periods, line__artist=artist
    ).values_list("line__period_id", "line__stem_id", "mix_id", "plays", "weight"):
        details[period_id].append((stem_id, str(mix_id), plays, int(weight)))
    mixes = mix_facts({d[1] for rows in details.values() for d in rows})
    totals: dict[str, int] = defaultdict(int)
    for period_id in periods:
        for app in by_app(lines[period_id], details[period_id], mixes, str):
            totals[app.app_name] += app.amount_minor
    return sorted(totals.items(), key=lambda item: (-item[1], item[0]))
