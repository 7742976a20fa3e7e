"""The RIFF / IFF chunk walker: WAV (RIFF, little-endian sizes) and AIFF (IFF, big-endian).

A file is a 12-byte header (`RIFF`/`FORM`, a 32-bit size, a form type such as `WAVE` or
`AIFF`) followed by chunks: a 4-byte id, a 32-bit size, then that many bytes, padded to an even
length. A LIST chunk holds chunks of its own after its 4-byte list type. Sizes are reported as
declared, never clipped to the data: a chunk that claims more bytes than the file holds is how
a cut-short or lying header shows, and callers decide what that means.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Chunk:
    id: bytes
    offset: int  # of the chunk's 8-byte header
    size: int  # as declared by the header

    @property
    def body(self) -> int:
        """Offset of the chunk's first data byte."""
        return self.offset + 8

    @property
    def end(self) -> int:
        """Offset just past the declared data (before the pad byte)."""
        return self.body + self.size

    @property
    def next(self) -> int:
        """Offset of the following chunk's header: the data padded to an even length."""
        return self.end + (self.size & 1)


def riff_chunk(chunk_id: bytes, body: bytes) -> bytes:
    """One little-endian RIFF chunk: id, size, body, and the zero pad byte an odd size needs."""
    if len(chunk_id) != 4:
        raise ValueError(f"a chunk id is 4 bytes, not {chunk_id!r}")
    return chunk_id + struct.pack("<I", len(body)) + body + (b"\x00" if len(body) & 1 else b"")


def iter_chunks(
    data: bytes,
    start: int = 12,
    end: int | None = None,
    *,
    byteorder: Literal["little", "big"] = "little",
) -> Iterator[Chunk]:
    """The chunks whose headers lie in data[start:end] (default: to the end of `data`), in order.

    Stops when fewer than 8 bytes are left for a header; a chunk whose declared size runs past
    `end` is yielded, and is the last."""
    stop = len(data) if end is None else min(end, len(data))
    size_format = "<I" if byteorder == "little" else ">I"
    offset = start
    while offset + 8 <= stop:
        (size,) = struct.unpack_from(size_format, data, offset + 4)
        chunk = Chunk(bytes(data[offset : offset + 4]), offset, size)
        yield chunk
        offset = chunk.next


