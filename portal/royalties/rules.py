"""Listening rules: which reported plays no human listening explains. Pure: numpy arrays in, one
held rule per play out. No Django, no database, no clock; the same arrays always give the same
answer, whatever order the plays arrived in (ties are broken by a rank derived from event ids).

The period close, `verify_period`, the staff's held-plays page and the benchmarks all call
`hold()`; computation.period_compute gathers its inputs. A held play is kept and marked with
the rule that held it; it counts only once staff release it.

The rules (thresholds in `Thresholds`, read from settings by computation.rule_thresholds()):

* ``overlap``: one listener's plays that overlap in time (started_at .. started_at + ms_played)
  by more than a tolerance (a player crossfading or switching tracks overlaps by a second or
  two). One pair of ears hears one play at a time: scanning a listener's plays in start order,
  a play that starts more than the tolerance before the end of the plays kept so far is held;
  the first of two overlapping plays is kept, the later one held.
* ``daily_cap``: plays of one listener of one mix in one UTC day beyond the cap (ranked by
  start time, then event id, after the group's plays counted in earlier periods). A limit
  rather than a suspicion: these plays keep the reason ``over_daily_limit`` and the period's
  ``plays_over_limit`` figure, and are marked held_by="daily_cap" so staff can release them.
* ``volume_spike``: every play of an app on a UTC day when the app's plays that day number more
  than ``spike_factor`` x its baseline: the median of its daily plays over the previous
  ``spike_history_days`` days on which it had plays that were not held, and never less than
  ``spike_floor`` (so a new or small app is judged against a sensible minimum, not against
  nothing). History comes from earlier months' plays too.
* ``lockstep``: a burst is ``lockstep_min_listeners`` or more plays of one app's mix starting
  within ``lockstep_window_ms`` of each other, and at least ``lockstep_factor`` times what that
  app-mix's own average rate of starts predicts for such a window. A listener at least
  ``lockstep_share_pct`` % of whose plays are in bursts is a scripted farm member: all their
  plays are held. Plays are counted, not distinct listeners: one listener starting a mix
  twice within seconds is an overlap anyway.
* ``threshold_hugging``: plays whose listened span stops just after the qualifying threshold
  (within ``hugging_margin_ms`` of it, on mixes long enough to say: longer than threshold +
  margin, so a whole short mix never counts as hugging). A listener with at least
  ``hugging_min_plays`` such-eligible plays of which ``hugging_share_pct`` % or more hug is
  held whole; so are the hugging plays of an app's day when at least ``hugging_app_min_plays``
  eligible plays of that day hug at that share (listener ids rotated to stay under the
  per-listener count: human listeners stop all over a track, a few % near 30 s).

Who is judged, in what order, and what each rule reads (so that no rule reads a result that
depends on its own):

1. A play too short to qualify, or a self-play (the app's owner is credited in the mix), is
   never "held": it cannot earn anyway, and its own reason says why.
2. A play released by staff counts, and no rule holds it.
3. overlap, threshold_hugging and lockstep read the reported plays only, never another rule's
   result: a play held by one of them still occupied the listener's ears and was still part
   of a burst (released plays too: they were reported).
4. volume_spike compares what an app reported for a day (all its qualifying plays, held or
   not: that is the claim) with the history of what was believed (its plays that no rule
   held). A held day therefore never becomes the baseline of the next days, or a farm would
   be held for one day and then be its own history; releasing the plays makes them history.
   Days are judged in order, so this reads only earlier days' results.
5. daily_cap ranks only the plays left: a play held by another rule does not use up a
   listener's daily allowance.

A play held by several rules is marked with the first of PRECEDENCE (the most specific
evidence first); every rule's figure counts the plays it marks.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from portal.royalties.allocation import QUALIFYING_MS, over_daily_limit

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
CodeArray = npt.NDArray[np.int8]

DAY_MS = 86_400_000

# Display order (the brief's and the public page's); a play's code is its index here + 1.
RULES = ("overlap", "daily_cap", "volume_spike", "lockstep", "threshold_hugging")
# Which rule a play held by several carries.
PRECEDENCE = ("overlap", "threshold_hugging", "lockstep", "volume_spike", "daily_cap")
NOT_HELD = 0


def code_of(rule: str) -> int:
    return RULES.index(rule) + 1


def rule_of(code: int) -> str:
    return RULES[code - 1] if code else ""


@dataclass(frozen=True)
class Thresholds:
    """Every knob of the rules. Defaults are for human listening; see computation.py for the
    settings that override them and why each default is what it is."""

    qualifying_ms: int = QUALIFYING_MS
    daily_limit: int = 20
    overlap_tolerance_ms: int = 5_000
    spike_factor: int = 5
    spike_history_days: int = 14
    spike_floor: int = 50
    lockstep_window_ms: int = 5_000
    lockstep_min_listeners: int = 10
    lockstep_factor: int = 20
    lockstep_share_pct: int = 80
    hugging_margin_ms: int = 5_000
    hugging_min_plays: int = 10
    hugging_share_pct: int = 90
    hugging_app_min_plays: int = 50


@dataclass(frozen=True)
class Plays:
    """One entry per play of the period (every play, qualifying or not).

    `listener` codes a (app, listener id) pair: listener ids are each app's own, so two apps'
    "user-1" are two listeners. Codes are dense (0 .. listeners - 1: counts are kept per
    code). `app` codes the reporting app, 0 .. n_apps - 1.
    """

    listener: IntArray
    app: IntArray
    mix: IntArray
    start_ms: IntArray  # milliseconds since the epoch, UTC
    ms_played: IntArray
    duration_ms: IntArray  # of the play's mix
    rank: IntArray  # a total order among plays with equal keys (from the event ids)
    candidate: BoolArray  # qualifies by duration and is not self-play: what a rule may hold
    released: BoolArray  # staff released it: it counts
    prior: IntArray  # daily cap: plays of its (listener, mix, day) counted in earlier periods


@dataclass(frozen=True)
class VolumeHistory:
    """Qualifying plays of the apps stored in other periods, per app and UTC day, for the days
    `first_day` .. `first_day + days - 1` (day numbers since the epoch). `held` of them were
    held by a rule. Must start at least spike_history_days before the period's first day."""

    first_day: int
    total: IntArray  # shape (n_apps, days)
    held: IntArray  # shape (n_apps, days)

    @classmethod
    def empty(cls, n_apps: int, first_day: int) -> VolumeHistory:
        zeros = np.zeros((n_apps, 0), dtype=np.int64)
        return cls(first_day, zeros, zeros.copy())


