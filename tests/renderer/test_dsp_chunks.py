"""renderer.dsp.chunks: the one RIFF / IFF chunk walker."""

from __future__ import annotations

import struct

import pytest

from renderer.dsp.chunks import iter_chunks, list_chunks, riff_chunks


def _chunk(chunk_id: bytes, body: bytes, fmt: str = "<I") -> bytes:
    return chunk_id + struct.pack(fmt, len(body)) + body + (b"\x00" if len(body) & 1 else b"")


def test_it_walks_chunks_skipping_the_pad_byte_of_odd_sizes():
    body = _chunk(b"fmt ", b"x" * 16) + _chunk(b"odd!", b"abc") + _chunk(b"data", b"\x01\x02")
    wav = b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WAVE" + body
    chunks = list(riff_chunks(wav))
    assert [(c.id, c.size) for c in chunks] == [(b"fmt ", 16), (b"odd!", 3), (b"data", 2)]
    odd = chunks[1]
    assert wav[odd.body : odd.end] == b"abc" and odd.next == chunks[2].offset


def test_big_endian_sizes_walk_an_aiff():
    body = _chunk(b"COMM", b"c" * 18, ">I") + _chunk(b"NAME", b"kick", ">I")
    aiff = b"FORM" + struct.pack(">I", 4 + len(body)) + b"AIFF" + body
    assert [(c.id, c.size) for c in iter_chunks(aiff, byteorder="big")] == [
        (b"COMM", 18),
        (b"NAME", 4),
    ]


def test_a_size_that_overruns_the_file_is_reported_as_declared_and_ends_the_walk():
    wav = b"RIFF\x00\x00\x00\x00WAVE" + b"data" + struct.pack("<I", 1000) + b"\x00" * 10
    (data,) = list(riff_chunks(wav))
    assert data.size == 1000 and data.end > len(wav)
    assert list(iter_chunks(wav + b"abc")) == [data]  # a torn header is no chunk


def test_a_list_chunk_holds_chunks_of_its_own():
    info = b"INFO" + _chunk(b"INAM", b"Title\x00") + _chunk(b"ISFT", b"Tool")
    wav = b"RIFF\x00\x00\x00\x00WAVE" + _chunk(b"LIST", info) + _chunk(b"data", b"")
    listing = next(riff_chunks(wav))
    assert [(c.id, wav[c.body : c.end]) for c in list_chunks(wav, listing)] == [
        (b"INAM", b"Title\x00"),
        (b"ISFT", b"Tool"),
    ]


def test_only_a_riff_wave_file_has_riff_chunks():
    with pytest.raises(ValueError, match="not a RIFF/WAVE file"):
        riff_chunks(b"FORM\x00\x00\x00\x04AIFF")
