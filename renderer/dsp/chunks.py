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
