"""Loudness and peak metering: ITU-R BS.1770-4 / EBU R128, EBU Tech 3342 LRA, true peak.

Every function takes float32 samples shaped (frames, channels) (a 1-D array is treated as mono)
and works at any sample rate from 44.1 to 192 kHz.

K-weighting is scipy.signal.sosfilt over the BS.1770 biquads (`renderer.dsp.kweight`), one
cache-sized chunk at a time with the filter state carried on. Its impulse response sets how far
back a re-measurement of a few segments starts: the slowest pole pair (the 38 Hz high-pass,
Q 0.5) has a time constant of ~4 ms, and 80 ms after an input the response is below 3e-10 of
its peak at 44.1-192 kHz.

The true-peak meter is our own (BS.1770-4 Annex 2, `true_peak_dbtp`). A library would
oversample the whole signal (scipy.signal.resample_poly, then a maximum), interpolating every
sample; only the neighbourhood of the loudest samples can hold the true peak, so ours bounds
every 8-sample block and interpolates only the blocks that could beat the best value found so
far, with the same answer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from renderer.audio import Samples
from renderer.dsp.kweight import initial_state, k_filter, k_weight
from renderer.dsp.running import block_abs_max
from renderer.dsp.sinc import TRUE_PEAK_TAPS, banded_kernel, true_peak_kernel

Float64Array = npt.NDArray[np.float64]

ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0
LRA_RELATIVE_GATE_LU = -20.0
_LOUDNESS_OFFSET = (
    -0.691
)  # BS.1770-4 eq. 2: makes a 1 kHz full-scale sine read -3.01 LUFS per channel

_IR_SECONDS = 0.08  # length of the K-filter impulse response that matters (see module docstring)
_TRUE_PEAK_BATCH = 1024  # blocks interpolated per matrix product in the true-peak meter
_CHUNK_FRAMES = 1 << 16  # frames filtered per pass: the chunk stays in a core's cache


def _as_2d(samples: npt.ArrayLike) -> npt.NDArray[np.float32]:
    array = np.asarray(samples, dtype=np.float32)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise ValueError("samples must be shaped (frames, channels)")
    return array


def channel_weights(channels: int) -> Float64Array:
    """BS.1770-4 Table 3 weights: 1.0 for L/R/C, 1.41 for surrounds, LFE (5.1 order) excluded."""
    if channels == 5:  # L R C Ls Rs
        return np.array([1.0, 1.0, 1.0, 1.41, 1.41])
    if channels == 6:  # L R C LFE Ls Rs
        return np.array([1.0, 1.0, 1.0, 0.0, 1.41, 1.41])
    return np.ones(channels)


def _segment_energies(samples: Samples, sample_rate: int) -> tuple[Float64Array, int]:
    """Per-channel sums of squared K-weighted samples over consecutive 100 ms segments.

    Both the 400 ms gating blocks (75% overlap) and the 3 s short-term windows (0.1 s hop) are
    whole numbers of 100 ms segments, so one pass serves both measurements. Energies are summed
    chunk by chunk while the filtered chunk is still in cache; the full filtered signal is never
    materialised.
    """
    x = _as_2d(samples)
    segment = round(0.1 * sample_rate)
    count = x.shape[0] // segment
    return _energies_of_segments(x, sample_rate, 0, count), segment


def _energies_of_segments(
    x: npt.NDArray[np.float32], sample_rate: int, first: int, stop: int
) -> Float64Array:
    """`_segment_energies` of segments first..stop-1 only, filtering from the real signal
    history before them (silence before the start), so a few segments can be re-measured.

    The filter state passes from chunk to chunk; every chunk starts a whole number of segments
    from the first one, and the filter starts at least the impulse response's length
    (`_IR_SECONDS`) before it, or at the signal's start."""
    channels = x.shape[1]
    segment = round(0.1 * sample_rate)
    energies = np.zeros((max(stop - first, 0), channels), dtype=np.float64)
    if stop <= first:
        return energies
    begin, end = first * segment, stop * segment
    lead = -(-round(_IR_SECONDS * sample_rate) // segment) * segment
    position = begin - lead if begin >= lead else 0
    step = max(1, _CHUNK_FRAMES // segment) * segment
    state = initial_state(channels)
    for start in range(position, end, step):
        stop_at = min(end, start + step)
        filtered, state = k_filter(x[start:stop_at], sample_rate, state)
        measured_from = max(start, begin)
        if measured_from >= stop_at:
            continue  # still in the run-up
        y = filtered[measured_from - start :].reshape(-1, segment, channels)
        at = (measured_from - begin) // segment
        energies[at : at + y.shape[0]] = np.einsum("ijk,ijk->ik", y, y)
    return energies


@dataclass(frozen=True)
class SegmentEnergies:
    """K-weighted energies of a signal per 100 ms segment, kept so the same signal after a
    gain change and light limiting can be re-measured without filtering all of it again."""

    energies: Float64Array  # (segments, channels)
    segment: int  # frames per segment
    sample_rate: int
    frames: int

    def integrated_lufs(self) -> float:
        """What `integrated_loudness` returns for the measured signal (signals of at least one
        400 ms gating block; shorter ones must be measured with `integrated_loudness`)."""
        return _integrated_from_energies(
            self.energies, self.segment, channel_weights(self.energies.shape[1])
        )

    def after_change(
        self, gain: float, changed: npt.NDArray[np.bool_], samples: Samples
    ) -> SegmentEnergies:
        """Energies of `samples`, which equal gain * (the measured signal) wherever `changed` is
        False (one flag per frame). K-weighting is linear and time-invariant, so a segment
        none of whose filter input (the segment plus the impulse response's length before it)
        changed has exactly gain**2 times its old energy; only the others are filtered again.
        """
        x = _as_2d(samples)
        if x.shape[0] != self.frames or changed.shape[0] != self.frames:
            raise ValueError("samples must have the measured signal's length")
        count, segment = self.energies.shape[0], self.segment
        energies = self.energies * (gain * gain)
        taps = round(_IR_SECONDS * self.sample_rate)
        flagged = np.flatnonzero(changed[: count * segment])
        if flagged.size == 0:
            return SegmentEnergies(energies, segment, self.sample_rate, self.frames)
        # A change at frame f reaches the filter output of frames f .. f + taps - 1.
        touched = np.zeros(count + 1, dtype=np.int64)
        np.add.at(touched, flagged // segment, 1)
        np.add.at(touched, np.minimum((flagged + taps - 1) // segment + 1, count), -1)
        stale = np.cumsum(touched[:count]) > 0
        # Re-filter runs of stale segments, bridging short gaps (one FFT beats several).
        edges = np.flatnonzero(np.diff(np.concatenate([[0], stale.astype(np.int8), [0]])))
        runs = list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))
        merged: list[list[int]] = []
        for first, stop in runs:
            if merged and first - merged[-1][1] <= 10:
                merged[-1][1] = stop
            else:
                merged.append([first, stop])
        for first, stop in merged:
            energies[first:stop] = _energies_of_segments(x, self.sample_rate, first, stop)
        return SegmentEnergies(energies, segment, self.sample_rate, self.frames)

    def loudness_range_lu(self) -> float:
        """What `loudness_range` returns for the measured signal."""
        weights = channel_weights(self.energies.shape[1])
        return _range_from_energies(self.energies, self.segment, weights)

    def max_window_lufs(self, segments: int) -> float:
        """Largest ungated loudness of any window of `segments` 100 ms segments, at a 100 ms
        hop (EBU Tech 3341 section 2.2 asks a meter to update at least 10 times a second):
        4 segments is momentary loudness (400 ms), 30 is short-term (3 s). -inf when the
        signal is shorter than one window or silent."""
        if self.energies.shape[0] < segments:
            return float("-inf")
        weights = channel_weights(self.energies.shape[1])
        _, loudness = _window_loudness(self.energies, self.segment, segments, weights)
        return float(loudness.max())

    def report(self, true_peak_dbtp: float) -> LoudnessReport:
        """The five EBU R 128 figures, with the true peak measured elsewhere."""
        return LoudnessReport(
            integrated_lufs=self.integrated_lufs(),
            loudness_range_lu=self.loudness_range_lu(),
            true_peak_dbtp=true_peak_dbtp,
            max_momentary_lufs=self.max_window_lufs(MOMENTARY_SEGMENTS),
            max_short_term_lufs=self.max_window_lufs(SHORT_TERM_SEGMENTS),
        )


MOMENTARY_SEGMENTS = 4  # EBU Tech 3341: momentary loudness over a 400 ms sliding window
SHORT_TERM_SEGMENTS = 30  # EBU Tech 3341: short-term loudness over a 3 s sliding window


@dataclass(frozen=True)
class LoudnessReport:
    """The loudness figures EBU R 128 asks for and a Broadcast WAV's bext chunk carries (EBU
    Tech 3285 v2): integrated loudness, loudness range (Tech 3342), maximum true peak, and the
    maximum momentary and short-term loudness (Tech 3341). -inf where there is nothing to
    measure (silence, or a signal shorter than the window)."""

    integrated_lufs: float
    loudness_range_lu: float
    true_peak_dbtp: float
    max_momentary_lufs: float
    max_short_term_lufs: float


def loudness_report(samples: Samples, sample_rate: int) -> LoudnessReport:
    """`LoudnessReport` of a signal, measured from scratch (one K-weighting pass)."""
    x = _as_2d(samples)
    peak = true_peak_dbtp(x, sample_rate)
    if x.shape[0] < round(0.4 * sample_rate):
        integrated = integrated_loudness(x, sample_rate)
        return LoudnessReport(integrated, 0.0, peak, integrated, float("-inf"))
    return segment_energies(x, sample_rate).report(peak)


def segment_energies(samples: Samples, sample_rate: int) -> SegmentEnergies:
    """Measure once; see `SegmentEnergies`."""
    x = _as_2d(samples)
    energies, segment = _segment_energies(x, sample_rate)
    return SegmentEnergies(energies, segment, sample_rate, x.shape[0])


def _window_loudness(
    energies: Float64Array, segment: int, per_window: int, weights: Float64Array
) -> tuple[Float64Array, Float64Array]:
    """Weighted mean-square power and loudness of every window of `per_window` segments."""
    cumulative = np.concatenate([np.zeros((1, energies.shape[1])), np.cumsum(energies, axis=0)])
    sums = cumulative[per_window:] - cumulative[:-per_window]
    power = (sums / (per_window * segment)) @ weights
    with np.errstate(divide="ignore"):
        loudness = _LOUDNESS_OFFSET + 10.0 * np.log10(power)
    return power, loudness


def _power_to_lufs(power: float) -> float:
    return _LOUDNESS_OFFSET + 10.0 * math.log10(power) if power > 0.0 else float("-inf")


def _integrated_from_energies(energies: Float64Array, segment: int, weights: Float64Array) -> float:
    power, loudness = _window_loudness(energies, segment, 4, weights)
    above_absolute = loudness > ABSOLUTE_GATE_LUFS
    if not np.any(above_absolute):
        return float("-inf")
    relative_gate = _power_to_lufs(float(power[above_absolute].mean())) + RELATIVE_GATE_LU
    gated = above_absolute & (loudness > relative_gate)
    return _power_to_lufs(float(power[gated].mean()))


def _short_block_loudness(x: npt.NDArray[np.float32], sample_rate: int) -> float:
    weighted = k_weight(x, sample_rate)
    power = float(np.mean(np.square(weighted), axis=0) @ channel_weights(x.shape[1]))
    loudness = _power_to_lufs(power)
    return loudness if loudness > ABSOLUTE_GATE_LUFS else float("-inf")


def _range_from_energies(energies: Float64Array, segment: int, weights: Float64Array) -> float:
    if energies.shape[0] < 30:
        return 0.0
    power, loudness = _window_loudness(energies, segment, 30, weights)
    above_absolute = loudness > ABSOLUTE_GATE_LUFS
    if np.count_nonzero(above_absolute) < 2:
        return 0.0
    relative_gate = _power_to_lufs(float(power[above_absolute].mean())) + LRA_RELATIVE_GATE_LU
    kept = loudness[above_absolute & (loudness > relative_gate)]
    if kept.shape[0] < 2:
        return 0.0
    low, high = np.percentile(kept, [10.0, 95.0])
    return float(high - low)


def integrated_loudness(samples: Samples, sample_rate: int) -> float:
    """Gated integrated loudness in LUFS (BS.1770-4 / EBU R128); -inf for silence.

    Sounds shorter than one 400 ms gating block (one-shots) are measured as a single block over
    their whole length, an extension of the standard so short sounds still get a figure.
    """
    x = _as_2d(samples)
    if x.shape[0] == 0:
        return float("-inf")
    if x.shape[0] < round(0.4 * sample_rate):
        return _short_block_loudness(x, sample_rate)
    energies, segment = _segment_energies(x, sample_rate)
    return _integrated_from_energies(energies, segment, channel_weights(x.shape[1]))


def loudness_range(samples: Samples, sample_rate: int) -> float:
    """EBU Tech 3342 loudness range in LU: spread between the 10th and 95th percentiles of the
    gated 3 s short-term loudness (0.1 s hop); 0.0 for sounds shorter than one 3 s window."""
    x = _as_2d(samples)
    energies, segment = _segment_energies(x, sample_rate)
    return _range_from_energies(energies, segment, channel_weights(x.shape[1]))


def sample_peak_dbfs(samples: Samples) -> float:
    """Largest absolute sample value in dBFS; -inf for silence."""
    x = np.asarray(samples)
    if x.size == 0:
        return float("-inf")
    peak = float(np.max(np.abs(x)))
    return 20.0 * math.log10(peak) if peak > 0.0 else float("-inf")


def _block_bound_weights(kernel: npt.NDArray[np.float32], block: int) -> Float64Array:
    """Weights w_j such that |interpolated value| <= sum_j w_j * max|x| over block b + j for
    every output position inside block b (triangle inequality, grouping taps by block)."""
    half = TRUE_PEAK_TAPS // 2
    positions = np.arange(-half + 1, half + 1)
    lowest = (0 + positions[0]) // block
    highest = (block - 1 + positions[-1]) // block
    weights = np.zeros(highest - lowest + 1)
    magnitudes = np.abs(kernel.astype(np.float64))
    for offset in range(block):
        groups = (offset + positions) // block - lowest
        for j in range(weights.shape[0]):
            in_block = magnitudes[groups == j]
            if in_block.size:
                weights[j] = max(weights[j], float(in_block.sum(axis=0).max()))
    return weights


def _zero_padded_windows(
    signal: npt.NDArray[np.float32], starts: npt.NDArray[np.intp], span: int
) -> npt.NDArray[np.float32]:
    """Rows signal[start : start + span], with zeros where a row reaches outside the signal."""
    positions = starts[:, None] + np.arange(span)
    inside = (positions >= 0) & (positions < signal.shape[0])
    return np.where(inside, signal[np.clip(positions, 0, signal.shape[0] - 1)], np.float32(0.0))


def true_peak_dbtp(samples: Samples, sample_rate: int) -> float:
    """True peak in dBTP per BS.1770-4 Annex 2: oversample (4x below 96 kHz, else 2x) and take
    the largest absolute value of the interpolated signal; -inf for silence.

    Interpolating every sample costs more than the rest of the meter together, and only the
    neighbourhood of the loudest samples can hold the true peak. So we bound each 8-sample block
    from the block peaks around it (`_block_bound_weights`), then interpolate exactly only the
    blocks, loudest bound first, whose bound could still beat the best value found so far. The
    answer is identical to interpolating everything. Blocks are interpolated in batches by one
    small matrix product with a banded form of the polyphase kernel (`banded_kernel`), reading
    the windows of samples straight out of the interleaved signal (strided views, no per-channel
    copy); only the few blocks at either end, whose windows reach past the signal, are
    assembled from a zero-padded copy.
    """
    x = np.ascontiguousarray(_as_2d(samples))
    if x.size == 0:
        return float("-inf")
    kernel = true_peak_kernel(sample_rate)
    block = 8
    weights = _block_bound_weights(kernel, block)
    reach = (weights.shape[0] - 1) // 2  # bound weights span blocks b - reach .. b + reach
    half = TRUE_PEAK_TAPS // 2
    span = block + TRUE_PEAK_TAPS - 1  # input samples needed to interpolate one block
    banded = banded_kernel(kernel, block)
    frames, channels = x.shape
    blocks = -(-frames // block)
    peaks = block_abs_max(x, block)
    best = float(peaks.max())  # the sample peak (phase 0), before any interpolation
    if best == 0.0:
        return float("-inf")
    # Block b needs frames 8b - (half - 1) .. 8b - (half - 1) + span - 1. Blocks whose window
    # lies inside the signal are "interior"; the others get zeros outside it.
    first_inside = -(-(half - 1) // block)
    last_inside = (frames - span + half - 1) // block
    inside = max(0, last_inside - first_inside + 1)
    # Rows of the last block for samples past the end do not exist and are masked. Points
    # between the last sample and the silence after it count, as a player would render them
    # (and a reading can only err upwards, the safe side of a ceiling).
    tail = blocks * block - frames
    phases = kernel.shape[1]
    flat = x.reshape(-1)
    itemsize = flat.itemsize
    for channel in range(channels):
        padded_peaks = np.zeros(blocks + 2 * reach, dtype=np.float64)
        padded_peaks[reach : reach + blocks] = peaks[channel]
        bound = np.convolve(padded_peaks, weights[::-1], mode="valid")
        interior = np.lib.stride_tricks.as_strided(
            flat[(first_inside * block - (half - 1)) * channels + channel :],
            shape=(inside, span),
            strides=(block * channels * itemsize, channels * itemsize),
            writeable=False,
        )
        # The loudest block first (usually close to the answer, so it prunes the most), then,
        # in time order, every block whose bound can still beat the best, a batch at a time.
        top = int(np.argmax(bound))
        pending = np.concatenate([[top], np.flatnonzero(bound > best)])
        for at in range(0, pending.size, _TRUE_PEAK_BATCH):
            batch = pending[at : at + _TRUE_PEAK_BATCH]
            batch = batch[bound[batch] > best]
            if batch.size == 0:
                continue
            at_edge = (batch < first_inside) | (batch > last_inside)
            if at_edge.any():  # the first batch and the last: a few blocks at either end
                windows = np.empty((batch.size, span), dtype=np.float32)
                windows[~at_edge] = interior[batch[~at_edge] - first_inside]
                edge_starts = batch[at_edge] * block - (half - 1)
                windows[at_edge] = _zero_padded_windows(x[:, channel], edge_starts, span)
            else:
                windows = interior[batch - first_inside]
            interpolated = windows @ banded  # (blocks in batch, block * phases)
            if tail:
                interpolated[batch == blocks - 1, (block - tail) * phases :] = 0.0
            best = max(best, float(interpolated.max()), -float(interpolated.min()))
    return 20.0 * math.log10(best)


def gain_to_target(measured_lufs: float, target_lufs: float) -> float:
    """Linear gain that moves a sound measured at `measured_lufs` to `target_lufs` (1.0 for -inf)."""
    if not math.isfinite(measured_lufs):
        return 1.0
    return float(10.0 ** ((target_lufs - measured_lufs) / 20.0))


@dataclass(frozen=True)
class LoudnessMeasurement:
    integrated_lufs: float  # -inf for silence
    loudness_range_lu: float
    true_peak_dbtp: float  # -inf for silence
    sample_peak_dbfs: float  # -inf for silence


def measure_loudness(samples: Samples, sample_rate: int) -> LoudnessMeasurement:
    """All four figures at once, sharing one K-weighting pass between integrated loudness and LRA."""
    x = _as_2d(samples)
    weights = channel_weights(x.shape[1])
    if x.shape[0] == 0:
        integrated = float("-inf")
        lra = 0.0
    elif x.shape[0] < round(0.4 * sample_rate):
        integrated = _short_block_loudness(x, sample_rate)
        lra = 0.0
    else:
        energies, segment = _segment_energies(x, sample_rate)
        integrated = _integrated_from_energies(energies, segment, weights)
        lra = _range_from_energies(energies, segment, weights)
    return LoudnessMeasurement(
        integrated_lufs=integrated,
        loudness_range_lu=lra,
        true_peak_dbtp=true_peak_dbtp(x, sample_rate),
        sample_peak_dbfs=sample_peak_dbfs(x),
    )
