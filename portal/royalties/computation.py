"""Gather one period's raw inputs (plays, mixes, manifests) and run the pure allocation on them.

Read-only. The period close and `verify_period` both call `period_compute`; verify compares its
result with what the close stored, so anything that changed since (a stored row, a ledger entry,
a play) shows up as a difference.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.conf import settings

from portal.core.errors import ApplicationError
from portal.mixes.models import Mix
from portal.royalties.allocation import (
    QUALIFYING_MS,
    Allocation,
    CompiledMix,
    ManifestError,
    allocate,
    compile_manifest,
    over_daily_limit,
    qualifying,
)
from portal.royalties.models import Play
from portal.royalties.periods import month_bounds

DEFAULT_DAILY_LIMIT = 20
_EPOCH_DAY = 86_400_000_000  # microseconds


def daily_limit() -> int:
    """ROYALTIES_MAX_PLAYS_PER_LISTENER_PER_MIX_PER_DAY (default 20): more plays by one listener
    of one mix in one UTC day are kept but do not qualify."""
    return int(
        getattr(settings, "ROYALTIES_MAX_PLAYS_PER_LISTENER_PER_MIX_PER_DAY", DEFAULT_DAILY_LIMIT)
    )


def mix_duration_ms(duration_ms: int | None, duration_s: float | None) -> int | None:
    if duration_ms is not None:
        return int(duration_ms)
    if duration_s is not None:
        return round(duration_s * 1000)
    return None


def manifest_credited_artists(manifest: Any) -> frozenset[int]:
    """The artists credited on any stem of a signed manifest (for the self-play rule)."""
    artists: set[int] = set()
    for stem in (manifest or {}).get("stems") or []:
        for credit in stem.get("credits") or []:
            artist = credit.get("artist_id")
            if isinstance(artist, int) and not isinstance(artist, bool):
                artists.add(artist)
    return frozenset(artists)


def compile_mix(mix: Mix) -> CompiledMix:
    duration = mix_duration_ms(mix.duration_ms, mix.duration_s) or 0
    try:
        return compile_manifest(str(mix.pk), mix.manifest or {}, duration)
    except ManifestError as exc:
        raise ApplicationError("bad_manifest", f"Mix {mix.pk}: {exc}.") from exc


@dataclass(frozen=True)
class PeriodComputation:
    month: str
    allocation: Allocation
    mixes: dict[str, CompiledMix]
    plays_total: int
    plays_too_short: int
    over_limit_ids: list[uuid.UUID]  # plays (event ids) over the daily limit


def _micros(moment: datetime) -> int:
    delta = moment - datetime(1970, 1, 1, tzinfo=moment.tzinfo)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def period_compute(*, month: str, pool_minor: int, limit: int | None = None) -> PeriodComputation:
    """Recompute a period from its plays and their mixes' manifests, ignoring stored results.

    Qualification is recomputed from ms_played and the mix's duration, the daily limit from the
    plays themselves (see allocation.over_daily_limit), attribution from the manifests.
    """
    limit = daily_limit() if limit is None else limit
    rows = list(
        Play.objects.filter(accounting_period=month)
        .order_by()
        .values_list("pk", "event_id", "mix_id", "listener_id", "started_at", "ms_played")
    )
    mix_ids = sorted({row[2] for row in rows}, key=str)
    mixes = {str(m.pk): m for m in Mix.objects.filter(pk__in=mix_ids)}
    compiled = [compile_mix(mixes[str(mix_id)]) for mix_id in mix_ids]
    mix_index = {mix_id: index for index, mix_id in enumerate(mix_ids)}
    n = len(rows)
    play_mix = np.fromiter((mix_index[r[2]] for r in rows), dtype=np.int64, count=n)
    play_ms = np.fromiter((r[5] for r in rows), dtype=np.int64, count=n)
    durations = np.fromiter((m.duration_ms for m in compiled), dtype=np.int64, count=len(compiled))
    ok = qualifying(play_ms, durations[play_mix]) if n else np.zeros(0, dtype=np.bool_)
    counted = np.flatnonzero(ok)

    over_ids: list[uuid.UUID] = []
    if counted.size:
        q_rows = [rows[i] for i in counted]
        listeners = np.unique(np.array([r[3] for r in q_rows]), return_inverse=True)[1]
        events = np.unique(np.array([str(r[1]) for r in q_rows]), return_inverse=True)[1]
        started = np.fromiter((_micros(r[4]) for r in q_rows), dtype=np.int64, count=len(q_rows))
        days = started // _EPOCH_DAY
        prior = _prior_counts(month, q_rows, days)
        over = over_daily_limit(
            listener=listeners.astype(np.int64),
            mix=play_mix[counted],
            day=days,
            started_us=started,
            event_rank=events.astype(np.int64),
            prior=prior,
            limit=limit,
        )
        over_ids = sorted(q_rows[i][0] for i in np.flatnonzero(over))
        counted = counted[~over]
    allocation = allocate(compiled, play_mix[counted], play_ms[counted], pool_minor)
    return PeriodComputation(
        month=month,
        allocation=allocation,
        mixes={m.key: m for m in compiled},
        plays_total=n,
        plays_too_short=int(n - int(ok.sum())),
        over_limit_ids=over_ids,
    )


def _prior_counts(month: str, q_rows: list[Any], days: np.ndarray) -> np.ndarray:
    """Per play, how many duration-qualifying plays of its (listener, mix, day) were counted in
    earlier periods. Only late plays (started before this month) can have any: a play is never
    accounted in a period before its own month."""
    start, _ = month_bounds(month)
    start_day = _micros(start) // _EPOCH_DAY
    late = days < start_day
    prior = np.zeros(len(q_rows), dtype=np.int64)
    if not late.any():
        return prior
    first_day = int(days[late].min())
    since = start - timedelta(days=int(start_day - first_day))
    earlier = (
        Play.objects.filter(
            accounting_period__lt=month,
            started_at__gte=since,
            started_at__lt=start,
            listener_id__in={q_rows[i][3] for i in np.flatnonzero(late)},
        )
        .select_related("mix")
        .only(
            "listener_id",
            "mix_id",
            "started_at",
            "ms_played",
            "mix__duration_ms",
            "mix__duration_s",
        )
    )
    groups: Counter[tuple[str, uuid.UUID, int]] = Counter()
    for play in earlier:
        duration = mix_duration_ms(play.mix.duration_ms, play.mix.duration_s) or 0
        if play.ms_played >= min(duration, QUALIFYING_MS):
            groups[(play.listener_id, play.mix_id, _micros(play.started_at) // _EPOCH_DAY)] += 1
    for i in np.flatnonzero(late):
        row = q_rows[i]
        prior[i] = groups.get((row[3], row[2], int(days[i])), 0)
    return prior
