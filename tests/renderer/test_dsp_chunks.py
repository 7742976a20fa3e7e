"""renderer.dsp.chunks: the one RIFF / IFF chunk walker."""

from __future__ import annotations

import struct

import pytest

from renderer.dsp.chunks import (
    WAVE_FORMAT_EXTENSIBLE,
    WAVE_FORMAT_IEEE_FLOAT,
    WAVE_FORMAT_MPEGLAYER3,
    WAVE_FORMAT_PCM,
    iter_chunks,
    list_chunks,
    read_wave_format,
    riff_chunks,
    wave_format,
)
from tests.factories.audio import RATE, WAV_VARIANTS, encode, tone, wav_variant


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


# --- the WAV format chunk (issue 18: WAVE_FORMAT_EXTENSIBLE files were refused) -----------


@pytest.mark.parametrize("label", WAV_VARIANTS)
def test_the_fmt_reader_sees_through_every_header_variant_to_the_encoding(label: str) -> None:
    data = wav_variant(tone(seconds=0.1), label)
    wave = wave_format(data)
    assert wave is not None and wave.linear and not wave.lossy_mpeg
    assert wave.channels == 2 and wave.sample_rate == RATE
    float_ = "FLOAT" in label or "floating" in label
    assert wave.codec == (WAVE_FORMAT_IEEE_FLOAT if float_ else WAVE_FORMAT_PCM)
    assert wave.extensible == (wave.tag == WAVE_FORMAT_EXTENSIBLE)
    if "WAVEX" in label or label in ("sox -b 24", "sox -b 32"):
        assert wave.extensible and wave.describe().endswith("(WAVE_FORMAT_EXTENSIBLE)")
    bits = 32 if float_ else int(label[-2:])
    assert wave.bits_per_sample == bits and wave.block_align == 2 * bits // 8


def _extensible_with_subformat(tag: int, *, tail: bytes | None = None) -> bytes:
    data = bytearray(encode(tone(seconds=0.1), RATE, fmt="WAVEX", subtype="PCM_24"))
    fmt = data.index(b"fmt ") + 8
    struct.pack_into("<H", data, fmt + 24, tag)
    if tail is not None:
        data[fmt + 26 : fmt + 40] = tail
    return bytes(data)


def test_an_extensible_header_carrying_mp3_is_lossy_and_an_unknown_guid_is_not_linear() -> None:
    mp3 = wave_format(_extensible_with_subformat(WAVE_FORMAT_MPEGLAYER3))
    assert mp3 is not None and mp3.lossy_mpeg and not mp3.linear
    odd = wave_format(_extensible_with_subformat(WAVE_FORMAT_PCM, tail=bytes(14)))
    assert odd is not None and odd.subformat is None and odd.codec == WAVE_FORMAT_EXTENSIBLE
    assert not odd.linear and odd.describe().startswith("format 0xfffe")


def test_a_fmt_chunk_too_short_for_what_it_declares_is_an_error() -> None:
    data = bytearray(encode(tone(seconds=0.1), RATE, fmt="WAVEX", subtype="PCM_24"))
    at = data.index(b"fmt ")
    struct.pack_into("<I", data, at + 4, 18)  # says EXTENSIBLE, holds only WAVEFORMATEX
    chunk = next(c for c in riff_chunks(bytes(data)) if c.id == b"fmt ")
    with pytest.raises(ValueError, match="EXTENSIBLE but is cut short"):
        read_wave_format(bytes(data), chunk)
    short = b"RIFF\x10\x00\x00\x00WAVE" + _chunk(b"fmt ", b"\x01\x00\x02\x00")
    with pytest.raises(ValueError, match="14 fixed bytes"):
        wave_format(short)
