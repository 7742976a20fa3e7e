"""The suite's one source of test audio: signal generators and one bytes writer.

Generators return float32 arrays shaped (frames, channels). `encode` writes any of them as
WAV/FLAC/AIFF/MP3 bytes through soundfile, as an artist's file would arrive; `ebur128` reads
loudness back with ffmpeg, the reference meter the renderer is checked against.
"""

from __future__ import annotations

import io
import re
import struct
import subprocess
from pathlib import Path
from typing import NamedTuple

import numpy as np
import soundfile as sf

# The clearance lookup's voice-over and re-encode, shared with its benchmark (bench.voice).
from bench.voice import ffmpeg_mp3 as ffmpeg_mp3
from bench.voice import over_at as over_at
from bench.voice import speech_like_noise as speech_like_noise
from portal.core.music import parse_key

RATE = 48000


# --- generators ----------------------------------------------------------------------------
def tone(
    frequency: float = 440.0,
    seconds: float = 2.0,
    *,
    rate: int = RATE,
    level: float = 0.3,
    channels: int = 2,
) -> np.ndarray:
    """A plain sine at `level` peak amplitude, the same on every channel."""
    t = np.arange(round(seconds * rate)) / rate
    mono = level * np.sin(2 * np.pi * frequency * t)
    return np.repeat(mono[:, None], channels, axis=1).astype(np.float32)


def sine(
    level_db: float,
    seconds: float,
    sample_rate: int = RATE,
    *,
    freq: float = 1000.0,
    channels: int = 2,
    phase: float = 0.0,
) -> np.ndarray:
    """Sine whose PEAK amplitude is `level_db` dBFS (the EBU Tech 3341/3342 convention)."""
    t = np.arange(round(seconds * sample_rate)) / sample_rate
    mono = 10.0 ** (level_db / 20.0) * np.sin(2.0 * np.pi * freq * t + phase)
    return np.repeat(mono[:, None], channels, axis=1).astype(np.float32)


def sequence(levels_and_seconds: list[tuple[float, float]], sample_rate: int = RATE) -> np.ndarray:
    """EBU-style test sequence: 1 kHz sines at the given peak levels, one after another."""
    return np.concatenate([sine(level, sec, sample_rate) for level, sec in levels_and_seconds])


def pink_noise(seconds: float, sample_rate: int = RATE, *, seed: int = 0) -> np.ndarray:
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


def blip(
    seconds: float = 0.3,
    *,
    burst_s: float = 0.005,
    rate: int = RATE,
    level: float = 0.5,
    channels: int = 2,
) -> np.ndarray:
    """A very short one-shot: a 1 kHz burst of `burst_s` at `level` peak, then silence to
    `seconds`. Alone in a long render it is almost all silence, the hardest case for
    loudness normalisation (the limiter flattens the burst, the gaps are gated out)."""
    frames, burst = round(seconds * rate), round(burst_s * rate)
    out = np.zeros(frames)
    t = np.arange(burst) / rate
    out[:burst] = level * np.sin(2 * np.pi * 1000.0 * t) * np.exp(-t * 60.0)
    return np.repeat(out[:, None], channels, axis=1).astype(np.float32)


def tone_loop(
    seconds: float = 4.0,
    *,
    seed: int = 0,
    rate: int = RATE,
    bpm: float = 120.0,
    level: float = 0.4,
) -> np.ndarray:
    """A short, unique, musical-ish stereo take: plucked notes on the beat plus soft noise.
    Different seeds sound different enough that provenance never calls them duplicates."""
    rng = np.random.default_rng(seed)
    frames = round(seconds * rate)
    t = np.arange(frames) / rate
    out = np.zeros(frames)
    beat = 60.0 / bpm
    starts = np.arange(0.0, seconds, beat / 2)
    for start in starts:
        freq = 110.0 * 2 ** (rng.integers(0, 24) / 12)
        length = min(frames - round(start * rate), round(beat * rate))
        tt = np.arange(length) / rate
        note = sum(np.sin(2 * np.pi * freq * k * tt) / k for k in (1, 2, 3, 5))
        begin = round(start * rate)
        out[begin : begin + length] += note * np.exp(-tt * 6.0)
    out += 0.02 * rng.standard_normal(frames)
    out *= level / np.max(np.abs(out))
    pan = 0.8 + 0.2 * np.sin(2 * np.pi * 0.25 * t)
    return np.stack([out * pan, out * (1.8 - pan) / 1.0], axis=1).astype(np.float32)


