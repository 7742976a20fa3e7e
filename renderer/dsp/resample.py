"""Sample-rate conversion: a polyphase windowed-sinc filter for rational factors, and band-limited
FFT resampling for loops conformed to a tempo and for other lengths no small factor gives.

Polyphase (`polyphase_resample`), for stems recorded at another rate than the plan's (44.1 kHz
stems in a 48 kHz render are the common case: 48000/44100 = 160/147). Output frame P*m + p
(P = up) sits at input position Q*m + p*Q/P (Q = down); its value is the input around that
position weighted by a Kaiser-windowed sinc evaluated at that phase's fraction. The frames a row
of P outputs reads are one window of Q + TAPS input frames, the same for every phase, so all P
outputs of all rows are one matrix product of the (strided) input windows with a (Q + TAPS) x P
filter bank: BLAS speed, about a quarter of the time of converting through one long FFT, which
long stems spend mostly in memory. scipy.signal.resample_poly is the library's version of the
same filter; its default (20 taps a phase, Kaiser beta 5) aliases at about -50 dB, and with
our 128-tap bank its upfirdn loop is several times slower than the one matrix product.

Quality (measured in tests/renderer/test_dsp_resample.py): the cut-off sits half a transition band
below the lower Nyquist frequency, so nothing aliases (< -100 dB); up to 20 kHz at 44.1 -> 48 kHz
a sine comes out within -90 dB of the ideal, under a 16-bit source's own noise floor.

FFT (`fft_resample`): the spectrum is cut at the lower Nyquist frequency, optionally with a
raised-cosine roll-off, then transformed back at the new length. Unlike scipy.signal.resample
it can treat its input as one cycle of a loop (`periodic`, so a conformed loop still loops
seamlessly) or zero-pad it to a length whose image under an exact rational ratio is whole (so no
timing drift accumulates), and it stays in single precision.
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction

import numpy as np
import numpy.typing as npt
from scipy.fft import next_fast_len

from renderer.dsp.sinc import kaiser_sinc

Samples = npt.NDArray[np.float32]

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
    weights = kaiser_sinc(distance, half=half, beta=KAISER_BETA, cutoff=cutoff)
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


def fft_resample(
    samples: Samples,
    frames_out: int,
    *,
    periodic: bool = False,
    ratio: Fraction | None = None,
    taper: float = 0.08,
) -> Samples:
    """Band-limited FFT resampling of (frames, channels) float32 to exactly `frames_out` frames.

    The spectrum is cut at the lower of the two Nyquist frequencies with a raised-cosine
    roll-off over its top `taper` share (0.08 keeps the implied interpolation kernel short:
    little ringing around transients; 0: a brick wall). `periodic=True` treats the input as one
    cycle of a loop, so the output loops seamlessly. Otherwise the input is zero-padded so
    nothing wraps around, to a length whose image under `ratio` (output/input rate, default
    frames_out/frames_in) is a whole number, so the conversion ratio is exact and no timing
    drift accumulates.
    """
    frames_in = samples.shape[0]
    if frames_out == frames_in and ratio in (None, 1):
        return samples
    if frames_in == 0 or frames_out <= 0:
        return np.zeros((max(frames_out, 0), samples.shape[1]), dtype=np.float32)
    if periodic:
        n_in, n_out = frames_in, frames_out
    else:
        exact = ratio if ratio is not None else Fraction(frames_out, frames_in)
        step = exact.denominator
        blocks = next_fast_len(-(-(frames_in + max(256, frames_in // 16)) // step), real=True)
        n_in = blocks * step
        n_out = n_in * exact.numerator // step
    spectrum = np.fft.rfft(samples, n=n_in, axis=0)
    bins_out = n_out // 2 + 1
    keep = min(spectrum.shape[0], bins_out)
    taper_start = int(keep * (1.0 - taper))
    # Single precision throughout (numpy >= 2 transforms float32 as complex64): ~2x faster than
    # double, and its error (~1e-7 of full scale) sits under the 24-bit output's last bit.
    resized = np.zeros((bins_out, samples.shape[1]), dtype=spectrum.dtype)
    resized[:keep] = spectrum[:keep]
    if keep - taper_start > 1:
        ramp = 0.5 * (1.0 + np.cos(np.linspace(0.0, np.pi, keep - taper_start)))
        resized[taper_start:keep] *= ramp[:, None].astype(resized.real.dtype)
    out = np.fft.irfft(resized, n=n_out, axis=0)[:frames_out]
    if out.shape[0] < frames_out:
        out = np.concatenate(
            [out, np.zeros((frames_out - out.shape[0], out.shape[1]), dtype=out.dtype)]
        )
    if n_in % n_out == 0:
        # A whole decimation factor: divide (correctly rounded), which is what fingerprints
        # have always been computed with, so theirs stay bit-identical.
        out /= out.dtype.type(n_in // n_out)
    else:
        out *= out.dtype.type(n_out / n_in)
    return np.ascontiguousarray(out, dtype=np.float32)


def decimate(mono: npt.NDArray[np.float32], factor: int) -> npt.NDArray[np.float32]:
    """1-D float32 at rate r -> rate r / factor, brick-wall low-passed at the new Nyquist
    frequency; the input is zero-padded to a whole number of output frames."""
    if factor == 1:
        return mono
    padded = np.zeros(mono.shape[0] + (-mono.shape[0]) % factor, dtype=np.float32)
    padded[: mono.shape[0]] = mono
    out = fft_resample(padded[:, None], padded.shape[0] // factor, periodic=True, taper=0.0)
    return np.ascontiguousarray(out[:, 0])