def hold(plays: Plays, history: VolumeHistory, n_apps: int, th: Thresholds) -> CodeArray:
    """The rule holding each play (its code, see RULES), or NOT_HELD."""
    n = int(plays.listener.shape[0])
    codes = np.zeros(n, dtype=np.int8)
    if n == 0:
        return codes
    judged = plays.candidate & ~plays.released
    day = plays.start_ms // DAY_MS
    # One sort of the qualifying plays by (listener, start), shared by overlap and daily_cap.
    by_listener = _by_listener_then_start(plays)
    found: dict[str, BoolArray] = {}
    found["overlap"] = overlapping(by_listener, n, th)
    found["threshold_hugging"] = threshold_hugging(plays, day, n_apps, th)
    found["lockstep"] = lockstep(plays, th)
    held_other = (found["overlap"] | found["threshold_hugging"] | found["lockstep"]) & judged
    found["volume_spike"] = volume_spike(plays, day, judged, held_other, history, n_apps, th)
    left = judged & ~held_other & ~found["volume_spike"]
    found["daily_cap"] = daily_cap(plays, day, left, by_listener, th)
    for rule in PRECEDENCE:
        mark = found[rule] & judged & (codes == NOT_HELD)
        codes[mark] = code_of(rule)
    return codes


# --- overlap ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Sorted:
    """The qualifying plays in (listener, start, rank) order: their indices, listeners,
    starts and ends."""

    order: IntArray
    listener: IntArray
    start: IntArray
    end: IntArray


