"""Spectral pictures of a sound: energy in log-spaced bands per frame (how provenance measures
how much of an upload a match explains), and the spectrogram picture curators look at."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from renderer.dsp.framing import frame_starts, spectra

Float32Array = npt.NDArray[np.float32]
Float64Array = npt.NDArray[np.float64]

BAND_FRAME_S = 0.05
BAND_HOP_S = 0.025
BAND_EDGES_HZ = np.geomspace(50.0, 11000.0, 17)  # the band lossy codecs keep at every common rate

SPECTROGRAM_WIDTH = 480
SPECTROGRAM_HEIGHT = 160
SPECTROGRAM_MIN_HZ = 30.0
SPECTROGRAM_RANGE_DB = 80.0
SPECTROGRAM_MAX_SECONDS = 180.0  # the picture is for a glance, not a forensic tool: cap the work


def _mono(samples: npt.ArrayLike) -> Float32Array:
    data = np.asarray(samples, dtype=np.float32)
    mono: Float32Array = data.mean(axis=1) if data.ndim == 2 else data
    return mono


def band_energies(samples: npt.ArrayLike, sample_rate: int) -> Float64Array:
    """Energy per 25 ms frame in 16 log-spaced bands (BAND_EDGES_HZ); frames sit on a seconds
    grid, so two rates of the same sound give comparable rows."""
    mono = _mono(samples)
    win = max(16, round(BAND_FRAME_S * sample_rate))
    starts = frame_starts(mono.shape[0], win, BAND_HOP_S * sample_rate)
    freqs = np.fft.rfftfreq(win, 1.0 / sample_rate)
    band = np.digitize(freqs, BAND_EDGES_HZ) - 1
    inside = (band >= 0) & (band < BAND_EDGES_HZ.shape[0] - 1)
    weights = np.zeros((freqs.shape[0], BAND_EDGES_HZ.shape[0] - 1))
    weights[np.flatnonzero(inside), band[inside]] = 1.0 / win  # per-sample power: rate-neutral
    out = np.zeros((starts.shape[0], BAND_EDGES_HZ.shape[0] - 1))
    window = np.hanning(win).astype(np.float32)
    for first, spectrum in spectra(mono, window, starts, chunk=1024):
        out[first : first + spectrum.shape[0]] = (np.abs(spectrum) ** 2) @ weights
    return out


def spectrogram_rows_hz(sample_rate: int, height: int = SPECTROGRAM_HEIGHT) -> Float64Array:
    """Centre frequency of each picture row, bottom row first (log-spaced, MIN_HZ..Nyquist)."""
    return np.geomspace(SPECTROGRAM_MIN_HZ, sample_rate / 2, height)


def spectrogram_picture(
    samples: npt.ArrayLike,
    sample_rate: int,
    *,
    width: int = SPECTROGRAM_WIDTH,
    height: int = SPECTROGRAM_HEIGHT,
) -> npt.NDArray[np.uint8]:
    """(height, width) uint8 log-frequency magnitude spectrogram, row 0 at the top (the highest
    frequencies); brighter is louder, over the loudest SPECTROGRAM_RANGE_DB."""
    mono = _mono(samples)[: int(SPECTROGRAM_MAX_SECONDS * sample_rate)]
    # ~10 Hz bins keep the bass octaves apart on the log axis; a glance needs no finer time.
    n_fft = 4096 if sample_rate <= 96000 else 8192
    if mono.shape[0] < n_fft:
        mono = np.pad(mono, (0, n_fft - mono.shape[0]))
    columns = max(1, min(width, (mono.shape[0] - n_fft) // (n_fft // 4) + 1))
    starts = np.linspace(0, mono.shape[0] - n_fft, columns).astype(np.int64)
    window = np.hanning(n_fft).astype(np.float32)
    magnitude = np.abs(next(spectra(mono, window, starts, chunk=columns))[1])
    # Each row takes the loudest bin in its log-spaced band, so a narrow tone never falls
    # between rows and disappears.
    bin_hz = sample_rate / n_fft
    centres = spectrogram_rows_hz(sample_rate, height)
    edges = np.sqrt(centres[:-1] * centres[1:])
    lows = np.concatenate(([SPECTROGRAM_MIN_HZ], edges)) / bin_hz
    highs = np.concatenate((edges, [sample_rate / 2])) / bin_hz
    low_bins = np.clip(np.floor(lows).astype(np.int64), 0, magnitude.shape[1] - 1)
    high_bins = np.clip(np.ceil(highs).astype(np.int64), low_bins + 1, magnitude.shape[1])
    bands = np.empty((columns, height), dtype=np.float64)
    for row in range(height):
        bands[:, row] = magnitude[:, low_bins[row] : high_bins[row]].max(axis=1)
    decibels = 20 * np.log10(bands + 1e-9)
    top = float(decibels.max())
    level = np.clip((decibels - (top - SPECTROGRAM_RANGE_DB)) / SPECTROGRAM_RANGE_DB, 0.0, 1.0)
    picture = (level.T[::-1] * 255).round().astype(np.uint8)  # rows: high frequencies first
    if columns != width:  # stretch short sounds to the full width (nearest column)
        picture = picture[:, (np.arange(width) * columns) // width]
    return np.ascontiguousarray(picture)
