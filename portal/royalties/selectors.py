"""Reads: who may see which earnings, statements, their drill-down, the dashboard's charts."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.core.paginator import Page, Paginator
from django.db.models import Count, Q

from portal.accounts.models import User
from portal.core.errors import ApplicationError, NotFound, PermissionDenied
from portal.core.money import format_money
from portal.core.pages import page_with_rows
from portal.mixes.models import Mix
from portal.royalties.allocation import play_stem_ns, seconds_text
from portal.royalties.computation import compile_mix
from portal.royalties.explain import label as rule_label
from portal.royalties.manifests import BPS, PPM
from portal.royalties.models import AllocationDetail, AllocationLine, Period, Play
from portal.royalties.periods import parse_month
from portal.royalties.rules import RULES
from portal.stems.models import Stem


def money(amount_minor: int, currency: str) -> str:
    return format_money(amount_minor, currency)


# --- who sees what ------------------------------------------------------------------------------


def earnings_subject(
    *, viewer: User | AnonymousUser | None, artist_id: str | int | None = None
) -> User:
    """Whose earnings `viewer` may see: their own as an artist, anyone's as staff (who must say
    whose). Curators never see earnings; nobody else sees another artist's."""
    if not isinstance(viewer, User) or not viewer.is_authenticated:
        raise PermissionDenied("not_authenticated", "Log in to see earnings.")
    if viewer.is_curator:
        raise PermissionDenied("forbidden", "Curators do not see artists' earnings.")
    if artist_id is None or artist_id == "":
        if viewer.is_platform_staff:
            raise ApplicationError(
                "artist_required", "Staff: say whose statement, with ?artist=<id>."
            )
        return viewer
    try:
        wanted = int(artist_id)
    except (TypeError, ValueError):
        raise ApplicationError("invalid_artist", "artist is a user id.") from None
    if wanted != viewer.pk and not viewer.is_platform_staff:
        raise PermissionDenied("forbidden", "You can only see your own earnings.")
    artist = User.objects.filter(pk=wanted).first()
    if artist is None:
        raise NotFound("not_found", f"No user {wanted}.")
    return artist


def closed_period(month: str) -> Period:
    parse_month(month)
    period = Period.objects.filter(month=month).first()
    if period is None:
        raise NotFound("period_not_closed", f"{month} is not closed: there is no statement yet.")
    return period


# --- statements -------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatementLine:
    stem_id: int
    stem_title: str
    plays: int
    attributed_seconds: str
    weight: int
    amount_minor: int
    amount: str
    # Held plays of mixes with this stem, per listening rule (every rule, zeros included).
    held: dict[str, int] = field(default_factory=dict)

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
    closed_at: datetime
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

    @property
    def held_plays(self) -> int:
        return sum(h.plays for h in self.held)


def _held_of_artist(month: str, artist: User) -> tuple[dict[str, int], dict[int, dict[str, int]]]:
    """Held plays of the month's mixes crediting `artist` (as their signed manifests say):
    per rule, each play once, and per stem of theirs. Counts only: whose other stems are in
    those mixes, and who listened, is not the artist's to see."""
    per_mix: dict[Any, dict[str, int]] = defaultdict(dict)
    for mix_id, rule, plays in (
        Play.objects.filter(accounting_period=month)
        .exclude(held_by="")
        .values_list("mix_id", "held_by")
        .annotate(plays=Count("pk"))
        .order_by()
    ):
        per_mix[mix_id][rule] = plays
    totals = {rule: 0 for rule in RULES}
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
        for rule, plays in per_mix[mix_id].items():
            totals[rule] = totals.get(rule, 0) + plays
            for stem_id in stems:
                counts = per_stem.setdefault(stem_id, {r: 0 for r in RULES})
                counts[rule] = counts.get(rule, 0) + plays
    return totals, per_stem


def statement_for(*, month: str, artist: User) -> Statement:
    period = closed_period(month)
    held_totals, held_per_stem = _held_of_artist(month, artist)
    no_held = {rule: 0 for rule in RULES}
    lines = [
        StatementLine(
            stem_id=line.stem_id,
            stem_title=line.stem.title,
            plays=line.plays,
            attributed_seconds=seconds_text(int(line.weight)),
            weight=int(line.weight),
            amount_minor=line.amount_minor,
            amount=money(line.amount_minor, period.currency),
            held=held_per_stem.get(line.stem_id, no_held),
        )
        for line in AllocationLine.objects.filter(period=period, artist=artist)
        .select_related("stem")
        .order_by("-amount_minor", "stem_id")
    ]
    earning = {line.stem_id for line in lines}
    titles = dict(
        Stem.objects.filter(pk__in=set(held_per_stem) - earning).values_list("pk", "title")
    )
    held_only = [
        StatementLine(
            stem_id=stem_id,
            stem_title=titles.get(stem_id, f"Stem {stem_id}"),
            plays=0,
            attributed_seconds=seconds_text(0),
            weight=0,
            amount_minor=0,
            amount=money(0, period.currency),
            held=counts,
        )
        for stem_id, counts in sorted(held_per_stem.items())
        if stem_id not in earning
    ]
    total = sum(line.amount_minor for line in lines)
    return Statement(
        period=period.month,
        currency=period.currency,
        artist_id=artist.pk,
        artist_name=artist.display_name,
        closed_at=period.closed_at,
        pool_minor=period.pool_minor,
        plays=sum(line.plays for line in lines),
        attributed_seconds=seconds_text(sum(line.weight for line in lines)),
        amount_minor=total,
        amount=money(total, period.currency),
        lines=lines,
        held=[HeldCount(rule, rule_label(rule), held_totals.get(rule, 0)) for rule in RULES],
        held_only=held_only,
    )


