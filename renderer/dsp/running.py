"""Running maximum and minimum over a window of cells along one axis, and block maxima.

By doubling: after j passes each cell holds the extreme of the 2^j cells from it onwards, and
two overlapping such windows cover any width, so a window of w cells costs log2(w) + 1 passes
instead of w - 1. Every pass is one `np.maximum` (or `np.minimum`) over the whole flat buffer,
never a loop over short rows: along axis 0 a shift is whole rows; along axis 1 the rows, each
padded with fill cells, lie end to end, so a window that leaves its row reads padding, never
another row's values. The results are exact (a maximum rounds nothing), so any caller gets the
same values as from a direct loop over each window.

scipy.ndimage.maximum_filter1d computes the same, but on these shapes (a 2-D spectrogram, a
1-D gain curve, 8-frame blocks of a mix) it measured 2.5-15x slower than the doubling passes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[Any]
_Combine = Callable[..., Any]


def _doubling(flat: Array, spare: Array, width: int, unit: int, combine: _Combine) -> Array:
    """The doubling passes over a flat buffer whose lines step by `unit` cells: returns the
    buffer (`flat` or `spare`, both overwritten) whose first size - (width - 1) * unit cells
    hold the extreme of the window of `width` steps starting there."""
    widest, count, k = flat, flat.size, 1
    while 2 * k <= width:
        count -= k * unit
        combine(widest[:count], widest[k * unit : k * unit + count], out=spare[:count])
        widest, spare = spare, widest
        k *= 2
    if k == width:  # a power of two: the passes have covered it
        return widest
    count = widest.size - (width - 1) * unit
    shift = (width - k) * unit
    combine(widest[:count], widest[shift : shift + count], out=spare[:count])
    return spare


def _running(
    values: Array, width: int, axis: int, lead: int, fill: float, combine: _Combine
) -> Array:
    """out[i] = combine(values[i - lead : i - lead + width]) along `axis` of a 1-D or 2-D
    array, cells outside it counting as `fill`."""
    if values.ndim == 1:
        return _running(values[:, None], width, 0, lead, fill, combine)[:, 0]
    if values.ndim != 2 or axis not in (0, 1):
        raise ValueError("values must be 1-D or 2-D, axis 0 or 1")
    if width <= 1:
        return values.copy()
    rows, columns = values.shape
    trail = width - 1 - lead  # fill cells after each line
    if axis == 1:
        padded = np.full((rows, lead + columns + trail), fill, dtype=values.dtype)
        padded[:, lead : lead + columns] = values
        unit = 1  # flat cells per step along the axis
    else:
        padded = np.full((lead + rows + trail, columns), fill, dtype=values.dtype)
        padded[lead : lead + rows] = values
        unit = columns
    spare = np.empty(padded.size, dtype=values.dtype)
    result = _doubling(padded.reshape(-1), spare, width, unit, combine)
    if axis == 1:
        return result.reshape(padded.shape)[:, :columns]
    return result[: rows * columns].reshape(rows, columns)


def running_max(values: Array, width: int, *, axis: int = 0, lead: int = 0) -> Array:
    """Maximum of each window of `width` cells along `axis`, starting `lead` cells before
    the cell (0: the window runs forwards from it), clipped at both ends."""
    return _running(values, width, axis, lead, -np.inf, np.maximum)


def running_min(values: Array, width: int, *, axis: int = 0, lead: int = 0) -> Array:
    """Minimum of each window of `width` cells along `axis` (see `running_max`)."""
    return _running(values, width, axis, lead, np.inf, np.minimum)


def centred_max(values: Array, half: int, *, axis: int) -> Array:
    """Maximum over +-half cells along `axis` (the window clipped at the edges)."""
    return running_max(values, 2 * half + 1, axis=axis, lead=half)


_BLOCK_MAX_VALUES = 65536  # samples per step of `block_abs_max` (2 x 256 KiB: in cache)


def block_abs_max(x: npt.NDArray[np.float32], block: int) -> npt.NDArray[np.float32]:
    """(channels, blocks) largest |sample| of each channel in every `block` frames of
    (frames, channels) samples, the last block holding what is left.

    Chunk by chunk of whole blocks, in two buffers that stay in cache: absolute values, the
    running maximum over `block` frames (the frames of a chunk are one flat line that steps by
    `channels` cells), then the value at each block's first frame. No window that starts at a
    block's first frame leaves its chunk, so the chunks need no padding. (A numpy reduction
    over 8-frame rows costs ~10 ns a row in loop overhead.)"""
    frames, channels = x.shape
    blocks = -(-frames // block)
    full = frames // block
    peaks = np.empty((channels, blocks), dtype=np.float32)
    flat = x.reshape(-1)
    width = block * channels  # values per block
    chunk = max(1, min(full, _BLOCK_MAX_VALUES // width))  # blocks per step
    buffers = np.empty((2, chunk * width), dtype=np.float32)
    for first in range(0, full, chunk):
        size = min(chunk, full - first) * width
        magnitude = buffers[0, :size]
        np.abs(flat[first * width : first * width + size], out=magnitude)
        result = _doubling(magnitude, buffers[1, :size], block, channels, np.maximum)
        for channel in range(channels):
            peaks[channel, first : first + size // width] = result[channel:size:width]
    if full < blocks:  # the last, partial block
        peaks[:, full] = np.abs(x[full * block :]).max(axis=0)
    return peaks
