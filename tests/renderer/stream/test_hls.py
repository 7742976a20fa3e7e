"""The stream's delivery format, checked by independent tools: FFmpeg's HLS demuxer, ffprobe and
libFLAC (through soundfile) read what renderer.stream.hls writes, sample for sample."""

from __future__ import annotations

import io
import multiprocessing
import shutil
import struct
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from renderer.stream import fmp4, hls
from tests.conftest import need
from tests.renderer.stream.hls_files import RATE, SEGMENT, chirp_and_noise, encode_run, write_stream


def mdat_payload(segment: bytes) -> bytes:
    for fourcc, start, end in fmp4.top_level_boxes(segment):
        if fourcc == b"mdat":
            return segment[start + 8 : end]
    raise AssertionError("no mdat")


def _encode_in_child(args: tuple[np.ndarray, int]) -> bytes:
    samples, index = args
    return hls.media_segment(samples, sequence=index, start_frame=index * SEGMENT)


def test_segments_encoded_apart_decode_to_the_continuous_signal_bit_exactly() -> None:
    signal = chirp_and_noise(8 * SEGMENT)
    decoded = hls.decode_segments(hls.init_segment(), encode_run(signal))
    assert decoded.shape == signal.shape
    # FLAC is lossless: what comes out is exactly the 16-bit dithered signal ...
    assert np.array_equal(decoded, hls.delivered_samples(signal, start_frame=0))
    # ... which is the input within rounding plus TPDF dither (<= 1.5 LSB), never a gap or click.
    assert np.abs(decoded - signal).max() <= 1.5 / 32768
    assert np.abs(decoded - signal).max() > 0.5 / 32768  # the dither is really there


def test_a_segment_made_in_another_process_has_the_same_bytes() -> None:
    signal = chirp_and_noise(3 * SEGMENT)
    here = encode_run(signal)
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        there = pool.map(
            _encode_in_child, [(signal[i * SEGMENT : (i + 1) * SEGMENT], i) for i in range(3)]
        )
    assert there == here
    assert hls.init_segment() == hls.init_segment()
    assert len(set(here)) == 3


def test_a_thread_s_kept_encoder_gives_the_bytes_of_a_fresh_one() -> None:
    # Each thread keeps its FLAC encoder open from segment to segment; what it has encoded
    # before (other sessions, other positions) must not show in the next segment's bytes.
    signal = chirp_and_noise(4 * SEGMENT)
    parts = [signal[i * SEGMENT : (i + 1) * SEGMENT] for i in range(4)]
    for index in (3, 0, 2):  # this thread's encoder has seen these first, out of order
        hls.media_segment(parts[index], sequence=index, start_frame=index * SEGMENT)
    used = hls.media_segment(parts[1], sequence=1, start_frame=SEGMENT)
    fresh: list[bytes] = []
    worker = threading.Thread(
        target=lambda: fresh.append(hls.media_segment(parts[1], sequence=1, start_frame=SEGMENT))
    )
    worker.start()
    worker.join()
    assert fresh == [used]
    decoded = hls.decode_segments(hls.init_segment(), [used])
    assert np.array_equal(decoded, hls.delivered_samples(parts[1], start_frame=SEGMENT))


