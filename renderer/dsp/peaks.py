"""Waveform peaks for drawing: the extremes of each of a number of equal slices of a sound."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Float32Array = npt.NDArray[np.float32]


def slice_extremes(samples: npt.ArrayLike, points: int) -> tuple[Float32Array, Float32Array]:
    """(lowest, highest) sample over all channels in each of `points` equal slices of
    (frames, channels) or (frames,) samples; fewer slices when there are fewer frames. Slice i
    runs from frame i * frames // points to the next one's start."""
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim == 1:
        x = x[:, None]
    frames = x.shape[0]
    if frames == 0 or points <= 0:
        empty = np.zeros(0, dtype=np.float32)
        return empty, empty
    points = min(points, frames)
    starts = (np.arange(points) * frames) // points
    # Reduce over the flattened (frame-major) array: a per-row min over 2 channels is slow.
    flat = np.ascontiguousarray(x).ravel()
    lows = np.minimum.reduceat(flat, starts * x.shape[1])
    highs = np.maximum.reduceat(flat, starts * x.shape[1])
    return lows, highs


def slice_peaks(samples: npt.ArrayLike, points: int) -> Float32Array:
    """Largest |sample| over all channels in each of `points` equal slices (see
    `slice_extremes`)."""
    lows, highs = slice_extremes(samples, points)
    return np.maximum(highs, -lows)