def melody(
    seconds: float = 12.0,
    *,
    seed: int = 0,
    rate: int = RATE,
    tempo: float = 1.0,
    pitch: float = 1.0,
) -> np.ndarray:
    """Plucked notes with harmonics over a soft hat pattern, mono: the same seed is the same
    melody, `tempo` times faster (onsets closer, each note as long) and `pitch` times higher,
    as a time stretch and a pitch shift would leave it. Lasts `seconds` / `tempo`."""
    rng = np.random.default_rng(seed)
    frames = round(seconds / tempo * rate)
    out = np.zeros(frames + rate)
    t = np.arange(round(0.5 * rate)) / rate
    for onset in np.arange(0.0, seconds - 0.5, 0.25):
        freq = 110.0 * 2 ** (int(rng.integers(0, 36)) / 12) * pitch
        note = sum(np.sin(2 * np.pi * freq * k * t) / k for k in range(1, 5)) * np.exp(-t * 6)
        begin = round((onset + rng.uniform(0.0, 0.05)) / tempo * rate)
        out[begin : begin + t.shape[0]] += note * rng.uniform(0.1, 0.3)
    return out[:frames, None].astype(np.float32)


def role_loop(
    *,
    role: str,
    bpm: float,
    key: str = "",
    bars: int = 4,
    seed: int = 0,
    channels: int = 1,
    rate: int = RATE,
) -> np.ndarray:
    """A loop of whole bars at `bpm` that sounds like its role: drums are noise bursts on the
    beats; bass, harmony and melody sines on the key's notes; anything else quiet noise."""
    rng = np.random.default_rng(seed)
    beat = 60.0 / bpm
    frames = round(bars * 4 * beat * rate)
    t = np.arange(frames) / rate
    out = np.zeros(frames)
    parsed = parse_key(key) or parse_key("A minor")
    assert parsed is not None
    root = 110.0 * 2 ** (((parsed.pitch - 9) % 12) / 12)  # the key's tonic around A2
    third = 2 ** ((3 if parsed.minor else 4) / 12)
    beat_frames = round(beat * rate)
    if role in ("drums", "percussion"):
        hit = int(0.06 * rate)
        envelope = np.exp(-np.arange(hit) / (0.012 * rate))
        step = beat_frames if role == "drums" else beat_frames // 2
        for start in range(0, frames - hit, step):
            out[start : start + hit] += 0.6 * envelope * rng.standard_normal(hit)
    elif role == "bass":
        for index, start in enumerate(range(0, frames, beat_frames)):
            note = root * (1.5 if index % 4 == 3 else 1.0)
            span = t[start : start + beat_frames] - t[start]
            out[start : start + beat_frames] = (
                0.5 * np.sin(2 * np.pi * note * span) * np.exp(-span * 3)
            )
    elif role in ("harmony", "melody", "vocals"):
        base = root * (4 if role == "melody" else 2)
        for ratio in (1.0, third, 1.5):
            out += 0.2 * np.sin(2 * np.pi * base * ratio * t + rng.uniform(0, np.pi))
        out *= 0.6 + 0.4 * np.sin(2 * np.pi * t / (4 * beat)) ** 2
    else:
        out = 0.1 * rng.standard_normal(frames)
    out *= rng.uniform(0.7, 1.0)  # no two stems share a PCM hash (the column is unique)
    fade = min(256, frames // 4)
    out[:fade] *= np.linspace(0, 1, fade)
    out[-fade:] *= np.linspace(1, 0, fade)
    samples = np.repeat(out[:, None], channels, axis=1)
    return np.clip(samples, -0.95, 0.95).astype(np.float32)


def impact(
    *, seconds: float = 1.5, seed: int = 0, channels: int = 1, rate: int = RATE
) -> np.ndarray:
    """A hit one-shot (a stinger, an impact): full level on its first sample, then a noise and
    low sine burst decaying over `seconds`, so its onset is exactly where it is placed."""
    rng = np.random.default_rng(seed)
    frames = round(seconds * rate)
    t = np.arange(frames) / rate
    out = (0.5 * rng.standard_normal(frames) + 0.5 * np.sin(2 * np.pi * 55.0 * t)) * np.exp(-t * 6)
    out[0] = 0.9
    out *= rng.uniform(0.7, 1.0)  # no two stems share a PCM hash
    samples = np.repeat(out[:, None], channels, axis=1)
    return np.clip(samples, -0.95, 0.95).astype(np.float32)


# --- bytes ---------------------------------------------------------------------------------
def encode(
    samples: np.ndarray, rate: int = RATE, fmt: str = "WAV", subtype: str | None = "PCM_24"
) -> bytes:
    """The samples as a file's bytes (24-bit WAV unless told otherwise), as an upload carries."""
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format=fmt, subtype=subtype)
    return buffer.getvalue()


