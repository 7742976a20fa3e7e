"""The evasions of issue #18 item 4, as bench transformations: a copy sped up, slowed, pitched or
trimmed, and a stem buried in a mix of three.

Two kinds of speed change, measured apart because they are different signals:

* `tempo`: a tempo-only stretch, sox `tempo` (WSOLA): duration changes, pitch stays;
* `speed`: a resampling speed change (a turntable, `sox speed`, a sampler's rate knob): the
  samples are resampled and played at the old rate, so tempo AND pitch change together
  (+5 % speed is +0.84 semitones).

`pitch` is sox `pitch` (a WSOLA stretch and a resample): the key changes, the tempo stays.
Factors are drawn per sound (seeded) from 1-5 % either way for tempo and speed, and 0.5-2
semitones either way for pitch, so the figure covers the whole range, edges included.

The one-shot trims only apply to one-shots (under ONE_SHOT_S in the split): `attack` cuts the
sound up to 10 ms after its loudest instant, `quarter` its first 25 %. Other classes are not
counted by them (their tallies stay at 0/0).
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soundfile as sf

Array = npt.NDArray[np.float32]
Resampler = Callable[[Array, int, int], Array]  # (samples, from rate, to rate) -> samples


def _sox(samples: Array, rate: int, effect: list[str]) -> Array:
    """Run `samples` through a sox effect (float WAV in and out, in a private temp dir)."""
    with tempfile.TemporaryDirectory(prefix="bench-sox-") as folder:
        src, dst = Path(folder) / "in.wav", Path(folder) / "out.wav"
        sf.write(src, samples, rate, subtype="FLOAT")
        subprocess.run(
            ["sox", "-q", "-V1", str(src), "-e", "floating-point", str(dst), *effect],
            check=True,
            capture_output=True,
        )
        out, _ = sf.read(dst, dtype="float32", always_2d=True)
    return np.asarray(out, dtype=np.float32)


def _signed(rng: np.random.Generator, low: float, high: float) -> float:
    return float(rng.uniform(low, high) * (1 if rng.random() < 0.5 else -1))


def tempo(samples: Array, rate: int, rng: np.random.Generator) -> tuple[Array, int]:
    factor = 1.0 + _signed(rng, 0.01, 0.05)
    return _sox(samples, rate, ["tempo", "-m", f"{factor:.4f}"]), rate


def speed(
    samples: Array, rate: int, rng: np.random.Generator, resample: Resampler
) -> tuple[Array, int]:
    """Resample to rate / factor and keep the old rate: `factor` times faster and higher."""
    factor = 1.0 + _signed(rng, 0.01, 0.05)
    return resample(samples, round(rate * factor), rate), rate


def pitch(samples: Array, rate: int, rng: np.random.Generator) -> tuple[Array, int]:
    cents = _signed(rng, 50.0, 200.0)
    return _sox(samples, rate, ["pitch", f"{cents:.1f}"]), rate


def cut_attack(samples: Array, rate: int) -> Array:
    """The sound from 10 ms after its loudest sample on: the attack is gone."""
    envelope = np.abs(samples).max(axis=1)
    start = int(np.argmax(envelope)) + int(0.01 * rate)
    return samples[min(start, samples.shape[0] - 1) :]


def cut_quarter(samples: Array) -> Array:
    return samples[samples.shape[0] // 4 :]


def mix_of_three(
    source: Array, others: list[Array], rate: int, rng: np.random.Generator
) -> tuple[Array, float]:
    """`source` (mono, one rate with `others`) at 0 dB among two other sounds at equal RMS,
    each looped or cut to cover the source and placed at random; returns (mix, source start).
    The mix starts up to 1 s (or a quarter of the source) before the source and ends as long
    after it."""
    lead = int(rng.integers(0, min(rate, source.shape[0] // 4) + 1))
    length = source.shape[0] + 2 * lead

    def rms(x: Array) -> float:
        return max(float(np.sqrt(np.mean(x.astype(np.float64) ** 2))), 1e-9)

    level = rms(source)
    mix = np.zeros(length, np.float32)
    for other in others:
        reps = -(-length // max(1, other.shape[0]))
        start = int(rng.integers(0, max(1, other.shape[0])))
        layer = np.roll(np.tile(other, reps + 1), -start)[:length]
        mix += layer * np.float32(level / rms(layer))
    mix[lead : lead + source.shape[0]] += source
    return mix[:, None], lead / rate
