"""Decoding audio into the engine's one representation: float32, shape (frames, channels).

Everything that decodes goes through `AudioStream`, which reads forward in blocks and never
past a frame budget the caller sets: an upload's header can promise anything, and the decoder
must not believe it with memory. `load_audio` builds on it.
"""

from __future__ import annotations

import hashlib
import io
import math
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt
import soundfile as sf

Samples = npt.NDArray[np.float32]

# Frames per block when decoding block by block: 128 KiB of stereo float32, so the working set
# of a streamed decode (the block and the hash's quantised copy) stays far below a megabyte.
BLOCK_FRAMES = 16384
_UNBOUNDED = 2**62


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


@dataclass(frozen=True)
class StreamHeader:
    """What a file says about itself before a sample is decoded."""

    format: str
    subtype: str
    sample_rate: int
    channels: int
    declared_frames: int | None  # None: the header does not say (FLAC STREAMINFO length 0)

    @property
    def declared_s(self) -> float | None:
        if self.declared_frames is None or not self.sample_rate:
            return None
        return self.declared_frames / self.sample_rate


class DecodeBudgetExceeded(ValueError):
    """The stream holds more frames than the caller allowed; decoding stopped at `limit` + 1.

    `declared` is True when the limit was the header's own length (the header lied), False when
    it was the caller's budget."""

    def __init__(self, limit: int, *, declared: bool) -> None:
        super().__init__(
            f"more than {limit} frames decode"
            + (" (the header's declared length)" if declared else "")
        )
        self.limit = limit
        self.declared = declared


class _SequentialSoundFile(sf.SoundFile):  # type: ignore[misc]
    """A SoundFile that only reads forward.

    soundfile seeks back to its own frame count after every read (`SoundFile._cdata_io`).
    libFLAC refuses that seek at the true end of a stream whose STREAMINFO length is unknown
    or wrong, which would fail the very read that finds out how long the stream really is.
    Read strictly forward, the position needs no seek."""

    def seekable(self) -> bool:
        return False


