"""Clearance lookup: which of the platform's renders a clip from anywhere comes from.

A creator whose video is claimed (Content ID and the like) holds a clip of a soundtrack that
went through a video editor: cut anywhere, re-encoded (MP3, AAC, Opus), with speech or effects
over it. Two parts live here, both pure:

* `read_clip` (renderer.clearance_clip): the clip decoded within bounds.
* Two stages of matching. `candidates`: the clip's dense landmarks (`query_fingerprint`)
  against the render fingerprint index (the self-output guard's, `renderer.fingerprint`,
  unchanged) give the renders with the most time-aligned landmarks, each at its two best
  offsets, or up to four while a loop's repeats rival the best (`offset_peaks`); a clip with
  none gets a denser second pass (`clip_candidates`). `confirm`: each candidate's own audio there (the caller reads it)
  is compared with the clip band by band; `confirmed` ranks the renders by both kinds of
  evidence (`evidence`) and keeps the ones an answer names: the best, and any other only as a
  tie (the same audio there).
"""

from __future__ import annotations

import math
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from renderer.clearance_clip import Clip, Mono
from renderer.dsp.framing import frame_starts, spectra
from renderer.fingerprint import (
    HOP_S,
    QUERY_ONLY,
    Fingerprint,
    FingerprintIndex,
    Match,
    extraction,
    matching,
)
from renderer.fingerprint.extraction import DECAY_BASE

# A landmark candidate (`candidates`) has at least CLEAR_MIN_MATCHED aligned landmarks, and
# more than chance piles onto one offset (Match.chance_matched, the self-output guard's bound).
CLEAR_MIN_MATCHED: Final = 12
# The query's dense landmarks (`query_fingerprint`): on clips of another seed of
# bench.clearance's generator that found no candidate, 6x the peaks paired 16 ways found the
# source in 8 of 9 (the fingerprint's own query-only set, 2x and 7 ways, in none); the fan-out
# mattered more than the density (8x paired 8 ways found 5).
CLEAR_QUERY_DENSITY: Final = 6.0
CLEAR_QUERY_FAN_OUT: Final = 16
# Postings one lookup visits (rarest hashes first, matching.candidates' `budget`), and the
# clip's first seconds its landmarks come from. With 100k renders indexed the dense query
# meets ~1M postings over 20 s; the self-output guard's 200k cut most of the source's
# evidence (the source among the 4 best-aligned for 19 of 30 clips of bench.clearance), 700k
# keeps it for 27 at ~25 ms, all of them 29 at ~110 ms. Past 20 s a clip adds cost, not
# evidence (12 s lost 2 of 240 calibration clips of 20 s).
CLEAR_QUERY_BUDGET: Final = 700_000
CLEAR_QUERY_MAX_S: Final = 20.0
# A clip with no candidate at all gets a second, looser pass (`clip_candidates`): denser
# landmarks paired wider, under the same thresholds (CLEAR_MIN_MATCHED is also the index's own
# floor, matching.MIN_MATCHED; the chance bound applies, and confirm still has to reach
# CONFIRM_MIN). Only such clips pay for it: a short clip under loud speech, or one from no
# render. Not tuned either: seed 7's one clip without a candidate (5 s) still has none.
FALLBACK_DENSITY: Final = 10.0
FALLBACK_FAN_OUT: Final = 24

