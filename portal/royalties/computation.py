"""Gather one period's raw inputs (plays, mixes, manifests, apps, releases) and run the pure
rules and allocation on them.

Read-only. The period close, `verify_period` and the staff's held-plays page all call
`period_compute`; verify compares its result with what the close stored, so anything that
changed since (a stored row, a ledger entry, a play, a mark) shows up as a difference. Inputs
that may grow after the close (plays of other periods reported later, releases) are read as
they were at `as_of`: the close's own moment when verifying.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
from django.conf import settings
from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from portal.clients.models import ClientApp
from portal.core.errors import ApplicationError
from portal.mixes.models import Mix
from portal.royalties import rules
from portal.royalties.allocation import QUALIFYING_MS, Allocation, allocate, qualifying
from portal.royalties.manifests import CompiledMix, ManifestError, compile_manifest
from portal.royalties.marks import MARK_COUNTED, MARK_RULE, MARK_SELF_PLAY, MARK_TOO_SHORT, mark_of
from portal.royalties.models import Play, PlayReason, PlayRelease
from portal.royalties.periods import month_bounds, month_of, next_month

DEFAULT_DAILY_LIMIT = 20
_EPOCH_DAY = 86_400_000_000  # microseconds


def daily_limit() -> int:
    """ROYALTIES_MAX_PLAYS_PER_LISTENER_PER_MIX_PER_DAY (default 20): more plays by one listener
    of one mix in one UTC day are kept but do not qualify."""
    return int(
        getattr(settings, "ROYALTIES_MAX_PLAYS_PER_LISTENER_PER_MIX_PER_DAY", DEFAULT_DAILY_LIMIT)
    )


# The listening rules' settings: (Thresholds field, setting, default, unit factor). Why each
# default is what it is, for human listening:
# - OVERLAP_TOLERANCE_S 15: players crossfade between tracks (up to 12 s is a common player
#   setting) and report with a second or two of jitter; two streams at once overlap by minutes.
# - SPIKE_FACTOR 5, SPIKE_HISTORY_DAYS 14, SPIKE_FLOOR 50: weekly rhythm (weekends), holidays
#   and a new episode move a real app's day by 2-3x its usual, not 5x; two weeks of history
#   cover two weekends; a new or small app may report 5 x 50 = 250 qualifying plays a day
#   before anyone looks, which is a small app's whole audience and a farm's first hour.
# - LOCKSTEP_WINDOW_S 5, _MIN_LISTENERS 10, _FACTOR 20, _SHARE_PCT 80: people press play at
#   random moments (a Poisson stream); ten of one app starting one mix within five seconds
#   at twenty times that mix's own average rate (peak hours run at ~3x average) is a script,
#   and a listener is judged only when most (80 %) of their plays are in such bursts.
# - HUGGING_MARGIN_S 5, _MIN_PLAYS 10, _SHARE_PCT 90, _APP_MIN_PLAYS 50: people stop all over
#   a track; a few % of qualifying plays stop in the five seconds after 30 s. Nine in ten of at
#   least ten (or fifty plays of an app's day) is a loop tuned to the threshold.
RULE_SETTINGS: tuple[tuple[str, str, int, int], ...] = (
    ("overlap_tolerance_ms", "ROYALTIES_OVERLAP_TOLERANCE_S", 15, 1000),
    ("spike_factor", "ROYALTIES_SPIKE_FACTOR", 5, 1),
    ("spike_history_days", "ROYALTIES_SPIKE_HISTORY_DAYS", 14, 1),
    ("spike_floor", "ROYALTIES_SPIKE_FLOOR", 50, 1),
    ("lockstep_window_ms", "ROYALTIES_LOCKSTEP_WINDOW_S", 5, 1000),
    ("lockstep_min_listeners", "ROYALTIES_LOCKSTEP_MIN_LISTENERS", 10, 1),
    ("lockstep_factor", "ROYALTIES_LOCKSTEP_FACTOR", 20, 1),
    ("lockstep_share_pct", "ROYALTIES_LOCKSTEP_SHARE_PCT", 80, 1),
    ("hugging_margin_ms", "ROYALTIES_HUGGING_MARGIN_S", 5, 1000),
    ("hugging_min_plays", "ROYALTIES_HUGGING_MIN_PLAYS", 10, 1),
    ("hugging_share_pct", "ROYALTIES_HUGGING_SHARE_PCT", 90, 1),
    ("hugging_app_min_plays", "ROYALTIES_HUGGING_APP_MIN_PLAYS", 50, 1),
)


def rule_setting(name: str) -> int:
    """The current value of one rule setting, in the setting's own unit (seconds, %, plays)."""
    for _, setting, default, _ in RULE_SETTINGS:
        if setting == name:
            value = int(getattr(settings, setting, default))
            if value < 1:
                raise ApplicationError("bad_setting", f"{setting} must be a positive integer.")
            return value
    raise KeyError(name)