def overlapping(by_listener: _Sorted, n: int, th: Thresholds) -> BoolArray:
    """Plays starting more than the tolerance before the end of the same listener's plays kept
    so far (in start order, ties by rank): the later of two overlapping plays is held."""
    held = np.zeros(n, dtype=np.bool_)
    order = by_listener.order
    if order.size < 2:
        return held
    tol = th.overlap_tolerance_ms
    lis, st, en = by_listener.listener, by_listener.start, by_listener.end
    # If any play overlaps an earlier one of its listener, then it also overlaps the one just
    # before it (that one starts no earlier and, being before it, no later): checking
    # neighbours finds every listener the scan below has work for.
    clash = (lis[1:] == lis[:-1]) & (st[1:] < en[:-1] - tol)
    if not clash.any():
        return held
    flagged = np.unique(lis[1:][clash])
    # The greedy scan is sequential (a held play does not extend the ears' busy time), so it
    # runs in Python, over the few listeners with a clash only.
    rows = np.flatnonzero(np.isin(lis, flagged))
    held_rows: list[int] = []
    current, reach = -1, 0
    for row, who, s, e in zip(
        rows.tolist(), lis[rows].tolist(), st[rows].tolist(), en[rows].tolist(), strict=True
    ):
        if who != current:
            current, reach = who, e
        elif s < reach - tol:
            held_rows.append(row)
        elif e > reach:
            reach = e
    held[order[np.asarray(held_rows, dtype=np.int64)]] = True
    return held


def _take(values: IntArray, idx: IntArray) -> IntArray:
    """values[idx] for idx = flatnonzero(mask), without the copy when the mask is all true
    (then idx is every index, in order)."""
    return values if idx.size == values.size else values[idx]


def _by_listener_then_start(plays: Plays) -> _Sorted:
    """The qualifying plays ordered by (listener, start, rank): one packed int64 key sorted
    unstably (3-4x faster than a three-key lexsort at 10M plays), then the rare runs of equal
    keys put in rank order, so the result does not depend on the order the plays came in.
    Listener and start are read back from the sorted key (arithmetic, not a random gather)."""
    idx = np.flatnonzero(plays.candidate)
    if idx.size == 0:
        return _Sorted(idx, idx, idx, idx)
    listener, start = _take(plays.listener, idx), _take(plays.start_ms, idx)
    base = int(start.min())
    span = int(start.max()) - base + 1
    if (int(listener.max()) + 1) * span >= 2**62:
        wide: IntArray = idx[np.lexsort((_take(plays.rank, idx), start, listener))]
        return _Sorted(
            wide,
            plays.listener[wide],
            plays.start_ms[wide],
            plays.start_ms[wide] + plays.ms_played[wide],
        )
    key = listener * span + (start - base)
    position = np.argsort(key)
    sorted_key = key[position]
    # idx is every index when every play qualifies: then the positions are the plays.
    ordered: IntArray = position if idx.size == plays.candidate.size else idx[position]
    tied = np.flatnonzero(sorted_key[1:] == sorted_key[:-1])
    if tied.size:
        rows = np.unique(np.concatenate([tied, tied + 1]))  # every member of every run
        members = ordered[rows]
        ordered[rows] = members[np.lexsort((plays.rank[members], sorted_key[rows]))]
    lis = sorted_key // span
    st = sorted_key - lis * span + base
    return _Sorted(ordered, lis, st, st + plays.ms_played[ordered])


# --- daily cap --------------------------------------------------------------------------------