# The second stage (`confirm`): landmarks find candidates fast, but a render sharing the
# clip's stems aligns many of them too, and a loop's landmarks align at each of its repeats.
# The candidate's own audio there tells more: the log energy of each band over time, clip
# against render, correlated band by band (Pearson: a gain change or an equaliser's tilt
# changes nothing) and averaged over the bands. Neither alone suffices: on renders made for
# the purpose (seed 7 of bench.clearance's generator, not the seed its figures use), with
# two offsets per render, the best-aligned alignment was the source's for 0.971 of clips, the
# best-correlated for 0.954, their combination (`evidence`) for 0.9875, with 5 other renders
# named (17 by correlation alone). CONFIRM_MIN, CONFIRM_MARGIN and LANDMARK_WEIGHT were set
# there; the candidates of unrelated clips correlated under 0.15.
CONFIRM_BANDS: Final = 24  # log-spaced, 100 Hz to 11 kHz: the fingerprint's band
CONFIRM_LAG_S: Final = 0.5  # the fine search around the landmarks' offset
CONFIRM_MIN: Final = 0.15  # the similarity a named render reaches
CONFIRM_MARGIN: Final = 0.01  # and its `evidence` at most this far under the best render's
LANDMARK_WEIGHT: Final = 0.5  # see `evidence`
# Landmark candidates confirmed per clip, most aligned first: on the calibration renders the
# source was among the first 3 in all but 1 of the 233 clips it was a candidate of.
CANDIDATES: Final = 4
# Offsets confirmed per candidate render (see `candidates`), at least OFFSET_APART frames
# apart: beyond confirm's own lag search.
OFFSETS_PER_RENDER: Final = 2
OFFSET_APART: Final = round(0.5 / HOP_S)
# And up to AMBIGUOUS_OFFSETS when the votes do not decide: a loop repeated under the clip
# piles its landmarks onto every repeat, and when further repeats gather at least
# AMBIGUOUS_SHARE of the best one's aligned landmarks, the true one may be any of them (3 of
# bench.clearance's misses had the source at neither of the two best). Chosen, not tuned: on
# seed 7 recall stayed 0.9875 (its 3 misses: two 5 s clips naming a render sharing stems, one
# with no candidate), 4 other renders named; on the bench's seed this and the second pass of
# `clip_candidates` together found 2 more clips.
AMBIGUOUS_OFFSETS: Final = 4
AMBIGUOUS_SHARE: Final = 0.6
# Confirm compares at most this much of the clip (its first seconds): each candidate costs a
# spectrum of its stretch, and 10 s already tell renders apart as well as the landmarks can.
CONFIRM_MAX_S: Final = 10.0
_WINDOW_S: Final = 0.04


def band_envelopes(mono: Mono, sample_rate: int) -> npt.NDArray[np.float32]:
    """Log energy per band (CONFIRM_BANDS, 100 Hz - 11 kHz) per HOP_S frame, (frames, bands),
    on the fingerprint's grid of seconds at any rate."""
    width = max(16, round(_WINDOW_S * sample_rate))
    hop = HOP_S * sample_rate
    if mono.shape[0] < width:
        return np.zeros((0, CONFIRM_BANDS), np.float32)
    starts = frame_starts(mono.shape[0], width, hop)
    window = np.hanning(width + 2)[1:-1].astype(np.float32)
    freqs = np.fft.rfftfreq(width, 1.0 / sample_rate)
    edges = np.geomspace(100.0, min(11_000.0, sample_rate / 2.0), CONFIRM_BANDS + 1)
    # Bands are runs of neighbouring bins, summed run by run (np.add.reduceat); a band
    # narrower than a bin holds none and stays at the floor.
    cut = np.searchsorted(freqs, edges, side="left")
    empty = cut[1:] == cut[:-1]
    lows = np.minimum(cut[:-1], cut[-1] - 1)
    out = np.zeros((starts.shape[0], CONFIRM_BANDS), np.float32)
    signal = np.ascontiguousarray(mono, dtype=np.float32)
    for first, spectrum in spectra(signal, window, starts):
        power = np.square(spectrum.real[:, : cut[-1]], dtype=np.float32)
        power += np.square(spectrum.imag[:, : cut[-1]], dtype=np.float32)
        bands = np.add.reduceat(power, lows, axis=1)
        bands[:, empty] = 0.0
        out[first : first + power.shape[0]] = np.log(bands + np.float32(1e-10))
    return out


def clip_envelopes(clip: Clip) -> npt.NDArray[np.float32]:
    """The band envelopes `confirm` compares: of the clip's first CONFIRM_MAX_S."""
    return band_envelopes(clip.samples[: round(CONFIRM_MAX_S * clip.sample_rate)], clip.sample_rate)


