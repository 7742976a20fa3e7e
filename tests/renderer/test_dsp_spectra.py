"""renderer.dsp.spectra: band energies and the spectrogram picture, computed by the renderer."""

from __future__ import annotations

import numpy as np
import pytest

from renderer.dsp.spectra import (
    BAND_EDGES_HZ,
    band_energies,
    spectrogram_picture,
    spectrogram_rows_hz,
)


def _tone(freq: float, rate: int, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)[:, None]


def test_a_tone_puts_its_energy_in_its_own_band_alike_at_every_rate():
    band = int(np.searchsorted(BAND_EDGES_HZ, 1000.0)) - 1
    rows = []
    for rate in (44100, 48000, 96000):
        energies = band_energies(_tone(1000.0, rate), rate)
        assert energies.shape[1] == 16
        assert int(np.argmax(energies.mean(axis=0))) == band
        rows.append(energies.shape[0])
        assert energies[:, band].min() > 1e3 * np.delete(energies, band, axis=1).max()
    assert max(rows) - min(rows) <= 1  # frames on a seconds grid


def test_the_spectrogram_shows_a_tone_on_its_row_and_stretches_short_sounds():
    rate = 48000
    picture = spectrogram_picture(_tone(1000.0, rate, 0.5), rate, width=64, height=96)
    assert picture.shape == (96, 64) and picture.dtype == np.uint8
    rows_hz = spectrogram_rows_hz(rate, 96)[::-1]  # picture rows run from the top
    brightest = int(np.argmax(picture[:, 10]))
    assert rows_hz[brightest] == pytest.approx(1000.0, rel=0.1)
    assert (picture[:, 0] == picture[:, 1]).all()  # fewer columns than pixels: stretched
