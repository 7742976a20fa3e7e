"""A claimed clip decoded within bounds (`read_clip`), for the clearance lookup
(renderer.clearance). Unlike a vault upload (`renderer.validate`), lossy containers are
welcome, since that is what a claim's clip is; but nothing is believed with memory: the header
is judged first, the decode runs block by block into a mono buffer sized by the duration
limit, and one frame past the limit stops it. The length an MP3 or Ogg header declares is an
estimate, so only the decode itself is trusted for the limit."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import soundfile as sf

from renderer.audio import BLOCK_FRAMES, AudioStream, frame_budget
from renderer.validate import sniff_container

CLIP_MIN_S: Final = 5.0  # shorter clips hold too few landmarks to tell renders apart
CLIP_MAX_S: Final = 180.0  # a claim names a stretch; the rest only costs decoding
CLIP_MIN_RATE: Final = 22_050  # the fingerprint's band reaches 11 kHz (renderer.fingerprint)
CLIP_MAX_RATE: Final = 192_000
CLIP_MAX_CHANNELS: Final = 8
# Containers a clip may come in: what editors export and platforms hand back.
CLIP_CONTAINERS: Final = ("WAV", "FLAC", "AIFF", "MP3", "OGG")

Mono = npt.NDArray[np.float32]


class ClipRejected(Exception):
    """A clip the lookup cannot use; `message` says what to send instead."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Clip:
    """A decoded clip: mono float32 at its own rate, and what it came as."""

    samples: Mono
    sample_rate: int
    format: str

    @property
    def duration_s(self) -> float:
        return self.samples.shape[0] / self.sample_rate if self.sample_rate else 0.0


def read_clip(raw: bytes, *, min_s: float = CLIP_MIN_S, max_s: float = CLIP_MAX_S) -> Clip:
    """Decode `raw` (WAV, FLAC, AIFF, MP3 or Ogg) to mono, never holding more than `max_s`
    seconds of it; raises ClipRejected with a code and what to fix (empty, not_audio,
    unsupported_container, sample_rate, too_many_channels, too_long, too_short, silent)."""
    if not raw:
        raise ClipRejected("empty", "The file is empty (0 bytes); the upload may have failed.")
    container = sniff_container(raw)
    if container not in CLIP_CONTAINERS:
        raise ClipRejected(
            "unsupported_container",
            "This is not audio the lookup can read. Send the clip as MP3, WAV, FLAC, AIFF or "
            "Ogg (Vorbis or Opus); extract the audio from a video first.",
        )
    try:
        with AudioStream(raw) as stream:
            header = stream.header
            _check_header(header.sample_rate, header.channels, header.declared_s, max_s)
            samples = _decode_mono(stream, frame_budget(max_s, header.sample_rate), max_s)
    except (sf.LibsndfileError, RuntimeError, ValueError) as error:
        raise ClipRejected(
            "not_audio",
            f"The {container} file could not be decoded ({error}); export the clip again.",
        ) from None
    clip = Clip(samples=samples, sample_rate=header.sample_rate, format=container)
    if clip.duration_s < min_s:
        raise ClipRejected(
            "too_short",
            f"The clip lasts {clip.duration_s:.2f} s; send at least {min_s:g} s of the music "
            f"(up to {max_s:g} s): the longer the clip, the surer the answer.",
        )
    peak = float(np.max(np.abs(samples))) if samples.shape[0] else 0.0
    if not math.isfinite(peak) or peak < 10.0 ** (-90.0 / 20.0):
        raise ClipRejected("silent", "The clip is silent; send a stretch where the music plays.")
    return clip


def _check_header(rate: int, channels: int, declared_s: float | None, max_s: float) -> None:
    if rate < CLIP_MIN_RATE or rate > CLIP_MAX_RATE:
        raise ClipRejected(
            "sample_rate",
            f"The sample rate is {rate} Hz; the lookup needs 22.05 to 192 kHz (export the "
            "clip at 44.1 or 48 kHz).",
        )
    if channels < 1 or channels > CLIP_MAX_CHANNELS:
        raise ClipRejected(
            "too_many_channels",
            f"The clip has {channels} channels; send a stereo or mono mixdown.",
        )
    # A lossless header's length is exact and refused up front; a lossy one's is an estimate
    # (libsndfile guesses it from the bitrate), so the decode below has the last word.
    if declared_s is not None and declared_s > max_s * 1.05 + 1.0:
        raise _too_long(max_s, f"declares {declared_s:.1f} s")


def _too_long(max_s: float, says: str) -> ClipRejected:
    return ClipRejected(
        "too_long",
        f"The clip {says}; the lookup takes at most {max_s:g} s. Cut the claimed stretch "
        "(a claim names its start and end) and send that.",
    )


def _decode_mono(stream: AudioStream, budget: int, max_s: float) -> Mono:
    """Every frame of `stream` down-mixed into one buffer of at most `budget` frames."""
    channels = stream.header.channels
    mono = np.empty(min(budget, BLOCK_FRAMES * 8), np.float32)
    block = np.empty((BLOCK_FRAMES, channels), np.float32)
    filled = 0
    while True:
        got = stream.read_into(block)
        if got == 0:
            break
        if filled + got > budget:
            raise _too_long(max_s, f"decodes to more than {max_s:g} s")
        if filled + got > mono.shape[0]:  # grow geometrically, never past the budget
            bigger = np.empty(min(budget, max(2 * mono.shape[0], filled + got)), np.float32)
            bigger[:filled] = mono[:filled]
            mono = bigger
        downmix(block[:got], mono[filled : filled + got])
        filled += got
    samples = mono[:filled]
    if not np.isfinite(samples).all():
        np.nan_to_num(samples, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
    return samples


def downmix(frames: npt.NDArray[np.floating], out: Mono | None = None) -> Mono:
    """The mean of `frames`' channels (frames, channels) as float32, into `out` if given.
    Added column by column: numpy's reduction along a two-wide axis (`mean(axis=1)`) took
    several times as long, and was a tenth of a lookup's time (the clip's decode and each
    candidate's stretch)."""
    mono = np.empty(frames.shape[0], np.float32) if out is None else out
    np.copyto(mono, frames[:, 0], casting="same_kind")
    for channel in range(1, frames.shape[1]):
        mono += frames[:, channel]
    if frames.shape[1] > 1:
        mono *= np.float32(1.0 / frames.shape[1])
    return mono
