"""The live stream's delivery format: FLAC in fragmented MP4, served as HLS (RFC 8216).

Codec: FLAC, 16-bit, 48 kHz stereo, 4000-frame blocks, in fMP4 (`renderer.stream.fmp4`).
Why FLAC: it is lossless, so segments rendered by different workers join bit-exactly (each FLAC
frame is independent: no encoder priming or overlap across segment boundaries, which AAC and
Opus would need); it is in Apple's HLS authoring spec (fMP4 'fLaC') and in Chromium's MSE, which
hls.js feeds; and it costs a fraction of an AAC encode's CPU. The encoder is FFmpeg's, through
PyAV (`CodecContext.create("flac", "w")`), one packet per FLAC frame.

Why 16-bit (TPDF-dithered) and not 24: the stream is a mastered programme at -14 LUFS for
shops, gyms and focus apps; 16 bits with dither give a 96 dB range, far below any room's noise,
and the low 8 bits a 24-bit stream would add are the mix's incompressible noise floor, which
costs about 60% more bytes (bench/stream_codec.py prints both). Chromium and Safari decode both.
The dither is TPDF (two uniform variables, +-1 LSB peak) drawn from a counter-based generator
(Philox) keyed by the absolute sample position, so the same output frame always gets the same
dither whichever worker renders it and however the stream is cut into segments.

Block size 4000 frames (1/12 s at 48 kHz) divides every segment length that is a multiple of
1/12 s (the default 2 s = 24 blocks), so every block of the stream is full and the frame
numbers in the FLAC frame headers count the whole stream: FFmpeg numbers each encoder's frames
from 0, so each frame header is renumbered to its place in the stream (with its CRC-8 and
CRC-16 updated). The mdat payloads of consecutive segments concatenated are then one valid
fixed-blocksize FLAC stream.
"""

from __future__ import annotations

import io
import json
import math
import struct
import threading
from collections.abc import Sequence
from typing import Any

import av
import numpy as np
import numpy.typing as npt

from renderer.plan import canonical_json
from renderer.stream import fmp4

CODECS = "fLaC"  # RFC 6381 codecs parameter for FLAC in ISOBMFF (FLAC-in-ISOBMFF 3.3.1)
SAMPLE_RATES = (44_100, 48_000)  # 16.16 sample entry rate and a whole 1/12 s block
CHANNELS = 2
BITS_PER_SAMPLE = 16
COMPRESSION_LEVEL = 2
_SCALE = 32768.0  # 2**15: float full scale <-> 16-bit integer
# A uuid box after mdat carries the segment's signed manifest; readers skip unknown uuid boxes.
MANIFEST_UUID = bytes.fromhex("7374656d7661756c742d6d616e696673")  # "stemvault-manifs"
_DITHER_KEY = 0x5354454D5641554C  # "STEMVAUL": a fixed key, so the dither is part of the format


def block_frames(sample_rate: int) -> int:
    """The FLAC block size: 1/12 s (4000 frames at 48 kHz, within FLAC's streamable subset)."""
    _check_rate(sample_rate)
    return sample_rate // 12


