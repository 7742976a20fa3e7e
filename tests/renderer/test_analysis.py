"""Analysis of uploads: clipping, lossy cutoff, tempo, silence, DC, and the CLI."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from renderer.analysis import analyze, tempo_matches, waveform_peaks
from renderer.audio import Audio, load_audio
from tests.factories.audio import mp3_round_trip_wav

REPO = Path(__file__).resolve().parents[2]
REQUIRED_KEYS = {
    "duration_s",
    "sample_rate",
    "channels",
    "bit_depth",
    "integrated_lufs",
    "loudness_range_lu",
    "true_peak_dbtp",
    "sample_peak_dbfs",
    "clipping_ratio",
    "dc_offset",
    "silence_ratio",
    "cutoff_hz",
    "bpm_estimate",
    "waveform_peaks",
    "pcm_sha256",
    "problems",
}


def _audio(samples: np.ndarray, rate: int = 44100, subtype: str = "PCM_24") -> Audio:
    return Audio(np.ascontiguousarray(samples, dtype=np.float32), rate, "WAV", subtype)


def test_clipped_signal_is_flagged_and_clean_signal_is_not(signals):
    clean = signals.sine(-6.0, 3.0, 44100, freq=220.0)
    hot = np.clip(clean * 4.0, -1.0, 1.0)
    clean_result = analyze(_audio(clean))
    hot_result = analyze(_audio(hot))
    assert clean_result.clipping_ratio == 0.0
    assert "clipping" not in clean_result.problem_codes
    assert hot_result.clipping_ratio > 0.3  # a sine driven 12 dB into the rails is mostly flat
    assert "clipping" in hot_result.problem_codes


def test_isolated_full_scale_samples_are_not_clipping(signals):
    samples = signals.sine(-20.0, 2.0, 44100)
    samples[1000::5000] = 1.0  # single-sample peaks, not flat tops
    assert analyze(_audio(samples)).clipping_ratio == 0.0


def test_mp3_round_trip_shows_a_lossy_cutoff_the_original_lacks(signals):
    original = signals.pink_noise(6.0, 44100)
    laundered = load_audio(mp3_round_trip_wav(original, 44100))
    before = analyze(_audio(original))
    after = analyze(laundered)
    assert before.cutoff_hz is None or before.cutoff_hz > 20000
    assert "lossy_cutoff" not in before.problem_codes
    assert after.cutoff_hz is not None and after.cutoff_hz < 19000
    assert "lossy_cutoff" in after.problem_codes
    assert f"{after.cutoff_hz / 1000:.1f} kHz" in next(
        p.message for p in after.problems if p.code == "lossy_cutoff"
    )


@pytest.mark.corpus
def test_mp3_round_trip_of_a_corpus_recording_lowers_its_cutoff(corpus_dir):
    original = load_audio(corpus_dir / "vinyl_hiss.flac")  # broadband, never clipped
    laundered = load_audio(mp3_round_trip_wav(original.samples, original.sample_rate))
    before = analyze(original).cutoff_hz
    after = analyze(laundered).cutoff_hz
    assert after is not None
    assert after < 19000
    assert before is None or before > after + 1000


def test_quiet_bass_sound_is_not_mistaken_for_lossy(signals):
    bass = signals.sine(-12.0, 3.0, 44100, freq=80.0)
    bass += signals.sine(-30.0, 3.0, 44100, freq=160.0)
    result = analyze(_audio(bass))
    assert "lossy_cutoff" not in result.problem_codes


@pytest.mark.parametrize("bpm", [90.0, 120.0, 140.0])
def test_tempo_of_a_drum_loop_is_estimated_within_two_percent(signals, bpm):
    result = analyze(_audio(signals.click_loop(bpm, 8.0)), kind="loop", declared_bpm=bpm)
    assert result.bpm_estimate == pytest.approx(bpm, rel=0.02)
    assert result.bpm_matches_declared is True
    assert "tempo_mismatch" not in result.problem_codes


def test_wrong_declared_tempo_is_reported(signals):
    result = analyze(_audio(signals.click_loop(120.0, 8.0)), kind="loop", declared_bpm=100.0)
    assert result.bpm_matches_declared is False
    problem = next(p for p in result.problems if p.code == "tempo_mismatch")
    assert "100" in problem.message and "120" in problem.message


def test_tempo_agreement_allows_double_and_half_time():
    assert tempo_matches(60.2, 120.0)
    assert tempo_matches(241.0, 120.0)
    assert not tempo_matches(90.0, 120.0)


def test_silence_ratio_counts_quiet_windows(signals):
    tone = signals.sine(-12.0, 1.0, 44100)
    samples = np.concatenate([tone, np.zeros((3 * 44100, 2), np.float32)])
    result = analyze(_audio(samples))
    assert result.silence_ratio == pytest.approx(0.75, abs=0.02)
    assert "mostly_silent" not in result.problem_codes
    mostly = np.concatenate([tone[:22050], np.zeros((9 * 44100, 2), np.float32)])
    assert "mostly_silent" in analyze(_audio(mostly)).problem_codes


def test_dc_offset_is_measured_and_flagged(signals):
    samples = signals.sine(-12.0, 2.0, 44100) + np.float32(0.05)
    result = analyze(_audio(samples))
    assert result.dc_offset == pytest.approx(0.05, abs=1e-3)
    assert "dc_offset" in result.problem_codes
    assert "dc_offset" not in analyze(_audio(signals.sine(-12.0, 2.0, 44100))).problem_codes


def test_waveform_peaks_bracket_the_signal():
    ramp = np.linspace(-1.0, 1.0, 10000, dtype=np.float32)[:, None]
    peaks = waveform_peaks(ramp, points=200)
    assert len(peaks) == 200
    assert peaks[0][0] == pytest.approx(-1.0)
    assert peaks[-1][1] == pytest.approx(1.0)
    assert all(lo <= hi for lo, hi in peaks)
    assert all(a[1] <= b[1] for a, b in itertools.pairwise(peaks))


def test_to_dict_is_json_safe_for_silence():
    data = analyze(_audio(np.zeros((44100, 2), np.float32), subtype="FLOAT")).to_dict()
    assert data["integrated_lufs"] is None
    assert data["bit_depth"] is None
    json.dumps(data, allow_nan=False)


def test_cli_prints_every_required_key_as_json(tmp_path, signals):
    path = tmp_path / "loop.wav"
    sf.write(path, signals.click_loop(120.0, 4.0), 44100, subtype="PCM_16")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "renderer",
            "analyze",
            str(path),
            "--json",
            "--kind",
            "loop",
            "--bpm",
            "120",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data.keys() >= REQUIRED_KEYS
    assert data["bit_depth"] == 16
    assert data["sample_rate"] == 44100


def test_cli_exits_2_on_an_undecodable_file(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("not audio at all")
    proc = subprocess.run(
        [sys.executable, "-m", "renderer", "analyze", str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "cannot decode" in proc.stderr
