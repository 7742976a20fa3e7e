"""The fingerprint index: every indexed item's landmark hashes, as an inverted index in two levels,
and its byte form. Queries are in `renderer.fingerprint.matching`."""

from __future__ import annotations

import itertools
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt

from renderer.fingerprint import matching, shifted
from renderer.fingerprint.extraction import (
    DECAY_BASE,
    HASH_SPACE,
    QUERY_ONLY,
    Fingerprint,
    is_forward,
)
from renderer.fingerprint.matching import Match

U32 = npt.NDArray[np.uint32]
I64 = npt.NDArray[np.int64]
U16 = npt.NDArray[np.uint16]

# FingerprintIndex.to_bytes (2: hash runs, uint16 times; 3: decays; 4: forward landmark counts)
INDEX_FORMAT_VERSION: Final = 4
# Index levels: below this many postings everything lives in the sorted delta.
DELTA_MAX: Final = 1 << 22

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
    _forward_counts: list[int] = field(default_factory=list)
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
        self._forward_counts.append(int(np.count_nonzero(is_forward(fp_hashes))))
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

    def query(self, fp: Fingerprint, *, limit: int = 5) -> list[Match]:
        """Items the query is a near-duplicate or an excerpt of, best first; sped up, slowed or
        pitched copies too (renderer.fingerprint.shifted)."""
        return shifted.query(self, fp, limit=limit)

    def find_contained(self, fp: Fingerprint, *, limit: int = 5) -> list[Match]:
        """Items whose material appears inside the query, possibly layered under other sounds."""
        return matching.find_contained(self, fp, limit=limit)

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
        forward_counts = np.asarray([self._forward_counts[s] for s in live_slots], dtype="<u4")
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
                forward_counts.tobytes(),
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
        expected = head + name_len + 20 * n_items + 8 * n_segs + 8 * n_runs + 6 * n_postings
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
        forward_counts = column("<u4", n_items)
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
        index._forward_counts = [int(c) for c in forward_counts]
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
