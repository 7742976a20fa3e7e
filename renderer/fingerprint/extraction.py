"""Fingerprint extraction: samples -> spectral-peak landmarks (and, for one-shots, decay
landmarks), and the `Fingerprint` they make with its byte form. See renderer.fingerprint."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt

from renderer.dsp.framing import frame_starts, spectra
from renderer.dsp.resample import decimate
from renderer.dsp.running import centred_max, running_max

Samples = npt.NDArray[np.float32]
U32 = npt.NDArray[np.uint32]
I64 = npt.NDArray[np.int64]
F32 = npt.NDArray[np.float32]

# Fingerprint.to_bytes (2: QUERY_ONLY landmarks, 3: decay landmarks, 4: forward landmarks).
# A stored fingerprint of another version is refused by from_bytes and rebuilt from its audio
# (portal.stems.fingerprint_indexes; `manage.py rebuild_fingerprints` does all at once).
FORMAT_VERSION: Final = 4

WINDOW_S: Final = 0.04  # 25 Hz bins: resolves a kick's fundamental, short enough for hits
HOP_S: Final = 0.016  # 62.5 frames/s; offsets are reported to +-16 ms
BIN_HZ: Final = 1.0 / WINDOW_S
LOW_BIN: Final = 1  # 25 Hz: kick drums live at 40-60 Hz; DC (bin 0) carries no identity
HIGH_BIN: Final = 440  # 11 kHz: lossy encoders low-pass around 16 kHz, keep a margin
N_BINS: Final = HIGH_BIN - LOW_BIN
# Rates above this are decimated first so a 192 kHz upload does not cost 4x the FFT work.
MAX_ANALYSIS_RATE: Final = 48_000

PEAK_HALF_F: Final = 6  # a peak must dominate +-150 Hz ...
PEAK_HALF_T: Final = 3  # ... and +-48 ms
FLOOR_DB: Final = 70.0  # ignore peaks this far below the loudest bin (gain invariant)
PEAKS_PER_S: Final = 12.0  # density budget for long material
MIN_PEAKS: Final = 24  # short one-shots still get a usable constellation
# A one-shot's identity sits in two or three attack frames, and for noisy hits (hats, snares)
# the fine spectral structure of those frames changes when the window slides by a few ms, i.e.
# whenever an editor adds or trims leading silence. Short sounds are therefore analysed at
# several sub-hop phases and the landmarks pooled, so any later phase is within HOP_S/8 of one.
PHASES_BELOW_S: Final = 4.0
PHASES: Final = 4
# Trimmed one-shots. A decaying sound has time-local maxima only at its onset (each bin is
# louder a frame earlier), so a copy with its attack or first quarter cut off has peaks where
# the original has none. One-shots therefore also carry *forward* landmarks, built only from
# what lies at or after each frame: a forward peak dominates +-PEAK_HALF_F bins in its frame
# and the same bins over the next PEAK_HALF_T frames (never the frames before it), is among
# the FORWARD_PER_WINDOW strongest forward peaks of the FORWARD_WINDOW frames from it on, and
# within FORWARD_FLOOR_DB of the loudest bin; pairs go to later peaks, as all landmarks do. A
# copy that starts later (cut) keeps every forward landmark of the part it kept.
FORWARD_PER_WINDOW: Final = 3
FORWARD_WINDOW: Final = 8
FORWARD_FLOOR_DB: Final = 50.0
FORWARD_RUN_GAP: Final = 2
# Longer material is analysed at one phase, and its peaks' frames round one way or the other
# when a copy starts a fraction of a hop later: a stem mixed in 8 ms late kept 13 % of its
# aligned landmarks. Queries therefore also look half a hop later, for query-only landmarks
# (containment and the dense fallback), while the index stays one phase.
LONG_QUERY_PHASES: Final = 2
FAN_OUT: Final = 5  # pairs per anchor for short sounds, which need every landmark they can get
LONG_FAN_OUT: Final = 3  # longer material has evidence to spare; keeps a 100k index ~2 GB
MAX_DT: Final = 63  # frames (~1 s) between paired peaks; 6 bits
MAX_DF: Final = 127  # bins (~3.2 kHz) between paired peaks; 8 bits
# Query-side landmarks: noise or a second layered sound pushes some of a sound's peaks out of
# its own density budget, so each fingerprint also carries landmarks from a denser
# constellation, flagged QUERY_ONLY. They are used when the fingerprint is a query and never
# indexed, so the index stays as sparse as before while queries look harder.
QUERY_DENSITY: Final = 2.0  # the peaks a shifted-key search re-pairs (Peaks.dense_*)
# The query-only landmarks' own density: a sound at 0 dB in a mix of three holds about a third
# of the mix's strongest peaks, so containment looks three times as deep as the index.
CONTAIN_DENSITY: Final = 2.0
QUERY_EXTRA_FAN_OUT: Final = 2
QUERY_ONLY: Final = 1 << 31
HASH_SPACE: Final = 1 << 23  # anchor bin (9 bits) | bin step + 128 (8 bits) | frame gap (6 bits)
# Decay landmarks, for one-shots only (material under PHASES_BELOW_S). A kick, a boom or a
# tabla stroke is one strong tone that dies away: peak picking sees it once, at its onset, and
# the rest of its constellation is fine detail that added noise buries first. How long the
# strongest peaks take to fall by 3, 6, ... 18 dB in their own bin is what such a sound *is*,
# and it survives noise 10 dB under the sound (the drop is measured from a peak far above it)
# as well as gain, resampling and lossy coding. Each decay landmark hashes (bin, drop, frames
# to reach it) into the top of the hash space, where anchor bins (< 512 - 11) never reach.
DECAY_DROPS_DB: Final = (3.0, 6.0, 9.0, 12.0, 15.0, 18.0)
DECAY_STRONG_DB: Final = 25.0  # anchors: peaks within this of the loudest bin ...
DECAY_ANCHORS: Final = 4  # ... the strongest this many of them (per analysis phase)
DECAY_PROMINENCE_DB: Final = 10.0
DECAY_MAX_FRAMES: Final = 250  # 4 s: the whole of a one-shot
DECAY_BUCKETS_PER_OCTAVE: Final = 3
_DECAY_BUCKETS: Final = int(DECAY_BUCKETS_PER_OCTAVE * np.log2(DECAY_MAX_FRAMES)) + 1
DECAY_BASE: Final = 501 << 14  # decay hashes live at and above this; landmark anchors below
# Forward landmarks (see FORWARD_WINDOW) live in [FORWARD_BASE, DECAY_BASE), anchor slots no
# bin reaches (bins stop at N_BINS - 1 = 438): their (bin, step, gap) is folded in by a
# multiplicative hash, so they never meet an ordinary landmark of the same fields.
FORWARD_BASE: Final = N_BINS << 14
_FORWARD_SPAN: Final = DECAY_BASE - FORWARD_BASE


@dataclass(frozen=True)
class Peaks:
    """A query's spectral peaks at sub-frame, sub-bin precision (parabolic interpolation of the
    log spectrum), the ones its landmarks were paired from: what a shifted-key search re-pairs
    under another tempo or key (renderer.fingerprint.shifted). Never stored or indexed."""

    frames: F32
    bins: F32
    strength: F32
    dense_frames: F32
    dense_bins: F32
    dense_strength: F32
    fan_out: int


@dataclass(frozen=True)
class Fingerprint:
    """Landmark hashes of one sound; ``times[i]`` is the anchor frame (HOP_S units) of hash i."""

    hashes: U32
    times: U32
    duration_s: float
    # Set by `fingerprint` on a fresh analysis, not carried by the byte form (see Peaks).
    peaks: Peaks | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.hashes.shape != self.times.shape:
            raise ValueError("hashes and times must have the same length")

    def __len__(self) -> int:
        return int(self.hashes.shape[0])

    def to_bytes(self) -> bytes:
        # Sorted by time so the time column delta-codes into small numbers that zlib packs well.
        order = np.argsort(self.times, kind="stable")
        times = self.times[order].astype(np.int64)
        deltas = np.diff(times, prepend=0).astype("<u4")
        body = self.hashes[order].astype("<u4").tobytes() + deltas.tobytes()
        header = struct.pack("<4sBdI", b"SVFP", FORMAT_VERSION, self.duration_s, len(self))
        return header + zlib.compress(body, 6)

    @classmethod
    def from_bytes(cls, data: bytes) -> Fingerprint:
        head = struct.calcsize("<4sBdI")
        if len(data) < head:
            raise ValueError("not a fingerprint: too short")
        magic, version, duration, count = struct.unpack("<4sBdI", data[:head])
        if magic != b"SVFP":
            raise ValueError("not a fingerprint: bad magic")
        if version != FORMAT_VERSION:
            raise ValueError(f"unsupported fingerprint version {version}")
        body = zlib.decompress(data[head:])
        if len(body) != 8 * count:
            raise ValueError("corrupt fingerprint body")
        hashes = np.frombuffer(body, dtype="<u4", count=count).astype(np.uint32)
        deltas = np.frombuffer(body, dtype="<u4", count=count, offset=4 * count)
        times = np.cumsum(deltas, dtype=np.int64).astype(np.uint32)
        return cls(hashes=hashes, times=times, duration_s=float(duration))


def _decimate(mono: F32, sample_rate: int) -> tuple[F32, float]:
    """Bring very high rates down by an integer factor (an FFT brick-wall low-pass)."""
    factor = 1
    while sample_rate // (factor + 1) >= 32_000 and sample_rate / factor > MAX_ANALYSIS_RATE:
        factor += 1
    return decimate(mono, factor), sample_rate / factor


def _spectrogram(mono: F32, sample_rate: float) -> F32:
    """|STFT| in the 50 Hz..11 kHz band, shape (frames, N_BINS), at a fixed seconds grid."""
    win = max(16, round(WINDOW_S * sample_rate))
    hop = HOP_S * sample_rate
    # Half a window of silence each side so a 50 ms hit is seen whole by several frames.
    pad = win // 2
    padded = np.zeros(mono.shape[0] + 2 * pad + win, np.float32)
    padded[pad : pad + mono.shape[0]] = mono
    count = max(1, int((mono.shape[0] + pad) // hop) + 1)
    starts = frame_starts(padded.shape[0], win, hop, count)
    window = np.hanning(win + 2)[1:-1].astype(np.float32)
    high = min(HIGH_BIN, win // 2)
    magnitude = np.zeros((starts.shape[0], N_BINS), np.float32)
    for first, spectrum in spectra(padded, window, starts, chunk=256):
        rows = spectrum.shape[0]
        magnitude[first : first + rows, : high - LOW_BIN] = np.abs(spectrum[:, LOW_BIN:high])
    return magnitude


@dataclass(frozen=True)
class _Constellation:
    """Every local maximum of a spectrogram above the floor: (frame, bin, log level), and its
    interpolated position (fractional frame and bin, see Peaks)."""

    frames: I64
    bins: I64
    strength: F32
    frames_f: F32
    bins_f: F32


def _vertex(before: F32, at: F32, after: F32) -> F32:
    """Where the parabola through three log levels peaks, in steps from the middle (+-0.5)."""
    curve = before - 2.0 * at + after
    safe = np.where(curve < 0.0, curve, np.float32(-1.0))
    return np.clip(np.where(curve < 0.0, 0.5 * (before - after) / safe, 0.0), -0.5, 0.5)


def _local_maxima(magnitude: F32) -> _Constellation:
    """Cells that dominate their +-PEAK_HALF_F bins x +-PEAK_HALF_T frames and sit within
    FLOOR_DB of the loudest bin. Computed once per spectrogram; `_peaks` then keeps the
    strongest for each density."""
    empty = np.zeros(0, np.int64)
    none = np.zeros(0, np.float32)
    if magnitude.size == 0 or float(magnitude.max()) <= 0.0:
        return _Constellation(empty, empty, none, none, none)
    top = float(magnitude.max())
    # Log domain: peak ranking then depends on ratios only, i.e. it is gain invariant.
    floor = top * 10.0 ** (-FLOOR_DB / 20.0)
    level = np.log(np.maximum(magnitude, np.float32(floor * 1e-3)))
    neighbourhood = centred_max(centred_max(level, PEAK_HALF_F, axis=1), PEAK_HALF_T, axis=0)
    is_peak = (level >= neighbourhood) & (magnitude > floor)
    frames, bins = np.nonzero(is_peak)
    at = level[frames, bins]
    last_f, last_b = level.shape[0] - 1, level.shape[1] - 1
    d_bin = _vertex(
        level[frames, np.maximum(bins - 1, 0)], at, level[frames, np.minimum(bins + 1, last_b)]
    )
    d_frame = _vertex(
        level[np.maximum(frames - 1, 0), bins], at, level[np.minimum(frames + 1, last_f), bins]
    )
    return _Constellation(
        frames.astype(np.int64),
        bins.astype(np.int64),
        at.astype(np.float32),
        (frames + d_frame).astype(np.float32),
        (bins + d_bin).astype(np.float32),
    )


def _forward_peaks(magnitude: F32) -> tuple[I64, I64, F32]:
    """(frame, bin, log level) of a one-shot's forward peaks, time-sorted (see FORWARD_WINDOW)."""
    empty = np.zeros(0, np.int64)
    if magnitude.size == 0 or float(magnitude.max()) <= 0.0:
        return empty, empty, np.zeros(0, np.float32)
    floor = float(magnitude.max()) * 10.0 ** (-FORWARD_FLOOR_DB / 20.0)
    level = np.log(np.maximum(magnitude, np.float32(floor * 1e-3)))
    ahead = running_max(centred_max(level, PEAK_HALF_F, axis=1), PEAK_HALF_T + 1, axis=0)
    frames, bins = np.nonzero((level >= ahead) & (magnitude > floor))
    strength = level[frames, bins]
    if frames.size == 0:
        return empty, empty, np.zeros(0, np.float32)
    # Rank among the forward peaks of frames [t, t + FORWARD_WINDOW): frames ascend already.
    lo = np.arange(frames.size)
    hi = np.searchsorted(frames, frames + FORWARD_WINDOW, side="left")
    width = int((hi - lo).max())
    cols = np.minimum(lo[:, None] + np.arange(width)[None, :], frames.size - 1)
    inside = cols < hi[:, None]
    stronger = np.count_nonzero(inside & (strength[cols] > strength[:, None]), axis=1)
    keep = stronger < FORWARD_PER_WINDOW
    return frames[keep].astype(np.int64), bins[keep].astype(np.int64), strength[keep]