def test_the_dither_belongs_to_the_sample_position_not_to_the_cut() -> None:
    signal = chirp_and_noise(SEGMENT)
    whole = hls.delivered_samples(signal, start_frame=SEGMENT)
    halves = [
        hls.delivered_samples(signal[: SEGMENT // 2], start_frame=SEGMENT),
        hls.delivered_samples(signal[SEGMENT // 2 :], start_frame=SEGMENT + SEGMENT // 2),
    ]
    assert np.array_equal(whole, np.concatenate(halves))
    # The same samples at another position are dithered differently.
    assert not np.array_equal(whole, hls.delivered_samples(signal, start_frame=2 * SEGMENT))


def test_a_quiet_passage_keeps_its_shape_under_the_dither() -> None:
    # A sine of 0.4 LSB peak would round to silence without dither; TPDF keeps it, as noise.
    t = np.arange(SEGMENT) / RATE
    quiet = np.repeat((0.4 / 32768 * np.sin(2 * np.pi * 1000 * t))[:, None], 2, axis=1).astype(
        np.float32
    )
    out = hls.delivered_samples(quiet, start_frame=0)[:, 0].astype(np.float64)
    correlation = np.dot(out, quiet[:, 0]) / (np.linalg.norm(out) * np.linalg.norm(quiet[:, 0]))
    assert correlation > 0.2


def test_the_mdat_payloads_joined_are_one_valid_flac_stream_for_libflac() -> None:
    # 6 segments are frames 0..143: frame numbers from 128 on take a 2-byte code. libFLAC reads
    # a frame's position from its number, so a run that does not start at frame 0 is not a file.
    signal = chirp_and_noise(6 * SEGMENT)
    segments = encode_run(signal)
    frames = b"".join(mdat_payload(s) for s in segments)
    info = bytearray(
        fmp4.streaminfo(sample_rate=RATE, channels=2, bits_per_sample=16, block_frames=4000)
    )
    # libsndfile wants the total sample count to size its read; the live init leaves it unknown.
    info[13:18] = (int.from_bytes(info[13:18]) | signal.shape[0]).to_bytes(5)
    flac_file = b"fLaC" + struct.pack(">I", 0x80000000 | len(info)) + bytes(info) + frames
    decoded, rate = sf.read(io.BytesIO(flac_file), dtype="float32")
    assert rate == RATE
    assert np.array_equal(decoded, hls.delivered_samples(signal, start_frame=0))


def test_every_frame_header_carries_its_place_in_the_stream_with_valid_crcs() -> None:
    segment = hls.media_segment(chirp_and_noise(SEGMENT), sequence=40, start_frame=40 * SEGMENT)
    payload = mdat_payload(segment)
    trun_sizes = _trun_sample_sizes(segment)
    assert len(trun_sizes) == SEGMENT // 4000
    offset = 0
    for index, size in enumerate(trun_sizes):
        frame = payload[offset : offset + size]
        offset += size
        assert frame[:2] == b"\xff\xf8"
        number, header_end = _frame_number(frame)
        assert number == 40 * SEGMENT // 4000 + index
        assert hls.crc8(frame[: header_end - 1]) == frame[header_end - 1]
        assert hls.crc16(frame[:-2]) == struct.unpack(">H", frame[-2:])[0]
    assert offset == len(payload)


def test_renumbering_a_frame_matches_a_full_crc_recomputation() -> None:
    frames = hls._encode_flac(
        hls.quantise_dithered(chirp_and_noise(8000), start_frame=0), sample_rate=RATE, block=4000
    )
    for number in (0, 1, 127, 128, 2047, 2048, 65535, 65536, 2**21, 2**26, 2**31 - 1):
        frame = hls.renumber_frame(frames[1], number)
        assert _frame_number(frame)[0] == number
        assert hls.crc16(frame[:-2]) == struct.unpack(">H", frame[-2:])[0]
    with pytest.raises(ValueError, match="31 bits"):
        hls.renumber_frame(frames[0], 2**31)


def test_the_init_segment_declares_one_16_bit_flac_track_with_its_streaminfo() -> None:
    init = hls.init_segment()
    assert [b for b, _, _ in fmp4.top_level_boxes(init)] == [b"ftyp", b"moov"]
    assert b"fLaC" in init and b"dfLa" in init and b"trex" in init
    info = fmp4.streaminfo(sample_rate=RATE, channels=2, bits_per_sample=16, block_frames=4000)
    assert init.find(info) > init.find(b"dfLa")
    assert hls.init_segment(channels=1) != init


# --- independent readers: ffmpeg and ffprobe -----------------------------------------------------


def _tool(name: str) -> str:
    path = shutil.which(name)
    need(path is not None, f"{name} is not installed")
    assert path is not None
    return path


@pytest.mark.parametrize("manifests", [False, True], ids=["plain", "with-manifests"])
def test_ffmpeg_decodes_the_playlist_bit_exactly_and_quietly(
    tmp_path: Path, manifests: bool
) -> None:
    signal = chirp_and_noise(6 * SEGMENT)
    playlist = write_stream(tmp_path, signal, ended=True, manifests=manifests)
    result = subprocess.run(
        [_tool("ffmpeg"), "-nostdin", "-v", "warning", "-i", str(playlist), "-f", "f32le", "-"],
        capture_output=True,
        check=True,
        timeout=120,
    )
    assert result.stderr.decode() == ""
    decoded = np.frombuffer(result.stdout, dtype=np.float32).reshape(-1, 2)
    assert np.array_equal(decoded, hls.delivered_samples(signal, start_frame=0))


@pytest.mark.parametrize("ended", [True, False], ids=["ended", "live"])
def test_ffprobe_reads_the_stream_without_a_warning(tmp_path: Path, ended: bool) -> None:
    playlist = write_stream(tmp_path, chirp_and_noise(3 * SEGMENT), ended=ended, manifests=True)
    # The live one carries the low-latency server control tag, which ffprobe must take quietly.
    blocking = "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES" in (tmp_path / "media.m3u8").read_text()
    assert blocking is not ended
    result = subprocess.run(
        [
            _tool("ffprobe"),
            "-v",
            "warning",
            "-show_entries",
            "stream=codec_name,codec_tag_string,sample_rate,channels,sample_fmt",
            "-of",
            "default=noprint_wrappers=1",
            str(playlist),
        ],
        capture_output=True,
        check=True,
        timeout=120,
    )
    assert result.stderr.decode() == ""
    fields = dict(line.split("=", 1) for line in result.stdout.decode().split())
    assert fields == {
        "codec_name": "flac",
        "codec_tag_string": "fLaC",
        "sample_rate": "48000",
        "channels": "2",
        "sample_fmt": "s16",
    }


# --- helpers reading the bytes back ---------------------------------------------------------------


def _trun_sample_sizes(segment: bytes) -> list[int]:
    start = segment.index(b"trun") - 4
    (count,) = struct.unpack_from(">I", segment, start + 12)
    return [struct.unpack_from(">II", segment, start + 20 + 8 * i)[1] for i in range(count)]


def _frame_number(frame: bytes) -> tuple[int, int]:
    """The coded number of a frame header (RFC 9639 9.1.5) and the header's end (past CRC-8)."""
    lead = frame[4]
    length = 1 if lead < 0x80 else 8 - (~lead & 0xFF).bit_length()
    value = lead if length == 1 else lead & (0xFF >> (length + 1))
    for byte in frame[5 : 4 + length]:
        value = (value << 6) | (byte & 0x3F)
    extra = {6: 1, 7: 2}.get(frame[2] >> 4, 0)
    return value, 4 + length + extra + 1