def riff_chunks(data: bytes) -> Iterator[Chunk]:
    """The top-level chunks of a RIFF/WAVE file; ValueError if `data` is not one."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("not a RIFF/WAVE file")
    return iter_chunks(data)


def list_chunks(data: bytes, chunk: Chunk) -> Iterator[Chunk]:
    """The sub-chunks of a LIST chunk (after its 4-byte list type), within its declared size."""
    return iter_chunks(data, chunk.body + 4, chunk.end)


# --- the WAV format chunk ------------------------------------------------------------------

# wFormatTag values (Microsoft mmreg.h; RFC 2361 lists them) that decide what a WAV holds.
WAVE_FORMAT_PCM = 0x0001
WAVE_FORMAT_IEEE_FLOAT = 0x0003
WAVE_FORMAT_MPEG = 0x0050  # MPEG layer I/II inside RIFF
WAVE_FORMAT_MPEGLAYER3 = 0x0055
WAVE_FORMAT_EXTENSIBLE = 0xFFFE
# WAVEFORMATEXTENSIBLE's SubFormat is a GUID whose first two bytes are an ordinary format tag
# and whose other 14 are fixed (the KSDATAFORMAT_SUBTYPE_* GUIDs, ksmedia.h):
# {0000xxxx-0000-0010-8000-00aa00389b71}, stored little-endian.
_SUBFORMAT_TAIL = bytes.fromhex("000000001000800000aa00389b71")
_FORMAT_NAMES = {
    WAVE_FORMAT_PCM: "PCM",
    WAVE_FORMAT_IEEE_FLOAT: "float",
    WAVE_FORMAT_MPEG: "MPEG audio",
    WAVE_FORMAT_MPEGLAYER3: "MP3",
}


@dataclass(frozen=True)
class WaveFormat:
    """What a WAV's fmt chunk says. `tag` is wFormatTag as written; for WAVE_FORMAT_EXTENSIBLE
    (what sox and most DAWs write for 24-bit, for more than two channels, and often for float)
    the real encoding is in SubFormat, and `codec` is that, so a caller asks one question
    whichever header the writer chose."""

    tag: int
    channels: int
    sample_rate: int
    block_align: int
    bits_per_sample: int
    valid_bits: int | None = None  # WAVEFORMATEXTENSIBLE's wValidBitsPerSample
    subformat: int | None = None  # the tag inside SubFormat; None if it is no KSDATAFORMAT GUID

    @property
    def extensible(self) -> bool:
        return self.tag == WAVE_FORMAT_EXTENSIBLE

    @property
    def codec(self) -> int:
        """The sample encoding: SubFormat's tag for an extensible header (which stays
        WAVE_FORMAT_EXTENSIBLE if SubFormat names none), else wFormatTag."""
        if self.extensible:
            return self.subformat if self.subformat is not None else WAVE_FORMAT_EXTENSIBLE
        return self.tag

    @property
    def linear(self) -> bool:
        """Uncompressed integer PCM or IEEE float: the WAVs the vault takes, either header."""
        return self.codec in (WAVE_FORMAT_PCM, WAVE_FORMAT_IEEE_FLOAT)

    @property
    def lossy_mpeg(self) -> bool:
        return self.codec in (WAVE_FORMAT_MPEG, WAVE_FORMAT_MPEGLAYER3)

    def describe(self) -> str:
        """E.g. '24-bit PCM (WAVE_FORMAT_EXTENSIBLE)', '32-bit float', 'format 0x0002'."""
        name = _FORMAT_NAMES.get(self.codec)
        text = f"{self.bits_per_sample}-bit {name}" if name else f"format 0x{self.codec:04x}"
        return text + (" (WAVE_FORMAT_EXTENSIBLE)" if self.extensible else "")


def read_wave_format(data: bytes, chunk: Chunk) -> WaveFormat:
    """Parse a `fmt ` chunk: WAVEFORMAT's 14 bytes at least (PCMWAVEFORMAT adds wBitsPerSample,
    WAVEFORMATEX cbSize, WAVEFORMATEXTENSIBLE 22 more bytes). ValueError if the chunk or the
    file is too short to hold what it declares."""
    if chunk.id != b"fmt ":
        raise ValueError(f"not a fmt chunk: {chunk.id!r}")
    size = min(chunk.size, len(data) - chunk.body)
    if size < 14:
        raise ValueError("the WAV format chunk is shorter than its 14 fixed bytes")
    tag, channels, sample_rate, _, block_align = struct.unpack_from("<HHIIH", data, chunk.body)
    bits = struct.unpack_from("<H", data, chunk.body + 14)[0] if size >= 16 else 0
    if tag != WAVE_FORMAT_EXTENSIBLE:
        return WaveFormat(tag, channels, sample_rate, block_align, bits)
    if size < 40:
        raise ValueError("the WAV format chunk says WAVE_FORMAT_EXTENSIBLE but is cut short")
    valid_bits = struct.unpack_from("<H", data, chunk.body + 18)[0]
    guid = bytes(data[chunk.body + 24 : chunk.body + 40])
    subformat = struct.unpack_from("<H", guid)[0] if guid[2:] == _SUBFORMAT_TAIL else None
    return WaveFormat(tag, channels, sample_rate, block_align, bits, valid_bits, subformat)


def wave_format(data: bytes) -> WaveFormat | None:
    """The format of a RIFF/WAVE file (its first fmt chunk), or None if it has none.
    ValueError if `data` is not RIFF/WAVE or its fmt chunk is malformed."""
    for chunk in riff_chunks(data):
        if chunk.id == b"fmt ":
            return read_wave_format(data, chunk)
    return None
