"""Who is heard when: per second of a render, each stem's share of the energy of the mix.

Computed from prefix sums of each stem's energy and the placements, rather than another pass
over the output; the shares are what the manifest records and royalties are paid by.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, MutableMapping
from typing import Any

import numpy as np
import numpy.typing as npt

from renderer.audio import Samples
from renderer.placement import Placement, pieces, repeat_spans

Float64Array = npt.NDArray[np.float64]

AUDIBILITY_FLOOR_DB = 60.0  # a stem this far under the loudest in a second gets no share
SILENCE_MEAN_SQUARE = 1e-12  # -120 dBFS: a second quieter than this counts as silence


def _frame_energies(stem: Samples) -> Float64Array:
    """Sum of squares of each frame, in float64 (the squares of float32 samples are exact).

    Channel by channel: a float64 einsum over the interleaved frames costs ~3x as much."""
    energies = np.square(stem[:, 0], dtype=np.float64)
    for channel in range(1, stem.shape[1]):
        energies += np.square(stem[:, channel], dtype=np.float64)
    return energies


def stem_energy_per_second(
    placements: list[Placement],
    stems: Mapping[str, Samples],
    frames: int,
    channels: int,
    sr: int,
    *,
    cache: MutableMapping[tuple[Any, ...], Float64Array] | None = None,
) -> dict[str, Float64Array]:
    """Energy (sum of squares over output channels) each stem adds to each second of the mix.

    Uses prefix sums of each gained stem's per-frame energy, so repeats cost O(seconds), not
    O(samples); only faded spans touch samples. Repeats of one stem that overlap in time are
    counted as the sum of their energies. `cache` keeps the per-frame energies and prefix sums
    for the next call (the live stream measures the same stems every segment); its keys are
    the stem ids, so a stem id must always name the same samples in it.
    """
    seconds = max(1, -(-frames // sr))
    energies: dict[str, Float64Array] = {}
    store: MutableMapping[tuple[Any, ...], Float64Array] = {} if cache is None else cache
    for p in placements:
        stem = stems[p.stem_id]
        per_frame = store.get(("frames", p.stem_id, channels))
        if per_frame is None:  # once per stem, however many layers play it
            per_frame = _frame_energies(stem)
            if stem.shape[1] != channels:
                # A mono stem is broadcast onto every output channel: its energy counts that often.
                per_frame *= channels / stem.shape[1]
            store["frames", p.stem_id, channels] = per_frame
        gain2 = 10.0 ** (p.gain_db / 10.0)
        key = ("prefix", p.stem_id, channels, gain2)
        prefix = store.get(key)
        if prefix is None:
            prefix = np.concatenate([[0.0], np.cumsum(per_frame * gain2)])
            store[key] = prefix
        total = energies.setdefault(p.stem_id, np.zeros(seconds, dtype=np.float64))
        for a, b in repeat_spans(p, stem.shape[0]):
            for lo, hi, env in pieces(p, a, b):
                first, last = lo // sr, (hi - 1) // sr
                bounds = np.clip(np.arange(first, last + 2, dtype=np.int64) * sr, lo, hi)
                if env is None:
                    values = prefix[bounds[1:] - a] - prefix[bounds[:-1] - a]
                else:
                    weighted = per_frame[lo - a : hi - a] * gain2 * env * env
                    values = np.add.reduceat(weighted, bounds[:-1] - lo)
                total[first : last + 1] += values
    return energies


def attribution_map(energies: Mapping[str, Float64Array], sr: int, channels: int) -> dict[str, Any]:
    """Per whole second, each audible stem's share of the energy, summing to 1 (6 decimals)."""
    ids = sorted(energies)
    seconds_out: list[dict[str, Any]] = []
    if not ids:
        return {"resolution_s": 1, "seconds": seconds_out}
    matrix = np.stack([energies[i] for i in ids])  # (stems, seconds)
    floor = 10.0 ** (-AUDIBILITY_FLOOR_DB / 10.0)
    silence = SILENCE_MEAN_SQUARE * sr * channels
    for t in range(matrix.shape[1]):
        column = matrix[:, t]
        loudest = float(column.max())
        shares: dict[str, float] = {}
        if loudest > silence:
            audible = column >= loudest * floor
            weights = np.where(audible, column, 0.0)
            fractions = weights / weights.sum()
            rounded = {ids[i]: round(float(fractions[i]), 6) for i in np.flatnonzero(audible)}
            rounded = {k: v for k, v in rounded.items() if v > 0.0}
            # Give the rounding residue to the largest share so the sum is exactly 1 to 1e-6.
            top = max(rounded, key=lambda k: rounded[k])
            rounded[top] = round(rounded[top] + 1.0 - math.fsum(rounded.values()), 6)
            shares = dict(sorted(rounded.items()))
        seconds_out.append({"t": t, "shares": shares})
    return {"resolution_s": 1, "seconds": seconds_out}
