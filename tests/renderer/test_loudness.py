"""Loudness metering against the EBU conformance signals (Tech 3341 / 3342) and ffmpeg."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from renderer import loudness
from renderer.audio import load_audio
from renderer.dsp.kweight import k_weight
from renderer.dsp.sinc import true_peak_kernel
from renderer.loudness import (
    gain_to_target,
    integrated_loudness,
    loudness_range,
    measure_loudness,
    sample_peak_dbfs,
    true_peak_dbtp,
)
from tests.conftest import need
from tests.factories.audio import ebur128


@pytest.mark.parametrize(
    ("levels", "expected"),
    [
        pytest.param([(-23.0, 20.0)], -23.0, id="case1-sine-23"),
        pytest.param([(-33.0, 20.0)], -33.0, id="case2-sine-33"),
        pytest.param(
            [(-36.0, 10.0), (-23.0, 60.0), (-36.0, 10.0)], -23.0, id="case3-relative-gate"
        ),
        pytest.param(
            [(-72.0, 10.0), (-36.0, 10.0), (-23.0, 60.0), (-36.0, 10.0), (-72.0, 10.0)],
            -23.0,
            id="case4-absolute-gate",
        ),
        pytest.param([(-26.0, 20.0), (-20.0, 20.1), (-26.0, 20.0)], -23.0, id="case5-steps"),
    ],
)
def test_integrated_loudness_meets_ebu_tech_3341(signals, levels, expected):
    measured = integrated_loudness(signals.sequence(levels), 48000)
    assert measured == pytest.approx(expected, abs=0.1)


@pytest.mark.parametrize(
    ("levels", "expected"),
    [
        pytest.param([-20.0, -30.0], 10.0, id="case1"),
        pytest.param([-20.0, -15.0], 5.0, id="case2"),
        pytest.param([-40.0, -20.0], 20.0, id="case3"),
        pytest.param([-50.0, -35.0, -20.0, -35.0, -50.0], 15.0, id="case4"),
    ],
)
def test_loudness_range_meets_ebu_tech_3342(signals, levels, expected):
    samples = signals.sequence([(level, 20.0) for level in levels])
    assert loudness_range(samples, 48000) == pytest.approx(expected, abs=1.0)


@pytest.mark.parametrize("freq", [100.0, 1000.0, 10000.0])
def test_same_signal_reads_the_same_at_44k1_48k_and_96k(signals, freq):
    readings = [
        integrated_loudness(signals.sine(-20.0, 5.0, rate, freq=freq), rate)
        for rate in (44100, 48000, 96000)
    ]
    assert max(readings) - min(readings) < 0.1


@pytest.mark.parametrize("rate", [44100, 48000])
def test_segment_energies_carry_the_filter_state_across_chunks(rate):
    # 9 s is six or more of the meter's filtering chunks (each under 1.5 s): a filter whose
    # state did not carry over would start cold at every chunk boundary and read differently.
    rng = np.random.default_rng(rate)
    x = (0.3 * rng.standard_normal((rate * 9 + 77, 2))).astype(np.float32)
    segment = round(0.1 * rate)
    count = x.shape[0] // segment
    weighted = k_weight(x, rate)[: count * segment].reshape(count, segment, 2)
    expected = np.sum(weighted**2, axis=1)
    chunked = loudness.segment_energies(x, rate).energies
    np.testing.assert_allclose(chunked, expected, rtol=1e-11)


def test_re_measuring_some_segments_matches_measuring_all_of_them():
    rng = np.random.default_rng(5)
    rate = 48000
    x = (0.3 * rng.standard_normal((rate * 20, 2))).astype(np.float32)
    everything = loudness.segment_energies(x, rate).energies
    for first, stop in [(0, 3), (1, 2), (57, 90), (150, 200), (199, 200)]:
        again = loudness._energies_of_segments(x, rate, first, stop)
        # Re-measuring starts the filter >= 80 ms early; what it leaves out is < 3e-10.
        np.testing.assert_allclose(again, everything[first:stop], rtol=1e-9)


def test_after_a_gain_and_a_few_changes_only_the_changed_segments_are_measured_again():
    rng = np.random.default_rng(6)
    rate = 48000
    x = (0.3 * rng.standard_normal((rate * 30, 2))).astype(np.float32)
    measured = loudness.segment_energies(x, rate)
    changed = np.zeros(x.shape[0], dtype=bool)
    y = x * np.float32(0.5)
    for at in (10, rate * 7 + 3, rate * 29 + 100):  # near the start, inside, near the end
        y[at : at + 500] *= np.float32(0.25)
        changed[at : at + 500] = True
    updated = measured.after_change(0.5, changed, y)
    fresh = loudness.segment_energies(y, rate)
    np.testing.assert_allclose(updated.energies, fresh.energies, rtol=1e-9)
    assert updated.integrated_lufs() == pytest.approx(fresh.integrated_lufs(), abs=1e-9)


def test_k_weighting_shapes_the_spectrum(signals):
    low = integrated_loudness(signals.sine(-20.0, 5.0, freq=100.0), 48000)
    mid = integrated_loudness(signals.sine(-20.0, 5.0, freq=1000.0), 48000)
    high = integrated_loudness(signals.sine(-20.0, 5.0, freq=10000.0), 48000)
    assert mid == pytest.approx(-20.0, abs=0.1)
    assert high - mid == pytest.approx(3.4, abs=0.5)
    assert -2.5 < low - mid < -1.0


def test_silence_measures_minus_infinity():
    silence = np.zeros((48000 * 2, 2), dtype=np.float32)
    assert integrated_loudness(silence, 48000) == float("-inf")
    assert true_peak_dbtp(silence, 48000) == float("-inf")
    assert sample_peak_dbfs(silence) == float("-inf")
    assert loudness_range(silence, 48000) == 0.0


def test_one_shot_shorter_than_a_gating_block_still_gets_a_reading(signals):
    short = signals.sine(-23.0, 0.2)
    assert integrated_loudness(short, 48000) == pytest.approx(-23.0, abs=0.2)


def test_true_peak_finds_the_inter_sample_peak_of_a_quarter_rate_sine():
    rate = 48000
    n = np.arange(rate)
    fade = np.minimum(1.0, np.minimum(n, n[::-1]) / (0.1 * rate))  # avoid edge ringing
    samples = (np.sin(2 * np.pi * n / 4 + np.pi / 4) * fade).astype(np.float32)
    assert sample_peak_dbfs(samples) == pytest.approx(-3.01, abs=0.05)
    assert true_peak_dbtp(samples, rate) == pytest.approx(0.0, abs=0.1)


def test_true_peak_never_reads_below_sample_peak(signals):
    noise = signals.pink_noise(3.0)
    assert true_peak_dbtp(noise, 48000) >= sample_peak_dbfs(noise)


def _true_peak_by_full_interpolation(samples: np.ndarray, rate: int) -> float:
    """Reference: interpolate after every sample of every channel with the meter's own kernel
    (no block bounds, no pruning), in double precision."""
    kernel = true_peak_kernel(rate).astype(np.float64)
    taps = kernel.shape[0]
    frames = samples.shape[0]
    best = float(np.abs(samples).max())
    for channel in range(samples.shape[1]):
        padded = np.concatenate(
            [np.zeros(taps // 2 - 1), samples[:, channel].astype(np.float64), np.zeros(taps // 2)]
        )
        for phase in range(kernel.shape[1]):
            # value after sample n from padded[n : n + taps], for every sample n of the signal
            # (after the last one: between it and the silence that follows)
            values = np.convolve(padded, kernel[::-1, phase], mode="valid")[:frames]
            if values.size:
                best = max(best, float(np.abs(values).max()))
    return 20.0 * np.log10(best)


@pytest.mark.parametrize("rate", [48000, 96000])
@pytest.mark.parametrize("channels", [1, 2, 6])
@pytest.mark.parametrize("frames", [1, 7, 8, 9, 23, 24, 25, 40, 41, 333, 4801])
def test_true_peak_equals_interpolating_every_sample(frames, channels, rate):
    rng = np.random.default_rng(frames * 10 + channels)
    # A "limited master": every block near the same peak, so the block bounds prune little and
    # the loudest inter-sample value can sit anywhere, including the first and last blocks.
    samples = np.clip(rng.standard_normal((frames, channels)) * 0.6, -0.89, 0.89)
    samples = samples.astype(np.float32)
    assert true_peak_dbtp(samples, rate) == pytest.approx(
        _true_peak_by_full_interpolation(samples, rate), abs=1e-5
    )


def test_true_peak_between_the_last_sample_and_the_silence_after_it_counts():
    samples = np.zeros((64, 1), dtype=np.float32)
    samples[-6:, 0] = [0.291, -0.712, 0.594, -0.368, 0.847, -0.845]
    assert true_peak_dbtp(samples, 48000) == pytest.approx(
        _true_peak_by_full_interpolation(samples, 48000), abs=1e-5
    )


@pytest.mark.parametrize("channels", [1, 2, 6])
def test_true_peak_of_long_loud_signals_matches_interpolating_every_sample(channels):
    # Faded ends around 5 s of loud noise: thousands of 8-sample blocks could hold the peak, so
    # the meter interpolates them over many batches, most read straight out of the signal and
    # the few at either end padded with zeros. Every one of them must agree with the slow way.
    rng = np.random.default_rng(channels)
    frames = 240_000
    fade = np.minimum(1.0, np.minimum(np.arange(frames), np.arange(frames)[::-1]) / 500.0)
    samples = np.clip(rng.standard_normal((frames, channels)) * 0.6, -0.89, 0.89) * fade[:, None]
    samples = samples.astype(np.float32)
    measured = true_peak_dbtp(samples, 48000)
    assert measured == pytest.approx(_true_peak_by_full_interpolation(samples, 48000), abs=1e-5)
    assert measured > sample_peak_dbfs(samples) + 0.1  # found between samples, mid-signal


def test_true_peak_finds_a_lone_overshoot_at_either_end():
    rate = 48000
    for at in (0, 1, 4790, 4798):
        samples = np.zeros((4800, 2), dtype=np.float32)
        samples[at : at + 2, 1] = [0.7, 0.7]  # two equal samples: the peak is between them
        measured = true_peak_dbtp(samples, rate)
        assert measured == pytest.approx(_true_peak_by_full_interpolation(samples, rate), abs=1e-5)
        assert measured > sample_peak_dbfs(samples) + 0.5


def test_measure_loudness_agrees_with_the_single_figure_functions(signals):
    samples = signals.sequence([(-30.0, 4.0), (-18.0, 4.0)])
    m = measure_loudness(samples, 48000)
    assert m.integrated_lufs == integrated_loudness(samples, 48000)
    assert m.loudness_range_lu == loudness_range(samples, 48000)
    assert m.true_peak_dbtp == true_peak_dbtp(samples, 48000)
    assert m.sample_peak_dbfs == pytest.approx(-18.0, abs=0.01)


def test_gain_to_target_moves_loudness_onto_target(signals):
    samples = signals.pink_noise(4.0)
    before = integrated_loudness(samples, 48000)
    gain = gain_to_target(before, -16.0)
    after = integrated_loudness((samples * gain).astype(np.float32), 48000)
    assert after == pytest.approx(-16.0, abs=0.01)
    assert gain_to_target(float("-inf"), -16.0) == 1.0


@pytest.mark.corpus
@pytest.mark.parametrize("name", ["ambi_glass_hum", "arovane_beat_a", "ambi_haunted_hum"])
def test_agrees_with_ffmpeg_ebur128_on_corpus_recordings(corpus_dir, name):
    need(shutil.which("ffmpeg") is not None, "ffmpeg is not installed (apt-get install ffmpeg)")
    path = corpus_dir / f"{name}.flac"
    audio = load_audio(path)
    assert audio.duration_s > 3.0
    ff_integrated, ff_peak = ebur128(path)
    ours = measure_loudness(audio.samples, audio.sample_rate)
    assert ours.integrated_lufs == pytest.approx(ff_integrated, abs=0.2)
    assert ours.true_peak_dbtp == pytest.approx(ff_peak, abs=0.5)


def test_max_momentary_and_short_term_loudness_of_a_one_second_burst(signals):
    # EBU Tech 3341 levels: a stereo 1 kHz sine at -23 dBFS peak reads -23 LUFS. One second of
    # it between quiet stretches at -39: the loudest 400 ms window lies inside the burst; the
    # loudest 3 s window holds the whole burst and 2 s of the quiet sine.
    samples = signals.sequence([(-39.0, 10.0), (-23.0, 1.0), (-39.0, 10.0)])
    report = loudness.loudness_report(samples, 48000)
    expected_short_term = 10 * np.log10((10 ** (-23 / 10) + 2 * 10 ** (-39 / 10)) / 3)
    assert report.max_momentary_lufs == pytest.approx(-23.0, abs=0.05)
    assert report.max_short_term_lufs == pytest.approx(expected_short_term, abs=0.05)
    assert report.loudness_range_lu == pytest.approx(loudness_range(samples, 48000))
    assert report.integrated_lufs == pytest.approx(integrated_loudness(samples, 48000))
    assert report.true_peak_dbtp == pytest.approx(true_peak_dbtp(samples, 48000))
    # Shorter than one 3 s window: no short-term figure at all.
    assert loudness.loudness_report(samples[: 2 * 48000], 48000).max_short_term_lufs == float(
        "-inf"
    )
