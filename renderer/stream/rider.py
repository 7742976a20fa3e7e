"""The loudness rider of an endless programme: a slow gain that holds the short-term loudness
(BS.1770 3 s windows) at the target, moving at most `rider_max_db_per_s`.

Integrated loudness has no end in a stream, so the rider steers by two things, one 100 ms block
(the BS.1770 segment) at a time:

* look-ahead from the plan: the layers of the next `rider_lookahead_s` (a throwaway copy of the
  plan planned that far, see `segment`), with their stems' K-weighted power, gains and fades,
  so the rider knows what is coming: a loud layer entering on the next bar line starts the gain
  down before it sounds, which a meter alone would only notice afterwards (a change the listener
  makes meanwhile makes the guess wrong for at most that second; the meter corrects it);
* the meter (K-weighting `renderer.dsp.kweight`, its filter state carried from segment to
  segment): over the last 3 s, the measured energy of the mix against the predicted; their ratio
  corrects the prediction (overlapping layers, the real spectrum of a stem's loudest part).

Gain changes are ramped across each block, bounded per block by the slew limit, so a section
change never pumps. Everything the next segment needs (gain, filter state, the last 3 s of
energies) is carried in the state's JSON as floats, which JSON round-trips exactly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from renderer.audio import Samples
from renderer.dsp.kweight import initial_state, k_filter
from renderer.stream.state import BLOCK_FRAMES, CHANNELS, SAMPLE_RATE, StreamSettings

Float64Array = npt.NDArray[np.float64]

HISTORY_BLOCKS = 30  # 3 s: the BS.1770 short-term window, in 100 ms blocks
_LOUDNESS_OFFSET = -0.691  # BS.1770-4 eq. 2
_SILENT = 1e-10  # mean square under which a block counts as silence (-100 LUFS)
_MAX_CORRECTION_DB = 12.0


def new_rider() -> dict[str, Any]:
    return {
        "gain_db": 0.0,
        "zi": initial_state(CHANNELS).tolist(),
        "measured": [],
        "predicted": [],
        "primed": False,
    }


def _lufs(mean_square: float) -> float:
    return _LOUDNESS_OFFSET + 10.0 * math.log10(mean_square)


def predicted_power(
    layers: Sequence[Mapping[str, Any]], first_block: int, blocks: int
) -> Float64Array:
    """Mean K-weighted power (summed over channels) the plan predicts for each block, taking
    layers as uncorrelated and each layer's fades at the block's centre."""
    centres = (np.arange(first_block, first_block + blocks, dtype=np.float64) + 0.5) * BLOCK_FRAMES
    total = np.zeros(blocks, dtype=np.float64)
    for layer in layers:
        start, end = float(layer["start"]), layer["end"]
        active = centres >= start
        if end is not None:
            active &= centres < float(end)
        if not active.any():
            continue
        level = float(layer["power"]) * 10.0 ** (float(layer["gain_db"]) / 10.0)
        level *= min(1.0, float(layer["length"]) / float(layer["period"]))
        envelope = np.where(active, 1.0, 0.0)
        if layer["fade_in"]:
            t = np.clip((centres - start) / float(layer["fade_in"]), 0.0, 1.0)
            envelope *= np.sin(0.5 * np.pi * t) ** 2
        if layer["fade_start"] is not None and layer["fade_out"]:
            t = np.clip((centres - float(layer["fade_start"])) / float(layer["fade_out"]), 0.0, 1.0)
            envelope *= np.cos(0.5 * np.pi * t) ** 2
        total += level * envelope
    return total


def ride(
    rider: dict[str, Any],
    mixed: Samples,
    first_block: int,
    layers: Sequence[Mapping[str, Any]],
    settings: StreamSettings,
) -> tuple[Samples, dict[str, Any], dict[str, float]]:
    """Apply the rider to `mixed` (whole blocks from `first_block`), starting from `rider` (the
    state at that block). Returns the ridden samples, the state at the start of the last block
    (where the next call starts again), and stats at the end."""
    blocks = mixed.shape[0] // BLOCK_FRAMES
    ahead = max(1, round(settings.rider_lookahead_s * 10))
    predicted = predicted_power(layers, first_block, blocks + ahead)
    zi = np.asarray(rider["zi"], dtype=np.float64)
    split = (blocks - 1) * BLOCK_FRAMES
    head, zi_last = k_filter(mixed[:split], SAMPLE_RATE, zi)
    tail, zi_end = k_filter(mixed[split:], SAMPLE_RATE, zi_last)
    weighted = np.concatenate([head, tail]) if split else tail
    measured = np.einsum("ijk,ijk->i", *(weighted.reshape(blocks, BLOCK_FRAMES, CHANNELS),) * 2)
    history_m = list(rider["measured"])
    history_p = list(rider["predicted"])
    gain_db = float(rider["gain_db"])
    step = settings.rider_max_db_per_s / 10.0
    gains = np.empty(blocks + 1, dtype=np.float64)
    gains[0] = gain_db
    carried: dict[str, Any] = {}
    short_term = float("-inf")
    for k in range(blocks):
        if k == blocks - 1:
            carried = {
                "gain_db": gain_db,
                "zi": zi_last.tolist(),
                "measured": list(history_m),
                "predicted": list(history_p),
                "primed": bool(rider["primed"]),
            }
        sum_m, sum_p = math.fsum(history_m), math.fsum(history_p)
        correction = 0.0
        if sum_m > _SILENT * BLOCK_FRAMES and sum_p > _SILENT * BLOCK_FRAMES:
            correction = 10.0 * math.log10(sum_m / sum_p)
            correction = max(-_MAX_CORRECTION_DB, min(_MAX_CORRECTION_DB, correction))
        coming = float(predicted[k : k + ahead].mean())
        if coming > _SILENT:
            wanted = settings.target_lufs - (_lufs(coming) + correction)
            wanted = max(-settings.rider_range_db, min(settings.rider_range_db, wanted))
            if not rider["primed"]:
                # The very first sound: start at the right gain rather than ramp up to it.
                gain_db, rider["primed"] = wanted, True
            else:
                gain_db += max(-step, min(step, wanted - gain_db))
        gains[k + 1] = gain_db
        history_m = ([*history_m, float(measured[k])])[-HISTORY_BLOCKS:]
        history_p = ([*history_p, float(predicted[k]) * BLOCK_FRAMES])[-HISTORY_BLOCKS:]
        window = math.fsum(m * 10.0 ** (gain_db / 10.0) for m in history_m)
        # The K-filter's tail after the music stops decays into subnormal energies, whose mean
        # rounds to 0: that is silence too (the logarithm of 0 raised, and every retry of the
        # segment with it, so the listener's stream stopped there).
        if window / (HISTORY_BLOCKS * BLOCK_FRAMES) > 0.0:
            short_term = _lufs(window / (HISTORY_BLOCKS * BLOCK_FRAMES))
    del zi_end
    # Within block k the linear gain moves evenly from its value after block k-1 to block k's.
    linear = 10.0 ** (gains / 20.0)
    ramp = np.arange(1, BLOCK_FRAMES + 1, dtype=np.float64) / BLOCK_FRAMES
    per_frame = (linear[:-1, None] + (linear[1:] - linear[:-1])[:, None] * ramp).astype(np.float32)
    per_frame = per_frame.reshape(-1)
    ridden = np.empty_like(mixed)
    for channel in range(mixed.shape[1]):
        np.multiply(mixed[:, channel], per_frame, out=ridden[:, channel])
    stats = {"rider_gain_db": gain_db, "short_term_lufs": short_term}
    return ridden, carried, stats
