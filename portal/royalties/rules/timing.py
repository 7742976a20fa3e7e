"""The rules that read one listener's plays in start order, from one shared sort: overlap (one
pair of ears hears one play at a time) and the daily cap."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from portal.royalties.allocation import over_daily_limit
from portal.royalties.rules.inputs import DAY_MS, BoolArray, IntArray, Plays, Thresholds, take

# --- overlap ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListenerOrder:
    """The qualifying plays in (listener, start, rank) order: their indices, listeners,
    starts and ends."""

    order: IntArray
    listener: IntArray
    start: IntArray
    end: IntArray


def overlapping(by_listener: ListenerOrder, n: int, th: Thresholds) -> BoolArray:
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


def by_listener_then_start(plays: Plays) -> ListenerOrder:
    """The qualifying plays ordered by (listener, start, rank): one packed int64 key sorted
    unstably (3-4x faster than a three-key lexsort at 10M plays), then the rare runs of equal
    keys put in rank order, so the result does not depend on the order the plays came in.
    Listener and start are read back from the sorted key (arithmetic, not a random gather)."""
    idx = np.flatnonzero(plays.candidate)
    if idx.size == 0:
        return ListenerOrder(idx, idx, idx, idx)
    listener, start = take(plays.listener, idx), take(plays.start_ms, idx)
    base = int(start.min())
    span = int(start.max()) - base + 1
    if (int(listener.max()) + 1) * span >= 2**62:
        wide: IntArray = idx[np.lexsort((take(plays.rank, idx), start, listener))]
        return ListenerOrder(
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
    return ListenerOrder(ordered, lis, st, st + plays.ms_played[ordered])


# --- daily cap --------------------------------------------------------------------------------


def daily_cap(
    plays: Plays, day: IntArray, judged: BoolArray, by_listener: ListenerOrder, th: Thresholds
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
