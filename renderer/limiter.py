"""A vectorised true-peak look-ahead limiter.

The limiter works offline on the whole signal, so "look-ahead" costs no latency: the gain at
frame i already knows about every peak in the next `lookahead` frames. All steps are whole-array
numpy operations; nothing loops over samples in Python.

1. Peak estimate per frame: the larger of the channels' sample peaks and, around frames whose
   samples come within `search_db` of the ceiling, the inter-sample values of the BS.1770
   true-peak meter's own interpolator (`renderer.dsp.sinc.true_peak_kernel`: 4x below 96 kHz,
   2x from there), so the gain tames the peaks between samples that the meter will read.
   Frames further below the ceiling are not interpolated: band-limited music does not overshoot
   its samples by that much in practice, and the engine re-measures the result with the meter
   and calls the limiter again with a wider search if it ever did.
2. Required gain r[i] = min(1, ceiling / peak[i]), linked across channels (no image shift).
3. Attack: a sliding minimum of r over the look-ahead window W (`renderer.dsp.running`,
   log2(W) + 1 whole-array passes), then a W-frame box average looking back. Every term of that average is a minimum over a
   window containing frame i, so the smoothed gain is still <= r[i]: the ceiling holds while the
   gain slides down over W frames instead of jumping.
4. Release: in dB, the gain may rise at most `release_db_per_s`. The slope-limited lower
   envelope G[i] = min_{j<=i} (A[j] + R (i - j)) equals R i + cummin(A[j] - R j), a single
   np.minimum.accumulate. G <= A, so the release never undoes the attack's guarantee.

Why our own: no library limits offline against the true peak with a look-ahead that provably
holds the ceiling; audio plug-in limiters (pedalboard's, ffmpeg's alimiter) work on sample
peaks in real time and overshoot between samples.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from renderer.audio import Samples
from renderer.dsp.running import running_min
from renderer.dsp.sinc import TRUE_PEAK_TAPS, banded_kernel, true_peak_kernel


@dataclass(frozen=True)
class LimiterStats:
    max_reduction_db: float  # deepest gain reduction applied (>= 0)
    limited_frames: int  # frames whose gain was below unity


_ROWS = 8  # interpolation points per row of the banded kernel
_CHUNK = 2048  # frames per matrix product: small enough that OpenBLAS stays on this thread


def peak_envelope(
    samples: Samples, sample_rate: int, ceiling: float, search_db: float
) -> npt.NDArray[np.float32]:
    """Per-frame peak estimate (linear), including the true-peak meter's inter-sample values
    near the ceiling."""
    kernel = true_peak_kernel(sample_rate)
    banded = banded_kernel(kernel, _ROWS)
    half = TRUE_PEAK_TAPS // 2
    frames, channels = samples.shape
    # Column-wise maximum: numpy reduces a 2-wide inner axis slowly, two 1-D passes are fast.
    peaks = np.abs(samples[:, 0])
    for channel in range(1, channels):
        np.maximum(peaks, np.abs(samples[:, channel]), out=peaks)
    if frames < 2:
        return peaks
    threshold = ceiling * 10.0 ** (-search_db / 20.0)
    # An inter-sample peak between i and i+1 is examined when either neighbour is loud.
    loud = peaks > threshold
    near = loud[:-1] | loud[1:]
    if not near.any():
        return peaks
    candidates = np.flatnonzero(near)
    # Where such pairs are dense, interpolate whole chunks (a strided matrix product per chunk
    # is far cheaper than gathering a window per pair); where they are sparse, gather just
    # their windows. Both compute the same dot products, so the choice does not change results.
    chunks = -(-(frames - 1) // _CHUNK)
    owner = candidates // _CHUNK
    dense = np.bincount(owner, minlength=chunks) > _CHUNK // 8
    inter = np.zeros(candidates.size, dtype=np.float32)
    taps, phases = kernel.shape
    per_rows = _CHUNK // _ROWS
    dense_chunks = np.flatnonzero(dense).tolist()
    if dense_chunks:
        # Position of each chunk's first candidate in `candidates` (sorted by frame).
        first_of = np.searchsorted(candidates, np.arange(chunks + 1) * _CHUNK)
        for channel in range(channels):
            # Zeros stand in for the frames before the start and after the end.
            padded = np.zeros(half - 1 + chunks * _CHUNK + half, np.float32)
            padded[half - 1 : half - 1 + frames] = samples[:, channel]
            windows = np.lib.stride_tricks.as_strided(
                padded,
                shape=(chunks * per_rows, _ROWS + taps - 1),
                strides=(_ROWS * padded.itemsize, padded.itemsize),
                writeable=False,
            )
            for index in dense_chunks:
                values = windows[index * per_rows : (index + 1) * per_rows] @ banded
                values = np.abs(values.reshape(_CHUNK, phases))
                strongest = values[:, 0]
                for phase in range(1, phases):
                    np.maximum(strongest, values[:, phase], out=strongest)
                lo, hi = int(first_of[index]), int(first_of[index + 1])
                mine = strongest[candidates[lo:hi] - index * _CHUNK]
                np.maximum(inter[lo:hi], mine, out=inter[lo:hi])
    sparse = np.flatnonzero(~dense[owner])
    offsets = np.arange(-half + 1, half + 1)
    chunk = 1 << 16
    for begin in range(0, sparse.size, chunk):
        which = sparse[begin : begin + chunk]
        idx = candidates[which, None] + offsets  # (k, taps)
        valid = (idx >= 0) & (idx < frames)
        np.clip(idx, 0, frames - 1, out=idx)
        best = np.zeros(idx.shape[0], dtype=np.float32)
        for channel in range(channels):
            gathered = samples[idx, channel]
            gathered[~valid] = 0.0
            found = np.abs(gathered @ kernel)  # (k, phases)
            np.maximum(best, found.max(axis=1), out=best)
        inter[which] = best
    # The overshoot lies between two frames; charge it to both so the gain covers it.
    np.maximum.at(peaks, candidates, inter)
    np.maximum.at(peaks, candidates + 1, inter)
    return peaks


def _box_average_backward(values: npt.NDArray[np.float32], width: int) -> npt.NDArray[np.float32]:
    """out[i] = mean(values[i-width+1 : i+1]), with values before the start taken as 1.0.

    Window sums by doubling (sums of 1, 2, 4, ... values), adding the power-of-two sums that
    make up `width`: float32 stays accurate because no sum runs over more than `width` values.
    """
    if width <= 1:
        return values.copy()
    n = values.shape[0]
    padded = np.ones(n + width - 1, dtype=np.float32)
    padded[width - 1 :] = values
    total = np.zeros(n, dtype=np.float32)
    partial = padded.copy()  # partial[i] = sum(padded[i : i + span])
    span, offset, remaining = 1, 0, width
    while remaining:
        if remaining & 1:
            np.add(total, partial[offset : offset + n], out=total)
            offset += span
        remaining >>= 1
        if remaining:
            size = partial.shape[0] - span
            np.add(partial[:size], partial[span : span + size], out=partial[:size])
            partial = partial[:size]
            span *= 2
    total *= np.float32(1.0 / width)
    return total


def _span_gain(
    peaks: npt.NDArray[np.float32],
    loud: npt.NDArray[np.intp],
    span: tuple[int, int],
    origin: int,
    ceiling: float,
    width: int,
    step: float,
) -> tuple[npt.NDArray[np.float32], bool]:
    """Steps 2-4 for frames span[0]..span[1]-1, which hold the overs `loud`, with the release
    ramp counted from frame `origin`. Also says whether the gain is back at unity (0 dB, before
    clamping) at the span's last frame, i.e. nothing here holds the gain down after it."""
    begin, end = span
    required = np.ones(end - begin, dtype=np.float32)
    required[loud - begin] = np.float32(ceiling) / peaks[loud]
    attack = _box_average_backward(running_min(required, width), width)
    np.minimum(attack, required, out=attack)  # guards against rounding in the running sums
    # Release in dB: G[i] = R i + cummin(A[j] - R j); float64 keeps R*i exact enough.
    ramp = np.arange(begin - origin, end - origin, dtype=np.float64) * step
    level_db = np.log10(attack).astype(np.float64)
    level_db *= 20.0
    level_db -= ramp
    np.minimum.accumulate(level_db, out=level_db)
    level_db += ramp
    recovered = bool(level_db[-1] >= 0.0)
    np.minimum(level_db, 0.0, out=level_db)
    gain = np.empty(end - begin, dtype=np.float32)
    level = level_db.astype(np.float32)
    level *= np.float32(1.0 / 20.0)
    np.power(np.float32(10.0), level, out=gain)
    return gain, recovered


