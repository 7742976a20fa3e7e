"""What a curator needs to know about an uploaded sound, measured from its samples.

`analyze` returns loudness (BS.1770-4 / EBU R128), peaks, clipping, DC offset, silence, the
spectral cutoff (which exposes MP3s re-saved as WAV), a tempo estimate, display peaks, the PCM
hash, and a list of problems worded for the artist.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from renderer.audio import Audio, Samples, pcm_sha256, to_mono
from renderer.dsp.framing import frame_starts, spectra
from renderer.dsp.peaks import slice_extremes
from renderer.loudness import measure_loudness

Float64Array = npt.NDArray[np.float64]

CLIP_LEVEL = 0.999  # a sample this close to full scale is treated as pinned at the rail
CLIP_MIN_RUN = 3  # one or two samples at the rail happen in healthy masters; a run means flat tops
CLIPPING_PROBLEM_RATIO = 1e-4  # 1 in 10,000 samples clipped is audible on dense material
DC_PROBLEM_LEVEL = 0.01  # -40 dBFS of offset wastes headroom and thumps at edits
SILENCE_WINDOW_S = 0.05
SILENCE_LEVEL_DBFS = -60.0
MOSTLY_SILENT_RATIO = 0.8
LOSSY_CUTOFF_HZ = (
    19000.0  # MP3/AAC encoders low-pass at 11-19 kHz; real wideband audio reaches 20k+
)
CLIFF_DROP_DB = 25.0  # a lossy encoder's low-pass drops the spectrum this far within ~0.5 kHz
TEMPO_RANGE_BPM = (60.0, 200.0)
TEMPO_TOLERANCE = 0.04  # declared vs estimated tempo may differ by 4% before we complain
TEMPO_MAX_SECONDS = 120.0  # tempo is estimated from at most the first two minutes
WAVEFORM_POINTS = 200
_FLUX_COMPRESSION = 1.0  # log1p(|X|): compresses, but keeps accents (kick vs hat) apart

_BIT_DEPTHS = {
    "PCM_S8": 8,
    "PCM_U8": 8,
    "PCM_16": 16,
    "PCM_24": 24,
    "PCM_32": 32,
    "ALAC_16": 16,
    "ALAC_20": 20,
    "ALAC_24": 24,
    "ALAC_32": 32,
}


@dataclass(frozen=True)
class Problem:
    code: str
    message: str


@dataclass(frozen=True)
class Analysis:
    duration_s: float
    sample_rate: int
    channels: int
    bit_depth: int | None  # None for float and compressed formats
    integrated_lufs: float  # -inf for silence
    loudness_range_lu: float
    true_peak_dbtp: float  # -inf for silence
    sample_peak_dbfs: float  # -inf for silence
    clipping_ratio: float
    dc_offset: float  # the channel mean with the largest magnitude, signed
    silence_ratio: float
    cutoff_hz: float | None  # frequency of a spectral cliff; None when the spectrum has none
    bpm_estimate: float | None
    declared_bpm: float | None
    bpm_matches_declared: bool | None  # None unless a bpm was declared and one was estimated
    waveform_peaks: list[list[float]]
    pcm_sha256: str
    kind: str | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def problem_codes(self) -> list[str]:
        return [problem.code for problem in self.problems]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict: infinities and NaN become None."""
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, float) and not math.isfinite(value):
                data[key] = None
        return data


def bit_depth(subtype: str) -> int | None:
    return _BIT_DEPTHS.get(subtype.upper())


def clipping_ratio(
    samples: Samples, level: float = CLIP_LEVEL, min_run: int = CLIP_MIN_RUN
) -> float:
    """Share of all samples that sit at or beyond `level` in runs of at least `min_run`."""
    x = np.asarray(samples)
    if x.ndim == 1:
        x = x[:, None]
    if x.size == 0:
        return 0.0
    clipped = 0
    for channel in range(x.shape[1]):
        hot = np.abs(x[:, channel]) >= level
        if not hot.any():
            continue
        edges = np.diff(np.concatenate([[0], hot.astype(np.int8), [0]]))
        starts = np.flatnonzero(edges == 1)
        ends = np.flatnonzero(edges == -1)
        runs = ends - starts
        clipped += int(runs[runs >= min_run].sum())
    return clipped / x.size


def dc_offset(samples: Samples) -> float:
    x = np.asarray(samples)
    if x.size == 0:
        return 0.0
    means = x.reshape(x.shape[0], -1).mean(axis=0, dtype=np.float64)
    return float(means[int(np.argmax(np.abs(means)))])