def peak_bandwidth(*, sample_rate: int = 48_000, channels: int = CHANNELS) -> int:
    """An upper bound of any segment's bitrate, for BANDWIDTH (RFC 8216 4.3.4.2: the peak),
    not counting the manifest box (add its bits per second).

    On incompressible audio FLAC can exceed PCM: a stereo side channel has one bit more. The
    bound is FFmpeg's own limit on a frame (ff_flac_get_max_frame_size: frame header, subframe
    headers, 2 x 16 + 1 bits a frame for decorrelated stereo, CRC), plus per block the trun
    entry and a generous share of the segment's fixed boxes (about 140 bytes a segment)."""
    block = block_frames(sample_rate)
    stereo_bits = 2 * BITS_PER_SAMPLE + 1 if channels == 2 else channels * BITS_PER_SAMPLE
    frame_max = 16 + channels * 3 + (stereo_bits * block + 7) // 8 + 2
    return 8 * (sample_rate // block) * (frame_max + 8 + 160)


def _check_rate(sample_rate: int) -> None:
    if sample_rate not in SAMPLE_RATES:
        raise ValueError(f"sample_rate must be one of {SAMPLE_RATES} Hz, not {sample_rate}")


def _check_samples(samples: np.ndarray, start_frame: int, sample_rate: int) -> int:
    _check_rate(sample_rate)
    block = sample_rate // 12
    if samples.ndim != 2 or samples.shape[1] not in (1, 2):
        raise ValueError(
            f"samples must have shape (frames, channels) with 1 or 2 channels, not {samples.shape}"
        )
    if samples.dtype != np.float32:
        raise ValueError(f"samples must be float32, not {samples.dtype}")
    frames = samples.shape[0]
    if frames == 0 or frames % block or start_frame % block or start_frame < 0:
        raise ValueError(
            f"a segment must start and end on {block}-frame blocks (1/12 s at {sample_rate} Hz): "
            f"got {frames} frames from frame {start_frame}"
        )
    if not np.isfinite(samples).all():
        raise ValueError(
            "samples contain NaN or infinite values; the engine's output must be finite"
        )
    return block


def quantise_dithered(samples: np.ndarray, *, start_frame: int) -> npt.NDArray[np.int16]:
    """16-bit integers of float samples, with TPDF dither keyed by each sample's position."""
    frames, channels = samples.shape
    count = frames * channels
    # Philox makes 4 uint64 per counter step; one uint64 holds two samples' pairs of 16-bit
    # uniform variables. _check_samples keeps start_frame * channels a multiple of 8.
    first = start_frame * channels // 2
    generator = np.random.Philox(key=_DITHER_KEY, counter=first // 4)
    halves = generator.random_raw((count + 1) // 2).view(np.uint16)[: 2 * count].reshape(count, 2)
    # The difference of two uniform variables is triangular (TPDF).
    dither = np.subtract(halves[:, 0], halves[:, 1], dtype=np.float32)
    dither *= np.float32(1.0 / 65536.0)
    scaled = np.multiply(samples.reshape(-1), np.float32(_SCALE), dtype=np.float32)
    scaled += dither
    np.rint(scaled, out=scaled)
    np.clip(scaled, -_SCALE, _SCALE - 1, out=scaled)
    pcm: npt.NDArray[np.int16] = scaled.astype(np.int16).reshape(frames, channels)
    return pcm


def delivered_samples(
    samples: np.ndarray,
    *,
    start_frame: int,
    sample_rate: int = 48_000,
    pcm: npt.NDArray[np.int16] | None = None,
) -> npt.NDArray[np.float32]:
    """What a listener's decoder yields for `samples` (the 16-bit dithered values as float32):
    the audio a segment's manifest hash (`pcm_sha256`) and fingerprint must be computed on.
    `pcm`: `quantise_dithered(samples, start_frame=start_frame)` when the caller has it."""
    _check_samples(samples, start_frame, sample_rate)
    if pcm is None:
        pcm = quantise_dithered(samples, start_frame=start_frame)
    return np.multiply(pcm, np.float32(1.0 / _SCALE), dtype=np.float32)


# --- FLAC frame headers (RFC 9639 9.1) --------------------------------------------------------

_CRC8 = [0] * 256
_CRC16 = [0] * 256
for _byte in range(256):
    _c8, _c16 = _byte, _byte << 8
    for _ in range(8):
        _c8 = ((_c8 << 1) ^ 0x07) & 0xFF if _c8 & 0x80 else (_c8 << 1) & 0xFF
        _c16 = ((_c16 << 1) ^ 0x8005) & 0xFFFF if _c16 & 0x8000 else (_c16 << 1) & 0xFFFF
    _CRC8[_byte], _CRC16[_byte] = _c8, _c16


def crc8(data: bytes) -> int:
    """CRC-8 of a FLAC frame header: polynomial x^8 + x^2 + x + 1, initial 0 (RFC 9639 9.1.8)."""
    crc = 0
    for byte in data:
        crc = _CRC8[crc ^ byte]
    return crc


def crc16(data: bytes) -> int:
    """CRC-16 of a FLAC frame: polynomial x^16 + x^15 + x^2 + 1, initial 0 (RFC 9639 9.3)."""
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ _CRC16[(crc >> 8) ^ byte]
    return crc


def _mulmod(a: int, b: int) -> int:
    """a * b modulo the CRC-16 polynomial, over GF(2)."""
    product = 0
    while b:
        if b & 1:
            product ^= a
        b >>= 1
        a <<= 1
        if a & 0x10000:
            a ^= 0x18005
    return product


_X8_POWERS = [0x100]  # x^(8 * 2^k) mod P: x^8, x^16, x^32, ...
for _ in range(32):
    _X8_POWERS.append(_mulmod(_X8_POWERS[-1], _X8_POWERS[-1]))


def _crc16_shift(crc: int, nbytes: int) -> int:
    """The CRC-16 of a message followed by `nbytes` zero bytes, from the message's CRC.

    CRC is linear: crc(H || R) = crc(H) * x^(8|R|) xor crc(R) (mod P), so changing the header of
    a frame changes its CRC-16 by the header CRCs' difference shifted by the rest's length, and
    the rest (the audio) need not be read again."""
    k = 0
    while nbytes:
        if nbytes & 1:
            crc = _mulmod(crc, _X8_POWERS[k])
        nbytes >>= 1
        k += 1
    return crc


def _coded_number(value: int) -> bytes:
    """The frame number in FLAC's extended UTF-8 coding (RFC 9639 9.1.5)."""
    if value < 0x80:
        return bytes([value])
    for length, limit in ((2, 1 << 11), (3, 1 << 16), (4, 1 << 21), (5, 1 << 26), (6, 1 << 31)):
        if value < limit:
            tail = [0x80 | ((value >> (6 * i)) & 0x3F) for i in reversed(range(length - 1))]
            lead = ((0xFF << (8 - length)) & 0xFF) | (value >> (6 * (length - 1)))
            return bytes([lead, *tail])
    raise ValueError(f"FLAC frame number {value} exceeds 31 bits")


def renumber_frame(frame: bytes, number: int) -> bytes:
    """The fixed-blocksize FLAC frame with its header's frame number set to `number`."""
    if frame[0] != 0xFF or frame[1] != 0xF8:
        raise ValueError("not a fixed-blocksize FLAC frame (sync code 0xFFF8)")
    lead = frame[4]
    old_length = 1 if lead < 0x80 else 8 - (~lead & 0xFF).bit_length()
    extra = {6: 1, 7: 2}.get(frame[2] >> 4, 0) + {12: 1, 13: 2, 14: 2}.get(frame[2] & 0x0F, 0)
    old_header_end = 4 + old_length + extra + 1  # through the CRC-8 byte
    new_header = frame[:4] + _coded_number(number) + frame[4 + old_length : old_header_end - 1]
    new_header += bytes([crc8(new_header)])
    rest = frame[old_header_end:-2]
    (old_crc,) = struct.unpack(">H", frame[-2:])
    delta = crc16(frame[:old_header_end]) ^ crc16(new_header)
    new_crc = old_crc ^ _crc16_shift(delta, len(rest))
    return new_header + rest + struct.pack(">H", new_crc)


# --- segments ---------------------------------------------------------------------------------


def init_segment(*, sample_rate: int = 48_000, channels: int = CHANNELS) -> bytes:
    """ftyp + moov of the stream (the EXT-X-MAP): the same bytes for every session."""
    if channels not in (1, 2):
        raise ValueError(f"channels must be 1 or 2, not {channels}")
    return fmp4.init_segment(
        sample_rate=sample_rate,
        channels=channels,
        bits_per_sample=BITS_PER_SAMPLE,
        block_frames=block_frames(sample_rate),
    )


class _KeptEncoder:
    """An open FLAC encoder kept from segment to segment by one thread.

    Opening an encoder costs about a third of a segment's encode. FLAC frames are independent
    (each predicts from its own samples only) and every segment is whole blocks, so a kept
    encoder gives the same frames as a fresh one; only the frame numbers in their headers run
    on, and `media_segment` renumbers every frame to its place in the stream anyway. It is
    never flushed (a flush ends an encoder; it only rewrites STREAMINFO's MD5, which no media
    segment carries)."""

    def __init__(self, sample_rate: int, layout: str, block: int) -> None:
        codec = av.CodecContext.create("flac", "w")
        assert isinstance(codec, av.AudioCodecContext)
        codec.sample_rate = sample_rate
        codec.layout = layout
        codec.format = "s16"
        codec.options = {"frame_size": str(block), "compression_level": str(COMPRESSION_LEVEL)}
        self.codec, self.pts = codec, 0

    def encode(self, pcm: npt.NDArray[np.int16], layout: str) -> list[bytes]:
        # One frame of the whole segment: PyAV's frame-size filter cuts it into blocks inside
        # FFmpeg, the same bytes as a call per block.
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), "s16", layout)
        frame.sample_rate = self.codec.sample_rate
        frame.pts = self.pts  # the encoder's timeline runs on from the last segment
        self.pts += pcm.shape[0]
        return [bytes(p) for p in self.codec.encode(frame)]


_kept = threading.local()


def _encode_flac(pcm: npt.NDArray[np.int16], *, sample_rate: int, block: int) -> list[bytes]:
    layout = "stereo" if pcm.shape[1] == 2 else "mono"
    encoders: dict[tuple[int, str, int], _KeptEncoder] = _kept.__dict__.setdefault("by_kind", {})
    kind = (sample_rate, layout, block)
    encoder = encoders.get(kind) or encoders.setdefault(kind, _KeptEncoder(*kind))
    try:
        packets = encoder.encode(pcm, layout)
    except Exception:
        del encoders[kind]  # a fresh encoder for the next segment
        raise
    if len(packets) * block != pcm.shape[0]:
        # Samples left inside the encoder would open the next segment's first frame.
        del encoders[kind]
    return [p for p in packets if p]


def media_segment(
    samples: np.ndarray,
    *,
    sequence: int,
    start_frame: int,
    sample_rate: int = 48_000,
    pcm: npt.NDArray[np.int16] | None = None,
) -> bytes:
    """styp + moof + mdat of one segment: its FLAC frames, tfdt = start_frame (in samples, the
    track's timescale), mfhd sequence_number = sequence + 1 (14496-12 8.8.5 counts from 1).
    `pcm`: `quantise_dithered(samples, start_frame=start_frame)` when the caller has it."""
    block = _check_samples(samples, start_frame, sample_rate)
    if sequence < 0:
        raise ValueError(f"sequence must be >= 0, not {sequence}")
    if pcm is None:
        pcm = quantise_dithered(samples, start_frame=start_frame)
    frames = _encode_flac(pcm, sample_rate=sample_rate, block=block)
    if len(frames) * block != samples.shape[0]:
        raise RuntimeError(f"the FLAC encoder returned {len(frames)} frames of {block}")
    first = start_frame // block
    numbered = [renumber_frame(f, first + i) for i, f in enumerate(frames)]
    return fmp4.media_segment(
        numbered,
        sequence_number=sequence + 1,
        base_decode_time=start_frame,
        durations=[block] * len(numbered),
    )


def decode_segments(init: bytes, segments: Sequence[bytes]) -> npt.NDArray[np.float32]:
    """Decode init + segments with FFmpeg's mp4 demuxer and FLAC decoder: float32 (frames, ch)."""
    with av.open(io.BytesIO(init + b"".join(segments)), mode="r", format="mp4") as container:
        stream = container.streams.audio[0]
        channels = stream.codec_context.channels
        parts = [frame.to_ndarray().reshape(-1, channels) for frame in container.decode(stream)]
    if not parts:
        return np.zeros((0, channels), dtype=np.float32)
    pcm = np.concatenate(parts)
    if pcm.dtype != np.int16:
        raise ValueError(f"expected 16-bit FLAC, the decoder gave {pcm.dtype}")
    decoded: npt.NDArray[np.float32] = np.multiply(pcm, np.float32(1.0 / _SCALE), dtype=np.float32)
    return decoded


# --- the manifest inside the segment ----------------------------------------------------------


def embed_segment_manifest(segment_bytes: bytes, signed_manifest: dict[str, Any]) -> bytes:
    """The media segment with its signed manifest in a top-level uuid box after mdat (any
    earlier manifest box is replaced). The audio boxes are untouched, so players skip it."""
    kept = []
    kinds = set()
    for fourcc, start, end in fmp4.top_level_boxes(segment_bytes):
        kinds.add(fourcc)
        if fourcc == b"uuid" and segment_bytes[start + 8 : start + 24] == MANIFEST_UUID:
            continue
        kept.append(segment_bytes[start:end])
    if not {b"moof", b"mdat"} <= kinds:
        raise ValueError("not a media segment: it has no moof and mdat box")
    return b"".join(kept) + fmp4.uuid_box(MANIFEST_UUID, canonical_json(signed_manifest))


def extract_segment_manifest(segment_bytes: bytes) -> dict[str, Any] | None:
    """The manifest embedded in a media segment; None when there is none or it is unreadable."""
    try:
        for fourcc, start, end in fmp4.top_level_boxes(segment_bytes):
            if fourcc == b"uuid" and segment_bytes[start + 8 : start + 24] == MANIFEST_UUID:
                manifest = json.loads(segment_bytes[start + 24 : end].decode("utf-8"))
                return manifest if isinstance(manifest, dict) else None
    except (ValueError, UnicodeDecodeError):
        return None
    return None


# --- playlists (RFC 8216) ---------------------------------------------------------------------


def _uri(uri: str, what: str) -> str:
    # 4.1: a URI line ends at the line break; a quoted-string (EXT-X-MAP's URI) holds no quote.
    if not uri or any(c in uri for c in '\r\n"') or uri.startswith("#"):
        raise ValueError(f"{what} {uri!r} is not a usable playlist URI")
    return uri


def media_playlist(
    *,
    segments: Sequence[tuple[int, float, str]],
    target_duration: int,
    init_uri: str,
    ended: bool = False,
    can_block_reload: bool = False,
) -> str:
    """A live media playlist (RFC 8216 4.3.3) over the window of (sequence, duration_s, uri).

    The caller slides the window; the sequences must be consecutive (6.2.2: a segment's media
    sequence number never changes) and no duration may round above the target (4.3.3.1).
    `can_block_reload` declares that the server holds a reload asking for a segment not yet
    listed (`_HLS_msn`) until it is (RFC 8216bis 4.4.3.8, 6.2.5.2); a playlist that has ended
    never changes again, so it never declares it."""
    if not segments:
        raise ValueError("a media playlist needs at least one segment; answer once one is stored")
    if target_duration < 1:
        raise ValueError(
            f"target_duration must be a whole number of seconds >= 1, not {target_duration}"
        )
    first = segments[0][0]
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:7",  # 7: EXT-X-MAP in a playlist without I-frames only (4.3.2.5)
        f"#EXT-X-TARGETDURATION:{target_duration}",
        f"#EXT-X-MEDIA-SEQUENCE:{first}",
        "#EXT-X-INDEPENDENT-SEGMENTS",  # 4.3.5.1: every FLAC frame decodes on its own
        f'#EXT-X-MAP:URI="{_uri(init_uri, "init_uri")}"',
    ]
    if can_block_reload and not ended:
        # No HOLD-BACK: its floor is three target durations (RFC 8216bis 4.4.3.8), which is what
        # a client assumes without it; no parts, so no PART-HOLD-BACK or EXT-X-PART-INF.
        lines.insert(3, "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES")
    for position, (sequence, duration, uri) in enumerate(segments):
        if sequence != first + position:
            raise ValueError(
                f"segment sequences must be consecutive: {sequence} follows {first + position - 1}"
            )
        if not (math.isfinite(duration) and duration > 0) or round(duration) > target_duration:
            raise ValueError(
                f"segment {sequence} lasts {duration} s; EXTINF must be > 0 and round to at most "
                f"the target duration {target_duration} s"
            )
        lines.append(f"#EXTINF:{duration:.6f},")  # 4.3.2.1: decimal-floating-point seconds
        lines.append(_uri(uri, f"segment {sequence} uri"))
    if ended:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def multivariant_playlist(*, media_uri: str, bandwidth: int) -> str:
    """A multivariant playlist (4.3.4.2) naming the one media playlist, its peak BANDWIDTH in
    bits per second and CODECS, so a player can tell before loading it that it can play it."""
    if bandwidth <= 0:
        raise ValueError(f"bandwidth must be a positive number of bits per second, not {bandwidth}")
    return (
        "\n".join(
            [
                "#EXTM3U",
                "#EXT-X-VERSION:7",
                "#EXT-X-INDEPENDENT-SEGMENTS",
                f'#EXT-X-STREAM-INF:BANDWIDTH={bandwidth},CODECS="{CODECS}"',
                _uri(media_uri, "media_uri"),
            ]
        )
        + "\n"
    )