def _forward_landmarks(magnitude: F32, fan_out: int) -> tuple[U32, U32]:
    """(hash, anchor frame) of a one-shot's forward landmarks, in their own hash range."""
    hashes, times = _run_ends(*_landmarks(*_forward_peaks(magnitude), fan_out))
    folded = (hashes.astype(np.uint64) * np.uint64(2654435761)) % np.uint64(_FORWARD_SPAN)
    return (folded + np.uint64(FORWARD_BASE)).astype(np.uint32), times


def is_forward(hashes: U32) -> npt.NDArray[np.bool_]:
    """Which of `hashes` (QUERY_ONLY flag ignored) are forward landmarks."""
    plain = hashes & np.uint32(QUERY_ONLY - 1)
    return (plain >= np.uint32(FORWARD_BASE)) & (plain < np.uint32(DECAY_BASE))


def _run_ends(hashes: U32, times: U32) -> tuple[U32, U32]:
    """Of each run of one hash at successive anchor frames (gaps of up to FORWARD_RUN_GAP),
    only the last: a tone that rings for 200 ms repeats its forward landmarks at every frame,
    and every such sound would align with every other of that pitch. Where a run ends depends
    only on what follows, so a cut copy keeps it."""
    if hashes.size == 0:
        return hashes, times
    order = np.lexsort((times, hashes))
    h, t = hashes[order], times[order].astype(np.int64)
    last = np.ones(h.size, dtype=bool)
    last[:-1] = (h[1:] != h[:-1]) | (t[1:] - t[:-1] > FORWARD_RUN_GAP)
    return h[last], t[last].astype(np.uint32)


