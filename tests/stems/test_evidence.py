"""portal.stems.evidence: tags read through the renderer's chunk walker, and explained shares."""

from __future__ import annotations

import struct

import numpy as np

from portal.stems.evidence import explained_share, read_tags
from renderer.audio import Audio
from tests.factories.audio import encode


def _chunk(chunk_id: bytes, body: bytes, fmt: str) -> bytes:
    return chunk_id + struct.pack(fmt, len(body)) + body + (b"\x00" if len(body) & 1 else b"")


def test_riff_info_tags_after_an_odd_sized_chunk_are_read():
    wav = encode(np.zeros((100, 1), np.float32), 44100, subtype="PCM_16")
    info = b"INFO" + _chunk(b"INAM", b"Loop\x00", "<I") + _chunk(b"ISFT", b"Suno v4", "<I")
    extra = _chunk(b"odd ", b"abc", "<I") + _chunk(b"LIST", info, "<I")
    body = wav[12:] + extra
    tagged = b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WAVE" + body
    tags = read_tags(tagged)
    assert ("RIFF INFO", "INAM (title)", "Loop") in tags
    assert ("RIFF INFO", "ISFT (software)", "Suno v4") in tags


def test_aiff_text_chunks_are_read_with_big_endian_sizes():
    body = _chunk(b"COMM", b"\x00" * 18, ">I") + _chunk(b"NAME", b"Kick", ">I")
    body += _chunk(b"AUTH", b"Ada", ">I") + _chunk(b"ANNO", b"made with udio", ">I")
    aiff = b"FORM" + struct.pack(">I", 4 + len(body)) + b"AIFF" + body
    tags = read_tags(aiff)
    assert ("AIFF text", "NAME", "Kick") in tags
    assert ("AIFF text", "AUTH", "Ada") in tags
    assert ("AIFF text", "ANNO", "made with udio") in tags


def test_a_stem_layered_into_an_upload_explains_its_share_of_the_energy():
    rate = 44100
    rng = np.random.default_rng(2)
    t = np.arange(rate * 4) / rate
    stem = (0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 2 * t))).astype(np.float32)
    other = (0.05 * rng.standard_normal(t.size)).astype(np.float32)
    upload = Audio((stem + other)[:, None], rate)
    share, overlap = explained_share(
        upload, Audio(stem[:, None], rate), query_offset_s=0.0, item_offset_s=0.0
    )
    assert 0.8 <= share <= 1.0 and overlap == 1.0
    alone, _ = explained_share(
        Audio(other[:, None], rate),
        Audio(stem[:, None], rate),
        query_offset_s=0.0,
        item_offset_s=0.0,
    )
    assert alone < 0.2