_BRIDGE_FRAMES = 1 << 15  # spans closer than this are computed as one (fewer small arrays)


def gain_curve(
    peaks: npt.NDArray[np.float32],
    ceiling: float,
    sample_rate: int,
    *,
    lookahead_ms: float = 2.0,
    release_db_per_s: float = 60.0,
) -> npt.NDArray[np.float32]:
    """Per-frame linear gain <= ceiling / peak everywhere, smooth in attack and release.

    Defined over the whole signal from the first over (minus the look-ahead) on, but computed
    only around the overs: away from them the attack is exactly 1.0 and, once the release has
    climbed back to 0 dB, the gain is exactly 1.0 until the next over's look-ahead. Each span
    (an over cluster's look-ahead through its full release) goes through the same array
    operations, with the same ramp origin, as the whole signal would, so the result is
    bit-identical to computing everything; where that cannot be shown (a box average of ones
    that does not round to exactly 1.0, no release), everything is computed.
    """
    n = peaks.shape[0]
    gain = np.ones(n, dtype=np.float32)
    loud = np.flatnonzero(peaks > ceiling)
    if loud.size == 0:
        return gain
    width = max(1, round(lookahead_ms * 1e-3 * sample_rate))
    step = release_db_per_s / sample_rate
    # Nothing before the first over (minus the look-ahead) is ever reduced: skip it.
    origin = max(0, int(loud[0]) - width)
    unity = np.float32(width) * np.float32(1.0 / width) == np.float32(1.0)
    if not unity or step <= 0.0:
        gain[origin:], _ = _span_gain(peaks, loud, (origin, n), origin, ceiling, width, step)
        return gain
    # Over o lowers the attack on o - width + 1 .. o + width - 1 by at most its own required
    # reduction, which the release undoes within reduction / step frames (+2 for rounding).
    reduction_db = -20.0 * np.log10(np.float32(ceiling) / peaks[loud].astype(np.float64))
    reach = np.maximum.accumulate(loud + width + np.ceil(reduction_db / step).astype(np.intp) + 2)
    starts = loud - width
    breaks = np.flatnonzero(starts[1:] >= reach[:-1] + _BRIDGE_FRAMES) + 1
    bounds = [0, *breaks.tolist(), loud.size]
    for k0, k1 in itertools.pairwise(bounds):
        begin = max(0, int(starts[k0]))
        end = min(n, int(reach[k1 - 1]))
        values, recovered = _span_gain(
            peaks, loud[k0:k1], (begin, end), origin, ceiling, width, step
        )
        gain[begin:end] = values
        if not recovered and end < n:
            # Never expected: the release is still holding the gain down. Compute the rest
            # in one go, which is what the whole-signal computation does.
            gain[begin:], _ = _span_gain(peaks, loud[k0:], (begin, n), origin, ceiling, width, step)
            break
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
    """Return a limited copy of `samples` whose oversampled peak (the true-peak meter's
    interpolator, see the module docstring) stays <= `ceiling_dbtp`."""
    out, _, stats = limit_with_gain(
        samples,
        sample_rate,
        ceiling_dbtp,
        lookahead_ms=lookahead_ms,
        release_db_per_s=release_db_per_s,
        search_db=search_db,
    )
    return out, stats


