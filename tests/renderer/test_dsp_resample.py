"""renderer.dsp.resample: polyphase conversion against the ideal signal (no aliasing, exact
lengths), the FFT resampler and the decimator."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import soundfile as sf

from renderer.audio import Audio
from renderer.dsp.resample import TAPS, decimate, fft_resample, filter_bank, polyphase_resample
from renderer.engine import render
from renderer.plan import StemRef, parse_plan
from renderer.stems import prepare_stem


def _sine(freq: float, rate: int, seconds: float = 1.0, level: float = 0.5) -> np.ndarray:
    t = np.arange(round(rate * seconds)) / rate
    return (level * np.sin(2 * np.pi * freq * t)).astype(np.float32)[:, None]


def _error_db(got: np.ndarray, ideal: np.ndarray, level: float = 0.5) -> float:
    interior = slice(2 * TAPS, -2 * TAPS)  # away from the silence before and after
    error = got[interior] - ideal[interior]
    return float(20 * np.log10(np.sqrt(np.mean(error**2)) / level))


@pytest.mark.parametrize("freq", [50.0, 1000.0, 10_000.0, 18_000.0, 20_000.0])
def test_44k1_to_48k_keeps_sines_within_90_db_of_the_ideal(freq):
    out = polyphase_resample(_sine(freq, 44100), 160, 147, 48000)
    assert out.shape == (48000, 1) and out.dtype == np.float32
    assert _error_db(out, _sine(freq, 48000)) < -90


@pytest.mark.parametrize(
    ("rate_in", "rate_out"), [(48000, 44100), (96000, 48000), (32000, 48000), (22050, 48000)]
)
def test_other_factors_keep_a_sine_below_both_nyquists(rate_in, rate_out):
    factor = Fraction(rate_out, rate_in)
    out = polyphase_resample(_sine(5000.0, rate_in), factor.numerator, factor.denominator, rate_out)
    assert out.shape == (rate_out, 1)
    assert _error_db(out, _sine(5000.0, rate_out)) < -90


def test_what_the_lower_rate_cannot_hold_is_filtered_out_not_folded_back():
    # 23 kHz fits at 48 kHz but not at 44.1 kHz (Nyquist 22.05 kHz): it must vanish, not
    # come back as a 21.1 kHz alias.
    out = polyphase_resample(_sine(23_000.0, 48000), 147, 160, 44100)
    interior = out[2 * TAPS : -2 * TAPS, 0]
    assert 20 * np.log10(np.sqrt(np.mean(interior**2)) / 0.5) < -90


def test_a_constant_passes_unchanged_and_every_phase_sums_to_one():
    bank = filter_bank(160, 147)
    assert bank.shape == (147 + TAPS, 160)
    np.testing.assert_allclose(bank.sum(axis=0), 1.0, rtol=1e-6)
    out = polyphase_resample(np.full((4410, 2), 0.25, dtype=np.float32), 160, 147, 4800)
    np.testing.assert_allclose(out[TAPS:-TAPS], 0.25, rtol=1e-6)


def test_an_impulse_lands_where_its_time_says():
    x = np.zeros((4410, 1), dtype=np.float32)
    x[2205] = 1.0  # 50 ms in
    out = polyphase_resample(x, 160, 147, 4800)
    assert int(np.argmax(out[:, 0])) == 2400  # 50 ms in at 48 kHz


def test_channels_are_converted_independently_and_lengths_are_exact():
    rng = np.random.default_rng(3)
    stereo = (0.3 * rng.standard_normal((1001, 2))).astype(np.float32)
    both = polyphase_resample(stereo, 160, 147, 1090)
    for channel in range(2):
        alone = polyphase_resample(stereo[:, channel : channel + 1], 160, 147, 1090)
        assert np.array_equal(both[:, channel], alone[:, 0])
    assert polyphase_resample(stereo[:0], 160, 147, 10).shape == (10, 2)
    assert polyphase_resample(stereo[:5], 160, 147, 5).shape == (5, 2)  # shorter than TAPS


def test_a_44k1_stem_in_a_48k_plan_goes_through_the_polyphase_filter():
    plan = parse_plan(
        {
            "schema": "stemvault.render-plan/1",
            "tempo_bpm": 120,
            "duration_s": 4,
            "stems": [{"id": "take", "path": "take.wav"}],
            "sections": [{"name": "main", "start_bar": 0, "bars": 2, "layers": [{"stem": "take"}]}],
        }
    )
    take = np.concatenate([_sine(440.0, 44100, 2.0)] * 2, axis=1)
    prepared = prepare_stem(Audio(take, 44100), StemRef(id="take", path="take.wav"), plan)
    assert prepared.shape == (96000, 2)
    assert np.array_equal(prepared, polyphase_resample(take, 160, 147, 96000))


def test_threads_converting_44k1_stems_give_the_same_bytes(tmp_path):
    rng = np.random.default_rng(8)
    stems = []
    for name in ("a", "b", "c"):
        noise = (0.2 * rng.standard_normal((44100 * 3, 2))).astype(np.float32)
        path = tmp_path / f"{name}.flac"
        sf.write(path, noise, 44100, subtype="PCM_24")
        stems.append({"id": name, "path": str(path)})
    plan = parse_plan(
        {
            "schema": "stemvault.render-plan/1",
            "tempo_bpm": 120,
            "duration_s": 8,
            "stems": stems,
            "sections": [
                {
                    "name": "main",
                    "start_bar": 0,
                    "bars": 4,
                    "layers": [{"stem": s["id"], "repeats": 2} for s in stems],
                }
            ],
        }
    )
    one, three = render(plan, workers=1), render(plan, workers=3)
    assert three.audio == one.audio


# --- the FFT resampler and the decimator ---------------------------------------------------


def test_decimating_keeps_what_the_lower_rate_holds_and_removes_the_rest():
    rate = 192000
    t = np.arange(rate) / rate
    kept, removed = np.sin(2 * np.pi * 1000 * t), np.sin(2 * np.pi * 30000 * t)
    out = decimate((0.4 * kept + 0.4 * removed).astype(np.float32), 4)
    assert out.shape == (48000,) and out.dtype == np.float32
    ideal = 0.4 * np.sin(2 * np.pi * 1000 * np.arange(48000) / 48000)
    assert np.max(np.abs(out - ideal)) < 1e-5  # 30 kHz is above 24 kHz: gone, not folded to 18
    assert decimate(out, 1) is out


def test_a_loop_resampled_as_periodic_still_loops_seamlessly():
    rate = 44100
    loop = np.sin(2 * np.pi * 5 * np.arange(rate) / rate).astype(np.float32)[:, None]  # 5 cycles
    out = fft_resample(loop, 47000, periodic=True)
    assert out.shape == (47000, 1)
    # The step from the last frame back to the first is an ordinary step of the waveform.
    steps = np.abs(np.diff(np.concatenate([out[:, 0], out[:1, 0]])))
    assert steps[-1] <= 1.01 * steps.max()
    ideal = np.sin(2 * np.pi * 5 * np.arange(47000) / 47000)
    assert np.max(np.abs(out[:, 0] - ideal)) < 1e-4


def test_an_exact_ratio_pads_to_a_whole_image_so_no_timing_drifts():
    rate = 44100
    impulse = np.zeros((rate, 1), dtype=np.float32)
    impulse[30000] = 1.0
    ratio = Fraction(48000, 44100)
    out = fft_resample(impulse, round(rate * ratio), ratio=ratio)
    assert int(np.argmax(out[:, 0])) == round(30000 * ratio)