def confirm(
    clip: Clip,
    render: Mono,
    render_rate: int,
    around_s: float,
    *,
    clip_bands: npt.NDArray[np.float32] | None = None,
) -> tuple[float, float]:
    """(similarity 0..1, refined start) of the clip against `render`, a mono stretch of the
    candidate starting CONFIRM_LAG_S before `around_s` (the landmarks' start of the clip in
    the render), searched +-CONFIRM_LAG_S for the best lag. `clip_bands`: the clip's
    band_envelopes, when the caller confirms several candidates of one clip."""
    q = clip_envelopes(clip) if clip_bands is None else clip_bands
    r = band_envelopes(render, render_rate).astype(np.float64)
    lags = round(CONFIRM_LAG_S / HOP_S)
    first_s = max(0.0, around_s - CONFIRM_LAG_S)
    base = round((around_s - first_s) / HOP_S)  # the frame of `r` the landmarks point at
    n = q.shape[0]
    lo, hi = max(0, base - lags), min(r.shape[0] - n, base + lags)  # first frames searched
    if n < 8 or hi < lo:
        return 0.0, around_s
    qc = q.astype(np.float64) - q.mean(axis=0)
    q_norm = np.sqrt((qc * qc).sum(axis=0)) + 1e-9
    stretch = r[lo : hi + n]
    # Pearson per band at every lag at once: qc sums to zero, so the numerator is a plain
    # cross-correlation; each window's own spread comes from running sums.
    numerator = np.einsum("lbn,nb->lb", sliding_window_view(stretch, n, axis=0), qc)
    zero = np.zeros((1, stretch.shape[1]))
    s1 = np.cumsum(np.vstack([zero, stretch]), axis=0)
    s2 = np.cumsum(np.vstack([zero, stretch * stretch]), axis=0)
    total, squares = s1[n:] - s1[:-n], s2[n:] - s2[:-n]
    spread = np.sqrt(np.maximum(squares - total * total / n, 0.0)) + 1e-9
    scores = (numerator / (q_norm * spread)).mean(axis=1)
    k = int(np.argmax(scores))
    if scores[k] <= 0.0:
        return 0.0, around_s
    return float(scores[k]), first_s + (lo + k) * HOP_S


def query_fingerprint(
    clip: Clip, *, density: float = CLEAR_QUERY_DENSITY, fan_out: int = CLEAR_QUERY_FAN_OUT
) -> Fingerprint:
    """The clip's landmarks as a clearance query: the indexed kind (what `fingerprint` gives a
    render, so a clean excerpt aligns as the self-output guard's does), and a far denser kind
    flagged QUERY_ONLY, CLEAR_QUERY_DENSITY times the peaks, each paired with
    CLEAR_QUERY_FAN_OUT partners. Speech over the clip takes many of the strongest places in
    each second, pushing the render's own peaks down the ranking and out of the budget that
    pairing draws from; a render's indexed pair survives if both its peaks are anywhere among
    the clip's dense peaks and the partner among the anchor's pairings. Built from the
    fingerprint's own steps (`renderer.fingerprint.extraction`), one spectrogram for both."""
    head = clip.samples[: round(CLEAR_QUERY_MAX_S * clip.sample_rate)]
    mono, rate = extraction._decimate(head, clip.sample_rate)
    found = extraction._local_maxima(extraction._spectrogram(mono, rate))
    duration = head.shape[0] / clip.sample_rate
    indexed = extraction._packed(
        *extraction._landmarks(*extraction._peaks(found, duration), extraction.LONG_FAN_OUT)
    )
    dense = extraction._packed(
        *extraction._landmarks(*extraction._peaks(found, duration, density), fan_out)
    )
    kept = np.unique(indexed)
    extra = np.setdiff1d(dense, kept) | (np.uint64(QUERY_ONLY) << np.uint64(32))
    packed = np.concatenate([kept, extra])
    return Fingerprint(
        hashes=(packed >> np.uint64(32)).astype(np.uint32),
        times=(packed & np.uint64(0xFFFFFFFF)).astype(np.uint32),
        duration_s=duration,
    )


def clip_candidates(
    index: FingerprintIndex, clip: Clip, guard: AbstractContextManager[object] | None = None
) -> list[Match]:
    """`candidates` of the clip's query landmarks, and when there are none, of a denser pass
    (FALLBACK_DENSITY, FALLBACK_FAN_OUT). `guard` (a lock, say) is held
    around each visit to the index only, not while the clip is fingerprinted."""
    fp = query_fingerprint(clip)
    with guard or nullcontext():
        found = candidates(index, fp)
    if found:
        return found
    loose = query_fingerprint(clip, density=FALLBACK_DENSITY, fan_out=FALLBACK_FAN_OUT)
    with guard or nullcontext():
        return candidates(index, loose)