def limit_with_gain(
    samples: Samples,
    sample_rate: int,
    ceiling_dbtp: float,
    *,
    lookahead_ms: float = 2.0,
    release_db_per_s: float = 60.0,
    search_db: float = 3.0,
) -> tuple[Samples, npt.NDArray[np.float32], LimiterStats]:
    """`limit`, also returning the per-frame gain it applied (frames where it is exactly 1.0
    are unchanged, which lets the caller re-measure only the rest)."""
    ceiling = 10.0 ** (ceiling_dbtp / 20.0)
    peaks = peak_envelope(samples, sample_rate, ceiling, search_db)
    gain = gain_curve(
        peaks,
        ceiling,
        sample_rate,
        lookahead_ms=lookahead_ms,
        release_db_per_s=release_db_per_s,
    )
    # Channel by channel: broadcasting (frames, 1) over (frames, 2) runs numpy's inner loop two
    # elements at a time (~2x slower on a 180 s stereo mix). Same products, same bits.
    out = np.empty(samples.shape, dtype=np.float32)
    for channel in range(samples.shape[1]):
        np.multiply(samples[:, channel], gain, out=out[:, channel], dtype=np.float32)
    smallest = float(gain.min()) if gain.size else 1.0
    stats = LimiterStats(
        max_reduction_db=-20.0 * math.log10(smallest) if smallest > 0 else math.inf,
        limited_frames=int(np.count_nonzero(gain < 1.0)),
    )
    return out, gain, stats