def rule_thresholds() -> rules.Thresholds:
    """The thresholds the close, verify, the held-plays page and the public page all use."""
    values = {
        attribute: rule_setting(setting) * unit for attribute, setting, _, unit in RULE_SETTINGS
    }
    return rules.Thresholds(qualifying_ms=QUALIFYING_MS, daily_limit=daily_limit(), **values)


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
    plays_self: int
    held_ids: dict[str, list[uuid.UUID]]  # every rule -> the plays it holds (event ids, sorted)
    released_ids: list[uuid.UUID]  # released by staff (as of the computation), sorted
    # Per play, in the same order: its id, app (index into app_ids, the last one meaning none),
    # listener (a code of (app, listener id)), mix (index into `mixes`), ms played, and the mark
    # computed now and the mark stored on the row.
    play_ids: list[uuid.UUID] = field(repr=False)
    play_app: npt.NDArray[np.int64] = field(repr=False)
    app_ids: tuple[int | None, ...] = field(repr=False)
    play_listener: npt.NDArray[np.int64] = field(repr=False)
    play_mix: npt.NDArray[np.int64] = field(repr=False)
    play_ms: npt.NDArray[np.int64] = field(repr=False)
    play_mark: npt.NDArray[np.int16] = field(repr=False)
    stored_mark: npt.NDArray[np.int16] = field(repr=False)

    @property
    def over_limit_ids(self) -> list[uuid.UUID]:
        """Plays over the daily limit (the daily_cap rule): kept, marked, not paid."""
        return self.held_ids["daily_cap"]

    @property
    def plays_held(self) -> int:
        """Plays held by a listening rule; the daily cap is counted apart (plays_over_limit)."""
        return sum(len(ids) for rule, ids in self.held_ids.items() if rule != "daily_cap")


def _micros(moment: datetime) -> int:
    delta = moment - datetime(1970, 1, 1, tzinfo=moment.tzinfo)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _codes(values: Any, n: int) -> npt.NDArray[np.int64]:
    """Small integer codes for hashable values, in order of first appearance. Only equality of
    codes is used by the rules, so the row order of the query does not change any result."""
    seen: dict[Any, int] = {}
    return np.fromiter((seen.setdefault(v, len(seen)) for v in values), dtype=np.int64, count=n)


