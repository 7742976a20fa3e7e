"""renderer.dsp.sinc: the true-peak interpolator, shared by the meter and the limiter."""

from __future__ import annotations

import numpy as np
import pytest

from renderer import limiter
from renderer.dsp.sinc import banded_kernel, interpolation_kernel, true_peak_kernel
from renderer.engine import master
from renderer.limiter import limit
from renderer.loudness import true_peak_dbtp


def test_every_phase_has_unity_gain_and_interpolates_a_band_limited_sine():
    kernel = interpolation_kernel(32, 4, 8.0).astype(np.float64)
    assert kernel.shape == (32, 3)
    np.testing.assert_allclose(kernel.sum(axis=0), 1.0, atol=1e-6)
    rate, freq = 48000, 15000.0
    n = np.arange(400)
    signal = np.sin(2 * np.pi * freq * n / rate)
    for phase in range(1, 4):
        # The value p/4 of a sample after sample 200, from samples 185 .. 216.
        value = signal[185:217] @ kernel[:, phase - 1]
        ideal = np.sin(2 * np.pi * freq * (200 + phase / 4) / rate)
        assert value == pytest.approx(ideal, abs=2e-3)


def test_the_meter_oversamples_4x_below_96k_and_2x_from_there():
    assert true_peak_kernel(48000).shape == (32, 3)
    assert true_peak_kernel(88200).shape == (32, 3)
    assert true_peak_kernel(96000).shape == (32, 1)
    assert true_peak_kernel(192000).shape == (32, 1)


def test_a_banded_kernel_interpolates_consecutive_samples_in_one_product():
    kernel = true_peak_kernel(48000)
    taps = kernel.shape[0]
    rows = 8
    banded = banded_kernel(kernel, rows)
    window = np.random.default_rng(3).standard_normal(rows + taps - 1).astype(np.float32)
    expected = np.concatenate([window[r : r + taps] @ kernel for r in range(rows)])
    np.testing.assert_allclose(window @ banded, expected, rtol=1e-5, atol=1e-6)
    assert not banded.flags.writeable  # cached and shared


def _bright(seed: int, seconds: float = 2.0, rate: int = 48000) -> np.ndarray:
    """Tones between 15 and 20.5 kHz: material whose peaks fall between its samples."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * rate)) / rate
    x = sum(np.sin(2 * np.pi * f * t + rng.uniform(0, 6.28)) for f in rng.uniform(15e3, 20.5e3, 6))
    x = 0.95 * x / np.abs(x).max()
    return np.stack([x, np.roll(x, 3)], axis=1).astype(np.float32)


@pytest.mark.parametrize("seed", [1, 2, 5, 8])
def test_what_the_limiter_holds_under_the_ceiling_the_meter_reads_under_it(seed):
    # The limiter's inter-sample estimate is the meter's own interpolation, so its output reads
    # at the ceiling (with 16 taps of its own it read up to 0.4 dB over). What is left is the
    # gain curve's own ripple on the interpolated values, which the engine's 0.05 dB margin
    # covers.
    limited, stats = limit(_bright(seed), 48000, -1.0)
    assert stats.max_reduction_db > 0.5  # it did limit
    assert true_peak_dbtp(limited, 48000) <= -1.0 + 0.01


def test_mastering_bright_material_needs_no_second_limiting_for_an_over(monkeypatch):
    readings: list[float] = []

    def recording(samples: np.ndarray, sample_rate: int) -> float:
        readings.append(true_peak_dbtp(samples, sample_rate))
        return readings[-1]

    monkeypatch.setattr("renderer.engine.true_peak_dbtp", recording)
    rng = np.random.default_rng(4)
    pink = np.cumsum(rng.standard_normal(48000 * 6))
    pink -= np.convolve(pink, np.ones(4801) / 4801, mode="same")
    mixed = (0.15 * pink / np.abs(pink).max())[:, None] + 0.1 * _bright(4, 6.0)
    mastered = master(mixed.astype(np.float32), 48000, -9.0, -1.0)
    # Every pass that was measured came in under the ceiling: none had to widen the limiter's
    # search and limit again because the meter found an over the limiter had not seen.
    assert readings and all(reading <= -1.0 for reading in readings)
    assert mastered.true_peak_dbtp <= -1.0
    assert abs(mastered.loudness_lufs + 9.0) <= 0.05


def test_the_limiter_uses_the_true_peak_meters_kernel(monkeypatch):
    asked: list[int] = []

    def kernel(sample_rate: int) -> np.ndarray:
        asked.append(sample_rate)
        return true_peak_kernel(sample_rate)

    monkeypatch.setattr(limiter, "true_peak_kernel", kernel)
    limit(_bright(1, 0.2, 96000), 96000, -1.0)
    assert asked == [96000]