class _MaskedReader(io.RawIOBase):
    """A seekable read-only view of a binary stream with a few bytes replaced.

    libsndfile reads through it in ~8 KB calls, so a read past the replaced bytes is one call
    into the inner stream and nothing else."""

    def __init__(self, inner: BinaryIO, replace: dict[int, int]) -> None:
        super().__init__()
        self._inner = inner
        self._replace = replace
        self._replace_end = max(replace) + 1
        self._position = inner.tell()
        self._readinto: Callable[[Any], int | None] = getattr(inner, "readinto", self._copy_into)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._position = self._inner.seek(offset, whence)
        return self._position

    def tell(self) -> int:
        return self._position

    def _copy_into(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self._inner.read(len(view))
        view[: len(data)] = data
        return len(data)

    def readinto(self, buffer: Any) -> int:
        start = self._position
        count = int(self._readinto(buffer) or 0)
        self._position = start + count
        if start < self._replace_end:
            view = memoryview(buffer).cast("B")
            for offset, value in self._replace.items():
                if start <= offset < start + count:
                    view[offset - start] = value
        return count


# STREAMINFO is always the first metadata block (RFC 9639 section 8.2): after "fLaC" and its
# 4-byte block header, 34 bytes whose bits 108-143 hold the 36-bit total sample count, 0 meaning
# unknown. Bytes 21-25 of the file: the low nibble of byte 21, then bytes 22-25.
_FLAC_TOTAL_AT = 21


def id3v2_length(head: bytes) -> int:
    """The length of an ID3v2 tag at the start of `head` (header, body and any footer), 0 when
    there is none. A FLAC may start with one: C2PA Content Credentials live there
    (renderer.credentials), and some taggers put one there too."""
    if len(head) < 10 or head[:3] != b"ID3" or any(b & 0x80 for b in head[6:10]):
        return 0
    size = (head[6] << 21) | (head[7] << 14) | (head[8] << 7) | head[9]
    return 10 + size + (10 if head[5] & 0x10 else 0)


def flac_declared_frames(head: bytes) -> int | None:
    """The total frame count a FLAC's STREAMINFO declares, or None (unknown, or no STREAMINFO)."""
    if len(head) < 42 or head[:4] != b"fLaC" or head[4] & 0x7F != 0:
        return None
    total = ((head[_FLAC_TOTAL_AT] & 0x0F) << 32) | struct.unpack_from(">I", head, 22)[0]
    return total or None


def _open_binary(source: str | Path | bytes | BinaryIO) -> tuple[BinaryIO, bool]:
    """(a seekable binary stream, whether we opened it and must close it)."""
    if isinstance(source, bytes | bytearray | memoryview):
        return io.BytesIO(source), True  # BytesIO shares an immutable bytes buffer, no copy
    if isinstance(source, str | Path):
        return open(source, "rb"), True  # closed by AudioStream.close
    return source, False


class AudioStream:
    """A decoder that reads forward only, block by block.

    For FLAC, the header's length is hidden from libsndfile (shown as 0, "unknown"), because
    libsndfile stops at the declared length: a stream that holds more than it declares would
    otherwise be silently cut, and never detected. The declared length is kept in
    `header.declared_frames` and enforced here instead."""

    def __init__(self, source: str | Path | bytes | BinaryIO) -> None:
        self._file, self._owned = _open_binary(source)
        try:
            start = self._file.tell()
            head = self._file.read(42)
            tag = id3v2_length(head)
            if tag:
                # A FLAC behind an ID3v2 tag: judge the stream's own STREAMINFO.
                self._file.seek(start + tag)
                after = self._file.read(42)
                if after[:4] == b"fLaC":
                    head, start_of_stream = after, start + tag
                else:
                    tag = 0
            if not tag:
                start_of_stream = start
            self._file.seek(start)
            declared: int | None = None
            target: BinaryIO = self._file
            is_flac = head[:4] == b"fLaC" and len(head) >= 42 and head[4] & 0x7F == 0
            if is_flac:
                declared = flac_declared_frames(head)
                base = start_of_stream + _FLAC_TOTAL_AT
                masked = {base: head[_FLAC_TOTAL_AT] & 0xF0, **{base + i: 0 for i in range(1, 5)}}
                target = _MaskedReader(self._file, masked)  # type: ignore[assignment]
            if not is_flac and isinstance(source, str | Path):
                self._close_file()  # libsndfile reads a path itself, without Python callbacks
                self._owned = False
                self._sound = _SequentialSoundFile(str(source))
            else:
                self._sound = _SequentialSoundFile(target)
            if not is_flac:
                # WAV and AIFF lengths come from chunk sizes libsndfile clamps to the file;
                # a format that does not know its length says SF_COUNT_MAX.
                frames = int(self._sound.frames)
                declared = frames if frames < _UNBOUNDED else None
            self.header = StreamHeader(
                format=str(self._sound.format),
                subtype=str(self._sound.subtype),
                sample_rate=int(self._sound.samplerate),
                channels=int(self._sound.channels),
                declared_frames=declared,
            )
        except BaseException:
            self._close_file()
            raise
        self.decoded = 0

    def __enter__(self) -> AudioStream:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        try:
            self._sound.close()
        finally:
            self._close_file()

    def _close_file(self) -> None:
        if self._owned:
            self._file.close()

    def read_into(self, out: Samples) -> int:
        """Decode up to len(out) frames into `out` (float32, (n, channels)); frames read."""
        if len(out) == 0:
            return 0
        got = len(self._sound.read(len(out), dtype="float32", always_2d=True, out=out))
        self.decoded += got
        return got

    def blocks(self, *, max_frames: int, block_frames: int = BLOCK_FRAMES) -> Iterator[Samples]:
        """Every decoded frame, as views of one reused (block_frames, channels) buffer.

        Raises DecodeBudgetExceeded as soon as more than `max_frames` frames decode, or more
        than the header declared; at most one block past the budget is ever decoded."""
        declared = self.header.declared_frames
        limit = max_frames if declared is None else min(max_frames, declared)
        buffer = np.empty((block_frames, self.header.channels), dtype=np.float32)
        while True:
            # Ask for one frame past the limit at most: that frame alone proves the overrun.
            wanted = min(block_frames, limit + 1 - self.decoded)
            got = self.read_into(buffer[:wanted])
            if got == 0:
                return
            if self.decoded > limit:
                raise DecodeBudgetExceeded(
                    limit, declared=declared is not None and limit == declared
                )
            yield buffer[:got]


def frame_budget(max_seconds: float, sample_rate: int) -> int:
    """The most frames that last at most `max_seconds` at `sample_rate`."""
    return math.floor(max_seconds * sample_rate + 1e-9)


def load_audio(source: str | Path | bytes | BinaryIO, *, max_seconds: float | None = None) -> Audio:
    """Decode a file, bytes or a binary stream; raises soundfile.LibsndfileError if undecodable.

    With `max_seconds`, a stream declaring or decoding to more than that many seconds (or more
    than its header declares) raises DecodeBudgetExceeded before it holds more."""
    with AudioStream(source) as stream:
        rate = stream.header.sample_rate
        budget = None if max_seconds is None else frame_budget(max_seconds, rate)
        return read_all(stream, max_frames=budget)


def read_all(stream: AudioStream, *, max_frames: int | None = None) -> Audio:
    """The rest of an opened stream as one Audio, never holding more than `max_frames` frames.

    A declared length is allocated once and filled in one read, then one more frame is asked
    for: a stream that holds more than it declares raises DecodeBudgetExceeded. A stream of
    unknown length is read block by block up to the budget and joined at the end."""
    header = stream.header
    declared = header.declared_frames
    if declared is not None and max_frames is not None and declared > max_frames:
        raise DecodeBudgetExceeded(max_frames, declared=False)
    if declared is not None:
        samples = np.empty((declared - stream.decoded, header.channels), dtype=np.float32)
        got = stream.read_into(samples)
        extra = np.empty((1, header.channels), dtype=np.float32)
        if got == len(samples) and stream.read_into(extra):
            raise DecodeBudgetExceeded(declared, declared=True)
        samples = samples[:got]  # a stream cut short: the frames that are there
    else:
        # Unknown length: collect blocks, then join them (twice the audio at the peak).
        limit = max_frames if max_frames is not None else _UNBOUNDED
        blocks = stream.blocks(max_frames=limit, block_frames=BLOCK_FRAMES * 16)
        parts = [block.copy() for block in blocks]
        samples = (
            np.concatenate(parts) if parts else np.empty((0, header.channels), dtype=np.float32)
        )
    return Audio(
        samples=samples,
        sample_rate=header.sample_rate,
        format=header.format,
        subtype=header.subtype,
    )


class PcmHasher:
    """The PCM hash of `pcm_sha256`, fed block by block (the same digest as one whole pass)."""

    def __init__(self, sample_rate: int, channels: int) -> None:
        self._digest = hashlib.sha256()
        self._digest.update(f"{sample_rate}:{channels}:".encode())
        self._scaled = np.empty(0, dtype=np.float32)
        self._ints = np.empty(0, dtype="<i4")

    def update(self, samples: Samples) -> None:
        flat = np.ascontiguousarray(samples, dtype=np.float32).reshape(-1)
        if self._scaled.size < flat.size:
            self._scaled = np.empty(flat.size, dtype=np.float32)
            self._ints = np.empty(flat.size, dtype="<i4")
        scaled = self._scaled[: flat.size]
        ints = self._ints[: flat.size]
        # Scaling a float32 by 2**23 is exact (only the exponent moves; an overflow to inf is
        # clipped like the huge value it stands for), and float32 rounds half to even like
        # float64, so these are the float64 formula's integers at a quarter of its memory.
        with np.errstate(over="ignore", invalid="ignore"):
            np.multiply(flat, np.float32(8388608.0), out=scaled)
            np.round(scaled, out=scaled)
            np.clip(scaled, -8388608.0, 8388607.0, out=scaled)
            np.copyto(ints, scaled, casting="unsafe")
        self._digest.update(ints.data)

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


def pcm_sha256(audio: Audio) -> str:
    """Hash of the decoded PCM, so a re-wrapped or renamed copy of the same sound still matches.

    The hash covers the sample rate, channel count and the samples quantised to 24 bits, which
    makes WAV, FLAC and AIFF containers of the same PCM hash alike.
    """
    hasher = PcmHasher(audio.sample_rate, audio.channels)
    for start in range(0, audio.frames, BLOCK_FRAMES * 8):
        hasher.update(audio.samples[start : start + BLOCK_FRAMES * 8])
    return hasher.hexdigest()


def to_mono(samples: Samples) -> Samples:
    return np.asarray(samples.mean(axis=1, dtype=np.float32), dtype=np.float32)
