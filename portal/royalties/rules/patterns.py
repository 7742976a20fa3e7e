"""The rules that look for what no human listening makes: plays stopping just past the
qualifying threshold, bursts of starts in lockstep, and an app's day far above its history."""

from __future__ import annotations

import warnings

import numpy as np

from portal.royalties.rules.inputs import (
    DAY_MS,
    BoolArray,
    IntArray,
    Plays,
    Thresholds,
    VolumeHistory,
    take,
)

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
    pair = take(plays.app, idx) * (int(plays.mix.max()) + 1) + take(plays.mix, idx)
    start = take(plays.start_ms, idx)
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
    listener = take(plays.listener, idx)
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
