"""The royalty math, pure: numpy arrays in, exact integers out. No Django, no database.

The period close, `verify_period`, the statements' drill-down and the benchmark all run this
module; there is no second path, faster or slower.

Units and rounding (every quantity is an exact integer once a manifest is compiled):

* A manifest share (a float with 6 decimals per second, summing to 1) becomes parts per
  million: ``ppm = round(share * 1_000_000)``. That is the only rounding before money.
* A play of L ms listens to second t of its mix for ``clamp(L - 1000 t, 0, 1000)`` ms: its span
  is [0, L), whole seconds in full and the last, partial second pro rata to its milliseconds.
* A stem's attributed listening in a mix is ``sum_t listened_ms(t) * ppm(t)``. The unit,
  ms x ppm, is one nanosecond of listening ("stem-ns"); exact.
* An artist's weight on a (mix, stem) is ``stem_ns * split_bps`` (unit 1e-4 ns): exact, as an
  unbounded Python int, because a month of plays can exceed 64 bits there.
* Pool to artists (largest remainder, a.k.a. Hamilton; `portal.core.apportion`): each artist first gets
  ``floor(pool * w / W)``; the minor units left over (fewer than the number of artists) go one
  each to the largest remainders ``pool * w mod W``, ties to the lower artist id. The amounts sum
  to the pool exactly, none is negative, and an artist with no weight gets nothing.
* Artist amount to statement lines: the same largest-remainder split of the artist's amount over
  the weights of their stems, ties to the lower stem id, so the lines sum to the artist's amount.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from portal.core.apportion import NothingToAllocate, largest_remainder
from portal.royalties.manifests import BPS, PPM, CompiledMix, ManifestError, stem_order

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

QUALIFYING_MS = 30_000  # a play counts from 30 s, or the whole mix if it is shorter
# A stem-ns figure summed over a (mix, stem) stays in int64 while this bound holds; beyond it the
# sums run on Python ints (object arrays): slower, never wrong. Tests lower it to cover both.
INT64_SAFE = 2**62


# --- which plays count ------------------------------------------------------------------------


def qualifying(
    ms_played: IntArray, duration_ms: IntArray, threshold_ms: int = QUALIFYING_MS
) -> BoolArray:
    """A play qualifies at `threshold_ms`, or at the whole mix when the mix is shorter."""
    return np.asarray(ms_played >= np.minimum(duration_ms, threshold_ms), dtype=np.bool_)


def over_daily_limit(
    *,
    listener: IntArray,
    mix: IntArray,
    day: IntArray,
    started_us: IntArray,
    event_rank: IntArray,
    prior: IntArray,
    limit: int,
) -> BoolArray:
    """Which plays exceed `limit` per (listener, mix, UTC day).

    Deterministic: within a group, plays are ranked by (started_at, event_id), after the
    `prior` plays of the same group already counted in earlier periods, so the same events
    always give the same answer whatever order they arrived in. Pass only plays that qualify
    by duration: skipping through a mix does not use up a listener's daily allowance.
    """
    n = int(listener.shape[0])
    if n == 0:
        return np.zeros(0, dtype=np.bool_)
    over = np.zeros(n, dtype=np.bool_)
    day_span = int(day.max() - day.min()) + 1
    mix_span = int(mix.max()) + 1
    if (int(listener.max()) + 1) * mix_span * day_span < 2**62:
        # Most groups are far below the limit: find the few that can exceed it with one sort
        # of a packed group key, and rank only their plays.
        group = (listener * mix_span + mix) * day_span + (day - day.min())
        _, inverse, counts = np.unique(group, return_inverse=True, return_counts=True)
        candidates = np.flatnonzero(counts[inverse] + prior > limit)
    else:
        candidates = np.arange(n)
    if candidates.size == 0:
        return over
    lis, mx, dy = listener[candidates], mix[candidates], day[candidates]
    order = np.lexsort((event_rank[candidates], started_us[candidates], dy, mx, lis))
    lis, mx, dy = lis[order], mx[order], dy[order]
    m = int(candidates.size)
    starts = np.ones(m, dtype=np.bool_)
    starts[1:] = (lis[1:] != lis[:-1]) | (mx[1:] != mx[:-1]) | (dy[1:] != dy[:-1])
    positions = np.arange(m, dtype=np.int64)
    group_start = np.maximum.accumulate(np.where(starts, positions, 0))
    rank = positions - group_start + prior[candidates][order]
    over[candidates[order]] = rank >= limit
    return over


# --- listening to stem-ns ---------------------------------------------------------------------


@dataclass(frozen=True)
class Listening:
    """Attributed listening per (mix, audible stem) pair, pairs in mix order then stem order."""

    pair_mix: IntArray  # index into the mixes
    pair_stem: IntArray  # index into that mix's `stems`
    pair_ns: npt.NDArray[Any]  # int64, or object (Python ints) beyond INT64_SAFE
    pair_plays: IntArray  # plays whose span reached the stem's first audible second


def listening(mixes: Sequence[CompiledMix], play_mix: IntArray, play_ms: IntArray) -> Listening:
    """Sum the stem-ns of every (mix, stem) over the given plays (which should all qualify).

    Instead of walking each play over its seconds, plays are binned by (mix, whole seconds
    played): how many plays listen to all of second t is a suffix sum of the bins, and the
    partial seconds add their milliseconds. Cost: O(plays + seconds of the mixes + entries).
    """
    play_mix = np.asarray(play_mix, dtype=np.int64)
    play_ms = np.asarray(play_ms, dtype=np.int64)
    n_mix = len(mixes)
    seconds = np.fromiter((m.seconds for m in mixes), dtype=np.int64, count=n_mix)
    if play_ms.size and (play_ms.min() < 0 or np.any(play_ms > seconds[play_mix] * 1000)):
        raise ValueError("a play is negative or longer than its mix's attribution map")
    slots = seconds + 1  # one extra slot per mix for plays that end exactly on its last second
    offset = np.zeros(n_mix + 1, dtype=np.int64)
    np.cumsum(slots, out=offset[1:])
    total_slots = int(offset[-1])
    whole = play_ms // 1000
    partial = play_ms - whole * 1000
    slot = offset[play_mix] + whole
    count = np.bincount(slot, minlength=total_slots).astype(np.int64)
    # Float weights sum exactly here: integers below 1000 each, far below 2**53 in total.
    if int(partial.sum()) >= 2**53:
        raise OverflowError("too many plays for one period")
    partial_ms = np.bincount(slot, weights=partial, minlength=total_slots).astype(np.int64)
    partial_count = np.bincount(slot[partial > 0], minlength=total_slots).astype(np.int64)
    # tail[p]: plays of p's mix whose whole seconds are >= p's second (suffix sum per mix).
    suffix = np.zeros(total_slots + 1, dtype=np.int64)
    np.cumsum(count[::-1], out=suffix[:-1][::-1])
    segment_end = np.repeat(offset[1:], slots)
    tail = suffix[:-1] - suffix[segment_end]
    # Plays that hear all of second t are those with more than t whole seconds: tail[t + 1].
    beyond = np.zeros(total_slots, dtype=np.int64)
    beyond[:-1] = tail[1:]
    beyond[offset[1:] - 1] = 0  # the next slot belongs to the next mix
    listened_ms = beyond * 1000 + partial_ms
    reached = beyond + partial_count

    stems_per_mix = np.fromiter((len(m.stems) for m in mixes), dtype=np.int64, count=n_mix)
    pair_base = np.zeros(n_mix + 1, dtype=np.int64)
    np.cumsum(stems_per_mix, out=pair_base[1:])
    n_pairs = int(pair_base[-1])
    entries_per_mix = [m.entry_stem.shape[0] for m in mixes]
    entry_mix = np.repeat(np.arange(n_mix, dtype=np.int64), entries_per_mix)
    if n_pairs == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Listening(empty, empty, empty, empty)
    entry_pair = np.concatenate([m.entry_stem for m in mixes]) + pair_base[entry_mix]
    entry_slot = np.concatenate([m.entry_second for m in mixes]) + offset[entry_mix]
    entry_ppm = np.concatenate([m.entry_ppm for m in mixes])
    heard = listened_ms[entry_slot]
    # Every entry's product and every partial sum are bounded by the total (each second's ppm
    # sum is at most ~1e6), so one check decides whether int64 is exact for all of them.
    bound = int(listened_ms.sum()) * (PPM + int(max((len(m.stems) for m in mixes), default=0)))
    if bound < INT64_SAFE:
        values: npt.NDArray[Any] = heard * entry_ppm
    else:
        values = heard.astype(object) * entry_ppm.astype(object)
    starts = np.flatnonzero(np.diff(entry_pair, prepend=-1))
    if starts.shape[0] != n_pairs:  # every audible stem has an entry by construction
        raise ManifestError("attribution entries are not grouped by stem")
    pair_ns = np.add.reduceat(values, starts)
    pair_mix = np.repeat(np.arange(n_mix, dtype=np.int64), stems_per_mix)
    pair_stem = np.arange(n_pairs, dtype=np.int64) - pair_base[pair_mix]
    pair_plays = reached[entry_slot[starts]]  # entries are sorted by second within a stem
    return Listening(pair_mix, pair_stem, pair_ns, pair_plays)


def play_stem_ns(mix: CompiledMix, ms_played: int) -> dict[str, int]:
    """Stem-ns of one play, per stem: the drill-down's per-play figure (same rule as above)."""
    heard = np.clip(ms_played - mix.entry_second * 1000, 0, 1000)
    values = heard * mix.entry_ppm
    out: dict[str, int] = {}
    for index, stem_id in enumerate(mix.stems):
        total = int(values[mix.entry_stem == index].sum())
        if total:
            out[stem_id] = total
    return out


