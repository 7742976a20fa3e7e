"""Frames of a signal and their spectra: the one framing helper every analysis uses.

A frame grid is a list of start samples. With a hop in seconds the hop in samples is
fractional at most rates (16 ms at 44.1 kHz is 705.6 samples), so starts are the rounded
multiples of the hop: frame k still stands for time k * hop at any rate. Frames are read as
rows of a strided view of the signal (what librosa.util.frame returns), gathered and transformed a
chunk at a time: 256 frames of a 48 kHz, 40 ms window are 2 MB, and numpy's float32 FFT runs
several times faster on such cache-sized chunks than on one big block.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

Float32Array = npt.NDArray[np.float32]
Int64Array = npt.NDArray[np.int64]
ComplexArray = npt.NDArray[np.complexfloating[Any, Any]]


def frame_starts(length: int, width: int, hop: float, count: int | None = None) -> Int64Array:
    """Start samples round(k * hop) of the frames of `width` samples that lie wholly inside a
    signal of `length` samples; k < `count` (default: as many as fit, int((length - width) /
    hop) + 1)."""
    if count is None:
        count = int((length - width) / hop) + 1 if length >= width else 0
    starts = np.round(np.arange(max(count, 0)) * hop).astype(np.int64)
    return starts[starts + width <= length]


def spectra(
    signal: Float32Array, window: Float32Array, starts: Int64Array, *, chunk: int = 256
) -> Iterator[tuple[int, ComplexArray]]:
    """(first frame, rfft of `chunk` windowed frames) over the frames of `signal` that start at
    `starts` (which must lie inside it), in order."""
    windows = sliding_window_view(signal, window.shape[0])
    for first in range(0, starts.shape[0], chunk):
        frames = windows[starts[first : first + chunk]]  # a gathered copy
        frames *= window
        yield first, np.fft.rfft(frames, axis=1)