def _peaks(found: _Constellation, duration_s: float, density: float = 1.0) -> tuple[I64, I64, F32]:
    """Constellation: (frame, bin, log level) of the strongest spectral peaks, time-sorted."""
    chosen = _strongest(found, duration_s, density)
    return found.frames[chosen], found.bins[chosen], found.strength[chosen]


def _strongest(found: _Constellation, duration_s: float, density: float) -> I64:
    """Indices into `found` of the peaks `_peaks` keeps, in (frame, bin) order."""
    frames, strength = found.frames, found.strength
    if frames.size == 0:
        return np.zeros(0, np.int64)
    budget = int(max(MIN_PEAKS, PEAKS_PER_S * duration_s) * density)
    # Spread the budget over time in 1 s blocks so a loud intro does not starve a quiet verse.
    block = max(1, round(1.0 / HOP_S))
    block_id = frames // block
    order = np.lexsort((-strength, block_id))
    block_id = block_id[order]
    first = np.searchsorted(block_id, block_id, side="left")
    rank = np.arange(frames.size) - first
    per_block = max(1, int(np.ceil(PEAKS_PER_S * density)))
    if budget > per_block * (int(block_id[-1]) + 1):
        per_block = budget  # short material: let its few blocks use the whole budget
    kept = order[rank < per_block]
    return kept[np.lexsort((found.bins[kept], found.frames[kept]))].astype(np.int64)