# --- money ------------------------------------------------------------------------------------

# The split itself is portal.core.apportion.largest_remainder (statements reuse it for shares).


@dataclass(frozen=True)
class Line:
    """One statement line: an artist's stem over the period."""

    artist_id: int
    stem_id: str
    plays: int
    weight: int  # stem-ns x split_bps, summed over the mixes
    amount_minor: int


@dataclass(frozen=True)
class Detail:
    """Behind a line: the artist's credit on that stem in one mix."""

    artist_id: int
    stem_id: str
    mix_key: str
    plays: int
    weight: int


@dataclass(frozen=True)
class Allocation:
    pool_minor: int
    total_weight: int
    plays: int
    artist_amounts: dict[int, int]  # every artist with weight, in artist id order
    artist_weights: dict[int, int]
    lines: tuple[Line, ...]  # by (artist id, stem order)
    _detail_arrays: tuple[Any, ...]
    _mix_keys: tuple[str, ...]
    _stem_ids: tuple[str, ...]

    def details(self) -> Iterator[Detail]:
        artist, stem, mix, plays, weight = self._detail_arrays
        for index in range(len(artist)):
            yield Detail(
                artist_id=int(artist[index]),
                stem_id=self._stem_ids[int(stem[index])],
                mix_key=self._mix_keys[int(mix[index])],
                plays=int(plays[index]),
                weight=int(weight[index]),
            )