def daily_cap(
    plays: Plays, day: IntArray, judged: BoolArray, by_listener: _Sorted, th: Thresholds
) -> BoolArray:
    """allocation.over_daily_limit over the judged plays (the one ranking of the daily limit).

    Only a listener with more than the limit of plays in a UTC day (all mixes), or with plays
    counted earlier that day, can go over: found in one pass over the plays sorted by listener
    and start, so the ranking sorts those few plays, not the whole month."""
    n = int(plays.listener.shape[0])
    held = np.zeros(n, dtype=np.bool_)
    order = by_listener.order
    if order.size == 0:
        return held
    lis, dy = by_listener.listener, by_listener.start // DAY_MS
    new_run = np.ones(order.size, dtype=np.bool_)
    new_run[1:] = (lis[1:] != lis[:-1]) | (dy[1:] != dy[:-1])
    run_starts = np.flatnonzero(new_run)
    run_length = np.diff(np.append(run_starts, order.size))
    busy = np.repeat(run_length > th.daily_limit, run_length)
    may_exceed = np.zeros(n, dtype=np.bool_)
    may_exceed[order[busy]] = True
    may_exceed |= plays.prior > 0
    idx = np.flatnonzero(judged & may_exceed)
    if idx.size == 0:
        return held
    over = over_daily_limit(
        listener=plays.listener[idx],
        mix=plays.mix[idx],
        day=day[idx],
        started_us=plays.start_ms[idx],  # any unit orders the same
        event_rank=plays.rank[idx],
        prior=plays.prior[idx],
        limit=th.daily_limit,
    )
    held[idx[over]] = True
    return held


# --- threshold hugging ------------------------------------------------------------------------


def threshold_hugging(plays: Plays, day: IntArray, n_apps: int, th: Thresholds) -> BoolArray:
    """Listeners (and app-days) whose qualifying plays stop just after the threshold."""
    n = int(plays.listener.shape[0])
    held = np.zeros(n, dtype=np.bool_)
    band_top = th.qualifying_ms + th.hugging_margin_ms
    eligible = plays.candidate & (plays.duration_ms > band_top)
    if not eligible.any():
        return held
    hugging = eligible & (plays.ms_played < band_top)
    share = th.hugging_share_pct
    width = int(plays.listener.max()) + 1
    per_listener = np.bincount(plays.listener[eligible], minlength=width)
    hug_listener = np.bincount(plays.listener[hugging], minlength=width)
    bad_listener = (per_listener >= th.hugging_min_plays) & (
        hug_listener * 100 >= share * per_listener
    )
    held |= plays.candidate & bad_listener[plays.listener]
    first = int(day.min())
    days = int(day.max()) - first + 1
    app_day = plays.app * days + (day - first)
    per_app_day = np.bincount(app_day[eligible], minlength=n_apps * days)
    hug_app_day = np.bincount(app_day[hugging], minlength=n_apps * days)
    bad_app_day = (per_app_day >= th.hugging_app_min_plays) & (
        hug_app_day * 100 >= share * per_app_day
    )
    held |= hugging & bad_app_day[app_day]
    return held


# --- lockstep ---------------------------------------------------------------------------------


