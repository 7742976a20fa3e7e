"""MP3 deliveries: the mastered samples encoded as MPEG-1 Layer III, CBR 320 kbps, gapless.

The encoder is LAME (libmp3lame) inside PyAV's wheels (PyPI `av`, the FFmpeg bindings the
live stream already encodes with, renderer/stream/hls.py): LAME is the reference MP3 encoder,
maintained in every distribution, and PyAV ships it prebuilt for every platform we run on, so
this adds no dependency. (`lameenc` on PyPI wraps the same LAME but writes no Xing/LAME header,
so decoders could not trim its delay and padding; libsndfile's MP3 writer has no CBR setting
through soundfile 0.13's API on every platform.)

Constant bit rate, 320 kbps, the highest MPEG-1 Layer III allows: what broadcasters' and
editors' ingest specs ask for when they take MP3 at all. FFmpeg's MP3 muxer writes a LAME
"Info" header frame (the CBR form of the Xing header) holding the encoder delay and the padding
(LAME's 576 + 529 samples in front, the rest of the last frame at the end), so FFmpeg, libmpg123
and every player that reads the LAME tag trim them: the decoded MP3 is exactly as long as the
master and starts on the same sample (tests/renderer/test_mp3.py checks with the ffmpeg CLI).

MPEG-1 Layer III carries 32, 44.1 and 48 kHz only: a master at 88.2 or 96 kHz is halved first
with the renderer's polyphase resampler (its anti-alias filter is the one every resampling in
the renderer uses). No ID3v2 tag is written here: the Content Credentials that are signed next
(renderer.credentials) put their own ID3v2 tag in front of the stream, holding the C2PA GEOB.
"""

from __future__ import annotations

import io

import av
import numpy as np

from renderer.audio import Samples
from renderer.dsp.resample import polyphase_resample

MP3_BIT_RATE = 320_000  # bits per second, constant
MP3_SAMPLE_RATES = (32000, 44100, 48000)  # what MPEG-1 Layer III can carry
_FRAME = 1152  # samples per MPEG-1 Layer III frame: LAME's input frame size
_LAYOUTS = {1: "mono", 2: "stereo"}


def mp3_sample_rate(sample_rate: int) -> int:
    """The rate a master of `sample_rate` is delivered at as MP3 (halved above 48 kHz)."""
    if sample_rate in MP3_SAMPLE_RATES:
        return sample_rate
    if sample_rate // 2 in MP3_SAMPLE_RATES and sample_rate % 2 == 0:
        return sample_rate // 2
    raise ValueError(f"no MP3 sample rate for a {sample_rate} Hz master")


def encode_mp3(samples: Samples, sample_rate: int, *, bit_rate: int = MP3_BIT_RATE) -> bytes:
    """MP3 bytes (CBR `bit_rate`, LAME Info header for gapless playback) of float32 samples of
    shape (frames, channels) in -1..1, at `mp3_sample_rate(sample_rate)`."""
    frames, channels = samples.shape
    if channels not in _LAYOUTS:
        raise ValueError(f"MP3 carries mono or stereo, not {channels} channels")
    rate = mp3_sample_rate(sample_rate)
    if rate != sample_rate:
        samples = polyphase_resample(samples, 1, 2, round(frames * rate / sample_rate))
    planar = np.ascontiguousarray(samples.T, dtype=np.float32)
    out = io.BytesIO()
    # id3v2_version 0: no ID3v2 tag of FFmpeg's (the credentials add theirs); write_xing: the
    # LAME Info header with delay and padding (needs a seekable output, which BytesIO is).
    options = {"id3v2_version": "0", "write_xing": "1"}
    with av.open(out, mode="w", format="mp3", options=options) as container:
        stream = container.add_stream("libmp3lame", rate=rate, layout=_LAYOUTS[channels])
        assert isinstance(stream, av.AudioStream)
        stream.bit_rate = bit_rate  # without a VBR quality set, libmp3lame encodes CBR
        pts = 0
        for start in range(0, planar.shape[1], _FRAME):
            block = np.ascontiguousarray(planar[:, start : start + _FRAME])
            frame = av.AudioFrame.from_ndarray(block, format="fltp", layout=_LAYOUTS[channels])
            frame.sample_rate = rate
            frame.pts = pts
            pts += frame.samples
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()
