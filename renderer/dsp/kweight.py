"""BS.1770-4 K-weighting: the loudness meters' pre-filter, a shelf then the RLB high-pass.

The filter is scipy.signal.sosfilt over the two biquads (transposed direct form II in float64),
with its state handed from one chunk to the next, so a long signal is filtered a cache-sized
chunk at a time and the result equals filtering it whole.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy.signal import sosfilt

Float64Array = npt.NDArray[np.float64]

# Analog prototype parameters of the two K-weighting stages. Through the bilinear transform
# (with frequency pre-warping) they reproduce the 48 kHz coefficients printed in BS.1770-4
# Tables 1 and 2 to ~1e-14, which is what lets us derive the filter for any other sample rate.
_SHELF_F0_HZ = 1681.974450955533
_SHELF_GAIN_DB = 3.999843853973347
_SHELF_Q = 0.7071752369554196
_SHELF_BANDWIDTH_EXP = 0.4996667741545416
_HIGHPASS_F0_HZ = 38.13547087602444
_HIGHPASS_Q = 0.5003270373238773

Biquad = tuple[tuple[float, float, float], tuple[float, float, float]]


def k_weighting_biquads(sample_rate: int) -> tuple[Biquad, Biquad]:
    """(b, a) coefficient pairs of the K-weighting shelf and RLB high-pass at `sample_rate`."""
    k = math.tan(math.pi * _SHELF_F0_HZ / sample_rate)
    vh = 10.0 ** (_SHELF_GAIN_DB / 20.0)
    vb = vh**_SHELF_BANDWIDTH_EXP
    a0 = 1.0 + k / _SHELF_Q + k * k
    shelf: Biquad = (
        (
            (vh + vb * k / _SHELF_Q + k * k) / a0,
            2.0 * (k * k - vh) / a0,
            (vh - vb * k / _SHELF_Q + k * k) / a0,
        ),
        (1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / _SHELF_Q + k * k) / a0),
    )
    k = math.tan(math.pi * _HIGHPASS_F0_HZ / sample_rate)
    a0 = 1.0 + k / _HIGHPASS_Q + k * k
    highpass: Biquad = (
        (1.0, -2.0, 1.0),
        (1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / _HIGHPASS_Q + k * k) / a0),
    )
    return shelf, highpass


def k_weighting_sos(sample_rate: int) -> Float64Array:
    """The two biquads as scipy's (sections, 6) second-order sections (a new array each call:
    sosfilt refuses read-only coefficients, so there is no shared cached copy to protect)."""
    return np.array([[*b, *a] for b, a in k_weighting_biquads(sample_rate)], dtype=np.float64)


def initial_state(channels: int) -> Float64Array:
    """The filter's state before the first frame: silence."""
    return np.zeros((2, 2, channels))


def k_filter(
    x: npt.NDArray[np.float32], sample_rate: int, state: Float64Array
) -> tuple[Float64Array, Float64Array]:
    """K-weighted float64 copy of `x` (frames, channels), starting from `state` (from
    `initial_state` or a previous call); and the state after x's last frame, which the next
    chunk of the same signal starts from."""
    y, after = sosfilt(k_weighting_sos(sample_rate), x, axis=0, zi=state)
    return y, after


def k_weight(samples: npt.NDArray[np.float32], sample_rate: int) -> Float64Array:
    """K-weighted copy of (frames, channels) `samples` in float64, from silence before them."""
    return k_filter(samples, sample_rate, initial_state(samples.shape[1]))[0]
