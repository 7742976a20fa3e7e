"""A small spectrogram picture for curators (computed by `renderer.dsp.spectra`), as a grayscale
PNG built with numpy, zlib and struct.

Curators look for a lossy encoder's shelf, a pasted-in sample, or a generator's smear; a
log-frequency magnitude STFT over a fixed-size picture shows those without any imaging library.
Low frequencies are at the bottom; brighter is louder, over the loudest 80 dB.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np
import numpy.typing as npt

from renderer.dsp.spectra import (
    SPECTROGRAM_HEIGHT,
    SPECTROGRAM_WIDTH,
    spectrogram_picture,
    spectrogram_rows_hz,
)

WIDTH = SPECTROGRAM_WIDTH
HEIGHT = SPECTROGRAM_HEIGHT


def row_frequencies(sample_rate: int, height: int = HEIGHT) -> npt.NDArray[np.float64]:
    """Centre frequency of each picture row, bottom row first (log-spaced, MIN_HZ..Nyquist)."""
    return spectrogram_rows_hz(sample_rate, height)


def spectrogram_pixels(
    samples: npt.NDArray[np.float32],
    sample_rate: int,
    *,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> npt.NDArray[np.uint8]:
    """(height, width) uint8 picture, row 0 at the top (the highest frequencies); computed by
    the renderer (`renderer.dsp.spectra.spectrogram_picture`)."""
    return spectrogram_picture(samples, sample_rate, width=width, height=height)


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
