"""Acoustic fingerprints: spectral-peak landmarks, an inverted index, and layered-containment search.

The portal runs three provenance checks on every upload with this module: is it a near-duplicate
of any stem ever submitted, does it contain a vault stem layered under other sounds, and is it
(an excerpt of) a mix the platform rendered itself. All three reduce to one primitive: find
indexed items that share many *time-aligned* landmark hashes with the query.

Landmarks (after Wang 2003, written from the published description): local maxima of the
log-magnitude spectrogram survive lossy coding, resampling, gain and moderate noise because the
strongest time-frequency points of a sound stay the strongest. Pairs of nearby peaks are hashed
as (anchor frequency, frequency step, time step); each hash keeps its anchor frame so a match can
be confirmed by a consistent time offset between query and item, which random collisions lack.

One-shots (under PHASES_BELOW_S) also carry decay landmarks: how long each of their strongest
tonal peaks takes to fall by 3, 6, ... 18 dB in its own bin (see DECAY_DROPS_DB), which is what
survives when noise buries a kick's or a tabla stroke's fine detail. A query ranks candidates by
the share of landmarks they explain and keeps only those within RELATIVE_SCORE of the best, so
a sibling sound (the same drum, another stroke) is not reported beside the copy it resembles.

Analysis is rate-independent without a resampler: the STFT window is always 40 ms and the hop
16 ms *in seconds*, so bin k is k * 25 Hz at any input rate (44.1, 48, 96 kHz ...). Only the bins
between 50 Hz and 11 kHz are used, which lossy encoders keep and every common rate covers.
"""

from __future__ import annotations

import itertools
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

Samples = npt.NDArray[np.float32]
U32 = npt.NDArray[np.uint32]
I64 = npt.NDArray[np.int64]
U16 = npt.NDArray[np.uint16]
F32 = npt.NDArray[np.float32]

FORMAT_VERSION: Final = 3  # Fingerprint.to_bytes (2: QUERY_ONLY landmarks, 3: decay landmarks)
INDEX_FORMAT_VERSION: Final = 3  # FingerprintIndex.to_bytes (2: hash runs, uint16 times; 3: decays)

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
FAN_OUT: Final = 5  # pairs per anchor for short sounds, which need every landmark they can get
LONG_FAN_OUT: Final = 3  # longer material has evidence to spare; keeps a 100k index ~2 GB
MAX_DT: Final = 63  # frames (~1 s) between paired peaks; 6 bits
MAX_DF: Final = 127  # bins (~3.2 kHz) between paired peaks; 8 bits
# Query-side landmarks: noise or a second layered sound pushes some of a sound's peaks out of
# its own density budget, so each fingerprint also carries landmarks from a denser
# constellation, flagged QUERY_ONLY. They are used when the fingerprint is a query and never
# indexed, so the index stays as sparse as before while queries look harder.
QUERY_DENSITY: Final = 2.0
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
DECAY_MIN_FOR_SCORE: Final = 4
DECAY_WEIGHT_FLOOR: Final = 0.5
DECAY_MIN_MATCHED: Final = 6
DECAY_MIN_SHARE: Final = 0.75
DECAY_SCORE: Final = 0.06

# Matching.
STOP_POSTINGS: Final = 10_000  # hashes this common identify nothing and cost the most time
QUERY_BUDGET: Final = 200_000  # postings one query may visit; the commonest hashes go first
# Thresholds calibrated on the corpus (bench/fingerprint.py): similar one-shots (the same drum
# at two velocities, kick vs. low tom) share up to ~10 aligned landmarks by nature, so a match
# needs more than that *and* a share of the sparser side's landmarks.
MIN_MATCHED: Final = 12
MIN_SCORE: Final = 0.05
RELATIVE_SCORE: Final = 0.5  # a near-duplicate scores at least half the best match's score
CONTAIN_MIN_MATCHED: Final = 12
CONTAIN_MIN_SCORE: Final = 0.05
# Index levels: below this many postings everything lives in the sorted delta.
DELTA_MAX: Final = 1 << 22


@dataclass(frozen=True)
class Fingerprint:
    """Landmark hashes of one sound; ``times[i]`` is the anchor frame (HOP_S units) of hash i."""

    hashes: U32
    times: U32
    duration_s: float

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


# --------------------------------------------------------------------------------------------
# Extraction


