"""What the listening rules read: their thresholds and the period's plays as arrays."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from portal.royalties.allocation import QUALIFYING_MS

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
CodeArray = npt.NDArray[np.int8]

DAY_MS = 86_400_000


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


def take(values: IntArray, idx: IntArray) -> IntArray:
    """values[idx] for idx = flatnonzero(mask), without the copy when the mask is all true
    (then idx is every index, in order)."""
    return values if idx.size == values.size else values[idx]