_DECAY_SIDES = np.array([-4, -3, 3, 4])  # bins beside a peak that a tone towers over


def _nepers(db: float) -> float:
    """A level difference in dB as a difference of natural logs of magnitude."""
    return db / 20.0 * float(np.log(10.0))


def _decay_landmarks(magnitude: F32, found: _Constellation) -> tuple[U32, U32]:
    """(hash, anchor frame) of the frames each strong peak takes to fall by each of
    DECAY_DROPS_DB in its own bin (see DECAY_DROPS_DB)."""
    empty = np.zeros(0, np.uint32)
    if found.frames.size == 0:
        return empty, empty
    top = float(found.strength.max())
    strong = np.flatnonzero(found.strength >= top - _nepers(DECAY_STRONG_DB))
    # Tonal peaks only: a tone stands far above the bins a few steps away in its frame; a noisy
    # hit's spectral peaks are shallow and their decay is not repeatable.
    sides = np.clip(found.bins[strong, None] + _DECAY_SIDES, 0, magnitude.shape[1] - 1)
    around = magnitude[found.frames[strong, None], sides].max(axis=1)
    around = np.log(np.maximum(around, 1e-30))
    strong = strong[found.strength[strong] - around >= _nepers(DECAY_PROMINENCE_DB)]
    strong = strong[np.argsort(-found.strength[strong], kind="stable")][:DECAY_ANCHORS]
    frames, bins = found.frames[strong], found.bins[strong]
    floor = float(magnitude.max()) * 10.0 ** (-FLOOR_DB / 20.0) * 1e-3
    steps = np.arange(DECAY_MAX_FRAMES + 1)
    rows = frames[:, None] + steps[None, :]
    inside = rows < magnitude.shape[0]
    columns = magnitude[np.minimum(rows, magnitude.shape[0] - 1), bins[:, None]]
    level = np.log(np.maximum(columns, np.float32(floor)))
    hashes, times = [], []
    for code, drop_db in enumerate(DECAY_DROPS_DB):
        below = (level < level[:, :1] - np.float32(_nepers(drop_db))) & inside
        reached = below.any(axis=1)
        gap = np.argmax(below, axis=1)[reached]
        # Log-spaced buckets: a slow decay's crossing jitters by a few frames under noise,
        # a fast one's by at most one; either stays inside its bucket most of the time.
        bucket = np.floor(DECAY_BUCKETS_PER_OCTAVE * np.log2(gap)).astype(np.int64)
        slot = (bins[reached] * len(DECAY_DROPS_DB) + code) * _DECAY_BUCKETS + bucket
        hashes.append((HASH_SPACE - 1 - slot).astype(np.uint32))
        times.append(frames[reached].astype(np.uint32))
    return np.concatenate(hashes), np.concatenate(times)