def _decimate(mono: F32, sample_rate: int) -> tuple[F32, float]:
    """Bring very high rates down by an integer factor with an FFT brick-wall low-pass."""
    factor = 1
    while sample_rate // (factor + 1) >= 32_000 and sample_rate / factor > MAX_ANALYSIS_RATE:
        factor += 1
    if factor == 1:
        return mono, float(sample_rate)
    n = mono.shape[0] + (-mono.shape[0]) % factor
    spectrum = np.fft.rfft(mono, n=n)
    m = n // factor
    out = np.fft.irfft(spectrum[: m // 2 + 1], n=m) / factor
    return out.astype(np.float32), sample_rate / factor


def _spectrogram(mono: F32, sample_rate: float) -> F32:
    """|STFT| in the 50 Hz..11 kHz band, shape (frames, N_BINS), at a fixed seconds grid."""
    win = max(16, round(WINDOW_S * sample_rate))
    hop = HOP_S * sample_rate
    # Half a window of silence each side so a 50 ms hit is seen whole by several frames.
    pad = win // 2
    padded = np.zeros(mono.shape[0] + 2 * pad + win, np.float32)
    padded[pad : pad + mono.shape[0]] = mono
    n_frames = max(1, int((mono.shape[0] + pad) // hop) + 1)
    starts = np.round(np.arange(n_frames) * hop).astype(np.int64)
    starts = starts[starts + win <= padded.shape[0]]
    window = np.hanning(win + 2)[1:-1].astype(np.float32)
    high = min(HIGH_BIN, win // 2)
    magnitude = np.zeros((starts.shape[0], N_BINS), np.float32)
    # Every window as a view (no index array), gathered and transformed in cache-sized chunks:
    # 256 frames of a 48 kHz window are 2 MB, and the float32 FFT runs ~3x faster on them than on
    # one big block. The hop is fractional at 44.1 kHz, so rows are picked by rounded start.
    windows = sliding_window_view(padded, win)
    chunk = 256
    for lo in range(0, starts.shape[0], chunk):
        frames = windows[starts[lo : lo + chunk]]
        frames *= window
        spec = np.fft.rfft(frames, axis=1)[:, LOW_BIN:high]
        magnitude[lo : lo + frames.shape[0], : high - LOW_BIN] = np.abs(spec)
    return magnitude


def _max_filter_1d(values: F32, half: int, axis: int) -> F32:
    """Running maximum over +-half cells along one axis of a 2-D array (edges padded with -inf).

    By doubling: after j passes each cell holds the maximum of the 2^j cells from it onwards,
    and two overlapping such windows cover any width. log2(width) + 1 passes instead of
    2 * half (4 instead of 12 for the +-6 bin neighbourhood). Every pass is one np.maximum over
    the whole flat buffer, never a loop over short rows: along axis 0 a shift is whole rows;
    along axis 1 the rows, each padded with `half` -inf cells on both sides, lie end to end, so
    a shifted window that leaves its row reads padding, never another row's values.
    """
    if half <= 0:
        return values.copy()
    rows, columns = values.shape
    width = 2 * half + 1
    if axis == 1:
        padded = np.full((rows, columns + 2 * half), -np.inf, dtype=values.dtype)
        padded[:, half : half + columns] = values
        unit = 1  # flat cells per step along the axis
    else:
        padded = np.full((rows + 2 * half, columns), -np.inf, dtype=values.dtype)
        padded[half : half + rows] = values
        unit = columns
    widest, spare = padded.reshape(-1), np.empty(padded.size, dtype=values.dtype)
    count, k = widest.size, 1
    while 2 * k <= width:
        count -= k * unit
        np.maximum(widest[:count], widest[k * unit : k * unit + count], out=spare[:count])
        widest, spare = spare, widest
        k *= 2
    count = widest.size - 2 * half * unit  # windows that start at a real cell's padded offset
    shift = (width - k) * unit
    np.maximum(widest[:count], widest[shift : shift + count], out=spare[:count])
    if axis == 1:
        return spare.reshape(padded.shape)[:, :columns]
    return spare[:count].reshape(rows, columns)


@dataclass(frozen=True)
class _Constellation:
    """Every local maximum of a spectrogram above the floor: (frame, bin, log level)."""

    frames: I64
    bins: I64
    strength: F32


def _local_maxima(magnitude: F32) -> _Constellation:
    """Cells that dominate their +-PEAK_HALF_F bins x +-PEAK_HALF_T frames and sit within
    FLOOR_DB of the loudest bin. Computed once per spectrogram; `_peaks` then keeps the
    strongest for each density."""
    empty = np.zeros(0, np.int64)
    if magnitude.size == 0 or float(magnitude.max()) <= 0.0:
        return _Constellation(empty, empty, np.zeros(0, np.float32))
    top = float(magnitude.max())
    # Log domain: peak ranking then depends on ratios only, i.e. it is gain invariant.
    floor = top * 10.0 ** (-FLOOR_DB / 20.0)
    level = np.log(np.maximum(magnitude, np.float32(floor * 1e-3)))
    neighbourhood = _max_filter_1d(_max_filter_1d(level, PEAK_HALF_F, 1), PEAK_HALF_T, 0)
    is_peak = (level >= neighbourhood) & (magnitude > floor)
    frames, bins = np.nonzero(is_peak)
    return _Constellation(
        frames.astype(np.int64), bins.astype(np.int64), level[frames, bins].astype(np.float32)
    )


def _peaks(found: _Constellation, duration_s: float, density: float = 1.0) -> tuple[I64, I64, F32]:
    """Constellation: (frame, bin, log level) of the strongest spectral peaks, time-sorted."""
    frames, bins, strength = found.frames, found.bins, found.strength
    if frames.size == 0:
        return frames, bins, strength
    budget = int(max(MIN_PEAKS, PEAKS_PER_S * duration_s) * density)
    # Spread the budget over time in 1 s blocks so a loud intro does not starve a quiet verse.
    block = max(1, round(1.0 / HOP_S))
    block_id = frames // block
    order = np.lexsort((-strength, block_id))
    frames, bins, block_id = frames[order], bins[order], block_id[order]
    strength = strength[order]
    first = np.searchsorted(block_id, block_id, side="left")
    rank = np.arange(frames.size) - first
    per_block = max(1, int(np.ceil(PEAKS_PER_S * density)))
    if budget > per_block * (int(block_id[-1]) + 1):
        per_block = budget  # short material: let its few blocks use the whole budget
    keep = rank < per_block
    frames, bins, strength = frames[keep], bins[keep], strength[keep]
    order = np.lexsort((bins, frames))
    return (
        frames[order].astype(np.int64),
        bins[order].astype(np.int64),
        strength[order].astype(np.float32),
    )


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
    indexed: list[npt.NDArray[np.uint64]] = []
    dense: list[npt.NDArray[np.uint64]] = []
    for phase in range(phases):
        # Delaying the signal by a fraction of a hop moves the frame grid the other way; frame
        # k of every phase still stands for time k * HOP_S (to within HOP_S / 2).
        lead = round(phase * HOP_S * rate / phases)
        shifted = np.concatenate([np.zeros(lead, np.float32), mono]) if lead else mono
        magnitude = _spectrogram(shifted, rate)
        found = _local_maxima(magnitude)
        fan_out = FAN_OUT if phases > 1 else LONG_FAN_OUT
        indexed.append(_packed(*_landmarks(*_peaks(found, duration), fan_out)))
        if phases > 1:  # a one-shot
            indexed.append(_packed(*_decay_landmarks(magnitude, found)))
        dense.append(
            _packed(
                *_landmarks(*_peaks(found, duration, QUERY_DENSITY), fan_out + QUERY_EXTRA_FAN_OUT)
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
    )


def _packed(hashes: U32, times: U32) -> npt.NDArray[np.uint64]:
    return (hashes.astype(np.uint64) << np.uint64(32)) | times.astype(np.uint64)


# --------------------------------------------------------------------------------------------
# Index


@dataclass(frozen=True)
class Match:
    key: str  # the indexed item's key (e.g. "stem:42" or "mix:7")
    score: float  # 0..1 confidence
    matched_hashes: int
    query_offset_s: float  # where in the query the matched item's material starts
    item_offset_s: float  # where in the indexed item the matched material starts
    coverage: float  # share of the query's (query) or item's (find_contained) duration explained


@dataclass
class _Candidates:
    """Per candidate item: aligned-hash count at its best offset and the matched query span."""

    items: I64
    matched: I64
    offsets: I64  # item frame - query frame at the best alignment
    span_lo: I64  # first and last query frame among the aligned hashes
    span_hi: I64
    decay: I64  # how many of the aligned hashes are decay landmarks


_INDEX_MAGIC: Final = b"SVFI"
_INDEX_HEAD: Final = "<4sBIIQQI"  # magic, version, items, segments, runs, postings, name bytes

# Postings store time as uint16, so an item is cut into segments of 65,536 frames (17.5 min);
# a segment is what a posting points at, and maps back to (item slot, first frame).
_SEG_BITS: Final = 16
_Chunk = tuple[U32, U32, U16]  # (hash, segment, time within segment) of some postings
_CHUNK: Final = 1 << 22  # postings per step when (re)building, bounds the temporaries
_Pending = tuple[int, U32, U16, U16 | None]


@dataclass
class FingerprintIndex:
    """Inverted index hash -> (item, frame), in two levels that answer queries together.

    * main: compressed sparse rows over the whole hash space (``_starts[h]:_starts[h + 1]``
      holds hash h's postings), so a posting is a uint32 segment id and a uint16 frame (6 bytes,
      the hash itself is implicit) and finding a run is two array reads;
    * delta: recent postings as three flat columns sorted by hash (searched by bisection).

    Adds land in a pending buffer and are merged on the next query: into delta while it stays
    small next to main, else everything is rebuilt into main with a chunked counting sort (so
    a bulk load of 100k items costs one pass and memory bounded by the index itself). Removal
    tombstones the item; postings of dead items are dropped at query time and purged when they
    exceed a quarter of the index.
    """

    _names: list[str] = field(default_factory=list)
    _slot: dict[str, int] = field(default_factory=dict)
    _alive: list[bool] = field(default_factory=list)
    _counts: list[int] = field(default_factory=list)
    _decay_counts: list[int] = field(default_factory=list)
    _durations: list[float] = field(default_factory=list)
    _first_seg: list[int] = field(default_factory=list)  # per slot
    _seg_slot: list[int] = field(default_factory=list)  # per segment
    _seg_part: list[int] = field(default_factory=list)  # per segment: index within its item
    _starts: I64 = field(default_factory=lambda: np.zeros(0, np.int64))  # empty: no main level
    _main_seg: U32 = field(default_factory=lambda: np.zeros(0, np.uint32))
    _main_time: U16 = field(default_factory=lambda: np.zeros(0, np.uint16))
    _delta_hash: U32 = field(default_factory=lambda: np.zeros(0, np.uint32))
    _delta_seg: U32 = field(default_factory=lambda: np.zeros(0, np.uint32))
    _delta_time: U16 = field(default_factory=lambda: np.zeros(0, np.uint16))
    # (first segment, hashes, frame within segment, segment within item or None if all 0)
    _pending: list[_Pending] = field(default_factory=list)
    _dead_postings: int = 0
    _seg_cache: tuple[int, I64, I64] | None = None  # (segments, slot, base frame)

    def add(self, key: str, fp: Fingerprint) -> None:
        if key in self._slot:
            self.remove(key)
        slot = len(self._names)
        self._names.append(key)
        self._slot[key] = slot
        self._alive.append(True)
        indexed = np.asarray(fp.hashes, np.uint32) < np.uint32(QUERY_ONLY)
        fp_hashes = np.asarray(fp.hashes, np.uint32)[indexed]
        fp_times = np.asarray(fp.times, np.uint32)[indexed]
        self._counts.append(int(fp_hashes.shape[0]))
        self._decay_counts.append(int(np.count_nonzero(fp_hashes >= np.uint32(DECAY_BASE))))
        self._durations.append(fp.duration_s)
        first = len(self._seg_slot)
        self._first_seg.append(first)
        last_frame = int(fp_times.max()) if fp_times.shape[0] else 0
        for part in range((last_frame >> _SEG_BITS) + 1):
            self._seg_slot.append(slot)
            self._seg_part.append(part)
        if fp_times.shape[0]:
            times = fp_times
            # Held as 6 bytes per posting, like the index itself: a bulk load of 100k items
            # waits here until the first query.
            within: U16 | None = (
                (times >> np.uint32(_SEG_BITS)).astype(np.uint16)
                if last_frame >> _SEG_BITS
                else None
            )
            low = (times & np.uint32(0xFFFF)).astype(np.uint16)
            self._pending.append((first, fp_hashes, low, within))

    def remove(self, key: str) -> None:
        slot = self._slot.pop(key, None)
        if slot is None:
            raise KeyError(key)
        self._alive[slot] = False
        first = self._first_seg[slot]
        before = len(self._pending)
        self._pending = [entry for entry in self._pending if entry[0] != first]
        if len(self._pending) == before:
            self._dead_postings += self._counts[slot]

    def __len__(self) -> int:
        return len(self._slot)

    def __contains__(self, key: object) -> bool:
        return key in self._slot

    @property
    def postings(self) -> int:
        return self._main_size + self._delta_size + sum(int(e[1].shape[0]) for e in self._pending)

    @property
    def _main_size(self) -> int:
        return int(self._main_seg.shape[0])

    @property
    def _delta_size(self) -> int:
        return int(self._delta_hash.shape[0])

    def _segments(self) -> tuple[I64, I64]:
        """(slot, base frame) per segment, as arrays (cached until segments are added)."""
        n = len(self._seg_slot)
        if self._seg_cache is None or self._seg_cache[0] != n:
            slots = np.asarray(self._seg_slot, dtype=np.int64)
            base = np.asarray(self._seg_part, dtype=np.int64) << _SEG_BITS
            self._seg_cache = (n, slots, base)
        return self._seg_cache[1], self._seg_cache[2]

    def _live_segments(self) -> npt.NDArray[np.bool_]:
        slots, _ = self._segments()
        return np.asarray(self._alive, dtype=bool)[slots]

    # ---------------------------------------------------------------- building the levels

    def _pending_chunks(self) -> list[list[_Pending]]:
        groups: list[list[_Pending]] = [[]]
        size = 0
        for entry in self._pending:
            if size >= _CHUNK:
                groups.append([])
                size = 0
            groups[-1].append(entry)
            size += int(entry[1].shape[0])
        return groups

    @staticmethod
    def _pending_chunk(group: list[_Pending]) -> _Chunk:
        if not group:
            return np.zeros(0, np.uint32), np.zeros(0, np.uint32), np.zeros(0, np.uint16)
        hashes = np.concatenate([e[1] for e in group])
        times = np.concatenate([e[2] for e in group])
        seg = np.concatenate(
            [
                np.full(e[1].shape[0], e[0], dtype=np.uint32)
                if e[3] is None
                else e[0] + e[3].astype(np.uint32)
                for e in group
            ]
        )
        return hashes, seg, times

    def _chunks(self, live: npt.NDArray[np.bool_] | None) -> Iterator[_Chunk]:
        """Every posting (main, delta, pending) in bounded chunks, dead segments dropped."""
        starts = self._starts
        if self._main_size:
            counts = np.diff(starts)
            cuts = np.searchsorted(starts, np.arange(0, self._main_size, _CHUNK), side="right") - 1
            bounds = [*cuts.tolist(), HASH_SPACE]
            for h0, h1 in itertools.pairwise(bounds):
                if h1 <= h0:
                    continue
                p0, p1 = int(starts[h0]), int(starts[h1])
                run_hash = np.arange(h0, h1, dtype=np.uint32)
                chunk = (
                    np.repeat(run_hash, counts[h0:h1]),
                    self._main_seg[p0:p1],
                    self._main_time[p0:p1],
                )
                yield self._filter(chunk, live)
        for p0 in range(0, self._delta_size, _CHUNK):
            sl = slice(p0, p0 + _CHUNK)
            chunk = (self._delta_hash[sl], self._delta_seg[sl], self._delta_time[sl])
            yield self._filter(chunk, live)
        for group in self._pending_chunks():
            yield self._filter(self._pending_chunk(group), live)

    @staticmethod
    def _filter(chunk: _Chunk, live: npt.NDArray[np.bool_] | None) -> _Chunk:
        if live is None:
            return chunk
        keep = live[chunk[1]]
        return chunk[0][keep], chunk[1][keep], chunk[2][keep]

    def _rebuild(self) -> None:
        """Fold delta, pending and main into one level, dropping dead items' postings."""
        live = self._live_segments() if self._dead_postings else None
        total = sum(int(chunk[0].shape[0]) for chunk in self._chunks(live))
        if total <= DELTA_MAX:
            # Small enough to live as one sorted delta (tests, small catalogues).
            parts = list(self._chunks(live))
            hashes = np.concatenate([c[0] for c in parts])
            order = np.argsort(hashes, kind="stable")
            self._delta_hash = hashes[order]
            self._delta_seg = np.concatenate([c[1] for c in parts])[order]
            self._delta_time = np.concatenate([c[2] for c in parts])[order]
            self._starts = np.zeros(0, np.int64)
            self._main_seg = np.zeros(0, np.uint32)
            self._main_time = np.zeros(0, np.uint16)
        else:
            starts = np.zeros(HASH_SPACE + 1, np.int64)
            for hashes, _, _ in self._chunks(live):
                starts[1:] += np.bincount(hashes, minlength=HASH_SPACE)
            np.cumsum(starts, out=starts)
            out_seg = np.empty(total, np.uint32)
            out_time = np.empty(total, np.uint16)
            cursor = starts[:-1].copy()
            for hashes, seg, time in self._chunks(live):
                if not hashes.shape[0]:
                    continue
                order = np.argsort(hashes, kind="stable")
                ordered = hashes[order]
                # Rank of each posting among this chunk's postings of the same hash.
                new_run = np.ones(ordered.shape[0], dtype=bool)
                new_run[1:] = ordered[1:] != ordered[:-1]
                run_first = np.maximum.accumulate(np.where(new_run, np.arange(ordered.shape[0]), 0))
                where = cursor[ordered] + (np.arange(ordered.shape[0]) - run_first)
                out_seg[where] = seg[order]
                out_time[where] = time[order]
                cursor += np.bincount(ordered, minlength=HASH_SPACE)
            self._starts, self._main_seg, self._main_time = starts, out_seg, out_time
            self._delta_hash = np.zeros(0, np.uint32)
            self._delta_seg = np.zeros(0, np.uint32)
            self._delta_time = np.zeros(0, np.uint16)
        self._pending = []
        self._dead_postings = 0

    def _flush(self) -> None:
        total = self.postings
        if self._dead_postings * 4 > max(1, total):
            self._rebuild()
            return
        if not self._pending:
            return
        incoming = total - self._main_size - self._delta_size
        if self._delta_size + incoming > max(DELTA_MAX, self._main_size // 16):
            self._rebuild()
            return
        # Small batch: merge it into the sorted delta with one linear insert.
        hashes, seg, time = self._pending_chunk(self._pending)
        self._pending = []
        order = np.argsort(hashes, kind="stable")
        hashes, seg, time = hashes[order], seg[order], time[order]
        at = np.searchsorted(self._delta_hash, hashes, side="right")
        self._delta_hash = np.insert(self._delta_hash, at, hashes)
        self._delta_seg = np.insert(self._delta_seg, at, seg)
        self._delta_time = np.insert(self._delta_time, at, time)

    # ---------------------------------------------------------------- querying

    def _candidates(self, fp: Fingerprint, *, dense: bool, decay: bool = True) -> _Candidates:
        self._flush()
        if not dense:  # the query-only landmarks serve containment; see QUERY_ONLY
            indexed = fp.hashes < np.uint32(QUERY_ONLY)
            fp = Fingerprint(fp.hashes[indexed], fp.times[indexed], fp.duration_s)
        if not decay:  # a sound layered under others keeps its peaks, not its clean decays
            landmarks = (fp.hashes & np.uint32(QUERY_ONLY - 1)) < np.uint32(DECAY_BASE)
            fp = Fingerprint(fp.hashes[landmarks], fp.times[landmarks], fp.duration_s)
        empty = np.zeros(0, np.int64)
        none = _Candidates(empty, empty, empty, empty, empty, empty)
        if len(fp) == 0 or self.postings == 0:
            return none
        q_hash = np.asarray(fp.hashes, np.uint32) & np.uint32(QUERY_ONLY - 1)
        q_hash = np.minimum(q_hash, np.uint32(HASH_SPACE - 1)).astype(np.int64)
        # Decay landmarks only come with one-shot queries; without them the decay rule cannot
        # accept anything, so the usual first cut applies and no per-posting flags are built.
        q_decay = q_hash >= DECAY_BASE
        decay = decay and bool(q_decay.any())
        main_lo = main_runs = delta_lo = delta_runs = empty
        runs = np.zeros(q_hash.shape[0], np.int64)
        if self._main_size:
            main_lo = self._starts[q_hash]
            main_runs = self._starts[q_hash + 1] - main_lo
            runs += main_runs
        if self._delta_size:
            delta_lo = np.searchsorted(self._delta_hash, q_hash, side="left")
            delta_runs = np.searchsorted(self._delta_hash, q_hash, side="right") - delta_lo
            runs += delta_runs
        # Hashes this common identify nothing and cost the most time; past a per-query budget
        # the commonest of the rest go too, so the worst query costs a bounded amount of work.
        use = runs <= STOP_POSTINGS
        if int(runs[use].sum()) > QUERY_BUDGET:
            order = np.argsort(np.where(use, runs, np.iinfo(np.int64).max), kind="stable")
            within = np.cumsum(runs[order]) <= QUERY_BUDGET
            use = np.zeros(q_hash.shape[0], dtype=bool)
            use[order[within]] = True
        q_time = fp.times.astype(np.int64)
        segs: list[I64] = []
        item_t: list[I64] = []
        query_t: list[I64] = []
        query_d: list[npt.NDArray[np.bool_]] = []
        levels = (
            (main_lo, main_runs, self._main_seg, self._main_time),
            (delta_lo, delta_runs, self._delta_seg, self._delta_time),
        )
        for lo, level_runs, seg_col, time_col in levels:
            if not lo.shape[0]:
                continue
            take = np.where(use, level_runs, 0)
            total = int(take.sum())
            if total == 0:
                continue
            run_start = np.cumsum(take) - take
            rows = np.repeat(lo - run_start, take) + np.arange(total)
            segs.append(seg_col[rows].astype(np.int64))
            item_t.append(time_col[rows].astype(np.int64))
            query_t.append(np.repeat(q_time, take))
            if decay:
                query_d.append(np.repeat(q_decay, take))
        if not segs:
            return none
        seg = np.concatenate(segs) if len(segs) > 1 else segs[0]
        t_item = np.concatenate(item_t) if len(item_t) > 1 else item_t[0]
        t_query = np.concatenate(query_t) if len(query_t) > 1 else query_t[0]
        d_query = np.concatenate(query_d) if decay else np.zeros(seg.shape[0], dtype=bool)
        seg_slots, seg_base = self._segments()
        items = seg_slots[seg]
        if len(self._seg_slot) != len(self._names):  # some item spans several segments
            t_item += seg_base[seg]
        n_slots = len(self._names)
        min_hits = min(
            MIN_MATCHED, CONTAIN_MIN_MATCHED, DECAY_MIN_MATCHED if decay else MIN_MATCHED
        )
        # Cheap first cut: an item needs min_hits shared hashes at *any* offsets before it can
        # have that many at one offset, and at scale almost every item sharing a few is noise.
        hits = np.bincount(items, minlength=n_slots)
        if len(self._slot) != n_slots:
            hits[~np.asarray(self._alive, dtype=bool)] = 0
        keep = (hits >= min_hits)[items]
        items, t_item, t_query = items[keep], t_item[keep], t_query[keep]
        is_decay = d_query[keep]
        if not items.shape[0]:
            return none
        offset = t_item - t_query
        # One key per (item, offset); offsets are shifted positive to keep the packing monotone.
        key = (items << 32) | (offset + (1 << 31))
        uniq, counts = np.unique(key, return_counts=True)
        # Peaks jitter by a frame between encodings, so an alignment also gets its neighbour's.
        nxt = np.searchsorted(uniq, uniq + 1)
        nxt_ok = nxt < uniq.shape[0]
        nxt_ok[nxt_ok] = uniq[nxt[nxt_ok]] == uniq[nxt_ok] + 1
        merged = counts.copy()
        merged[nxt_ok] += counts[nxt[nxt_ok]]
        u_items = uniq >> 32
        order = np.lexsort((-merged, u_items))
        first = np.ones(order.shape[0], dtype=bool)
        first[1:] = u_items[order][1:] != u_items[order][:-1]
        best = order[first]
        cand_items = u_items[best]
        cand_matched = merged[best].astype(np.int64)
        cand_offset = (uniq[best] & 0xFFFFFFFF) - (1 << 31)
        keep = cand_matched >= min_hits
        cand_items, cand_matched, cand_offset = (
            cand_items[keep],
            cand_matched[keep],
            cand_offset[keep],
        )
        # Query-side span of the aligned hashes, for offsets and coverage.
        span_lo = np.zeros(cand_items.shape[0], np.int64)
        span_hi = np.zeros(cand_items.shape[0], np.int64)
        decay_hits = np.zeros(cand_items.shape[0], np.int64)
        if cand_items.shape[0]:
            pos = np.searchsorted(cand_items, items)
            pos = np.minimum(pos, cand_items.shape[0] - 1)
            hit = cand_items[pos] == items
            rel = offset - cand_offset[pos]
            hit &= (rel >= 0) & (rel <= 1)
            hit_pos, hit_t = pos[hit], t_query[hit]
            span_lo[:] = np.iinfo(np.int64).max
            np.minimum.at(span_lo, hit_pos, hit_t)
            np.maximum.at(span_hi, hit_pos, hit_t)
            np.add.at(decay_hits, hit_pos[is_decay[hit]], 1)
        return _Candidates(cand_items, cand_matched, cand_offset, span_lo, span_hi, decay_hits)

    def _matches(
        self, fp: Fingerprint, cands: _Candidates, *, contained: bool, limit: int
    ) -> list[Match]:
        results: list[Match] = []
        q_count = max(1, int(np.count_nonzero(fp.hashes < np.uint32(QUERY_ONLY))))
        for i in range(cands.items.shape[0]):
            slot = int(cands.items[i])
            matched = int(cands.matched[i])
            offset = int(cands.offsets[i])
            item_count = max(1, self._counts[slot])
            item_dur = max(self._durations[slot], HOP_S)
            q_start = max(0, -offset) * HOP_S
            i_start = max(0, offset) * HOP_S
            overlap = min(fp.duration_s - q_start, item_dur - i_start)
            overlap = max(overlap, HOP_S)
            span = (int(cands.span_hi[i]) - int(cands.span_lo[i]) + 1) * HOP_S
            # The item's hashes expected inside the overlap; noise or a second layer *adds*
            # peaks to the query, so the sparser side is the fair denominator.
            expected = max(1.0, item_count * min(1.0, overlap / item_dur))
            own_decay = self._decay_counts[slot]
            if own_decay >= DECAY_MIN_FOR_SCORE and not contained:
                # A one-shot with tonal decays: a copy keeps them, a merely similar sound does
                # not (see DECAY_DROPS_DB). Weigh the candidate by the share found.
                share = min(1.0, int(cands.decay[i]) / own_decay)
                weight = DECAY_WEIGHT_FLOOR + (1.0 - DECAY_WEIGHT_FLOOR) * share
            else:
                weight = 1.0
            if contained:
                # Decay landmarks take no part in containment (see find_contained).
                expected = max(1.0, (item_count - own_decay) * min(1.0, overlap / item_dur))
                score = min(1.0, matched / expected)
                ok = matched >= CONTAIN_MIN_MATCHED and score >= CONTAIN_MIN_SCORE
                coverage = min(1.0, span / item_dur)
            else:
                score = min(1.0, matched / min(float(q_count), expected)) * weight
                ok = matched >= MIN_MATCHED and score >= MIN_SCORE
                # Or, for a tonal one-shot whose few landmarks noise buried: most of its own
                # decays at one alignment.
                decays = int(cands.decay[i])
                if (
                    own_decay >= DECAY_MIN_FOR_SCORE
                    and decays >= DECAY_MIN_MATCHED
                    and decays >= DECAY_MIN_SHARE * own_decay
                ):
                    score = max(score, DECAY_SCORE * min(1.0, decays / own_decay))
                    ok = True
                coverage = min(1.0, span / max(fp.duration_s, HOP_S))
            if ok:
                results.append(
                    Match(
                        key=self._names[slot],
                        score=float(score),
                        matched_hashes=matched,
                        query_offset_s=float(q_start),
                        item_offset_s=float(i_start),
                        coverage=float(coverage),
                    )
                )
        results.sort(key=lambda m: (-m.score, -m.matched_hashes, m.key))
        return results[:limit]

    def query(self, fp: Fingerprint, *, limit: int = 5) -> list[Match]:
        """Items the query is a near-duplicate or an excerpt of, best first."""
        found = self._matches(fp, self._candidates(fp, dense=False), contained=False, limit=limit)
        if not found:
            # Nothing on the indexed landmarks alone: look again with the denser query-side
            # set, which recovers sounds whose own peaks noise pushed out of the budget. Only as
            # a fallback: on every query it also finds more similar-but-different one-shots.
            found = self._matches(
                fp, self._candidates(fp, dense=True), contained=False, limit=limit
            )
        # A copy of one item explains its landmarks far better than a similar sound does (the
        # same drum at another velocity, a sibling stroke): keep the items that come close to
        # the best, not every item past the absolute floor.
        return [m for m in found if m.score >= RELATIVE_SCORE * found[0].score]

    def find_contained(self, fp: Fingerprint, *, limit: int = 5) -> list[Match]:
        """Items whose material appears inside the query, possibly layered under other sounds."""
        return self._matches(
            fp, self._candidates(fp, dense=True, decay=False), contained=True, limit=limit
        )

    def to_bytes(self) -> bytes:
        self._flush()
        if self._dead_postings or (self._main_size and self._delta_size):
            self._rebuild()
        alive = np.asarray(self._alive, dtype=bool)
        live_slots = np.flatnonzero(alive)
        slot_renumber = np.full(len(self._names), -1, dtype=np.int64)
        slot_renumber[live_slots] = np.arange(live_slots.shape[0])
        seg_slots, _ = self._segments()
        live_segs = np.flatnonzero(alive[seg_slots]) if seg_slots.shape[0] else seg_slots
        seg_renumber = np.full(seg_slots.shape[0], -1, dtype=np.int64)
        seg_renumber[live_segs] = np.arange(live_segs.shape[0])
        names = "\n".join(self._names[s] for s in live_slots).encode()
        counts = np.asarray([self._counts[s] for s in live_slots], dtype="<u4")
        decay_counts = np.asarray([self._decay_counts[s] for s in live_slots], dtype="<u4")
        durations = np.asarray([self._durations[s] for s in live_slots], dtype="<f8")
        out_seg_slot = slot_renumber[seg_slots[live_segs]].astype("<u4")
        out_seg_part = np.asarray(self._seg_part, dtype=np.int64)[live_segs].astype("<u4")
        if self._main_size:
            run_counts = np.diff(self._starts)
            run_hash = np.flatnonzero(run_counts).astype("<u4")
            run_len = run_counts[run_hash].astype("<u4")
            seg_col, time_col = self._main_seg, self._main_time
        else:
            run_hash, run_len_i = np.unique(self._delta_hash, return_counts=True)
            run_hash = run_hash.astype("<u4")
            run_len = run_len_i.astype("<u4")
            seg_col, time_col = self._delta_seg, self._delta_time
        if live_segs.shape[0] != seg_slots.shape[0]:  # tombstoned items left segment ids behind
            renumbered = np.empty(seg_col.shape[0], "<u4")
            for p0 in range(0, seg_col.shape[0], _CHUNK):
                renumbered[p0 : p0 + _CHUNK] = seg_renumber[seg_col[p0 : p0 + _CHUNK]]
            seg_col = renumbered
        header = struct.pack(
            _INDEX_HEAD,
            _INDEX_MAGIC,
            INDEX_FORMAT_VERSION,
            live_slots.shape[0],
            live_segs.shape[0],
            run_hash.shape[0],
            seg_col.shape[0],
            len(names),
        )
        # memoryviews: the posting columns (the bulk) are copied once, into the result.
        return b"".join(
            [
                header,
                names,
                counts.tobytes(),
                decay_counts.tobytes(),
                durations.tobytes(),
                out_seg_slot.tobytes(),
                out_seg_part.tobytes(),
                run_hash.tobytes(),
                run_len.tobytes(),
                np.ascontiguousarray(seg_col, "<u4").data,
                np.ascontiguousarray(time_col, "<u2").data,
            ]
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> FingerprintIndex:
        head = struct.calcsize(_INDEX_HEAD)
        if len(data) < 5 or data[:4] != _INDEX_MAGIC:
            raise ValueError("not a fingerprint index: bad magic")
        if data[4] != INDEX_FORMAT_VERSION:
            raise ValueError(
                f"unsupported fingerprint index version {data[4]} (this build reads "
                f"{INDEX_FORMAT_VERSION}); rebuild the index from the fingerprints"
            )
        if len(data) < head:
            raise ValueError("not a fingerprint index: too short")
        _, _, n_items, n_segs, n_runs, n_postings, name_len = struct.unpack(
            _INDEX_HEAD, data[:head]
        )
        expected = head + name_len + 16 * n_items + 8 * n_segs + 8 * n_runs + 6 * n_postings
        if len(data) != expected:
            raise ValueError("corrupt fingerprint index")
        pos = head
        names = data[pos : pos + name_len].decode().split("\n") if n_items else []
        pos += name_len

        def column(dtype: str, count: int) -> npt.NDArray[np.generic]:
            nonlocal pos
            out = np.frombuffer(data, dtype, count, pos)
            pos += out.itemsize * count
            return out

        counts = column("<u4", n_items)
        decay_counts = column("<u4", n_items)
        durations = column("<f8", n_items)
        seg_slot = column("<u4", n_segs).astype(np.int64)
        seg_part = column("<u4", n_segs).astype(np.int64)
        run_hash = column("<u4", n_runs).astype(np.int64)
        run_len = column("<u4", n_runs).astype(np.int64)
        seg_col = column("<u4", n_postings).astype(np.uint32)
        time_col = column("<u2", n_postings).astype(np.uint16)
        if len(names) != n_items or (n_runs and int(run_hash.max()) >= HASH_SPACE):
            raise ValueError("corrupt fingerprint index")
        if int(run_len.sum()) != n_postings or (n_postings and int(seg_col.max()) >= n_segs):
            raise ValueError("corrupt fingerprint index")
        index = cls()
        index._names = names
        index._slot = {name: i for i, name in enumerate(names)}
        index._alive = [True] * n_items
        index._counts = [int(c) for c in counts]
        index._decay_counts = [int(c) for c in decay_counts]
        index._durations = [float(d) for d in durations]
        index._seg_slot = seg_slot.tolist()
        index._seg_part = seg_part.tolist()
        index._first_seg = np.searchsorted(seg_slot, np.arange(n_items), side="left").tolist()
        if n_postings > DELTA_MAX:
            starts = np.zeros(HASH_SPACE + 1, np.int64)
            starts[run_hash + 1] = run_len
            np.cumsum(starts, out=starts)
            index._starts, index._main_seg, index._main_time = starts, seg_col, time_col
        else:
            index._delta_hash = np.repeat(run_hash.astype(np.uint32), run_len)
            index._delta_seg, index._delta_time = seg_col, time_col
        return index