def candidates(
    index: FingerprintIndex,
    fp: Fingerprint,
    *,
    limit: int = CANDIDATES,
) -> list[Match]:
    """The alignments `confirm` checks: the `limit` renders most aligned with the clip (past
    what chance piles onto one offset), each at its OFFSETS_PER_RENDER best offsets, most
    aligned first. A render's second offset matters when its loops repeat: the landmarks of a
    shared loop pile up at every repeat, and the best-aligned one may sit where the render's
    other layers differ from the clip's (a wrong repeat that `confirm` then rejects)."""
    cands = matching.candidates(index, fp, dense=True, decay=False, budget=CLEAR_QUERY_BUDGET)
    order = np.argsort(-cands.matched, kind="stable")[: limit * 4]
    slots: list[int] = []
    for i in order:
        slot = int(cands.items[i])
        if _passes(index, fp, slot, int(cands.matched[i]), int(cands.shared[i])):
            slots.append(slot)
            if len(slots) == limit:
                break
    shared = dict(zip(cands.items.tolist(), cands.shared.tolist(), strict=True))
    found: list[Match] = []
    for slot, peaks in zip(slots, offset_peaks(index, fp, slots), strict=True):
        for rank, (offset, matched) in enumerate(peaks):
            if rank and not _passes(index, fp, slot, matched, shared[slot]):
                continue
            found.append(_match(index, fp, slot, offset, matched, shared[slot]))
    found.sort(key=lambda m: -m.matched_hashes)
    return found


def _chance(index: FingerprintIndex, fp: Fingerprint, slot: int, shared: int) -> int:
    offsets = (fp.duration_s + max(index._durations[slot], HOP_S)) / HOP_S
    return matching.chance_bound(2.0 * shared / max(offsets, 1.0), offsets)


def _passes(index: FingerprintIndex, fp: Fingerprint, slot: int, matched: int, shared: int) -> bool:
    return matched >= CLEAR_MIN_MATCHED and matched >= _chance(index, fp, slot, shared)


def _match(
    index: FingerprintIndex, fp: Fingerprint, slot: int, offset: int, matched: int, shared: int
) -> Match:
    item_dur = max(index._durations[slot], HOP_S)
    q_start, i_start = max(0, -offset) * HOP_S, max(0, offset) * HOP_S
    return Match(
        key=index._names[slot],
        score=0.0,
        matched_hashes=matched,
        query_offset_s=q_start,
        item_offset_s=i_start,
        coverage=0.0,
        shared_hashes=shared,
        overlap_s=max(HOP_S, min(fp.duration_s - q_start, item_dur - i_start)),
        chance_matched=_chance(index, fp, slot, shared),
    )