def sox_convert(data: bytes, *options: str, suffix: str = ".wav") -> bytes:
    """The file rewritten by sox with output `options` (e.g. "-b", "24": sox then writes a
    WAVE_FORMAT_EXTENSIBLE header, as many DAWs do), a second writer beside libsndfile."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        source, target = Path(folder) / f"in{suffix}", Path(folder) / f"out{suffix}"
        source.write_bytes(data)
        subprocess.run(["sox", str(source), *options, str(target)], check=True, timeout=60)
        return target.read_bytes()


# The WAV header variants the vault takes wherever it takes a WAV, and who writes them: each is
# (label, the samples as such a file's bytes). `wav_variants(samples)` builds them all.
WAV_VARIANTS = (
    "soundfile WAVEX PCM_16",
    "soundfile WAVEX PCM_24",
    "soundfile WAVEX PCM_32",
    "soundfile WAVEX FLOAT",
    "soundfile WAV FLOAT",
    "sox -b 24",
    "sox -b 32",
    "sox -e floating-point -b 32",
)


def wav_variant(samples: np.ndarray, label: str, rate: int = RATE) -> bytes:
    """`samples` as a WAV written the way `label` (one of WAV_VARIANTS) says."""
    writer, *rest = label.split(" ")
    if writer == "soundfile":
        fmt, subtype = rest
        return encode(samples, rate, fmt=fmt, subtype=subtype)
    assert writer == "sox", label
    return sox_convert(encode(samples, rate, subtype="PCM_16"), *rest)


def decode(data: bytes) -> np.ndarray:
    """The float32 samples of encoded bytes, always (frames, channels)."""
    samples, _ = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    return np.asarray(samples, dtype=np.float32)


def lossy_copy(
    samples: np.ndarray, rate: int, fmt: str = "MP3", subtype: str | None = None
) -> np.ndarray:
    """The samples after a round trip through a lossy codec (MP3 unless told otherwise)."""
    return decode(encode(samples, rate, fmt=fmt, subtype=subtype))


def mp3_round_trip_wav(samples: np.ndarray, rate: int) -> bytes:
    """Encode as MP3, decode, save again as 16-bit WAV: a lossy copy dressed as lossless."""
    return encode(lossy_copy(samples, rate), rate, subtype="PCM_16")


def flac_declaring(flac: bytes, frames: int) -> bytes:
    """The FLAC with its STREAMINFO total sample count set to `frames` (0 = unknown): a header
    that says anything, over audio that is what it is. RFC 9639 section 8.2: STREAMINFO is the
    first metadata block; its 36-bit total is the low nibble of byte 21 and bytes 22-25."""
    assert flac[:4] == b"fLaC" and flac[4] & 0x7F == 0
    patched = bytearray(flac)
    patched[21] = (patched[21] & 0xF0) | ((frames >> 32) & 0x0F)
    patched[22:26] = (frames & 0xFFFFFFFF).to_bytes(4, "big")
    return bytes(patched)


def with_riff_info(wav: bytes, tags: dict[str, str]) -> bytes:
    """Append a LIST/INFO chunk, as DAWs and generators write it, and fix the RIFF size."""
    body = b"INFO"
    for key, value in tags.items():
        data = value.encode() + b"\x00"
        if len(data) % 2:
            data += b"\x00"
        body += key.encode() + struct.pack("<I", len(data)) + data
    out = bytearray(wav + b"LIST" + struct.pack("<I", len(body)) + body)
    struct.pack_into("<I", out, 4, len(out) - 8)
    return bytes(out)


# --- the reference meter -------------------------------------------------------------------
class Ebur128(NamedTuple):
    integrated_lufs: float
    true_peak_dbfs: float


def ebur128(path: Path | str, *, timeout: float = 120) -> Ebur128:
    """ffmpeg's EBU R128 summary of the file: integrated loudness and true peak.

    ffmpeg prints one decimal, so agreement closer than 0.1 cannot be confirmed."""
    summary = _ebur128_log(path, timeout)
    summary = summary[summary.rindex("Summary:") :]
    integrated = re.search(r"I:\s+(-?[\d.]+) LUFS", summary)
    peak = re.search(r"Peak:\s+(-?[\d.]+) dBFS", summary)
    assert integrated and peak, summary
    return Ebur128(float(integrated.group(1)), float(peak.group(1)))


class Ebur128Maxima(NamedTuple):
    loudness_range_lu: float
    max_momentary_lufs: float
    max_short_term_lufs: float


def ebur128_maxima(path: Path | str, *, timeout: float = 120) -> Ebur128Maxima:
    """ffmpeg's loudness range (summary) and the largest momentary (M) and short-term (S)
    loudness of its per-100 ms log lines, one decimal each."""
    log = _ebur128_log(path, timeout)
    summary = log[log.rindex("Summary:") :]
    lra = re.search(r"LRA:\s+(-?[\d.]+) LU", summary)
    momentary = [float(v) for v in re.findall(r"\bM:\s*(-?[\d.]+)", log[: log.rindex("Summary:")])]
    short_term = [float(v) for v in re.findall(r"\bS:\s*(-?[\d.]+)", log[: log.rindex("Summary:")])]
    assert lra and momentary and short_term, summary
    return Ebur128Maxima(float(lra.group(1)), max(momentary), max(short_term))


def _ebur128_log(path: Path | str, timeout: float) -> str:
    proc = subprocess.run(
        [
            "ffmpeg",
            "-nostats",
            "-hide_banner",
            "-i",
            str(path),
            "-filter_complex",
            "ebur128=peak=true",
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stderr
