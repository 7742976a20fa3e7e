"""A small spectrogram picture for curators, as a grayscale PNG built with numpy, zlib and struct.

Curators look for a lossy encoder's shelf, a pasted-in sample, or a generator's smear; a
log-frequency magnitude STFT over a fixed-size picture shows those without any imaging library.
Low frequencies are at the bottom; brighter is louder, over the loudest 80 dB.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np
import numpy.typing as npt

WIDTH = 480
HEIGHT = 160
MIN_HZ = 30.0
RANGE_DB = 80.0
MAX_SECONDS = 180.0  # the picture is for a glance, not a forensic tool: cap the work


def row_frequencies(sample_rate: int, height: int = HEIGHT) -> npt.NDArray[np.float64]:
    """Centre frequency of each picture row, bottom row first (log-spaced, MIN_HZ..Nyquist)."""
    return np.geomspace(MIN_HZ, sample_rate / 2, height)


def spectrogram_pixels(
    samples: npt.NDArray[np.float32],
    sample_rate: int,
    *,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> npt.NDArray[np.uint8]:
    """(height, width) uint8 picture, row 0 at the top (the highest frequencies)."""
    x = np.asarray(samples, dtype=np.float32)
    mono = x.mean(axis=1) if x.ndim == 2 else x
    mono = mono[: int(MAX_SECONDS * sample_rate)]
    # ~10 Hz bins keep the bass octaves apart on the log axis; a glance needs no finer time.
    n_fft = 4096 if sample_rate <= 96000 else 8192
    if mono.shape[0] < n_fft:
        mono = np.pad(mono, (0, n_fft - mono.shape[0]))
    columns = max(1, min(width, (mono.shape[0] - n_fft) // (n_fft // 4) + 1))
    starts = np.linspace(0, mono.shape[0] - n_fft, columns).astype(np.int64)
    frames = mono[starts[:, None] + np.arange(n_fft)[None, :]]
    magnitude = np.abs(np.fft.rfft(frames * np.hanning(n_fft).astype(np.float32), axis=1))
    # Each row takes the loudest bin in its log-spaced band, so a narrow tone never falls
    # between rows and disappears.
    bin_hz = sample_rate / n_fft
    centres = row_frequencies(sample_rate, height)
    edges = np.sqrt(centres[:-1] * centres[1:])
    lows = np.concatenate(([MIN_HZ], edges)) / bin_hz
    highs = np.concatenate((edges, [sample_rate / 2])) / bin_hz
    low_bins = np.clip(np.floor(lows).astype(np.int64), 0, magnitude.shape[1] - 1)
    high_bins = np.clip(np.ceil(highs).astype(np.int64), low_bins + 1, magnitude.shape[1])
    bands = np.empty((columns, height), dtype=np.float64)
    for row in range(height):
        bands[:, row] = magnitude[:, low_bins[row] : high_bins[row]].max(axis=1)
    decibels = 20 * np.log10(bands + 1e-9)
    top = float(decibels.max())
    level = np.clip((decibels - (top - RANGE_DB)) / RANGE_DB, 0.0, 1.0)
    picture = (level.T[::-1] * 255).round().astype(np.uint8)  # rows: high frequencies first
    if columns != width:  # stretch short sounds to the full width (nearest column)
        picture = picture[:, (np.arange(width) * columns) // width]
    return np.ascontiguousarray(picture)


def png_grayscale(pixels: npt.NDArray[np.uint8]) -> bytes:
    """Encode an 8-bit grayscale picture as PNG (filter type 0 on every row)."""
    height, width = pixels.shape

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    raw = np.hstack([np.zeros((height, 1), dtype=np.uint8), pixels]).tobytes()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 6))
        + chunk(b"IEND", b"")
    )


def spectrogram_png(samples: npt.NDArray[np.float32], sample_rate: int) -> bytes:
    return png_grayscale(spectrogram_pixels(samples, sample_rate))