def _landmarks(frames: I64, bins: I64, strength: F32, fan_out: int) -> tuple[U32, U32]:
    """Pair each anchor peak with the FAN_OUT strongest peaks that follow it in the target zone.

    Strongest rather than nearest: under noise or another layered sound the weak peaks are the
    ones replaced, so pairs of strong peaks are the ones that survive into the query.
    """
    n = frames.shape[0]
    if n < 2:
        return np.zeros(0, np.uint32), np.zeros(0, np.uint32)
    window = min(n - 1, fan_out * 6)
    anchor = np.arange(n)[:, None]
    partner = anchor + np.arange(1, window + 1)[None, :]
    in_range = partner < n
    partner = np.minimum(partner, n - 1)
    dt = frames[partner] - frames[anchor]
    df = bins[partner] - bins[anchor]
    valid = in_range & (dt <= MAX_DT) & (np.abs(df) <= MAX_DF) & ((dt > 0) | (df > 0))
    level = np.where(valid, strength[partner], -np.inf)
    take = min(fan_out, window)
    best = np.argpartition(-level, take - 1, axis=1)[:, :take] if take < window else None
    if best is None:
        best = np.broadcast_to(np.arange(window), (n, window))
    chosen = np.take_along_axis(valid, best, axis=1)
    a_idx, slot = np.nonzero(chosen)
    p_idx = partner[a_idx, best[a_idx, slot]]
    f1 = bins[a_idx].astype(np.uint32)
    step = (bins[p_idx] - bins[a_idx] + 128).astype(np.uint32)
    gap = (frames[p_idx] - frames[a_idx]).astype(np.uint32)
    hashes = (f1 << np.uint32(14)) | (step << np.uint32(6)) | gap
    return hashes.astype(np.uint32), frames[a_idx].astype(np.uint32)


