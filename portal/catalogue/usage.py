"""Where an artist's stems are used: how many soundtracks sounded each stem and how many plays
those renders had, month by month.

Counts only. Which client asked for what (the request, the app, the listeners) is the client's
own business: an artist learns that their stem is in demand, never what for. Soundtracks are
counted in the month they were rendered; plays in the month they count in (their accounting
period), with the qualifying ones apart, as the statements count them. Live-stream stretches
(RenderKind.STREAM) carry plays too and are counted with the plays, not as soundtracks.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q
from django.db.models.functions import TruncMonth

from portal.mixes.models import MixStem, RenderKind, RenderStatus
from portal.royalties.models import Play


@dataclass
class MonthUsage:
    month: str  # YYYY-MM
    soundtracks: int = 0
    plays: int = 0
    qualifying_plays: int = 0


@dataclass
class StemUsage:
    stem_id: int
    months: list[MonthUsage] = field(default_factory=list)

    @property
    def soundtracks(self) -> int:
        return sum(m.soundtracks for m in self.months)

    @property
    def plays(self) -> int:
        return sum(m.plays for m in self.months)

    @property
    def qualifying_plays(self) -> int:
        return sum(m.qualifying_plays for m in self.months)

    def as_dict(self) -> dict[str, Any]:
        return {
            "stem_id": self.stem_id,
            "soundtracks": self.soundtracks,
            "plays": self.plays,
            "qualifying_plays": self.qualifying_plays,
            "by_month": [vars(m) for m in self.months],
        }


def stem_usage(*, stem_ids: list[int]) -> dict[int, StemUsage]:
    """Usage of each of `stem_ids` (every id gets an entry, empty when unused), newest month
    first. The caller has checked the viewer may see these stems (their artist, a credited
    artist, staff); nothing here names a client, a request or a listener."""
    months: dict[int, dict[str, MonthUsage]] = defaultdict(dict)

    def month(stem_id: int, key: str) -> MonthUsage:
        return months[stem_id].setdefault(key, MonthUsage(key))

    rendered = (
        MixStem.objects.filter(
            stem_id__in=stem_ids,
            mix__kind=RenderKind.SOUNDTRACK,
            mix__status=RenderStatus.DONE,
        )
        .annotate(month=TruncMonth("mix__created_at"))
        .values("stem_id", "month")
        .annotate(n=Count("mix_id", distinct=True))
    )
    for row in rendered:
        month(row["stem_id"], row["month"].strftime("%Y-%m")).soundtracks = row["n"]
    played = (
        Play.objects.filter(
            mix__stems_used__stem_id__in=stem_ids,
            mix__kind__in=(RenderKind.SOUNDTRACK, RenderKind.STREAM),
        )
        .values("mix__stems_used__stem_id", "accounting_period")
        .annotate(n=Count("event_id", distinct=True), q=Count("event_id", filter=Q(qualifies=True)))
    )
    for row in played:
        usage = month(row["mix__stems_used__stem_id"], row["accounting_period"])
        usage.plays, usage.qualifying_plays = row["n"], row["q"]
    return {
        pk: StemUsage(pk, sorted(months[pk].values(), key=lambda m: m.month, reverse=True))
        for pk in stem_ids
    }
