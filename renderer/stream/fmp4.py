"""Fragmented MP4 (ISO/IEC 14496-12) boxes for FLAC audio, written by hand.

The stream's HLS delivery needs two kinds of file: one init segment (``ftyp`` + ``moov`` with
``mvex``/``trex``, declaring one FLAC track) and, per media segment, ``styp`` + one ``moof``
(``mfhd``, ``traf`` with ``tfhd``, ``tfdt``, ``trun``) + one ``mdat`` holding the segment's FLAC
frames. The FLAC track follows "Encapsulation of FLAC in ISO Base Media File Format" (Xiph,
v0.0.4): sample entry ``fLaC`` whose only child is a ``dfLa`` full box carrying the STREAMINFO
metadata block; one FLAC frame is one ISO sample.

Why by hand rather than through FFmpeg's mp4 muxer (PyAV): a media segment has to be made on
its own, by whichever worker renders it, with a chosen ``mfhd`` sequence number and ``tfdt``
baseMediaDecodeTime and no init section in front of it. FFmpeg's muxer writes a whole file
(``moov`` first, fragments numbered from its own counter, an encoder string in ``udta``), so a
segment would have to be cut back out of its output and re-numbered. The boxes needed are a
few fixed layouts from the standard; writing them here keeps every byte a pure function of the
samples and the segment's position (no creation times: all times are 0 as 14496-12 allows).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence

TRACK_ID = 1
# ISO/IEC 14496-12 8.8.7: tfhd flag default-base-is-moof, so trun's data_offset counts from the
# start of this moof and a segment is self-contained (CMAF 7.5.16 requires it too).
_TFHD_DEFAULT_BASE_IS_MOOF = 0x020000
# 8.8.8: trun carries data_offset, and per sample its duration and size.
_TRUN_FLAGS = 0x000001 | 0x000100 | 0x000200
_UNITY_MATRIX = struct.pack(">9I", 0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000)


def box(fourcc: bytes, *payload: bytes) -> bytes:
    """An ISO BMFF box (8.2): 32-bit size, four-character type, payload."""
    body = b"".join(payload)
    return struct.pack(">I4s", 8 + len(body), fourcc) + body


def full_box(fourcc: bytes, version: int, flags: int, *payload: bytes) -> bytes:
    """A FullBox (4.2): a box whose payload starts with version (8 bits) and flags (24 bits)."""
    return box(fourcc, struct.pack(">I", (version << 24) | flags), *payload)


def streaminfo(
    *, sample_rate: int, channels: int, bits_per_sample: int, block_frames: int
) -> bytes:
    """The 34-byte FLAC STREAMINFO body (RFC 9639 8.2) of a live stream.

    Frame sizes, total samples and the MD5 are 0, "unknown", as the RFC allows: a live stream has
    no end to count to, and leaving them unknown makes the init segment independent of the audio.
    Minimum and maximum block size are equal: a fixed-blocksize stream.
    """
    packed = (sample_rate << 44) | ((channels - 1) << 41) | ((bits_per_sample - 1) << 36)
    return (
        struct.pack(">HH", block_frames, block_frames) + b"\0" * 6 + packed.to_bytes(8) + b"\0" * 16
    )


def _flac_sample_entry(
    *, sample_rate: int, channels: int, bits_per_sample: int, info: bytes
) -> bytes:
    # FLAC-in-ISOBMFF 3.3.1: an AudioSampleEntry (14496-12 12.2.3) named fLaC; samplerate is
    # 16.16 fixed point, so rates above 65535 Hz cannot be written (callers are limited to 48 kHz).
    audio_entry = (
        b"\0" * 6
        + struct.pack(">H", 1)  # data_reference_index: the one 'url ' entry of dref
        + b"\0" * 8
        + struct.pack(">HHHHI", channels, bits_per_sample, 0, 0, sample_rate << 16)
    )
    # 3.3.2: dfLa holds FLAC metadata blocks, STREAMINFO first; its header's top bit marks the
    # last block (type 0 = STREAMINFO, 24-bit length).
    dfla = full_box(b"dfLa", 0, 0, struct.pack(">I", 0x80000000 | len(info)), info)
    return box(b"fLaC", audio_entry, dfla)


def init_segment(
    *, sample_rate: int, channels: int, bits_per_sample: int, block_frames: int
) -> bytes:
    """ftyp + moov for one FLAC track whose media timescale is the sample rate."""
    info = streaminfo(
        sample_rate=sample_rate,
        channels=channels,
        bits_per_sample=bits_per_sample,
        block_frames=block_frames,
    )
    ftyp = box(b"ftyp", b"iso6", struct.pack(">I", 0), b"iso6", b"mp41")
    mvhd = full_box(
        b"mvhd",
        0,
        0,
        struct.pack(">IIII", 0, 0, sample_rate, 0),  # creation, modification, timescale, duration
        struct.pack(">IH", 0x00010000, 0x0100) + b"\0" * 10,  # rate 1.0, volume 1.0, reserved
        _UNITY_MATRIX,
        b"\0" * 24,  # pre_defined
        struct.pack(">I", TRACK_ID + 1),  # next_track_ID
    )
    tkhd = full_box(
        b"tkhd",
        0,
        0x000003,  # track_enabled | track_in_movie
        struct.pack(">IIIII", 0, 0, TRACK_ID, 0, 0),  # times, track_ID, reserved, duration
        b"\0" * 8,
        struct.pack(">hhhH", 0, 0, 0x0100, 0),  # layer, alternate_group, volume 1.0, reserved
        _UNITY_MATRIX,
        struct.pack(">II", 0, 0),  # width, height: audio
    )
    # language "und" packed as three 5-bit letters (8.4.2.3)
    mdhd = full_box(b"mdhd", 0, 0, struct.pack(">IIIIHH", 0, 0, sample_rate, 0, 0x55C4, 0))
    hdlr = full_box(b"hdlr", 0, 0, b"\0" * 4, b"soun", b"\0" * 12, b"SoundHandler\0")
    dinf = box(b"dinf", full_box(b"dref", 0, 0, struct.pack(">I", 1), full_box(b"url ", 0, 1)))
    entry = _flac_sample_entry(
        sample_rate=sample_rate, channels=channels, bits_per_sample=bits_per_sample, info=info
    )
    # The sample tables are empty: every sample lives in the fragments (8.8.1).
    stbl = box(
        b"stbl",
        full_box(b"stsd", 0, 0, struct.pack(">I", 1), entry),
        full_box(b"stts", 0, 0, struct.pack(">I", 0)),
        full_box(b"stsc", 0, 0, struct.pack(">I", 0)),
        full_box(b"stsz", 0, 0, struct.pack(">II", 0, 0)),
        full_box(b"stco", 0, 0, struct.pack(">I", 0)),
    )
    minf = box(b"minf", full_box(b"smhd", 0, 0, struct.pack(">hH", 0, 0)), dinf, stbl)
    trak = box(b"trak", tkhd, box(b"mdia", mdhd, hdlr, minf))
    # trex defaults (8.8.3): sample description 1; durations and sizes come in every trun, and
    # default sample flags 0 mean every sample is a sync sample, as every FLAC frame is.
    trex = full_box(b"trex", 0, 0, struct.pack(">IIIII", TRACK_ID, 1, 0, 0, 0))
    moov = box(b"moov", mvhd, trak, box(b"mvex", trex))
    return ftyp + moov


def media_segment(
    samples: Sequence[bytes],
    *,
    sequence_number: int,
    base_decode_time: int,
    durations: Sequence[int],
) -> bytes:
    """styp + moof + mdat holding `samples` (one FLAC frame each) of the given durations."""
    if len(samples) != len(durations) or not samples:
        raise ValueError("a media segment needs one duration per sample and at least one sample")
    # 8.16.2: a segment type box; 'msdh' is the brand of a media segment.
    styp = box(b"styp", b"msdh", struct.pack(">I", 0), b"msdh", b"msix")
    mfhd = full_box(b"mfhd", 0, 0, struct.pack(">I", sequence_number))
    tfhd = full_box(b"tfhd", 0, _TFHD_DEFAULT_BASE_IS_MOOF, struct.pack(">I", TRACK_ID))
    # 8.8.12: version 1 carries a 64-bit baseMediaDecodeTime, enough for any stream's length.
    tfdt = full_box(b"tfdt", 1, 0, struct.pack(">Q", base_decode_time))
    entries = b"".join(
        struct.pack(">II", d, len(s)) for d, s in zip(durations, samples, strict=True)
    )

    def moof_with(data_offset: int) -> bytes:
        trun = full_box(
            b"trun", 0, _TRUN_FLAGS, struct.pack(">Ii", len(samples), data_offset), entries
        )
        return box(b"moof", mfhd, box(b"traf", tfhd, tfdt, trun))

    # data_offset: from the first byte of moof to the first sample, past mdat's 8-byte header.
    moof_size = len(moof_with(0))
    payload = b"".join(samples)
    return (
        styp + moof_with(moof_size + 8) + struct.pack(">I4s", 8 + len(payload), b"mdat") + payload
    )


def top_level_boxes(data: bytes) -> Iterator[tuple[bytes, int, int]]:
    """(type, start, end) of each top-level box; ValueError if the data is not a box sequence."""
    offset = 0
    while offset < len(data):
        if len(data) - offset < 8:
            raise ValueError(f"truncated box header at byte {offset}")
        size, fourcc = struct.unpack_from(">I4s", data, offset)
        header = 8
        if size == 1:  # 64-bit largesize follows the type (4.2)
            if len(data) - offset < 16:
                raise ValueError(f"truncated box header at byte {offset}")
            (size,) = struct.unpack_from(">Q", data, offset + 8)
            header = 16
        elif size == 0:  # the box runs to the end of the data
            size = len(data) - offset
        if size < header or offset + size > len(data):
            raise ValueError(f"box {fourcc!r} at byte {offset} has an impossible size {size}")
        yield fourcc, offset, offset + size
        offset += size


def uuid_box(extended_type: bytes, payload: bytes) -> bytes:
    """A 'uuid' box (4.2): a user type of 16 bytes, then private payload readers skip."""
    if len(extended_type) != 16:
        raise ValueError("a uuid box's extended type is 16 bytes")
    return box(b"uuid", extended_type, payload)
