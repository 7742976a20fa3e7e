"""Decoding audio into the engine's one representation: float32, shape (frames, channels)."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import numpy.typing as npt
import soundfile as sf

Samples = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Audio:
    samples: Samples  # float32, shape (frames, channels)
    sample_rate: int
    format: str = ""  # soundfile's container name: WAV, FLAC, AIFF, ...
    subtype: str = ""  # PCM_16, PCM_24, FLOAT, ...

    @property
    def frames(self) -> int:
        return int(self.samples.shape[0])

    @property
    def channels(self) -> int:
        return int(self.samples.shape[1])

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate if self.sample_rate else 0.0


def load_audio(source: str | Path | bytes | BinaryIO) -> Audio:
    """Decode a file, bytes or a binary stream; raises soundfile.LibsndfileError if undecodable."""
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    with sf.SoundFile(source) as handle:
        samples = handle.read(dtype="float32", always_2d=True)
        return Audio(
            samples=np.ascontiguousarray(samples, dtype=np.float32),
            sample_rate=int(handle.samplerate),
            format=str(handle.format),
            subtype=str(handle.subtype),
        )


def pcm_sha256(audio: Audio) -> str:
    """Hash of the decoded PCM, so a re-wrapped or renamed copy of the same sound still matches.

    The hash covers the sample rate, channel count and the samples quantised to 24 bits, which
    makes WAV, FLAC and AIFF containers of the same PCM hash alike.
    """
    quantised = np.clip(np.round(audio.samples.astype(np.float64) * 8388608.0), -8388608, 8388607)
    digest = hashlib.sha256()
    digest.update(f"{audio.sample_rate}:{audio.channels}:".encode())
    digest.update(quantised.astype("<i4").tobytes())
    return digest.hexdigest()


def to_mono(samples: Samples) -> Samples:
    return np.asarray(samples.mean(axis=1, dtype=np.float32), dtype=np.float32)
