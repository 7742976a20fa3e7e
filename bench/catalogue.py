"""The catalogue's audition previews (`renderer.preview.encode_preview`): how fast one is made,
and how small and short it is against the stem it comes from. Run alone with
`python -m bench catalogue`.

Figures (median of RUNS rounds after an untimed one, on one CPU with one BLAS thread, as
bench.render does):
- preview_encode_rtf: seconds of preview (the 30 s excerpt, faded, resampled to 44.1 kHz and
  MP3-encoded at 96 kbit/s) made per second of wall time; the job does this once per stem.
- preview_bitrate_kbps: the file's bytes over its seconds (the encoder's CBR plus frame headers).
- preview_vs_master_size_ratio: the preview's bytes over the stem's as a 24-bit 48 kHz stereo WAV
  of the same length as the stem (60 s here): what a client gets against the master.

The audio: a 60 s mix of corpus stems when ../shared/corpus is there (bench.corpus_mix_paths),
else 60 s of pink noise, which is the encoder's worst case.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt
import soundfile as sf

from bench import Figure, corpus_mix_paths, one_cpu
from renderer import preview
from renderer.dsp.resample import polyphase_resample

FIGURES = ("preview_encode_rtf", "preview_bitrate_kbps", "preview_vs_master_size_ratio")
RATE = 48_000
SECONDS = 60.0
RUNS = 5


def _audio() -> npt.NDArray[np.float32]:
    frames = int(SECONDS * RATE)
    paths = corpus_mix_paths()
    if paths is None:
        rng = np.random.default_rng(17)
        spectrum = np.fft.rfft(rng.standard_normal((frames, 2)), axis=0)
        freqs = np.fft.rfftfreq(frames, 1.0 / RATE)
        spectrum[1:] /= np.sqrt(freqs[1:, None] / 100.0)
        spectrum[0] = 0.0
        noise = np.fft.irfft(spectrum, frames, axis=0)
        out: npt.NDArray[np.float32] = (0.5 * noise / float(np.max(np.abs(noise)))).astype(
            np.float32
        )
        return out
    mix = np.zeros((frames, 2), np.float32)
    for path in paths:
        data, rate = sf.read(path, dtype="float32", always_2d=True)
        data = np.ascontiguousarray(data[:, :2] if data.shape[1] >= 2 else np.repeat(data, 2, 1))
        if rate != RATE:
            common = math.gcd(RATE, rate)  # 44.1 -> 48 kHz is 160 / 147
            up, down = RATE // common, rate // common
            data = polyphase_resample(data, up, down, data.shape[0] * up // down)
        mix += np.resize(data, (frames, 2))
    return (mix * (0.89 / max(1e-9, float(np.max(np.abs(mix)))))).astype(np.float32)


def run(names: Iterable[str] | None = None) -> Iterable[Figure]:
    audio = _audio()
    with one_cpu():
        data = preview.encode_preview(audio, RATE)  # untimed: codec start-up, page faults
        times = []
        for _ in range(RUNS):
            start = time.perf_counter()
            data = preview.encode_preview(audio, RATE)
            times.append(time.perf_counter() - start)
    seconds = min(SECONDS, preview.MAX_SECONDS)
    master_bytes = SECONDS * RATE * 2 * 3  # 24-bit stereo PCM, headers aside
    yield Figure("preview_encode_rtf", round(seconds / statistics.median(times), 1), "x", ">= 5")
    yield Figure(
        "preview_bitrate_kbps", round(len(data) * 8 / seconds / 1000, 1), "kbit/s", "<= 96"
    )
    yield Figure(
        "preview_vs_master_size_ratio", round(len(data) / master_bytes, 4), "ratio", "<= 0.05"
    )
