"""The live stream's codec: encode speed of `renderer.stream.hls.media_segment` on one core and
the bitrate it delivers. Run alone with `python -m bench --module stream_codec`; a caller with
rendered segments of its own passes them to `codec_figures(samples)`.

Figures (each the median of RUNS rounds over the same 2 s segments, ours and the bare encoder
in interleaved rounds after an untimed one (`bench.interleaved_rounds`, as bench.render times
its peers), pinned to one CPU with one BLAS thread, as bench.render does):
- stream_encode_rtf: seconds of audio turned into finished media segments (dither, FLAC encode,
  frame renumbering, fMP4 boxes) per second of one core.
- stream_encode_rtf_cpu: the same over the process's CPU time instead of wall time (on a shared
  machine the pinned core is not ours alone; cpu/wall says how much of it we had).
- stream_encode_vs_bare_flac_ratio: media_segment's time over FFmpeg's FLAC encoder alone on the
  same 16-bit PCM (PyAV, same level and block size), measured in the same rounds: the cost of
  everything this project adds around the library encoder.
- stream_bitrate_kbps: the media segments' bytes (boxes included, no manifest) per second.
- stream_bitrate_vs_pcm_ratio: that over 16-bit stereo PCM's 1536 kbit/s.
- stream_bitrate_24bit_vs_16bit_ratio: what the same audio would cost as 24-bit FLAC (the
  choice not made; see the docstring of renderer.stream.hls).

The audio: eight CC0 corpus stems (beats, bass, pads), resampled to 48 kHz, looped, summed and
normalised to a -1 dBFS peak, when ../shared/corpus is there; else a synthetic chirp and pink
noise. Real music compresses better than noise, so the synthetic figures are pessimistic.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable

import av
import numpy as np
import numpy.typing as npt
import soundfile as sf

from bench import Figure, corpus_mix_paths, interleaved_rounds, one_cpu
from renderer.dsp.resample import polyphase_resample
from renderer.encoding import quantise_24
from renderer.stream import hls

FIGURES = (
    "stream_encode_rtf",
    "stream_encode_rtf_cpu",
    "stream_encode_vs_bare_flac_ratio",
    "stream_bitrate_kbps",
    "stream_bitrate_vs_pcm_ratio",
    "stream_bitrate_24bit_vs_16bit_ratio",
)
RATE = 48_000
SEGMENT = 96_000
SEGMENTS = 8
RUNS = 5


def programme(seconds: int = SEGMENT * SEGMENTS // RATE) -> npt.NDArray[np.float32]:
    """A stand-in for the engine's mastered output: float32 (frames, 2) at 48 kHz."""
    frames = seconds * RATE
    mix = np.zeros((frames, 2), dtype=np.float32)
    paths = corpus_mix_paths()
    if paths is not None:
        for path in paths:
            audio, rate = sf.read(path, dtype="float32", always_2d=True)
            audio = np.ascontiguousarray(
                np.repeat(audio, 2, axis=1) if audio.shape[1] == 1 else audio[:, :2]
            )
            if rate != RATE:
                common = math.gcd(RATE, rate)  # 44.1 -> 48 kHz is 160 / 147
                up, down = RATE // common, rate // common
                audio = polyphase_resample(audio, up, down, audio.shape[0] * up // down)
            mix += np.resize(audio, (frames, 2))
    else:
        t = np.arange(frames) / RATE
        mix[:, 0] = np.sin(2 * np.pi * (80 * t + 40 * t * t))
        spectrum = np.fft.rfft(np.random.default_rng(0).standard_normal(frames))
        spectrum[1:] /= np.sqrt(np.fft.rfftfreq(frames, 1 / RATE)[1:] / 100)
        mix[:, 1] = np.fft.irfft(spectrum, frames)
    mix *= np.float32(10 ** (-1 / 20) / np.abs(mix).max())
    return mix


def _flac24_bytes(samples: npt.NDArray[np.float32]) -> int:
    pcm, _ = quantise_24(samples)
    codec = av.CodecContext.create("flac", "w")
    assert isinstance(codec, av.AudioCodecContext)
    codec.sample_rate, codec.layout, codec.format = RATE, "stereo", "s32"
    codec.options = {
        "frame_size": "4000",
        "compression_level": str(hls.COMPRESSION_LEVEL),
        "bits_per_raw_sample": "24",
    }
    total = 0
    for start in range(0, pcm.shape[0], 4000):
        block = np.left_shift(pcm[start : start + 4000], 8).reshape(1, -1)  # s32 holds 24 bits high
        frame = av.AudioFrame.from_ndarray(block, "s32", "stereo")
        frame.sample_rate, frame.pts = RATE, start
        total += sum(p.size for p in codec.encode(frame))
    return total


def codec_figures(
    samples: npt.NDArray[np.float32] | None = None, *, runs: int = RUNS
) -> list[Figure]:
    """The codec's figures over `samples` (float32 (frames, 2) at 48 kHz, whole 2 s segments)."""
    audio = programme() if samples is None else samples
    count = audio.shape[0] // SEGMENT
    if count == 0:
        raise ValueError(f"need at least one {SEGMENT}-frame segment of audio")
    parts = [np.ascontiguousarray(audio[i * SEGMENT : (i + 1) * SEGMENT]) for i in range(count)]
    pcm = [hls.quantise_dithered(p, start_frame=i * SEGMENT) for i, p in enumerate(parts)]
    seconds = count * SEGMENT / RATE
    segments: list[bytes] = []
    block = hls.block_frames(RATE)

    def ours() -> None:
        segments[:] = [
            hls.media_segment(part, sequence=index, start_frame=index * SEGMENT)
            for index, part in enumerate(parts)
        ]

    def bare() -> None:
        for pcm_block in pcm:
            hls._encode_flac(pcm_block, sample_rate=RATE, block=block)

    # CPU time (process_time: this thread alone once pinned) as well as wall time: on a shared
    # machine the pinned core is not ours alone.
    with one_cpu():
        rounds = interleaved_rounds({"ours": ours, "bare": bare}, runs)
    wall_s = statistics.median(rounds["ours"].wall)
    cpu_s = statistics.median(rounds["ours"].cpu)
    bare_s = statistics.median(rounds["bare"].cpu)
    kbps = sum(len(s) for s in segments) * 8 / seconds / 1000
    kbps_24 = _flac24_bytes(audio[: count * SEGMENT]) * 8 / seconds / 1000
    return [
        Figure(
            "stream_encode_rtf",
            round(seconds / wall_s, 1),
            "x real time, one core",
            ">= 300 (whole segment pipeline)",
            peer=f"cpu/wall {cpu_s / wall_s:.2f}",
        ),
        Figure(
            "stream_encode_rtf_cpu",
            round(seconds / cpu_s, 1),
            "x real time per CPU second",
            ">= 300 (whole segment pipeline)",
        ),
        Figure(
            "stream_encode_vs_bare_flac_ratio",
            round(cpu_s / bare_s, 3),
            "ratio of CPU time",
            "close to 1",
            peer=f"bare FFmpeg FLAC encode {seconds / bare_s:.0f}x real time per CPU second",
        ),
        Figure("stream_bitrate_kbps", round(kbps, 1), "kbit/s", "< 1536 (16-bit PCM)"),
        Figure("stream_bitrate_vs_pcm_ratio", round(kbps / 1536, 3), "ratio", "< 1"),
        Figure(
            "stream_bitrate_24bit_vs_16bit_ratio",
            round(kbps_24 / kbps, 3),
            "ratio",
            "> 1 (why 16-bit)",
            peer=f"24-bit FLAC {kbps_24:.0f} kbit/s",
        ),
    ]


def run(names: Iterable[str] | None = None) -> Iterable[Figure]:
    prefixes = tuple(names or ())
    return [f for f in codec_figures() if not prefixes or f.name.startswith(prefixes)]
