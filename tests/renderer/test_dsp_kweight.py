"""renderer.dsp.kweight: BS.1770-4 K-weighting by scipy.signal.sosfilt with chained state."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.signal import sosfilt

from renderer.dsp.kweight import (
    initial_state,
    k_filter,
    k_weight,
    k_weighting_biquads,
    k_weighting_sos,
)


def test_the_48k_coefficients_are_the_standards():
    (shelf_b, shelf_a), (hp_b, hp_a) = k_weighting_biquads(48000)
    # BS.1770-4 Tables 1 and 2.
    assert shelf_b == pytest.approx((1.53512485958697, -2.69169618940638, 1.19839281085285))
    assert shelf_a == pytest.approx((1.0, -1.69065929318241, 0.73248077421585))
    assert hp_b == pytest.approx((1.0, -2.0, 1.0))
    assert hp_a == pytest.approx((1.0, -1.99004745483398, 0.99007225036621))
    assert k_weighting_sos(48000).shape == (2, 6)


@pytest.mark.parametrize("rate", [44100, 48000, 192000])
def test_filtering_in_chunks_of_any_length_equals_filtering_everything_at_once(rate):
    x = (0.4 * np.random.default_rng(rate).standard_normal((rate // 2, 2))).astype(np.float32)
    whole = k_weight(x, rate)
    np.testing.assert_array_equal(whole, sosfilt(k_weighting_sos(rate), x, axis=0))
    state = initial_state(2)
    pieces = []
    cuts = [0, 1, 37, 48, 1000, 4801, 9999, x.shape[0]]  # ragged on purpose
    for start, stop in itertools.pairwise(cuts):
        filtered, state = k_filter(x[start:stop], rate, state)
        pieces.append(filtered)
    np.testing.assert_array_equal(np.concatenate(pieces), whole)


def _gain_db(freq: float, rate: int = 48000) -> float:
    t = np.arange(rate) / rate
    tone = np.sin(2 * np.pi * freq * t).astype(np.float32)[:, None]
    out = k_weight(tone, rate)[rate // 2 :]
    return float(20 * np.log10(np.sqrt(2 * np.mean(out**2))))


def test_a_1khz_tone_gains_the_0691_db_that_bs1770s_offset_takes_back_and_bass_is_cut():
    assert _gain_db(1000.0) == pytest.approx(0.691, abs=0.01)  # eq. 2's -0.691
    assert _gain_db(40.0) < -5.0
    assert _gain_db(10000.0) == pytest.approx(4.0, abs=0.3)  # the +4 dB shelf


def _k_weight_sample_by_sample(x: np.ndarray, rate: int) -> np.ndarray:
    """The two biquads run one sample at a time (transposed direct form II), in float64."""
    y = np.asarray(x, dtype=np.float64)
    for b, a in k_weighting_biquads(rate):
        out = np.empty_like(y)
        s1 = np.zeros(y.shape[1])
        s2 = np.zeros(y.shape[1])
        for n in range(y.shape[0]):
            out[n] = b[0] * y[n] + s1
            s1 = b[1] * y[n] - a[1] * out[n] + s2
            s2 = b[2] * y[n] - a[2] * out[n]
        y = out
    return y


@pytest.mark.parametrize("rate", [44100, 48000, 96000, 192000])
@pytest.mark.parametrize("channels", [1, 2])
def test_k_weighting_equals_the_biquads_run_sample_by_sample(rate, channels):
    rng = np.random.default_rng(rate + channels)
    x = (0.5 * rng.standard_normal((7000, channels))).astype(np.float32)
    expected = _k_weight_sample_by_sample(x, rate)
    got = k_weight(x, rate)
    assert got.shape == expected.shape
    assert np.max(np.abs(got - expected)) <= 1e-12 * np.max(np.abs(expected))
