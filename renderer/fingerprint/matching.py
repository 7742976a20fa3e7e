"""Queries against a `FingerprintIndex`: items that share many *time-aligned* landmark hashes
with the query (near-duplicates and excerpts), or whose landmarks appear inside it (containment).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import numpy as np
import numpy.typing as npt

from renderer.fingerprint.extraction import (
    DECAY_BASE,
    HASH_SPACE,
    HOP_S,
    QUERY_ONLY,
    Fingerprint,
    is_forward,
)

if TYPE_CHECKING:
    from renderer.fingerprint.index import FingerprintIndex

I64 = npt.NDArray[np.int64]

STOP_POSTINGS: Final = 10_000  # hashes this common identify nothing and cost the most time
QUERY_BUDGET: Final = 200_000  # postings one query may visit; the commonest hashes go first
# Thresholds calibrated on the corpus (bench/fingerprint.py): similar one-shots (the same drum
# at two velocities, kick vs. low tom) share up to ~10 aligned landmarks by nature, so a match
# needs more than that *and* a share of the sparser side's landmarks.
MIN_MATCHED: Final = 12
MIN_SCORE: Final = 0.05
RELATIVE_SCORE: Final = 0.5  # a near-duplicate scores at least half the best match's score
# Containment flags an unrelated original on a chance match; on the calibration half of the
# corpus split (bench.provenance_split) unrelated one-shots reach 14-15 aligned landmarks as a
# "layer" of a similar drum, while a stem layered at 0 dB keeps 16 or more in all but 1 of 88.
CONTAIN_MIN_MATCHED: Final = 16
CONTAIN_MIN_SCORE: Final = 0.05
# Overlaps this long may also be contained on CONTAIN_CHANCE_FACTOR times the aligned count
# chance reaches (chance_bound) instead of the share: a 100 s stem at 0 dB in a mix of three
# keeps ~3 % of its landmarks aligned, still several times what chance aligns (4: loops on one
# beat grid align 2-3 times the bound by chance).
CONTAIN_LONG_S: Final = 20.0
CONTAIN_CHANCE_FACTOR: Final = 4.0
# A one-shot with at least DECAY_MIN_FOR_SCORE decay landmarks is weighed by the share of them a
# candidate alignment explains (from DECAY_WEIGHT_FLOOR at none to 1.0 at all); it also matches
# on DECAY_MIN_MATCHED of its decays, at least DECAY_MIN_SHARE of them, scoring DECAY_SCORE.
DECAY_MIN_FOR_SCORE: Final = 4
DECAY_WEIGHT_FLOOR: Final = 0.5
DECAY_MIN_MATCHED: Final = 6
DECAY_MIN_SHARE: Final = 0.75
DECAY_SCORE: Final = 0.06
# Forward landmarks (one-shots only): a match on them alone needs FORWARD_MIN_MATCHED aligned
# and FORWARD_MIN_SCORE of the sparser side's forward landmarks in the overlap.
FORWARD_MIN_MATCHED: Final = 30
FORWARD_MIN_SCORE: Final = 0.3
# Refusing an upload (see `conclusive`) takes an alignment chance reaches less often than this,
# at least REFUSE_MIN_MATCHED aligned landmarks and REFUSE_PER_S per second of overlap.
CHANCE_ALPHA: Final = 1e-6
REFUSE_MIN_MATCHED: Final = 20
REFUSE_PER_S: Final = 1.5


@dataclass(frozen=True)
class Match:
    key: str  # the indexed item's key (e.g. "stem:42" or "mix:7")
    score: float  # 0..1 confidence
    matched_hashes: int
    query_offset_s: float  # where in the query the matched item's material starts
    item_offset_s: float  # where in the indexed item the matched material starts
    coverage: float  # share of the query's (query) or item's (find_contained) duration explained
    # Hashes the query shares with the item at *any* offset: a copy's shared hashes mostly sit
    # at its one alignment, chance collisions spread over all offsets (see `conclusive`).
    shared_hashes: int = 0
    overlap_s: float = 0.0  # the duration query and item overlap at this alignment
    # The aligned count that the shared hashes reach at *some* offset by chance with
    # probability CHANCE_ALPHA, were they spread over the offsets at random (see chance_bound).
    chance_matched: int = 0
    # The change the match was found under (renderer.fingerprint.shifted): the query is the
    # item at `tempo` times its speed and `pitch` times its frequencies; 1.0, 1.0 is unchanged.
    tempo: float = 1.0
    pitch: float = 1.0
    # "forward" when found on forward landmarks alone (a one-shot with its start cut off, see
    # renderer.fingerprint.extraction.FORWARD_WINDOW): never conclusive on its own.
    via: str = ""


@dataclass
class _Candidates:
    """Per candidate item: aligned-hash count at its best offset and the matched query span."""

    items: I64
    matched: I64
    offsets: I64  # item frame - query frame at the best alignment
    span_lo: I64  # first and last query frame among the aligned hashes
    span_hi: I64
    decay: I64  # how many of the aligned hashes are decay landmarks
    shared: I64  # hashes shared with the item at any offset


def candidates(
    index: FingerprintIndex,
    fp: Fingerprint,
    *,
    dense: bool,
    decay: bool = True,
    budget: int = QUERY_BUDGET,
    tolerance: int = 1,
    forward: bool = False,
) -> _Candidates:
    """Per item sharing enough hashes with `fp`: its best alignment and what matched there.
    `dense`: use the query-only landmarks too; `decay`: use the decay landmarks; `budget`: the
    postings it may visit; `tolerance`: the frames an alignment may drift by (an alignment
    gathers the offsets of two buckets this wide; 1 is exact to the frame's jitter);
    `forward`: use the forward landmarks *only* (otherwise they are left out)."""
    index._flush()
    ahead = is_forward(fp.hashes)
    if forward or ahead.any():
        keep = ahead if forward else ~ahead
        fp = Fingerprint(fp.hashes[keep], fp.times[keep], fp.duration_s)
    if not dense:  # the query-only landmarks serve containment; see QUERY_ONLY
        indexed = fp.hashes < np.uint32(QUERY_ONLY)
        fp = Fingerprint(fp.hashes[indexed], fp.times[indexed], fp.duration_s)
    if not decay:  # a sound layered under others keeps its peaks, not its clean decays
        landmarks = (fp.hashes & np.uint32(QUERY_ONLY - 1)) < np.uint32(DECAY_BASE)
        fp = Fingerprint(fp.hashes[landmarks], fp.times[landmarks], fp.duration_s)
    empty = np.zeros(0, np.int64)
    none = _Candidates(empty, empty, empty, empty, empty, empty, empty)
    if len(fp) == 0 or index.postings == 0:
        return none
    q_hash = np.asarray(fp.hashes, np.uint32) & np.uint32(QUERY_ONLY - 1)
    q_hash = np.minimum(q_hash, np.uint32(HASH_SPACE - 1)).astype(np.int64)
    # Decay landmarks only come with one-shot queries; without them the decay rule cannot
    # accept anything, so the usual first cut applies and no per-posting flags are built.
    q_decay = q_hash >= DECAY_BASE
    decay = decay and bool(q_decay.any())
    main_lo = main_runs = delta_lo = delta_runs = empty
    runs = np.zeros(q_hash.shape[0], np.int64)
    if index._main_size:
        main_lo = index._starts[q_hash]
        main_runs = index._starts[q_hash + 1] - main_lo
        runs += main_runs
    if index._delta_size:
        delta_lo = np.searchsorted(index._delta_hash, q_hash, side="left")
        delta_runs = np.searchsorted(index._delta_hash, q_hash, side="right") - delta_lo
        runs += delta_runs
    # Hashes this common identify nothing and cost the most time; past a per-query budget
    # the commonest of the rest go too, so the worst query costs a bounded amount of work.
    use = runs <= STOP_POSTINGS
    if int(runs[use].sum()) > budget:
        order = np.argsort(np.where(use, runs, np.iinfo(np.int64).max), kind="stable")
        within = np.cumsum(runs[order]) <= budget
        use = np.zeros(q_hash.shape[0], dtype=bool)
        use[order[within]] = True
    q_time = fp.times.astype(np.int64)
    segs: list[I64] = []
    item_t: list[I64] = []
    query_t: list[I64] = []
    query_d: list[npt.NDArray[np.bool_]] = []
    levels = (
        (main_lo, main_runs, index._main_seg, index._main_time),
        (delta_lo, delta_runs, index._delta_seg, index._delta_time),
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
    seg_slots, seg_base = index._segments()
    items = seg_slots[seg]
    if len(index._seg_slot) != len(index._names):  # some item spans several segments
        t_item += seg_base[seg]
    n_slots = len(index._names)
    min_hits = min(MIN_MATCHED, CONTAIN_MIN_MATCHED, DECAY_MIN_MATCHED if decay else MIN_MATCHED)
    if forward:
        min_hits = FORWARD_MIN_MATCHED
    # Cheap first cut: an item needs min_hits shared hashes at *any* offsets before it can
    # have that many at one offset, and at scale almost every item sharing a few is noise.
    hits = np.bincount(items, minlength=n_slots)
    if len(index._slot) != n_slots:
        hits[~np.asarray(index._alive, dtype=bool)] = 0
    keep = (hits >= min_hits)[items]
    items, t_item, t_query = items[keep], t_item[keep], t_query[keep]
    is_decay = d_query[keep]
    if not items.shape[0]:
        return none
    offset = t_item - t_query
    # One key per (item, offset); offsets are shifted positive to keep the packing monotone.
    key = (items << 32) | ((offset + (1 << 31)) // tolerance)
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
    cand_offset = (uniq[best] & 0xFFFFFFFF) * tolerance - (1 << 31)
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
        hit &= (rel >= 0) & (rel < 2 * tolerance)
        hit_pos, hit_t = pos[hit], t_query[hit]
        span_lo[:] = np.iinfo(np.int64).max
        np.minimum.at(span_lo, hit_pos, hit_t)
        np.maximum.at(span_hi, hit_pos, hit_t)
        np.add.at(decay_hits, hit_pos[is_decay[hit]], 1)
    shared = hits[cand_items].astype(np.int64)
    return _Candidates(cand_items, cand_matched, cand_offset, span_lo, span_hi, decay_hits, shared)


def matches(
    index: FingerprintIndex,
    fp: Fingerprint,
    cands: _Candidates,
    *,
    contained: bool,
    limit: int,
    min_matched: int = MIN_MATCHED,
) -> list[Match]:
    """The candidates that pass the thresholds, as matches, best first. `min_matched`: the
    aligned landmarks a near-duplicate needs (a search over many keys asks for more)."""
    results: list[Match] = []
    plain = (fp.hashes < np.uint32(QUERY_ONLY)) & ~is_forward(fp.hashes)
    q_count = max(1, int(np.count_nonzero(plain)))
    for i in range(cands.items.shape[0]):
        slot = int(cands.items[i])
        matched = int(cands.matched[i])
        offset = int(cands.offsets[i])
        item_count = max(1, index._counts[slot] - index._forward_counts[slot])
        item_dur = max(index._durations[slot], HOP_S)
        q_start = max(0, -offset) * HOP_S
        i_start = max(0, offset) * HOP_S
        overlap = min(fp.duration_s - q_start, item_dur - i_start)
        overlap = max(overlap, HOP_S)
        span = (int(cands.span_hi[i]) - int(cands.span_lo[i]) + 1) * HOP_S
        # The item's hashes expected inside the overlap; noise or a second layer *adds*
        # peaks to the query, so the sparser side is the fair denominator.
        expected = max(1.0, item_count * min(1.0, overlap / item_dur))
        own_decay = index._decay_counts[slot]
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
            if not ok and matched >= CONTAIN_MIN_MATCHED and overlap >= CONTAIN_LONG_S:
                # A long stem under two others keeps a small share of its landmarks, but far
                # more of them on one alignment than chance piles there (see CONTAIN_LONG_S).
                chance = _chance(fp, item_dur, int(cands.shared[i]))
                ok = matched >= CONTAIN_CHANCE_FACTOR * chance
            coverage = min(1.0, span / item_dur)
        else:
            score = min(1.0, matched / min(float(q_count), expected)) * weight
            ok = matched >= min_matched and score >= MIN_SCORE
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
            chance = _chance(fp, item_dur, int(cands.shared[i]))
            results.append(
                Match(
                    key=index._names[slot],
                    score=float(score),
                    matched_hashes=matched,
                    query_offset_s=float(q_start),
                    item_offset_s=float(i_start),
                    coverage=float(coverage),
                    shared_hashes=int(cands.shared[i]),
                    overlap_s=float(overlap),
                    chance_matched=chance,
                )
            )
    results.sort(key=lambda m: (-m.score, -m.matched_hashes, m.key))
    return results[:limit]


def _chance(fp: Fingerprint, item_dur: float, shared: int) -> int:
    """The aligned count `shared` hashes reach at some offset by chance (see chance_bound):
    spread over every offset the two could align at; an alignment also counts its
    neighbour's (see candidates), hence twice the rate."""
    offsets = (fp.duration_s + item_dur) / HOP_S
    return chance_bound(2.0 * shared / max(offsets, 1.0), offsets)


def query(index: FingerprintIndex, fp: Fingerprint, *, limit: int = 5) -> list[Match]:
    """Items the query is a near-duplicate or an excerpt of, best first."""
    found = matches(index, fp, candidates(index, fp, dense=False), contained=False, limit=limit)
    if not found:
        # Nothing on the indexed landmarks alone: look again with the denser query-side
        # set, which recovers sounds whose own peaks noise pushed out of the budget. Only as
        # a fallback: on every query it also finds more similar-but-different one-shots.
        found = matches(index, fp, candidates(index, fp, dense=True), contained=False, limit=limit)
    # A copy of one item explains its landmarks far better than a similar sound does (the
    # same drum at another velocity, a sibling stroke): keep the items that come close to
    # the best, not every item past the absolute floor.
    kept = [m for m in found if m.score >= RELATIVE_SCORE * found[0].score]
    # A one-shot with its start cut off: the forward landmarks' matches, judged among
    # themselves (their scores are shares of other landmarks), for items not found already.
    ahead = forward_matches(index, fp, limit=limit)
    known = {m.key for m in kept}
    kept += [m for m in ahead if m.key not in known and m.score >= RELATIVE_SCORE * ahead[0].score]
    return kept[:limit]


def forward_matches(index: FingerprintIndex, fp: Fingerprint, *, limit: int) -> list[Match]:
    """Items a one-shot query matches on forward landmarks alone, best first."""
    q_count = int(np.count_nonzero(is_forward(fp.hashes)))
    if q_count == 0:
        return []
    cands = candidates(index, fp, dense=False, decay=False, forward=True)
    results: list[Match] = []
    for i in range(cands.items.shape[0]):
        slot = int(cands.items[i])
        matched = int(cands.matched[i])
        offset = int(cands.offsets[i])
        item_dur = max(index._durations[slot], HOP_S)
        q_start = max(0, -offset) * HOP_S
        i_start = max(0, offset) * HOP_S
        overlap = max(min(fp.duration_s - q_start, item_dur - i_start), HOP_S)
        # The share of the query's forward landmarks explained: a cut copy explains most of
        # them; a sound with few forward landmarks of its own cannot, however many align.
        score = min(1.0, matched / float(q_count))
        if matched < FORWARD_MIN_MATCHED or score < FORWARD_MIN_SCORE:
            continue
        span = (int(cands.span_hi[i]) - int(cands.span_lo[i]) + 1) * HOP_S
        results.append(
            Match(
                key=index._names[slot],
                score=float(score),
                matched_hashes=matched,
                query_offset_s=float(q_start),
                item_offset_s=float(i_start),
                coverage=float(min(1.0, span / max(fp.duration_s, HOP_S))),
                shared_hashes=int(cands.shared[i]),
                overlap_s=float(overlap),
                via="forward",
            )
        )
    results.sort(key=lambda m: (-m.score, -m.matched_hashes, m.key))
    return results[:limit]


def find_contained(index: FingerprintIndex, fp: Fingerprint, *, limit: int = 5) -> list[Match]:
    """Items whose material appears inside the query, possibly layered under other sounds."""
    cands = candidates(index, fp, dense=True, decay=False)
    return matches(index, fp, cands, contained=True, limit=limit)


def chance_bound(rate: float, offsets: float, alpha: float = CHANCE_ALPHA) -> int:
    """The smallest count m that chance reaches at any of `offsets` alignments with probability
    at most `alpha`, when each alignment draws Poisson(`rate`) hashes: offsets * P(X >= m) <=
    alpha, with the tail bounded above by its first term times (m + 1) / (m + 1 - rate)."""
    if rate <= 0.0:
        return 1
    m = max(1, math.ceil(rate))
    limit = math.log(alpha / max(offsets, 1.0))
    while True:
        log_term = -rate + m * math.log(rate) - math.lgamma(m + 1)
        if log_term + math.log((m + 1) / (m + 1 - rate)) <= limit:
            return m
        m += 1


def is_shifted(match: Match) -> bool:
    """Was `match` found sped up, slowed or pitched (renderer.fingerprint.shifted)? Its
    waveforms no longer line up sample for sample, so a waveform test cannot confirm it."""
    return match.tempo != 1.0 or match.pitch != 1.0


def conclusive(match: Match) -> bool:
    """Is `match` evidence that an unrelated original cannot produce, enough to refuse an upload
    outright? Two independent conditions, both required:

    * enough aligned landmarks: at least REFUSE_MIN_MATCHED, and REFUSE_PER_S per second of the
      audio the two overlap in (a long upload meets more landmarks by chance, so the bar rises
      with its length). Sibling one-shots (two strokes of one tabla) align on up to ~14.
    * an alignment peak chance cannot explain: more aligned landmarks than the hashes the two
      share at *any* offset would pile onto one offset by chance (`chance_matched`, at
      CHANCE_ALPHA). A long render shares thousands of common hashes with any long upload,
      and 12-14 of them land on one offset somewhere; a copy's aligned count towers over that.

    A match that passes the matching thresholds but not these is shown to curators as a flag,
    with its evidence, instead of refusing the upload. So is every shifted match (`is_shifted`):
    it was the best of dozens of keys tried, and no waveform test can second it; and every
    forward match (`via == "forward"`): the tail of a one-shot is one or two decaying tones,
    which a similar sound shares.
    """
    if is_shifted(match) or match.via == "forward":
        return False
    floor = max(REFUSE_MIN_MATCHED, math.ceil(REFUSE_PER_S * match.overlap_s))
    return match.matched_hashes >= floor and match.matched_hashes >= match.chance_matched