@dataclass(frozen=True)
class MixShare:
    mix_id: str
    mix_label: str
    plays: int
    attributed_seconds: str


@dataclass(frozen=True)
class PlayShare:
    event_id: str
    mix_id: str
    started_at: datetime
    ms_played: int
    stem_weight_ns: int  # the stem's stem-ns from this play
    artist_weight: int  # the artist's part: stem-ns x split_bps

    @property
    def stem_ms(self) -> str:
        return _ms_text(self.stem_weight_ns * BPS)

    @property
    def artist_ms(self) -> str:
        return _ms_text(self.artist_weight)


def _ms_text(weight: int) -> str:
    unit = PPM * BPS // 1000  # three decimals of a millisecond
    whole = weight // unit
    return f"{whole // 1000}.{whole % 1000:03d}"


@dataclass(frozen=True)
class StemLine:
    line: StatementLine
    mixes: list[MixShare]
    plays: Page[PlayShare]


def stem_line(
    *, month: str, artist: User, stem_id: int, page: int | str = 1, per_page: int = 100
) -> StemLine:
    """One statement line down to its mixes (from the stored details) and its plays
    (recomputed per play from the manifest, with the same function as the allocation)."""
    period = closed_period(month)
    line = (
        AllocationLine.objects.filter(period=period, artist=artist, stem_id=stem_id)
        .select_related("stem")
        .first()
    )
    if line is None:
        raise NotFound("not_found", f"No earnings from stem {stem_id} in {month}.")
    details = list(
        AllocationDetail.objects.filter(line=line).select_related("mix").order_by("mix_id")
    )
    mixes = [
        MixShare(
            mix_id=str(d.mix_id),
            mix_label=_mix_label(d.mix),
            plays=d.plays,
            attributed_seconds=seconds_text(int(d.weight)),
        )
        for d in details
    ]
    compiled = {str(d.mix_id): compile_mix(d.mix) for d in details}
    reach = Q(pk__in=[])
    split: dict[str, int] = {}
    stem_key = str(stem_id)
    for key, mix in compiled.items():
        index = mix.stems.index(stem_key) if stem_key in mix.stems else -1
        if index < 0:
            continue
        first_second = int(mix.entry_second[mix.entry_stem == index].min())
        split[key] = int(
            mix.credit_bps[(mix.credit_stem == index) & (mix.credit_artist == artist.pk)].sum()
        )
        # Plays whose span reached the stem's first audible second: exactly those counted.
        reach |= Q(mix_id=key, ms_played__gt=first_second * 1000)
    plays = (
        Play.objects.filter(accounting_period=month, qualifies=True)
        .filter(reach)
        .order_by("started_at", "event_id")
        .values_list("event_id", "mix_id", "started_at", "ms_played")
    )
    paginator = Paginator(plays, per_page)
    page_obj = paginator.get_page(page)
    shares = []
    for event_id, mix_id, started_at, ms_played in page_obj.object_list:
        ns = play_stem_ns(compiled[str(mix_id)], ms_played).get(stem_key, 0)
        shares.append(
            PlayShare(
                event_id=str(event_id),
                mix_id=str(mix_id),
                started_at=started_at,
                ms_played=ms_played,
                stem_weight_ns=ns,
                artist_weight=ns * split[str(mix_id)],
            )
        )
    statement_line = StatementLine(
        stem_id=line.stem_id,
        stem_title=line.stem.title,
        plays=line.plays,
        attributed_seconds=seconds_text(int(line.weight)),
        weight=int(line.weight),
        amount_minor=line.amount_minor,
        amount=money(line.amount_minor, period.currency),
    )
    return StemLine(line=statement_line, mixes=mixes, plays=page_with_rows(page_obj, shares))


def _mix_label(mix: Mix) -> str:
    title = ""
    if isinstance(mix.request, dict):
        title = str(mix.request.get("title") or mix.request.get("name") or "")
    return title or f"{mix.get_kind_display()} {str(mix.pk)[:8]}"
