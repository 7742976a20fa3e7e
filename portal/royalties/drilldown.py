"""Reads: one statement line down to the mixes and the plays that earned it, and one of those
plays (a live stream's is traced further, to its session and segments, by portal/streams).

Only what the artist may see: the client app's name, a listener's pseudonym (a keyed hash of the
app's listener id, never the id), how long each play listened and what of it was theirs. A play
is reachable only through a line of the artist's own statement: a play that did not earn the
line (another artist's, a held one, one that never reached the stem) is not found.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.core.paginator import Page, Paginator
from django.db.models import Q

from portal.accounts.models import User
from portal.core.errors import NotFound
from portal.core.pages import page_with_rows
from portal.core.pseudonyms import pseudonym
from portal.mixes.models import Mix, RenderKind
from portal.royalties.allocation import play_stem_ns, seconds_text
from portal.royalties.breakdown import NO_APP
from portal.royalties.computation import compile_mix
from portal.royalties.manifests import BPS, PPM, CompiledMix
from portal.royalties.models import AllocationDetail, AllocationLine, Play
from portal.royalties.selectors import closed_period, money
from portal.royalties.statements import StatementLine


def listener_pseudonym(app_id: int | None, listener_id: str) -> str:
    """How a statement names a listener: the same for one (app, listener) on every page."""
    return pseudonym("L", app_id or 0, listener_id)


@dataclass(frozen=True)
class MixShare:
    mix_id: str
    mix_label: str
    is_stream: bool
    app_name: str
    plays: int
    attributed_seconds: str


@dataclass(frozen=True)
class PlayShare:
    event_id: str
    mix_id: str
    is_stream: bool
    app_name: str
    listener: str  # a pseudonym
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

    @property
    def seconds_played(self) -> str:
        return f"{self.ms_played // 1000}.{self.ms_played % 1000:03d}"


def _ms_text(weight: int) -> str:
    unit = PPM * BPS // 1000  # three decimals of a millisecond
    whole = weight // unit
    return f"{whole // 1000}.{whole % 1000:03d}"


@dataclass(frozen=True)
class StemLine:
    line: StatementLine
    mixes: list[MixShare]
    plays: Page[PlayShare]


@dataclass(frozen=True)
class _Reach:
    """The line's mixes as the close counted them: compiled, with the artist's split on the
    stem and the stem's first audible second in each."""

    line: AllocationLine
    details: list[AllocationDetail]
    compiled: dict[str, CompiledMix]
    split: dict[str, int]
    first_second: dict[str, int]

    def plays(self, month: str) -> Q:
        # Plays whose span reached the stem's first audible second: exactly those counted.
        reach = Q(pk__in=[])
        for key, first in self.first_second.items():
            reach |= Q(mix_id=key, ms_played__gt=first * 1000)
        return Q(accounting_period=month, qualifies=True) & reach


def _reach(*, month: str, artist: User, stem_id: int) -> _Reach:
    period = closed_period(month)
    line = (
        AllocationLine.objects.filter(period=period, artist=artist, stem_id=stem_id)
        .select_related("stem", "period")
        .first()
    )
    if line is None:
        raise NotFound("not_found", f"No earnings from stem {stem_id} in {month}.")
    details = list(
        AllocationDetail.objects.filter(line=line)
        .select_related("mix", "mix__client_app")
        .order_by("mix_id")
    )
    compiled = {str(d.mix_id): compile_mix(d.mix) for d in details}
    split: dict[str, int] = {}
    first_second: dict[str, int] = {}
    stem_key = str(stem_id)
    for key, mix in compiled.items():
        if stem_key not in mix.stems:
            continue
        index = mix.stems.index(stem_key)
        first_second[key] = int(mix.entry_second[mix.entry_stem == index].min())
        split[key] = int(
            mix.credit_bps[(mix.credit_stem == index) & (mix.credit_artist == artist.pk)].sum()
        )
    return _Reach(line, details, compiled, split, first_second)


def _app_name(mix: Mix) -> str:
    return mix.client_app.name if mix.client_app is not None else NO_APP


def stem_line(
    *, month: str, artist: User, stem_id: int, page: int | str = 1, per_page: int = 100
) -> StemLine:
    """One statement line down to its mixes (from the stored details) and its plays
    (recomputed per play from the manifest, with the same function as the allocation)."""
    reach = _reach(month=month, artist=artist, stem_id=stem_id)
    line, currency = reach.line, reach.line.period.currency
    mixes_by_id = {str(d.mix_id): d.mix for d in reach.details}
    mixes = [
        MixShare(
            mix_id=str(d.mix_id),
            mix_label=_mix_label(d.mix),
            is_stream=d.mix.kind == RenderKind.STREAM,
            app_name=_app_name(d.mix),
            plays=d.plays,
            attributed_seconds=seconds_text(int(d.weight)),
        )
        for d in reach.details
    ]
    plays = (
        Play.objects.filter(reach.plays(month))
        .order_by("started_at", "event_id")
        .values_list("event_id", "mix_id", "app_id", "listener_id", "started_at", "ms_played")
    )
    page_obj = Paginator(plays, per_page).get_page(page)
    shares = [
        _play_share(reach, mixes_by_id[str(row[1])], str(stem_id), row)
        for row in page_obj.object_list
    ]
    statement_line = StatementLine(
        stem_id=line.stem_id,
        stem_title=line.stem.title,
        plays=line.plays,
        attributed_seconds=seconds_text(int(line.weight)),
        weight=int(line.weight),
        amount_minor=line.amount_minor,
        amount=money(line.amount_minor, currency),
    )
    return StemLine(line=statement_line, mixes=mixes, plays=page_with_rows(page_obj, shares))


def _play_share(reach: _Reach, mix: Mix, stem_key: str, row: tuple[object, ...]) -> PlayShare:
    event_id, mix_id, app_id, listener_id, started_at, ms_played = row
    assert isinstance(started_at, datetime) and isinstance(ms_played, int)
    key = str(mix_id)
    ns = play_stem_ns(reach.compiled[key], ms_played).get(stem_key, 0)
    return PlayShare(
        event_id=str(event_id),
        mix_id=key,
        is_stream=mix.kind == RenderKind.STREAM,
        app_name=_app_name(mix),
        listener=listener_pseudonym(app_id if isinstance(app_id, int) else None, str(listener_id)),
        started_at=started_at,
        ms_played=ms_played,
        stem_weight_ns=ns,
        artist_weight=ns * reach.split[key],
    )


def counted_play(*, month: str, artist: User, stem_id: int, event_id: str) -> PlayShare:
    """One play behind the artist's line for `stem_id` in a closed `month`, with its share.
    NotFound unless it is one of the plays the line counted (and so the artist's to see)."""
    reach = _reach(month=month, artist=artist, stem_id=stem_id)
    row = (
        Play.objects.filter(reach.plays(month), event_id=event_id)
        .values_list("event_id", "mix_id", "app_id", "listener_id", "started_at", "ms_played")
        .first()
    )
    if row is None:
        raise NotFound("not_found", f"No play {event_id} behind stem {stem_id} in {month}.")
    mix = next(d.mix for d in reach.details if str(d.mix_id) == str(row[1]))
    return _play_share(reach, mix, str(stem_id), row)


def _mix_label(mix: Mix) -> str:
    if mix.kind == RenderKind.STREAM:
        return "Live stream"
    title = ""
    if isinstance(mix.request, dict):
        title = str(mix.request.get("title") or mix.request.get("name") or "")
    return title or f"{mix.get_kind_display()} {str(mix.pk)[:8]}"