def fingerprint(samples: Samples, sample_rate: int) -> Fingerprint:
    """Fingerprint float samples shaped (frames, channels) or (frames,) at any rate >= 22.05 kHz."""
    data = np.asarray(samples, dtype=np.float32)
    if data.ndim == 2 and data.shape[1] != 1:
        # Column by column: a strided mean over axis 1 is ~50x slower than contiguous adds.
        mono = np.zeros(data.shape[0], np.float32)
        for channel in range(data.shape[1]):
            mono += data[:, channel]
        mono *= np.float32(1.0 / max(1, data.shape[1]))
    else:
        mono = np.ascontiguousarray(data.reshape(data.shape[0]), dtype=np.float32)
    if not np.isfinite(mono).all():  # checked first: nan_to_num always copies, and costs
        mono = np.nan_to_num(mono, nan=0.0, posinf=0.0, neginf=0.0)
    duration = mono.shape[0] / sample_rate if sample_rate > 0 else 0.0
    if mono.shape[0] == 0 or sample_rate <= 0:
        return Fingerprint(np.zeros(0, np.uint32), np.zeros(0, np.uint32), duration)
    mono, rate = _decimate(mono, sample_rate)
    phases = PHASES if duration < PHASES_BELOW_S else 1
    # Longer material is indexed at one phase but also looked at half a hop later, for the
    # query-only landmarks (see LONG_QUERY_PHASES).
    looks = phases if phases > 1 else LONG_QUERY_PHASES
    indexed: list[npt.NDArray[np.uint64]] = []
    dense: list[npt.NDArray[np.uint64]] = []
    peaks: Peaks | None = None
    for phase in range(looks):
        # Delaying the signal by a fraction of a hop moves the frame grid the other way; frame
        # k of every phase still stands for time k * HOP_S (to within HOP_S / 2).
        lead = round(phase * HOP_S * rate / looks)
        shifted = np.concatenate([np.zeros(lead, np.float32), mono]) if lead else mono
        magnitude = _spectrogram(shifted, rate)
        found = _local_maxima(magnitude)
        fan_out = FAN_OUT if phases > 1 else LONG_FAN_OUT
        if phase >= phases:  # a query-only look at longer material
            dense.append(_packed(*_landmarks(*_peaks(found, duration), fan_out)))
            dense.append(
                _packed(
                    *_landmarks(
                        *_peaks(found, duration, CONTAIN_DENSITY), fan_out + QUERY_EXTRA_FAN_OUT
                    )
                )
            )
            continue
        if phase == 0:
            regular = _strongest(found, duration, 1.0)
            denser = _strongest(found, duration, QUERY_DENSITY)
            peaks = Peaks(
                found.frames_f[regular],
                found.bins_f[regular],
                found.strength[regular],
                found.frames_f[denser],
                found.bins_f[denser],
                found.strength[denser],
                fan_out,
            )
        indexed.append(_packed(*_landmarks(*_peaks(found, duration), fan_out)))
        if phases > 1:  # a one-shot
            indexed.append(_packed(*_decay_landmarks(magnitude, found)))
            indexed.append(_packed(*_forward_landmarks(magnitude, fan_out)))
        dense.append(
            _packed(
                *_landmarks(
                    *_peaks(found, duration, CONTAIN_DENSITY), fan_out + QUERY_EXTRA_FAN_OUT
                )
            )
        )
    # Pool the phases, dropping exact repeats (most landmarks of tonal sounds are shared).
    kept = np.unique(np.concatenate(indexed))
    extra = np.setdiff1d(np.concatenate(dense), kept, assume_unique=False)
    extra |= np.uint64(QUERY_ONLY) << np.uint64(32)
    packed = np.concatenate([kept, extra])
    return Fingerprint(
        hashes=(packed >> np.uint64(32)).astype(np.uint32),
        times=(packed & np.uint64(0xFFFFFFFF)).astype(np.uint32),
        duration_s=duration,
        peaks=peaks,
    )


def _packed(hashes: U32, times: U32) -> npt.NDArray[np.uint64]:
    return (hashes.astype(np.uint64) << np.uint64(32)) | times.astype(np.uint64)