def offset_peaks(
    index: FingerprintIndex,
    fp: Fingerprint,
    slots: list[int],
    per_item: int = OFFSETS_PER_RENDER,
    *,
    ambiguous: int = AMBIGUOUS_OFFSETS,
    share: float = AMBIGUOUS_SHARE,
) -> list[list[tuple[int, int]]]:
    """Per slot, its `per_item` best (offset in frames, aligned landmarks) at least
    OFFSET_APART frames apart, best first, and further ones up to `ambiguous` in all while
    each has at least `share` of the best's landmarks (the repeats of a loop the votes cannot
    tell apart): the offset histogram of the clip's landmarks
    (indexed and query-only, no decays) against those items only. The index's own
    `matching.candidates` keeps one offset per item; this second pass over the few candidates'
    postings (numpy gathers over the index's sorted columns, no per-hash Python) keeps more."""
    if not slots:
        return []
    landmarks = (fp.hashes & np.uint32(QUERY_ONLY - 1)) < np.uint32(DECAY_BASE)
    q_hash = (fp.hashes[landmarks] & np.uint32(QUERY_ONLY - 1)).astype(np.int64)
    q_time = fp.times[landmarks].astype(np.int64)
    index._flush()
    wanted = np.full(len(index._names), -1, np.int64)
    wanted[slots] = np.arange(len(slots))
    seg_slots, seg_base = index._segments()
    who: list[npt.NDArray[np.int64]] = []
    offs: list[npt.NDArray[np.int64]] = []
    levels = []
    if index._main_size:
        lo = index._starts[q_hash]
        levels.append((lo, index._starts[q_hash + 1] - lo, index._main_seg, index._main_time))
    if index._delta_size:
        lo = np.searchsorted(index._delta_hash, q_hash, side="left")
        hi = np.searchsorted(index._delta_hash, q_hash, side="right")
        levels.append((lo, hi - lo, index._delta_seg, index._delta_time))
    if not levels:
        return [[] for _ in slots]
    total_runs: npt.NDArray[np.int64] = np.sum([level[1] for level in levels], axis=0)
    use = total_runs <= matching.STOP_POSTINGS
    if int(total_runs[use].sum()) > CLEAR_QUERY_BUDGET:  # the rarest first, as candidates
        order = np.argsort(np.where(use, total_runs, np.iinfo(np.int64).max), kind="stable")
        use = np.zeros(q_hash.shape[0], dtype=bool)
        use[order[np.cumsum(total_runs[order]) <= CLEAR_QUERY_BUDGET]] = True
    for lo, runs, seg_col, time_col in levels:
        take = np.where(use, runs, 0)
        total = int(take.sum())
        if total == 0:
            continue
        rows = np.repeat(lo - (np.cumsum(take) - take), take) + np.arange(total)
        seg = seg_col[rows].astype(np.int64)
        item = wanted[seg_slots[seg]]
        keep = item >= 0
        # Only the few candidates' postings are read further (most rows are other items').
        rows, seg = rows[keep], seg[keep]
        t_item = time_col[rows].astype(np.int64) + seg_base[seg]
        who.append(item[keep])
        offs.append(t_item - np.repeat(q_time, take)[keep])
    out: list[list[tuple[int, int]]] = [[] for _ in slots]
    if not who:
        return out
    item_all, off_all = np.concatenate(who), np.concatenate(offs)
    for k in range(len(slots)):
        off = off_all[item_all == k]
        if not off.shape[0]:
            continue
        low = int(off.min())
        hist = np.bincount(off - low)
        # An alignment also gets its neighbour's frame, as in matching.candidates.
        merged = hist + np.concatenate([hist[1:], [0]])
        top = 0
        for rank in range(max(per_item, ambiguous)):
            best = int(np.argmax(merged))
            votes = int(merged[best])
            if votes <= 0 or (rank >= per_item and votes < share * top):
                break
            top = max(top, votes)
            out[k].append((best + low, votes))
            merged[max(0, best - OFFSET_APART) : best + OFFSET_APART + 1] = 0
    return out


@dataclass(frozen=True)
class Confirmed:
    match: Match  # the landmark evidence
    similarity: float  # confirm's, 0..1
    start_s: float  # where in the render the clip starts (negative: before it)


def evidence(found: Confirmed, most_aligned: int) -> float:
    """What `confirmed` ranks by: confirm's similarity, less LANDMARK_WEIGHT times how many
    times fewer aligned landmarks the alignment has than the clip's best-aligned candidate (a
    natural log). Each speaks where the other is weak: a render sharing the clip's loudest stem
    correlates nearly as well band by band, but its landmarks only align on that stem's peaks;
    a render sharing a dense loop aligns many landmarks, but its other layers differ from the
    clip's where confirm looks."""
    aligned = max(1, found.match.matched_hashes)
    return found.similarity - LANDMARK_WEIGHT * math.log(max(aligned, most_aligned) / aligned)


def confirmed(scored: list[Confirmed]) -> list[Confirmed]:
    """The renders an answer names, best first: each render at its best alignment, confirmed
    at CONFIRM_MIN, within CONFIRM_MARGIN of the best render's `evidence`. A second render is
    named only as a tie: audio the two renders share there sounds the same in both."""
    if not scored:
        return []
    most = max(c.match.matched_hashes for c in scored)
    best: dict[str, tuple[float, Confirmed]] = {}
    for found in scored:
        if found.similarity < CONFIRM_MIN:
            continue
        weight = evidence(found, most)
        key = found.match.key
        if key not in best or weight > best[key][0]:
            best[key] = (weight, found)
    ranked = sorted(
        best.values(), key=lambda wc: (-wc[0], -wc[1].match.matched_hashes, wc[1].match.key)
    )
    if not ranked:
        return []
    return [c for w, c in ranked if w >= ranked[0][0] - CONFIRM_MARGIN]