def period_compute(
    *,
    month: str,
    pool_minor: int,
    limit: int | None = None,
    as_of: datetime | None = None,
    thresholds: rules.Thresholds | None = None,
) -> PeriodComputation:
    """Recompute a period from its plays, their mixes' manifests, the apps' owners and staff's
    releases, ignoring stored results.

    Each play is, in this order: self-play (the reporting app's owner is credited in the mix's
    manifest), too short (under 30 s, or the whole of a shorter mix), held by a listening rule
    (rules.hold, with the daily limit as the rule daily_cap), or counted; a released play is
    counted. Attribution comes from the manifests.
    """
    th = rule_thresholds() if thresholds is None else thresholds
    if limit is not None:
        th = replace(th, daily_limit=limit)
    as_of = timezone.now() if as_of is None else as_of
    rows = list(
        Play.objects.filter(accounting_period=month)
        .order_by()
        .values_list(
            "pk",
            "mix_id",
            "app_id",
            "listener_id",
            "started_at",
            "ms_played",
            "qualifies",
            "reason",
            "held_by",
        )
    )
    n = len(rows)
    mix_ids = sorted({row[1] for row in rows}, key=str)
    mixes = {str(m.pk): m for m in Mix.objects.filter(pk__in=mix_ids)}
    compiled = [compile_mix(mixes[str(mix_id)]) for mix_id in mix_ids]
    mix_index = {mix_id: index for index, mix_id in enumerate(mix_ids)}
    app_ids: tuple[int | None, ...] = (*sorted({r[2] for r in rows if r[2] is not None}), None)
    app_index = {app: index for index, app in enumerate(app_ids)}
    n_apps = len(app_ids)
    play_mix = np.fromiter((mix_index[r[1]] for r in rows), dtype=np.int64, count=n)
    play_app = np.fromiter((app_index[r[2]] for r in rows), dtype=np.int64, count=n)
    play_ms = np.fromiter((r[5] for r in rows), dtype=np.int64, count=n)
    durations = np.fromiter((m.duration_ms for m in compiled), dtype=np.int64, count=len(compiled))
    play_duration = durations[play_mix]
    ok = qualifying(play_ms, play_duration) if n else np.zeros(0, dtype=np.bool_)
    self_play = _self_play(play_app, play_mix, app_ids, [mixes[str(m)] for m in mix_ids])
    candidate = ok & ~self_play
    released_set = set(
        PlayRelease.objects.filter(
            play__accounting_period=month, released_at__lte=as_of
        ).values_list("play_id", flat=True)
    )
    released = np.fromiter((r[0] in released_set for r in rows), dtype=np.bool_, count=n)

    codes = np.zeros(n, dtype=np.int8)
    listener = _codes(((r[2], r[3]) for r in rows), n)
    if candidate.any():
        start_us = np.fromiter((_micros(r[4]) for r in rows), dtype=np.int64, count=n)
        start_ms = start_us // 1000
        days = start_us // _EPOCH_DAY
        rank = np.unique(np.array([str(r[0]) for r in rows]), return_inverse=True)[1]
        prior = _prior_counts(month, rows, days, candidate)
        first_day = int(days[candidate].min()) - th.spike_history_days
        history = _volume_history(
            month, app_ids, first_day, int(days.max()), as_of, exclude_month=month
        )
        codes = rules.hold(
            rules.Plays(
                listener=listener,
                app=play_app,
                mix=play_mix,
                start_ms=start_ms,
                ms_played=play_ms,
                duration_ms=play_duration,
                rank=rank.astype(np.int64).reshape(-1),
                candidate=candidate,
                released=released,
                prior=prior,
            ),
            history,
            n_apps,
            th,
        )
    counted = np.flatnonzero(candidate & (codes == rules.NOT_HELD))
    allocation = allocate(compiled, play_mix[counted], play_ms[counted], pool_minor)

    mark = np.where(self_play, MARK_SELF_PLAY, np.where(ok, MARK_COUNTED, MARK_TOO_SHORT))
    mark = np.where(codes != rules.NOT_HELD, MARK_RULE + codes.astype(np.int16), mark)
    stored = np.fromiter((mark_of(r[6], r[7], r[8]) for r in rows), dtype=np.int16, count=n)
    ids = [r[0] for r in rows]
    held_ids = {
        rule: sorted(ids[i] for i in np.flatnonzero(codes == rules.code_of(rule)))
        for rule in rules.RULES
    }
    return PeriodComputation(
        month=month,
        allocation=allocation,
        mixes={m.key: m for m in compiled},
        plays_total=n,
        plays_too_short=int((~ok & ~self_play).sum()),
        plays_self=int(self_play.sum()),
        held_ids=held_ids,
        released_ids=sorted(ids[i] for i in np.flatnonzero(released)),
        play_ids=ids,
        play_app=play_app,
        app_ids=app_ids,
        play_listener=listener,
        play_mix=play_mix,
        play_ms=play_ms,
        play_mark=mark.astype(np.int16),
        stored_mark=stored,
    )


