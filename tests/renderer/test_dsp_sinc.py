"""renderer.dsp.sinc: the true-peak interpolator and its banded form."""

from __future__ import annotations

import numpy as np
import pytest

from renderer.dsp.sinc import banded_kernel, interpolation_kernel, true_peak_kernel


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