def silence_ratio(samples: Samples, sample_rate: int) -> float:
    """Share of 50 ms windows whose RMS (over all channels) is below -60 dBFS."""
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim == 1:
        x = x[:, None]
    window = max(1, round(SILENCE_WINDOW_S * sample_rate))
    count = x.shape[0] // window
    if count == 0:
        return 1.0 if x.size == 0 or float(np.sqrt(np.mean(np.square(x)))) < 1e-3 else 0.0
    blocks = x[: count * window].reshape(count, window * x.shape[1]).astype(np.float64)
    mean_square = np.einsum("ij,ij->i", blocks, blocks) / blocks.shape[1]
    threshold = 10.0 ** (SILENCE_LEVEL_DBFS / 10.0)  # -60 dBFS RMS, as a mean square
    return float(np.count_nonzero(mean_square < threshold) / count)


def waveform_peaks(samples: Samples, points: int = WAVEFORM_POINTS) -> list[list[float]]:
    """[min, max] over all channels for `points` equal slices of the sound (fewer if shorter)."""
    lows, highs = slice_extremes(samples, points)
    return [[round(float(lo), 4), round(float(hi), 4)] for lo, hi in zip(lows, highs, strict=True)]


def _long_term_spectrum(mono: Samples, sample_rate: int) -> tuple[Float64Array, Float64Array]:
    """Welch-averaged power spectrum in dB (Hann, 4096 points, 50% overlap) and its bin freqs."""
    n_fft = 4096
    if mono.shape[0] < n_fft:
        mono = np.concatenate([mono, np.zeros(n_fft - mono.shape[0], dtype=np.float32)])
    hop = n_fft // 2
    starts = frame_starts(mono.shape[0], n_fft, hop)
    # Cap the work at ~2000 frames evenly spread over the sound: the long-term average
    # converges long before that, and a 30-minute field recording stays cheap.
    if starts.shape[0] > 2000:
        starts = starts[np.linspace(0, starts.shape[0] - 1, 2000).astype(np.int64)]
    window = np.hanning(n_fft).astype(np.float32)
    power = np.zeros(n_fft // 2 + 1, dtype=np.float64)
    for _, spectrum in spectra(mono, window, starts, chunk=256):
        power += np.sum(np.abs(spectrum) ** 2, axis=0)
    power /= starts.shape[0]
    freqs: Float64Array = np.fft.rfftfreq(n_fft, 1.0 / sample_rate).astype(np.float64)
    return 10.0 * np.log10(power + 1e-20), freqs


def spectral_cutoff_hz(samples: Samples, sample_rate: int) -> float | None:
    """Frequency where the long-term spectrum falls off a cliff, or None if it never does.

    A lossy encoder low-passes hard (MP3 at 128-192 kbps around 16-19 kHz): the average spectrum
    drops by tens of dB within a few hundred hertz and stays at the quantisation floor up to
    Nyquist. Natural roll-off is gradual, so we look for a drop of CLIFF_DROP_DB between the band
    just below a candidate edge and everything above it, with 250 Hz guard bands on each side.
    Only edges above 4 kHz are considered: below that, a quiet bass sound legitimately has nothing.
    """
    x = np.asarray(samples, dtype=np.float32)
    mono = to_mono(x if x.ndim == 2 else x[:, None])
    if mono.shape[0] == 0 or not np.any(mono):
        return None
    spectrum, freqs = _long_term_spectrum(mono, sample_rate)
    bin_hz = float(freqs[1])
    smooth_bins = max(1, round(150.0 / bin_hz))
    kernel = np.ones(smooth_bins) / smooth_bins
    smoothed = np.convolve(spectrum, kernel, mode="same")
    guard = max(1, round(250.0 / bin_hz))
    below_width = max(1, round(1500.0 / bin_hz))
    top = int(np.searchsorted(freqs, 0.98 * sample_rate / 2.0))
    low = int(np.searchsorted(freqs, 4000.0))
    # Suffix maxima give "the loudest the spectrum gets anywhere above bin k" in one pass.
    suffix_max = np.maximum.accumulate(smoothed[:top][::-1])[::-1]
    first = max(low, below_width + guard)
    last = top - guard - 2
    if last <= first:
        return None
    candidates = np.arange(first, last)
    passband = np.median(
        np.lib.stride_tricks.sliding_window_view(smoothed, below_width)[
            candidates - guard - below_width
        ],
        axis=1,
    )
    drops = passband - suffix_max[candidates + guard]
    best_index = int(np.argmax(drops))
    best_bin = int(candidates[best_index])
    best_drop = float(drops[best_index])
    if best_drop < CLIFF_DROP_DB:
        return None
    # Place the edge where the spectrum has fallen halfway (in dB) from the passband to the floor.
    inside = float(np.median(smoothed[best_bin - guard - below_width : best_bin - guard]))
    halfway = inside - best_drop / 2.0
    region = smoothed[best_bin - guard : best_bin + guard + 1]
    crossing = int(np.argmax(region < halfway)) if np.any(region < halfway) else guard
    return round(float(freqs[best_bin - guard + crossing]), 1)


def _onset_envelope(mono: Samples, sample_rate: int) -> tuple[Float64Array, float]:
    """Half-wave-rectified log-spectral flux, one value per hop, and the hop rate in Hz."""
    n_fft = 1024 if sample_rate <= 48000 else 2048 if sample_rate <= 96000 else 4096
    hop = n_fft // 4
    limit = round(TEMPO_MAX_SECONDS * sample_rate)
    signal = mono[:limit]
    count = 1 + (signal.shape[0] - n_fft) // hop
    if count < 2:
        return np.zeros(0), sample_rate / hop
    window = np.hanning(n_fft).astype(np.float32)
    starts = frame_starts(signal.shape[0], n_fft, hop, count)
    flux = np.zeros(count, dtype=np.float64)
    previous: Float64Array | None = None
    for first, spectrum in spectra(signal, window, starts, chunk=2048):
        # Log compression lets quiet hats count next to loud kicks, as the ear does; a strong
        # compression would erase the accents that tell the beat from the 8th-note grid.
        magnitude = np.log1p(_FLUX_COMPRESSION * np.abs(spectrum))
        stacked = magnitude if previous is None else np.vstack([previous, magnitude])
        rise = np.maximum(np.diff(stacked, axis=0), 0.0).sum(axis=1)
        offset = first + (1 if previous is None else 0)
        flux[offset : offset + rise.shape[0]] = rise
        previous = magnitude[-1:]
    return flux, sample_rate / hop


def estimate_bpm(samples: Samples, sample_rate: int) -> float | None:
    """Tempo in BPM folded into 60-200, or None when the sound shows no steady pulse.

    Onset-strength envelope -> autocorrelation; the best lag in the tempo range is refined by
    parabolic interpolation and by the peaks at its 2x and 4x multiples, whose longer lags pin the
    period down more precisely than one hop allows.
    """
    x = np.asarray(samples, dtype=np.float32)
    mono = to_mono(x if x.ndim == 2 else x[:, None])
    if mono.shape[0] < 2 * sample_rate:
        return None
    envelope, rate = _onset_envelope(mono, sample_rate)
    if envelope.shape[0] < 16 or not np.any(envelope):
        return None
    # Remove the slow trend (a moving average over ~1 s) so sustained loudness does not count.
    trend_len = max(1, round(rate))
    trend = np.convolve(envelope, np.ones(trend_len) / trend_len, mode="same")
    onset = np.maximum(envelope - trend, 0.0)
    onset -= onset.mean()
    n = onset.shape[0]
    size = 1 << math.ceil(math.log2(2 * n))
    spectrum = np.fft.rfft(onset, size)
    autocorr = np.fft.irfft(np.abs(spectrum) ** 2, size)[:n]
    if autocorr[0] <= 0.0:
        return None
    autocorr /= autocorr[0]
    # Each lag has fewer overlapping products than lag 0; undo that bias.
    autocorr /= np.maximum(1.0 - np.arange(n) / n, 0.25)
    min_lag = math.floor(rate * 60.0 / TEMPO_RANGE_BPM[1])
    max_lag = min(n - 2, math.ceil(rate * 60.0 / TEMPO_RANGE_BPM[0]))
    if max_lag <= min_lag + 2:
        return None
    lags = np.arange(min_lag, max_lag + 1)
    # A weak log-normal preference for ~120 BPM settles near-ties between a tempo and its double.
    bpm_at_lag = 60.0 * rate / lags
    prior = np.exp(-0.5 * (np.log2(bpm_at_lag / 120.0) / 1.5) ** 2)
    scores = autocorr[lags] * prior
    best = int(lags[int(np.argmax(scores))])
    if autocorr[best] < 0.1:
        return None
    period = _refine_peak(autocorr, best)
    estimates = [period]
    for multiple in (2, 4):
        guess = round(period * multiple)
        if guess + 2 >= n:
            break
        window = np.arange(max(1, guess - 2), guess + 3)
        peak = int(window[int(np.argmax(autocorr[window]))])
        if autocorr[peak] >= 0.5 * autocorr[best]:
            estimates.append(_refine_peak(autocorr, peak) / multiple)
    bpm = 60.0 * rate / estimates[-1]
    while bpm > TEMPO_RANGE_BPM[1]:
        bpm /= 2.0
    while bpm < TEMPO_RANGE_BPM[0]:
        bpm *= 2.0
    return round(bpm, 2)


def _refine_peak(values: Float64Array, index: int) -> float:
    """Sub-sample peak position by fitting a parabola through the peak and its neighbours."""
    if index <= 0 or index >= values.shape[0] - 1:
        return float(index)
    left, centre, right = values[index - 1], values[index], values[index + 1]
    denominator = left - 2.0 * centre + right
    if denominator >= 0.0:
        return float(index)
    return float(index + 0.5 * (left - right) / denominator)


def tempo_matches(estimate: float, declared: float, tolerance: float = TEMPO_TOLERANCE) -> bool:
    """True when `estimate` is `declared`, its double or its half, within `tolerance`."""
    return any(
        abs(estimate - declared * factor) <= tolerance * declared * factor
        for factor in (0.5, 1.0, 2.0)
    )


def _problems(result: dict[str, Any], kind: str | None) -> list[Problem]:
    problems: list[Problem] = []
    if result["clipping_ratio"] >= CLIPPING_PROBLEM_RATIO:
        problems.append(
            Problem(
                "clipping",
                f"{result['clipping_ratio'] * 100:.3f}% of samples are flattened against full "
                f"scale (runs of {CLIP_MIN_RUN}+ samples at or above {CLIP_LEVEL}). Re-export with "
                "less gain or a limiter so peaks stay below 0 dBFS.",
            )
        )
    if abs(result["dc_offset"]) >= DC_PROBLEM_LEVEL:
        problems.append(
            Problem(
                "dc_offset",
                f"The waveform is offset from zero by {result['dc_offset']:+.4f} "
                f"({20 * math.log10(abs(result['dc_offset'])):.1f} dBFS). Apply a DC-removal or "
                "high-pass filter before exporting.",
            )
        )
    if result["silence_ratio"] >= MOSTLY_SILENT_RATIO:
        problems.append(
            Problem(
                "mostly_silent",
                f"{result['silence_ratio'] * 100:.0f}% of the sound is below "
                f"{SILENCE_LEVEL_DBFS:.0f} dBFS. Trim the silence or check the export.",
            )
        )
    cutoff = result["cutoff_hz"]
    if cutoff is not None and cutoff < LOSSY_CUTOFF_HZ and result["sample_rate"] >= 44100:
        problems.append(
            Problem(
                "lossy_cutoff",
                f"The spectrum stops abruptly at {cutoff / 1000:.1f} kHz, the fingerprint of an MP3 "
                "or AAC encode (or a low-rate source). Upload the original lossless recording.",
            )
        )
    if result["bpm_matches_declared"] is False:
        problems.append(
            Problem(
                "tempo_mismatch",
                f"The {kind or 'sound'} was declared at {result['declared_bpm']:g} BPM but its "
                f"pulse measures about {result['bpm_estimate']:.1f} BPM. Check the declared tempo.",
            )
        )
    return problems


def analyze(
    audio: Audio, *, kind: str | None = None, declared_bpm: float | None = None
) -> Analysis:
    samples = audio.samples
    rate = audio.sample_rate
    loudness = measure_loudness(samples, rate)
    bpm = estimate_bpm(samples, rate)
    matches = None if bpm is None or declared_bpm is None else tempo_matches(bpm, declared_bpm)
    result: dict[str, Any] = {
        "duration_s": round(audio.duration_s, 6),
        "sample_rate": rate,
        "channels": audio.channels,
        "bit_depth": bit_depth(audio.subtype),
        "integrated_lufs": loudness.integrated_lufs,
        "loudness_range_lu": loudness.loudness_range_lu,
        "true_peak_dbtp": loudness.true_peak_dbtp,
        "sample_peak_dbfs": loudness.sample_peak_dbfs,
        "clipping_ratio": clipping_ratio(samples),
        "dc_offset": dc_offset(samples),
        "silence_ratio": silence_ratio(samples, rate),
        "cutoff_hz": spectral_cutoff_hz(samples, rate),
        "bpm_estimate": bpm,
        "declared_bpm": declared_bpm,
        "bpm_matches_declared": matches,
        "waveform_peaks": waveform_peaks(samples),
        "pcm_sha256": pcm_sha256(audio),
        "kind": kind,
    }
    return Analysis(**result, problems=_problems(result, kind))
