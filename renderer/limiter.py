"""A vectorised true-peak look-ahead limiter.

The limiter works offline on the whole signal, so "look-ahead" costs no latency: the gain at
frame i already knows about every peak in the next `lookahead` frames. All steps are whole-array
numpy operations; nothing loops over samples in Python.

1. Peak estimate per frame: the larger of the channels' sample peaks and, around frames whose
   samples come within `search_db` of the ceiling, the 4x-oversampled inter-sample values (a
   Kaiser-windowed sinc interpolator), so the gain also tames peaks that sit between samples.
   Frames further below the ceiling are not interpolated: band-limited music does not overshoot
   its samples by that much in practice, and the engine re-measures the result with the
   BS.1770 meter and calls the limiter again with a wider search if it ever did.
2. Required gain r[i] = min(1, ceiling / peak[i]), linked across channels (no image shift).
3. Attack: a sliding minimum of r over the look-ahead window W (van Herk/Gil-Werman, O(n)),
   then a W-frame box average looking back. Every term of that average is a minimum over a
   window containing frame i, so the smoothed gain is still <= r[i]: the ceiling holds while the
   gain slides down over W frames instead of jumping.
4. Release: in dB, the gain may rise at most `release_db_per_s`. The slope-limited lower
   envelope G[i] = min_{j<=i} (A[j] + R (i - j)) equals R i + cummin(A[j] - R j), a single
   np.minimum.accumulate. G <= A, so the release never undoes the attack's guarantee.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from renderer.audio import Samples

_INTERP_HALF = 8  # taps each side of the interpolation point (16 taps per phase)
_OVERSAMPLE = 4


@dataclass(frozen=True)
class LimiterStats:
    max_reduction_db: float  # deepest gain reduction applied (>= 0)
    limited_frames: int  # frames whose gain was below unity


def _interpolation_matrix() -> npt.NDArray[np.float32]:
    """(2*half, oversample-1) matrix: column p-1 interpolates time i + p/4 from x[i-half+1..i+half]."""
    offsets = np.arange(-_INTERP_HALF + 1, _INTERP_HALF + 1, dtype=np.float64)
    columns = []
    for phase in range(1, _OVERSAMPLE):
        t = offsets - phase / _OVERSAMPLE
        # Kaiser window (beta 8) over the kernel span: ~-80 dB sidelobes with 16 taps.
        window = np.i0(8.0 * np.sqrt(np.clip(1.0 - (t / (_INTERP_HALF + 0.5)) ** 2, 0.0, 1.0)))
        column = np.sinc(t) * window
        columns.append(column / column.sum())
    return np.stack(columns, axis=1).astype(np.float32)


_KERNEL = _interpolation_matrix()


def peak_envelope(samples: Samples, ceiling: float, search_db: float) -> npt.NDArray[np.float32]:
    """Per-frame peak estimate (linear), including 4x inter-sample peaks near the ceiling."""
    frames, channels = samples.shape
    peaks = np.abs(samples[:, 0]) if channels == 1 else np.max(np.abs(samples), axis=1)
    peaks = np.asarray(peaks, dtype=np.float32)
    if frames < 2:
        return peaks
    threshold = ceiling * 10.0 ** (-search_db / 20.0)
    # An inter-sample peak between i and i+1 is examined when either neighbour is loud.
    loud = peaks > threshold
    near = loud[:-1] | loud[1:]
    candidates = np.flatnonzero(near)
    if candidates.size == 0:
        return peaks
    offsets = np.arange(-_INTERP_HALF + 1, _INTERP_HALF + 1)
    inter = np.zeros(candidates.size, dtype=np.float32)
    chunk = 1 << 16
    for begin in range(0, candidates.size, chunk):
        idx = candidates[begin : begin + chunk, None] + offsets  # (k, taps)
        valid = (idx >= 0) & (idx < frames)
        np.clip(idx, 0, frames - 1, out=idx)
        best = np.zeros(idx.shape[0], dtype=np.float32)
        for channel in range(channels):
            windows = samples[idx, channel]
            windows[~valid] = 0.0
            values = np.abs(windows @ _KERNEL)  # (k, phases)
            np.maximum(best, values.max(axis=1), out=best)
        inter[begin : begin + chunk] = best
    # The overshoot lies between two frames; charge it to both so the gain covers it.
    np.maximum.at(peaks, candidates, inter)
    np.maximum.at(peaks, candidates + 1, inter)
    return peaks


def _sliding_min_forward(values: npt.NDArray[np.float64], width: int) -> npt.NDArray[np.float64]:
    """out[i] = min(values[i : i + width]) (the window is clipped at the end), van Herk style."""
    n = values.shape[0]
    if width <= 1 or n == 0:
        return values.copy()
    blocks = -(-n // width) + 1
    padded = np.ones(blocks * width, dtype=np.float64)
    padded[:n] = values
    grid = padded.reshape(blocks, width)
    prefix = np.minimum.accumulate(grid, axis=1).reshape(-1)
    suffix = np.minimum.accumulate(grid[:, ::-1], axis=1)[:, ::-1].reshape(-1)
    # The window [i, i+width-1] spans at most two blocks: the suffix of i's block and the
    # prefix of the next block up to i+width-1.
    out: npt.NDArray[np.float64] = np.minimum(suffix[:n], prefix[width - 1 : width - 1 + n])
    return out


def _box_average_backward(values: npt.NDArray[np.float64], width: int) -> npt.NDArray[np.float64]:
    """out[i] = mean(values[i-width+1 : i+1]), with values before the start taken as 1.0."""
    if width <= 1:
        return values.copy()
    cumulative = np.empty(values.shape[0] + width, dtype=np.float64)
    cumulative[:width] = np.arange(width, dtype=np.float64)  # the implicit leading 1.0s
    np.cumsum(values, out=cumulative[width:])
    cumulative[width:] += width
    out: npt.NDArray[np.float64] = (cumulative[width:] - cumulative[:-width]) / width
    return out


def gain_curve(
    peaks: npt.NDArray[np.float32],
    ceiling: float,
    sample_rate: int,
    *,
    lookahead_ms: float = 2.0,
    release_db_per_s: float = 60.0,
) -> npt.NDArray[np.float32]:
    """Per-frame linear gain <= ceiling / peak everywhere, smooth in attack and release."""
    required = np.minimum(1.0, ceiling / np.maximum(peaks.astype(np.float64), 1e-30))
    if np.all(required >= 1.0):
        return np.ones(peaks.shape[0], dtype=np.float32)
    width = max(1, int(round(lookahead_ms * 1e-3 * sample_rate)))
    attack = _box_average_backward(_sliding_min_forward(required, width), width)
    np.minimum(attack, required, out=attack)  # guards against rounding in the running sums
    active = np.flatnonzero(attack < 1.0)
    # Release only matters from the first reduced frame on; before it the gain is exactly 1.
    first = int(active[0])
    tail = attack[first:]
    step = release_db_per_s / sample_rate
    ramp = np.arange(tail.shape[0], dtype=np.float64) * step
    level_db = 20.0 * np.log10(np.maximum(tail, 1e-12))
    level_db -= ramp
    np.minimum.accumulate(level_db, out=level_db)
    level_db += ramp
    np.minimum(level_db, 0.0, out=level_db)
    gain = np.ones(peaks.shape[0], dtype=np.float32)
    gain[first:] = np.power(10.0, level_db / 20.0)
    return gain


def limit(
    samples: Samples,
    sample_rate: int,
    ceiling_dbtp: float,
    *,
    lookahead_ms: float = 2.0,
    release_db_per_s: float = 60.0,
    search_db: float = 3.0,
) -> tuple[Samples, LimiterStats]:
    """Return a limited copy of `samples` whose 4x-oversampled peak stays <= `ceiling_dbtp`."""
    ceiling = 10.0 ** (ceiling_dbtp / 20.0)
    peaks = peak_envelope(samples, ceiling, search_db)
    gain = gain_curve(
        peaks,
        ceiling,
        sample_rate,
        lookahead_ms=lookahead_ms,
        release_db_per_s=release_db_per_s,
    )
    out = np.multiply(samples, gain[:, None], dtype=np.float32)
    smallest = float(gain.min()) if gain.size else 1.0
    stats = LimiterStats(
        max_reduction_db=-20.0 * math.log10(smallest) if smallest > 0 else math.inf,
        limited_frames=int(np.count_nonzero(gain < 1.0)),
    )
    return out, stats
