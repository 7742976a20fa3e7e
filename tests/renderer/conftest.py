"""Signal helpers shared by the renderer tests: sines at EBU test levels, noise, clicks."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" / "cc0-samples"


def sine(
    level_db: float,
    seconds: float,
    sample_rate: int = 48000,
    *,
    freq: float = 1000.0,
    channels: int = 2,
    phase: float = 0.0,
) -> np.ndarray:
    """Sine whose PEAK amplitude is `level_db` dBFS (the EBU Tech 3341/3342 convention)."""
    t = np.arange(round(seconds * sample_rate)) / sample_rate
    mono = 10.0 ** (level_db / 20.0) * np.sin(2.0 * np.pi * freq * t + phase)
    return np.repeat(mono[:, None], channels, axis=1).astype(np.float32)


def sequence(levels_and_seconds: list[tuple[float, float]], sample_rate: int = 48000) -> np.ndarray:
    return np.concatenate([sine(level, sec, sample_rate) for level, sec in levels_and_seconds])


def pink_noise(seconds: float, sample_rate: int = 48000, *, seed: int = 0) -> np.ndarray:
    """Stereo wideband noise with a 1/f spectrum, peak around -6 dBFS: a stand-in for music."""
    rng = np.random.default_rng(seed)
    frames = round(seconds * sample_rate)
    spectrum = np.fft.rfft(rng.standard_normal((frames, 2)), axis=0)
    freqs = np.fft.rfftfreq(frames, 1.0 / sample_rate)
    spectrum[1:] /= np.sqrt(freqs[1:, None] / 100.0)
    spectrum[0] = 0.0
    noise = np.fft.irfft(spectrum, frames, axis=0)
    return (0.5 * noise / np.max(np.abs(noise))).astype(np.float32)


def click_loop(
    bpm: float, seconds: float, sample_rate: int = 44100, *, seed: int = 1
) -> np.ndarray:
    """A drum-ish loop: decaying noise bursts (kick on every beat, softer hat on off-beats)."""
    rng = np.random.default_rng(seed)
    frames = round(seconds * sample_rate)
    out = np.zeros(frames)
    beat = 60.0 / bpm
    hit_len = round(0.08 * sample_rate)
    envelope = np.exp(-np.arange(hit_len) / (0.015 * sample_rate))
    t = 0.0
    index = 0
    while t < seconds:
        start = round(t * sample_rate)
        gain = 0.8 if index % 2 == 0 else 0.3
        burst = gain * envelope * rng.standard_normal(hit_len) * 0.5
        end = min(frames, start + hit_len)
        out[start:end] += burst[: end - start]
        t += beat / 2.0
        index += 1
    return np.repeat(out[:, None], 2, axis=1).astype(np.float32)


def wav_bytes(
    samples: np.ndarray, sample_rate: int, subtype: str = "PCM_16", fmt: str = "WAV"
) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, samples, sample_rate, subtype=subtype, format=fmt)
    return buffer.getvalue()


@pytest.fixture
def corpus_dir() -> Path:
    if not CORPUS.is_dir() or not any(CORPUS.glob("*.flac")):
        pytest.skip("corpus ../shared/corpus/cc0-samples is absent")
    return CORPUS


class _Signals:
    """Namespace handed to tests as the `signals` fixture, so test files need not import conftest
    (which breaks depending on whether tests/ is a package)."""

    sine = staticmethod(sine)
    sequence = staticmethod(sequence)
    pink_noise = staticmethod(pink_noise)
    click_loop = staticmethod(click_loop)
    wav_bytes = staticmethod(wav_bytes)


@pytest.fixture
def signals() -> type[_Signals]:
    return _Signals
