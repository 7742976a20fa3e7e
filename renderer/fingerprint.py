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

Analysis is rate-independent without a resampler: the STFT window is always 40 ms and the hop
16 ms *in seconds*, so bin k is k * 25 Hz at any input rate (44.1, 48, 96 kHz ...). Only the bins
between 50 Hz and 11 kHz are used, which lossy encoders keep and every common rate covers.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt

Samples = npt.NDArray[np.float32]
U32 = npt.NDArray[np.uint32]
I64 = npt.NDArray[np.int64]
F32 = npt.NDArray[np.float32]

FORMAT_VERSION: Final = 1

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

# Matching.
STOP_POSTINGS: Final = 50_000  # hashes this common identify nothing and cost the most time
# Thresholds calibrated on the corpus (bench/fingerprint.py): similar one-shots (the same drum
# at two velocities, kick vs. low tom) share up to ~10 aligned landmarks by nature, so a match
# needs more than that *and* a share of the sparser side's landmarks.
MIN_MATCHED: Final = 12
MIN_SCORE: Final = 0.05
CONTAIN_MIN_MATCHED: Final = 12
CONTAIN_MIN_SCORE: Final = 0.05


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
    padded = np.concatenate([np.zeros(pad, np.float32), mono, np.zeros(pad + win, np.float32)])
    n_frames = max(1, int((mono.shape[0] + pad) // hop) + 1)
    starts = np.round(np.arange(n_frames) * hop).astype(np.int64)
    starts = starts[starts + win <= padded.shape[0]]
    window = np.hanning(win + 2)[1:-1].astype(np.float32)
    high = min(HIGH_BIN, win // 2)
    magnitude = np.zeros((starts.shape[0], N_BINS), np.float32)
    # Chunked so a 10-minute mix does not materialise a gigabyte of frames at once.
    chunk = 2048
    base = np.arange(win, dtype=np.int64)
    for lo in range(0, starts.shape[0], chunk):
        idx = starts[lo : lo + chunk, None] + base[None, :]
        frames = padded[idx] * window
        spec = np.fft.rfft(frames, axis=1)[:, LOW_BIN:high]
        magnitude[lo : lo + chunk, : high - LOW_BIN] = np.abs(spec)
    return magnitude


def _max_filter_1d(values: F32, half: int, axis: int) -> F32:
    """Running maximum over +-half cells along one axis (edges padded with -inf)."""
    out = values.copy()
    length = values.shape[axis]
    for shift in range(1, half + 1):
        if shift >= length:
            break
        lead = [slice(None)] * values.ndim
        lag = [slice(None)] * values.ndim
        lead[axis] = slice(shift, None)
        lag[axis] = slice(None, -shift)
        np.maximum(out[tuple(lag)], values[tuple(lead)], out=out[tuple(lag)])
        np.maximum(out[tuple(lead)], values[tuple(lag)], out=out[tuple(lead)])
    return out


def _peaks(magnitude: F32, duration_s: float) -> tuple[I64, I64, F32]:
    """Constellation: (frame, bin, log level) of the strongest spectral peaks, time-sorted."""
    empty = np.zeros(0, np.int64)
    if magnitude.size == 0 or float(magnitude.max()) <= 0.0:
        return empty, empty, np.zeros(0, np.float32)
    top = float(magnitude.max())
    # Log domain: peak ranking then depends on ratios only, i.e. it is gain invariant.
    floor = top * 10.0 ** (-FLOOR_DB / 20.0)
    level = np.log(np.maximum(magnitude, floor * 1e-3)).astype(np.float32)
    neighbourhood = _max_filter_1d(_max_filter_1d(level, PEAK_HALF_F, 1), PEAK_HALF_T, 0)
    is_peak = (level >= neighbourhood) & (magnitude > floor)
    frames, bins = np.nonzero(is_peak)
    if frames.size == 0:
        return empty, empty, np.zeros(0, np.float32)
    strength = level[frames, bins]
    budget = max(MIN_PEAKS, int(PEAKS_PER_S * duration_s))
    # Spread the budget over time in 1 s blocks so a loud intro does not starve a quiet verse.
    block = max(1, round(1.0 / HOP_S))
    block_id = frames // block
    order = np.lexsort((-strength, block_id))
    frames, bins, block_id = frames[order], bins[order], block_id[order]
    strength = strength[order]
    first = np.searchsorted(block_id, block_id, side="left")
    rank = np.arange(frames.size) - first
    per_block = max(1, int(np.ceil(PEAKS_PER_S)))
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
    mono = data.mean(axis=1, dtype=np.float32) if data.ndim == 2 else data
    mono = np.ascontiguousarray(np.nan_to_num(mono), dtype=np.float32)
    duration = mono.shape[0] / sample_rate if sample_rate > 0 else 0.0
    if mono.shape[0] == 0 or sample_rate <= 0:
        return Fingerprint(np.zeros(0, np.uint32), np.zeros(0, np.uint32), duration)
    mono, rate = _decimate(mono, sample_rate)
    phases = PHASES if duration < PHASES_BELOW_S else 1
    all_hashes: list[U32] = []
    all_times: list[U32] = []
    for phase in range(phases):
        # Delaying the signal by a fraction of a hop moves the frame grid the other way; frame
        # k of every phase still stands for time k * HOP_S (to within HOP_S / 2).
        lead = round(phase * HOP_S * rate / phases)
        shifted = np.concatenate([np.zeros(lead, np.float32), mono]) if lead else mono
        magnitude = _spectrogram(shifted, rate)
        frames, bins, strength = _peaks(magnitude, duration)
        hashes, times = _landmarks(frames, bins, strength, FAN_OUT if phases > 1 else LONG_FAN_OUT)
        all_hashes.append(hashes)
        all_times.append(times)
    if phases == 1:
        return Fingerprint(hashes=all_hashes[0], times=all_times[0], duration_s=duration)
    # Pool the phases, dropping exact repeats (most landmarks of tonal sounds are shared).
    packed = np.unique(
        (np.concatenate(all_hashes).astype(np.uint64) << np.uint64(32))
        | np.concatenate(all_times).astype(np.uint64)
    )
    return Fingerprint(
        hashes=(packed >> np.uint64(32)).astype(np.uint32),
        times=(packed & np.uint64(0xFFFFFFFF)).astype(np.uint32),
        duration_s=duration,
    )


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


_INDEX_MAGIC: Final = b"SVFI"


@dataclass
class FingerprintIndex:
    """Inverted index hash -> (item, frame) in flat arrays sorted by hash.

    Adds land in a pending buffer and are merged into the sorted arrays on the next query, so
    bulk loading 100k items costs one sort. Removal tombstones the item; postings of dead items
    are dropped at query time and physically purged when they exceed a quarter of the index.
    """

    _names: list[str] = field(default_factory=list)
    _slot: dict[str, int] = field(default_factory=dict)
    _alive: list[bool] = field(default_factory=list)
    _counts: list[int] = field(default_factory=list)
    _durations: list[float] = field(default_factory=list)
    _hashes: U32 = field(default_factory=lambda: np.zeros(0, np.uint32))
    _items: U32 = field(default_factory=lambda: np.zeros(0, np.uint32))
    _times: U32 = field(default_factory=lambda: np.zeros(0, np.uint32))
    _pending: list[tuple[int, U32, U32]] = field(default_factory=list)
    _dead_postings: int = 0

    def add(self, key: str, fp: Fingerprint) -> None:
        if key in self._slot:
            self.remove(key)
        slot = len(self._names)
        self._names.append(key)
        self._slot[key] = slot
        self._alive.append(True)
        self._counts.append(len(fp))
        self._durations.append(fp.duration_s)
        if len(fp):
            self._pending.append(
                (slot, np.asarray(fp.hashes, np.uint32), np.asarray(fp.times, np.uint32))
            )

    def remove(self, key: str) -> None:
        slot = self._slot.pop(key, None)
        if slot is None:
            raise KeyError(key)
        self._alive[slot] = False
        before = len(self._pending)
        self._pending = [entry for entry in self._pending if entry[0] != slot]
        if len(self._pending) == before:
            self._dead_postings += self._counts[slot]

    def __len__(self) -> int:
        return len(self._slot)

    def __contains__(self, key: object) -> bool:
        return key in self._slot

    @property
    def postings(self) -> int:
        return int(self._hashes.shape[0]) + sum(int(e[1].shape[0]) for e in self._pending)

    def _flush(self) -> None:
        if self._dead_postings * 4 > max(1, self._hashes.shape[0]):
            alive = np.asarray(self._alive, dtype=bool)
            keep = alive[self._items]
            self._hashes, self._items, self._times = (
                self._hashes[keep],
                self._items[keep],
                self._times[keep],
            )
            self._dead_postings = 0
        if not self._pending:
            return
        new_h = np.concatenate([e[1] for e in self._pending])
        new_i = np.concatenate(
            [np.full(e[1].shape[0], e[0], dtype=np.uint32) for e in self._pending]
        )
        new_t = np.concatenate([e[2] for e in self._pending])
        self._pending = []
        order = np.argsort(new_h, kind="stable")
        # One column at a time, so a 100k-item bulk load peaks at ~2x the index, not 3x.
        new_h = new_h[order]
        new_i = new_i[order]
        new_t = new_t[order]
        del order
        if self._hashes.shape[0] == 0:
            self._hashes, self._items, self._times = new_h, new_i, new_t
            return
        # Merge two sorted runs: one linear insert instead of re-sorting the whole index.
        at = np.searchsorted(self._hashes, new_h, side="right")
        self._hashes = np.insert(self._hashes, at, new_h)
        self._items = np.insert(self._items, at, new_i)
        self._times = np.insert(self._times, at, new_t)

    def _candidates(self, fp: Fingerprint) -> _Candidates:
        self._flush()
        empty = np.zeros(0, np.int64)
        none = _Candidates(empty, empty, empty, empty, empty)
        if len(fp) == 0 or self._hashes.shape[0] == 0:
            return none
        lo = np.searchsorted(self._hashes, fp.hashes, side="left")
        hi = np.searchsorted(self._hashes, fp.hashes, side="right")
        runs = hi - lo
        runs[runs > STOP_POSTINGS] = 0
        total = int(runs.sum())
        if total == 0:
            return none
        run_start = np.cumsum(runs) - runs
        rows = np.repeat(lo - run_start, runs) + np.arange(total)
        q_time = np.repeat(fp.times.astype(np.int64), runs)
        items = self._items[rows].astype(np.int64)
        if self._dead_postings or len(self._slot) != len(self._names):
            alive = np.asarray(self._alive, dtype=bool)[items]
            items, rows, q_time = items[alive], rows[alive], q_time[alive]
        offset = self._times[rows].astype(np.int64) - q_time
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
        keep = cand_matched >= min(MIN_MATCHED, CONTAIN_MIN_MATCHED)
        cand_items, cand_matched, cand_offset = (
            cand_items[keep],
            cand_matched[keep],
            cand_offset[keep],
        )
        # Query-side span of the aligned hashes, for offsets and coverage.
        span_lo = np.zeros(cand_items.shape[0], np.int64)
        span_hi = np.zeros(cand_items.shape[0], np.int64)
        if cand_items.shape[0]:
            pos = np.searchsorted(cand_items, items)
            pos = np.minimum(pos, cand_items.shape[0] - 1)
            hit = cand_items[pos] == items
            rel = offset - cand_offset[pos]
            hit &= (rel >= 0) & (rel <= 1)
            hit_pos, hit_t = pos[hit], q_time[hit]
            span_lo[:] = np.iinfo(np.int64).max
            np.minimum.at(span_lo, hit_pos, hit_t)
            np.maximum.at(span_hi, hit_pos, hit_t)
        return _Candidates(cand_items, cand_matched, cand_offset, span_lo, span_hi)

    def _matches(
        self, fp: Fingerprint, cands: _Candidates, *, contained: bool, limit: int
    ) -> list[Match]:
        results: list[Match] = []
        q_count = max(1, len(fp))
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
            if contained:
                score = min(1.0, matched / expected)
                ok = matched >= CONTAIN_MIN_MATCHED and score >= CONTAIN_MIN_SCORE
                coverage = min(1.0, span / item_dur)
            else:
                score = min(1.0, matched / min(float(q_count), expected))
                ok = matched >= MIN_MATCHED and score >= MIN_SCORE
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
        return self._matches(fp, self._candidates(fp), contained=False, limit=limit)

    def find_contained(self, fp: Fingerprint, *, limit: int = 5) -> list[Match]:
        """Items whose material appears inside the query, possibly layered under other sounds."""
        return self._matches(fp, self._candidates(fp), contained=True, limit=limit)

    def to_bytes(self) -> bytes:
        self._flush()
        alive = np.asarray(self._alive, dtype=bool)
        keep = alive[self._items] if self._items.shape[0] else np.zeros(0, dtype=bool)
        live_slots = np.flatnonzero(alive)
        renumber = np.full(len(self._names), -1, dtype=np.int64)
        renumber[live_slots] = np.arange(live_slots.shape[0])
        names = "\n".join(self._names[s] for s in live_slots).encode()
        counts = np.asarray([self._counts[s] for s in live_slots], dtype="<u4")
        durations = np.asarray([self._durations[s] for s in live_slots], dtype="<f8")
        hashes = self._hashes[keep].astype("<u4")
        items = renumber[self._items[keep]].astype("<u4")
        times = self._times[keep].astype("<u4")
        header = struct.pack(
            "<4sBIQI",
            _INDEX_MAGIC,
            FORMAT_VERSION,
            live_slots.shape[0],
            hashes.shape[0],
            len(names),
        )
        return b"".join(
            [
                header,
                names,
                counts.tobytes(),
                durations.tobytes(),
                hashes.tobytes(),
                items.tobytes(),
                times.tobytes(),
            ]
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> FingerprintIndex:
        head = struct.calcsize("<4sBIQI")
        if len(data) < head:
            raise ValueError("not a fingerprint index: too short")
        magic, version, n_items, n_postings, name_len = struct.unpack("<4sBIQI", data[:head])
        if magic != _INDEX_MAGIC:
            raise ValueError("not a fingerprint index: bad magic")
        if version != FORMAT_VERSION:
            raise ValueError(f"unsupported fingerprint index version {version}")
        if len(data) != head + name_len + 12 * n_items + 12 * n_postings:
            raise ValueError("corrupt fingerprint index")
        pos = head
        names = data[pos : pos + name_len].decode().split("\n") if n_items else []
        pos += name_len
        counts = np.frombuffer(data, "<u4", n_items, pos)
        pos += 4 * n_items
        durations = np.frombuffer(data, "<f8", n_items, pos)
        pos += 8 * n_items
        arrays = []
        for _ in range(3):
            arrays.append(np.frombuffer(data, "<u4", n_postings, pos).astype(np.uint32))
            pos += 4 * n_postings
        index = cls()
        index._names = names
        index._slot = {name: i for i, name in enumerate(names)}
        index._alive = [True] * n_items
        index._counts = [int(c) for c in counts]
        index._durations = [float(d) for d in durations]
        index._hashes, index._items, index._times = arrays
        return index
