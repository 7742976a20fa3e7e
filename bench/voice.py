"""Signals for the clearance benchmark and tests: a voice-over's stand-in, mixing it over music
at a level, and the MP3 a video editor delivers. One place for both (tests.factories.audio
re-exports them), so the figure and the tests measure the same thing."""

from __future__ import annotations

import io
import subprocess

import numpy as np
import numpy.typing as npt
import soundfile as sf

Array = npt.NDArray[np.float32]


def speech_like_noise(
    seconds: float, sample_rate: int = 48000, *, seed: int = 0, syllables_hz: float = 4.0
) -> Array:
    """Mono noise shaped like running speech, peak-normalised to 0.5: what a voice-over puts
    over a soundtrack, for the clearance lookup (bench.clearance; the suite takes it from tests.factories.audio).

    * Spectrum: the long-term average speech spectrum's shape (ITU-T P.50's artificial voice
      in outline): band-limited to 100 Hz - 5 kHz, flat to ~500 Hz, then falling ~6 dB/octave
      (a first-order low-pass at 500 Hz over a 2nd-order band-pass).
    * Envelope: syllables at ~`syllables_hz` (3-5 Hz, drawn per syllable), each a raised-sine
      burst with its own level (0.4-1.0), and a pause of 0.15-0.6 s after one syllable in six,
      where a speaker breathes; speech's modulation spectrum peaks at 4 Hz.
    """
    from scipy import signal

    rng = np.random.default_rng(seed)
    frames = round(seconds * sample_rate)
    nyquist = sample_rate / 2.0
    band = signal.butter(2, [100.0 / nyquist, 5000.0 / nyquist], "band", output="sos")
    tilt = signal.butter(1, 500.0 / nyquist, "low", output="sos")
    voiced = signal.sosfilt(band, rng.standard_normal(frames))
    shaped = 0.2 * voiced + signal.sosfilt(tilt, voiced)
    envelope = np.zeros(frames)
    at = 0
    while at < frames:
        length = round(sample_rate / rng.uniform(0.75 * syllables_hz, 1.25 * syllables_hz))
        burst = rng.uniform(0.4, 1.0) * np.sin(np.pi * np.arange(length) / length) ** 2
        envelope[at : at + length] = burst[: frames - at]
        at += length
        if rng.random() < 1.0 / 6.0:
            at += round(rng.uniform(0.15, 0.6) * sample_rate)
    noise = np.asarray(shaped * envelope, dtype=np.float64)
    out: Array = (0.5 * noise / max(float(np.max(np.abs(noise))), 1e-9)).astype(np.float32)
    return out


def over_at(music: Array, voice: Array, level_db: float) -> Array:
    """`music` (frames, channels) with mono `voice` added at `level_db` relative to the music
    (RMS over the whole clip), scaled down together if the sum would clip."""
    music_rms = float(np.sqrt(np.mean(np.square(music, dtype=np.float64))))
    voice_rms = float(np.sqrt(np.mean(np.square(voice, dtype=np.float64)))) or 1.0
    gain = music_rms / voice_rms * 10.0 ** (level_db / 20.0)
    mixed = music + (voice[: music.shape[0]] * gain)[:, None]
    peak = float(np.max(np.abs(mixed)))
    out: Array = (mixed / max(1.0, peak / 0.99)).astype(np.float32)
    return out


def ffmpeg_mp3(samples: Array, rate: int, *, bitrate: str = "128k") -> bytes:
    """The samples encoded by ffmpeg's LAME at a constant `bitrate`, as a video editor or a
    platform's re-encode delivers them."""
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format="WAV", subtype="PCM_16")
    pcm = buffer.getvalue()
    command = ["ffmpeg", "-v", "error", "-f", "wav", "-i", "-", "-c:a", "libmp3lame"]
    command += ["-b:a", bitrate, "-f", "mp3", "-"]
    return subprocess.run(command, input=pcm, capture_output=True, check=True, timeout=120).stdout
