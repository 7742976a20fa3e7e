"""Sample-rate conversion by a rational factor up/down with a polyphase windowed-sinc filter.

Used for stems recorded at another rate than the plan's (44.1 kHz stems in a 48 kHz render are
the common case): 48000/44100 = 160/147. Output frame P*m + p (P = up) sits at input position
Q*m + p*Q/P (Q = down); its value is the input around that position weighted by a Kaiser-windowed
sinc evaluated at that phase's fraction. The frames a row of P outputs reads are one window of
Q + TAPS input frames, the same for every phase, so all P outputs of all rows are one matrix
product of the (strided) input windows with a (Q + TAPS) x P filter bank: BLAS speed, about a
quarter of the time of converting through one long FFT, which long stems spend mostly in memory.

Quality (measured in tests/renderer/test_resampling.py): the cut-off sits half a transition band
below the lower Nyquist frequency, so nothing aliases (< -100 dB); up to 20 kHz at 44.1 -> 48 kHz
a sine comes out within -90 dB of the ideal, under a 16-bit source's own noise floor.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import numpy.typing as npt

from renderer.audio import Samples

TAPS = 128  # input frames each output frame reads
KAISER_BETA = 8.6  # ~ -90 dB side lobes
# Conversions whose reduced factor has a numerator or denominator above this go through the FFT
# resampler instead (the bank grows as (down + TAPS) x up).
MAX_FACTOR = 640


@functools.lru_cache(maxsize=16)
def filter_bank(up: int, down: int) -> npt.NDArray[np.float32]:
    """(down + TAPS) x up weights: column p weights the window of input frames that output
    phase p reads (every phase's weights sum to 1, so a constant passes unchanged)."""
    half = TAPS // 2
    # Kaiser's formulas: side-lobe attenuation from beta, transition width from attenuation.
    attenuation_db = KAISER_BETA / 0.1102 + 8.7
    transition = (attenuation_db - 8.0) / (2.285 * 2.0 * math.pi * TAPS)  # cycles per input frame
    cutoff = 0.5 * min(1.0, up / down) - transition / 2.0
    phase = np.arange(up)
    first = (phase * down) // up  # where each phase's position falls in the window...
    fraction = (phase * down % up) / up  # ...and how far past that frame
    # Distance from each tap's input frame to the phase's position, in input frames.
    distance = fraction[None, :] + (half - 1 - np.arange(TAPS))[:, None]
    window = np.i0(KAISER_BETA * np.sqrt(np.clip(1.0 - (distance / (half + 0.5)) ** 2, 0.0, None)))
    weights = 2.0 * cutoff * np.sinc(2.0 * cutoff * distance) * window
    weights /= weights.sum(axis=0, keepdims=True)
    bank = np.zeros((down + TAPS, up))
    for p in range(up):
        bank[first[p] : first[p] + TAPS, p] = weights[:, p]
    result = bank.astype(np.float32)
    result.setflags(write=False)  # cached and shared
    return result


def polyphase_resample(samples: Samples, up: int, down: int, frames_out: int) -> Samples:
    """(frames, channels) float32 at rate r -> `frames_out` frames at rate r * up / down, with
    silence before the first frame and after the last (so nothing wraps around)."""
    frames, channels = samples.shape
    out = np.zeros((max(frames_out, 0), channels), dtype=np.float32)
    if frames == 0 or frames_out <= 0:
        return out
    bank = filter_bank(up, down)
    half = TAPS // 2
    rows = -(-frames_out // up)
    padded = np.zeros(rows * down + TAPS, dtype=np.float32)
    used = min(frames, padded.shape[0] - (half - 1))
    for channel in range(channels):
        padded[half - 1 : half - 1 + used] = samples[:used, channel]
        windows = np.lib.stride_tricks.as_strided(
            padded,
            shape=(rows, down + TAPS),
            strides=(down * padded.itemsize, padded.itemsize),
            writeable=False,
        )
        out[:, channel] = (windows @ bank).reshape(-1)[:frames_out]
    return out