def lockstep(plays: Plays, th: Thresholds) -> BoolArray:
    """Listeners whose plays are mostly in bursts of one app-mix far above its own rate."""
    n = int(plays.listener.shape[0])
    held = np.zeros(n, dtype=np.bool_)
    idx = np.flatnonzero(plays.candidate)
    least = th.lockstep_min_listeners
    if idx.size < least:
        return held
    window = th.lockstep_window_ms
    pair = _take(plays.app, idx) * (int(plays.mix.max()) + 1) + _take(plays.mix, idx)
    start = _take(plays.start_ms, idx)
    base = int(start.min())
    span = int(start.max()) - base + window + 1
    if (int(pair.max()) + 1) * span >= 2**62:
        pair = np.unique(pair, return_inverse=True)[1].astype(np.int64).reshape(-1)
        if (int(pair.max()) + 1) * span >= 2**62:
            raise OverflowError("too many app-mixes over too long a period for one key")
    # One key per play: its app-mix, then its start. Equal keys may come in any order: every
    # figure below depends on the keys only.
    unsorted = pair * span + (start - base)
    order = np.argsort(unsorted)
    key = unsorted[order]
    m = int(idx.size)
    # A window can hold `least` plays only if the play `least - 1` places later starts within
    # it (same app-mix included: the key carries it): a cheap filter before any search.
    near = np.flatnonzero(key[least - 1 :] < key[: m - least + 1] + window)
    if near.size == 0:
        return held
    hi = np.searchsorted(key, key[near] + window, side="left")
    count = hi - near  # plays of the same app-mix starting in [start, start + window)
    g_sorted = key // span
    starts = np.flatnonzero(np.diff(g_sorted, prepend=-1))
    s_sorted = key - g_sorted * span
    per_group = np.diff(np.append(starts, m))
    first = s_sorted[starts]
    last = np.maximum.reduceat(s_sorted, starts)
    # The app-mix's own average rate, over the time it was played (at least a day, so a mix
    # played an hour does not look bursty against its own hour): a Poisson stream of starts
    # that fills `count` far above `factor` x its expectation is not people pressing play.
    active_ms = np.maximum(last - first, DAY_MS).astype(np.float64)
    expected = per_group * window / active_ms
    threshold = np.maximum(least, th.lockstep_factor * expected)
    anchor = count >= threshold[np.searchsorted(starts, near, side="right") - 1]
    if not anchor.any():
        return held
    # Every play inside an anchor's window is in a burst: +1 at the anchor, -1 past its window.
    edges = np.bincount(near[anchor], minlength=m + 1) - np.bincount(hi[anchor], minlength=m + 1)
    in_burst = np.zeros(m, dtype=np.bool_)
    in_burst[order] = np.cumsum(edges[:m]) > 0
    listener = _take(plays.listener, idx)
    width = int(listener.max()) + 1
    per_listener = np.bincount(listener, minlength=width)
    bursty = np.bincount(listener[in_burst], minlength=width)
    bad = (bursty > 0) & (bursty * 100 >= th.lockstep_share_pct * per_listener)
    held[idx[bad[listener]]] = True
    return held


# --- volume spike -----------------------------------------------------------------------------


def volume_spike(
    plays: Plays,
    day: IntArray,
    judged: BoolArray,
    held_other: BoolArray,
    history: VolumeHistory,
    n_apps: int,
    th: Thresholds,
) -> BoolArray:
    """Plays of an app's day whose volume is above factor x its baseline (see the module)."""
    n = int(plays.listener.shape[0])
    held = np.zeros(n, dtype=np.bool_)
    if not plays.candidate.any() or n_apps == 0:
        return held
    window = th.spike_history_days
    own_first = int(day[plays.candidate].min())
    first = min(history.first_day, own_first - window)
    days = int(day.max()) - first + 1
    cell = plays.app * days + (day - first)
    size = n_apps * days

    def per_cell(mask: BoolArray) -> IntArray:
        return np.bincount(cell[mask], minlength=size).reshape(n_apps, days).astype(np.int64)

    claimed = per_cell(plays.candidate)
    eligible = per_cell(judged & ~held_other)
    held_by_others = per_cell(plays.candidate & held_other)
    other_total = np.zeros((n_apps, days), dtype=np.int64)
    other_held = np.zeros((n_apps, days), dtype=np.int64)
    offset = history.first_day - first
    width = min(history.total.shape[1], days - offset)
    if width > 0:
        other_total[:, offset : offset + width] = history.total[:, :width]
        other_held[:, offset : offset + width] = history.held[:, :width]
    claimed += other_total
    believed = (other_total - other_held).astype(np.float64)
    spike = np.zeros((n_apps, days), dtype=np.bool_)
    for d in range(own_first - first, days):
        past = believed[:, d - window : d].copy()
        past[past <= 0] = np.nan  # days with nothing believed are no history
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an app with no history: all NaN
            median = np.nanmedian(past, axis=1)
        baseline = np.maximum(np.nan_to_num(median, nan=0.0), th.spike_floor)
        spike[:, d] = claimed[:, d] > th.spike_factor * baseline
        believed[:, d] = (
            claimed[:, d]
            - other_held[:, d]
            - held_by_others[:, d]
            - np.where(spike[:, d], eligible[:, d], 0)
        )
    held[:] = judged & ~held_other & spike.reshape(-1)[cell]
    return held
