"""The engine's true-peak limiter (`renderer.limiter`), run segment by segment.

The offline limiter knows the whole signal; a stream does not, so the output is the mastered mix
delayed by `DELAY` frames: the limiter's look-ahead plus the true-peak interpolator's reach. The
gain of every output frame then depends only on mix frames already mixed, and a segment's limiter
sees the real signal on both sides of it (recomputed from the plan, not stored). The one thing
that runs on across segments is the release (the gain may rise at most `release_db_per_s`), so
its level after the segment's last frame is carried in the state.

Steps, per frame i, as in `renderer.limiter.gain_curve`: the required gain r = min(1, ceiling /
peak) from `peak_envelope`; the attack A[i] = the box average over the W frames up to i of the
running minimum of r over the W frames from each; the release G[i] = min(A[i], G[i-1] + R) in
dB. The release is computed in 100 ms blocks aligned to output frames, each from the level
before it, so a long span and its segments do the same arithmetic and give the same bits.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from renderer.audio import Samples
from renderer.dsp.running import running_min
from renderer.dsp.sinc import TRUE_PEAK_TAPS
from renderer.limiter import _box_average_backward, peak_envelope
from renderer.stream.state import BLOCK_FRAMES, SAMPLE_RATE, StreamSettings

DELAY = 160  # frames: >= the look-ahead (96 at 2 ms) + the interpolator's reach (17) + margin
MARGIN_DB = 0.2  # aim under the ceiling: the output is rounded to 24 bits after limiting
SEARCH_DB = 6.0  # interpolate between samples within this of the ceiling


def context(settings: StreamSettings) -> int:
    """Frames of signal the limiter reads on either side of the frames it limits."""
    width = lookahead_frames(settings)
    reach = width + TRUE_PEAK_TAPS // 2 + 16
    if reach > DELAY:
        raise ValueError(f"limiter look-ahead {settings.limiter_lookahead_ms} ms is over 2 ms")
    return reach


def lookahead_frames(settings: StreamSettings) -> int:
    return max(1, round(settings.limiter_lookahead_ms * 1e-3 * SAMPLE_RATE))


def limit_span(
    signal: Samples,
    first: int,
    stop: int,
    origin: int,
    release_db: float,
    settings: StreamSettings,
) -> tuple[Samples, float, float]:
    """Limit frames [first, stop) of `signal` (whose frame 0 is mix frame `origin`, and which
    holds `context` frames on either side), starting from the release level `release_db` of
    the frame before. Returns the limited frames, the release level after them and the deepest
    reduction in dB."""
    width = lookahead_frames(settings)
    ceiling = 10.0 ** ((settings.ceiling_dbtp - MARGIN_DB) / 20.0)
    peaks = peak_envelope(signal, SAMPLE_RATE, ceiling, SEARCH_DB)
    # r over [first - W + 1, stop + W - 1): what the attack of [first, stop) reads.
    lo, hi = first - width + 1 - origin, stop + width - 1 - origin
    window = peaks[lo:hi]
    required = np.ones(window.shape[0], dtype=np.float32)
    loud = window > ceiling
    required[loud] = np.float32(ceiling) / window[loud]
    attack = _box_average_backward(running_min(required, width), width)[width - 1 :]
    attack = attack[: stop - first]
    np.minimum(attack, required[width - 1 : width - 1 + stop - first], out=attack)
    # Most frames are not limited (attack 1, so 0 dB): the logarithm, the release and the
    # power below are computed only where they can differ from that, with the same operations
    # on the same values elsewhere, so the output has the bits of computing every frame.
    limited = attack != 1.0
    attack_db = np.zeros(stop - first, dtype=np.float64)
    attack_db[limited] = 20.0 * np.log10(attack[limited].astype(np.float64))
    level = np.empty(stop - first, dtype=np.float64)
    step = settings.limiter_release_db_per_s / SAMPLE_RATE
    # Output blocks: mix frames at which a block begins are those congruent to -DELAY.
    edges = [0]
    position = first + (-(first + DELAY)) % BLOCK_FRAMES
    while position < stop:
        if position > first:
            edges.append(position - first)
        position += BLOCK_FRAMES
    edges.append(stop - first)
    before = release_db
    for a, b in itertools.pairwise(edges):
        if b <= a:
            continue
        if before == 0.0 and not limited[a:b].any():
            # From 0 dB with nothing to limit the level stays 0 dB: min(0 - R(j+1), 0) is
            # -R(j+1), its running minimum too, and -R(j+1) + R(j+1) is exactly 0.
            level[a:b] = 0.0
            before = 0.0
            continue
        ramp = np.arange(1, b - a + 1, dtype=np.float64) * step
        values = np.minimum.accumulate(np.minimum(attack_db[a:b] - ramp, before))
        values += ramp
        np.minimum(values, 0.0, out=values)
        level[a:b] = values
        before = float(values[-1])
    gain = np.ones(stop - first, dtype=np.float32)  # 10 ** (0 / 20) where the level is 0 dB
    lowered = np.flatnonzero(level < 0.0)
    gain[lowered] = np.power(np.float32(10.0), (level[lowered] / 20.0).astype(np.float32))
    part = signal[first - origin : stop - origin]
    out = part.astype(np.float32, copy=True)  # x * 1 is x
    out[lowered] = np.multiply(part[lowered], gain[lowered, None], dtype=np.float32)
    smallest = float(gain.min()) if gain.size else 1.0
    reduction = -20.0 * math.log10(smallest) if smallest > 0 else math.inf
    return out, before, reduction