def _self_play(
    play_app: npt.NDArray[np.int64],
    play_mix: npt.NDArray[np.int64],
    app_ids: tuple[int | None, ...],
    mixes: list[Mix],
) -> npt.NDArray[np.bool_]:
    """Plays through an app whose owner is credited in the mix's signed manifest: decided per
    (app, mix) pair, with the same reading of the manifest as ingestion."""
    n = int(play_app.shape[0])
    if n == 0:
        return np.zeros(0, dtype=np.bool_)
    owners = dict(
        ClientApp.objects.filter(pk__in=[a for a in app_ids if a is not None]).values_list(
            "pk", "owner_id"
        )
    )
    width = len(mixes)
    pairs, inverse = np.unique(play_app * width + play_mix, return_inverse=True)
    credited = [manifest_credited_artists(m.manifest) for m in mixes]
    is_self = np.fromiter(
        (owners.get(app_ids[int(p) // width] or 0, 0) in credited[int(p) % width] for p in pairs),
        dtype=np.bool_,
        count=int(pairs.shape[0]),
    )
    result: npt.NDArray[np.bool_] = is_self[inverse.reshape(-1)]
    return result


def _prior_counts(
    month: str, rows: list[Any], days: npt.NDArray[np.int64], candidate: npt.NDArray[np.bool_]
) -> npt.NDArray[np.int64]:
    """Per play, how many plays of its (app, listener, mix, day) counted or went over the daily
    limit in earlier periods. Only late plays (started before this month) can have any: a play
    is never accounted in a period before its own month."""
    start, _ = month_bounds(month)
    start_day = _micros(start) // _EPOCH_DAY
    late = candidate & (days < start_day)
    prior = np.zeros(len(rows), dtype=np.int64)
    if not late.any():
        return prior
    first_day = int(days[late].min())
    since = start - timedelta(days=int(start_day - first_day))
    earlier = Play.objects.filter(
        accounting_period__lt=month,
        started_at__gte=since,
        started_at__lt=start,
        listener_id__in={rows[i][3] for i in np.flatnonzero(late)},
        reason__in=[PlayReason.COUNTED, PlayReason.OVER_DAILY_LIMIT],
    ).values_list("app_id", "listener_id", "mix_id", "started_at")
    groups: Counter[tuple[Any, str, uuid.UUID, int]] = Counter(
        (app, listener, mix, _micros(started) // _EPOCH_DAY)
        for app, listener, mix, started in earlier
    )
    for i in np.flatnonzero(late):
        row = rows[i]
        prior[i] = groups.get((row[2], row[3], row[1], int(days[i])), 0)
    return prior


def _volume_history(
    month: str,
    app_ids: tuple[int | None, ...],
    first_day: int,
    last_day: int,
    as_of: datetime,
    *,
    exclude_month: str,
) -> rules.VolumeHistory:
    """Qualifying plays (and how many of them a rule held) per app and UTC day, stored in other
    periods and received by `as_of`, for the volume_spike rule's history."""
    n_apps = len(app_ids)
    days = last_day - first_day + 1
    total = np.zeros((n_apps, days), dtype=np.int64)
    held = np.zeros((n_apps, days), dtype=np.int64)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    lo = epoch + timedelta(days=first_day)
    hi = epoch + timedelta(days=last_day + 1)
    # A play is accounted in its own month or a later one, and never in a month that was
    # closed when it arrived: these are the months its history can sit in.
    months = [month_of(lo)]
    while months[-1] < month_of(hi - timedelta(microseconds=1)):
        months.append(next_month(months[-1]))
    index = {app: i for i, app in enumerate(app_ids) if app is not None}
    counts = (
        Play.objects.filter(
            app_id__in=list(index),
            accounting_period__in=[m for m in months if m != exclude_month],
            started_at__gte=lo,
            started_at__lt=hi,
            received_at__lte=as_of,
        )
        .exclude(reason__in=[PlayReason.TOO_SHORT, PlayReason.SELF_PLAY])
        .annotate(day=TruncDate("started_at", tzinfo=UTC))
        .order_by()
        .values("app_id", "day")
        .annotate(plays=Count("pk"), held=Count("pk", filter=Q(reason=PlayReason.HELD)))
    )
    for row in counts:
        d = (row["day"] - epoch.date()).days - first_day
        if 0 <= d < days:
            total[index[row["app_id"]], d] = row["plays"]
            held[index[row["app_id"]], d] = row["held"]
    return rules.VolumeHistory(first_day=first_day, total=total, held=held)