def allocate(
    mixes: Sequence[CompiledMix], play_mix: IntArray, play_ms: IntArray, pool_minor: int
) -> Allocation:
    """Divide `pool_minor` among the credited artists in proportion to attributed listening.

    `play_mix` (index into `mixes`) and `play_ms` describe the qualifying plays only.
    """
    if pool_minor < 0:
        raise ValueError("the pool cannot be negative")
    heard = listening(mixes, play_mix, play_ms)
    n_mix = len(mixes)
    stem_ids = tuple(sorted({s for m in mixes for s in m.stems}, key=stem_order))
    stem_code = {stem_id: code for code, stem_id in enumerate(stem_ids)}
    credits_per_mix = [m.credit_stem.shape[0] for m in mixes]
    credit_mix = np.repeat(np.arange(n_mix, dtype=np.int64), credits_per_mix)
    if credit_mix.size == 0:
        if pool_minor:
            raise NothingToAllocate("no stem of these mixes carries a credit")
        return _empty(pool_minor, int(np.asarray(play_ms).size))
    pair_base = np.zeros(n_mix + 1, dtype=np.int64)
    np.cumsum([len(m.stems) for m in mixes], out=pair_base[1:])
    credit_pair = np.concatenate([m.credit_stem for m in mixes]) + pair_base[credit_mix]
    credit_artist = np.concatenate([m.credit_artist for m in mixes])
    credit_bps = np.concatenate([m.credit_bps for m in mixes])
    mix_stem_codes = [
        np.fromiter((stem_code[s] for s in m.stems), np.int64, len(m.stems)) for m in mixes
    ]
    credit_stemcode = np.concatenate(mix_stem_codes)[credit_pair]
    # Python ints from here on: stem-ns x basis points can pass 2**63 over a busy month.
    credit_weight = heard.pair_ns[credit_pair].astype(object) * credit_bps.astype(object)

    keep = np.fromiter((w > 0 for w in credit_weight), dtype=np.bool_, count=credit_weight.shape[0])
    if not keep.any():
        if pool_minor:
            raise NothingToAllocate("the plays reached no credited stem")
        return _empty(pool_minor, int(np.asarray(play_ms).size))
    credit_artist, credit_stemcode = credit_artist[keep], credit_stemcode[keep]
    credit_weight, credit_plays = credit_weight[keep], heard.pair_plays[credit_pair][keep]
    credit_mix = heard.pair_mix[credit_pair][keep]

    artists, artist_code = np.unique(credit_artist, return_inverse=True)
    width = max(len(stem_ids), 1)
    line_key = artist_code.astype(np.int64) * width + credit_stemcode
    order = np.argsort(line_key, kind="stable")
    sorted_key = line_key[order]
    starts = np.flatnonzero(np.diff(sorted_key, prepend=-1))
    line_weight = np.add.reduceat(credit_weight[order], starts)
    line_plays = np.add.reduceat(credit_plays[order], starts)
    line_artist = artists[sorted_key[starts] // width]
    line_stem = sorted_key[starts] % width
    artist_starts = np.flatnonzero(np.diff(line_artist, prepend=line_artist[0] - 1))
    artist_weight = np.add.reduceat(line_weight, artist_starts)
    artist_ids = [int(a) for a in line_artist[artist_starts]]
    weights = [int(w) for w in artist_weight]
    amounts = largest_remainder(pool_minor, weights)

    lines: list[Line] = []
    bounds = [*artist_starts.tolist(), len(line_weight)]
    for index, artist in enumerate(artist_ids):
        a, b = bounds[index], bounds[index + 1]
        line_weights = [int(w) for w in line_weight[a:b]]
        for offset, amount in enumerate(largest_remainder(amounts[index], line_weights)):
            lines.append(
                Line(
                    artist_id=artist,
                    stem_id=stem_ids[int(line_stem[a + offset])],
                    plays=int(line_plays[a + offset]),
                    weight=line_weights[offset],
                    amount_minor=amount,
                )
            )
    return Allocation(
        pool_minor=pool_minor,
        total_weight=sum(weights),
        plays=int(np.asarray(play_ms).size),
        artist_amounts=dict(zip(artist_ids, amounts, strict=True)),
        artist_weights=dict(zip(artist_ids, weights, strict=True)),
        lines=tuple(lines),
        _detail_arrays=(credit_artist, credit_stemcode, credit_mix, credit_plays, credit_weight),
        _mix_keys=tuple(m.key for m in mixes),
        _stem_ids=stem_ids,
    )


def _empty(pool_minor: int, plays: int) -> Allocation:
    none = np.zeros(0, dtype=np.int64)
    return Allocation(pool_minor, 0, plays, {}, {}, (), (none,) * 5, (), ())


def weight_to_seconds(weight: int) -> float:
    """A weight (stem-ns x bps) as seconds of listening, for display only."""
    return weight / (PPM * BPS * 1000)


def seconds_text(weight: int, decimals: int = 3) -> str:
    """The same, as exact decimal text truncated (never rounded up) to `decimals` places."""
    unit = PPM * BPS * 1000 // 10**decimals
    whole = weight // unit
    return (
        f"{whole // 10**decimals}.{whole % 10**decimals:0{decimals}d}" if decimals else str(whole)
    )
