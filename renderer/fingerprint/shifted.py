"""A shifted-key search: near-duplicates sped up, slowed or pitched, found by re-pairing the
query's own peaks under a small set of tempo and key changes (at lookup time, on the query only;
the index and its landmarks are unchanged).

Why a search and not an invariant representation: landmark hashes are (anchor bin, bin step,
frame gap) on a linear 25 Hz grid, and a tempo- and pitch-invariant hash (frequency and time
*ratios* of peak triplets on a constant-Q grid, as Panako does) would mean a new hash, a new
index format and re-fingerprinting every stored stem, for less discrimination per hash (a ratio
throws away the absolute frequency that tells a kick from a tom). Undoing a change on the query
is cheap instead: its peaks are kept at sub-bin, sub-frame precision (`Peaks`), so for a tempo
factor `a` and a pitch factor `p` each peak is moved to (frame * a, (bin + 1) / p - 1) (bins
start at 25 Hz), the peaks are re-paired into landmarks exactly as an indexed sound's are, and
the index is asked as usual.

Which changes: three lines through (tempo, pitch) space, the ones people use.

* tempo only (a time stretch that keeps the key): TEMPO_STEP steps up to TEMPO_RANGE;
* key only (a pitch shift that keeps the tempo): PITCH_STEP_ST steps up to PITCH_RANGE_ST;
* both together (a resampling speed change, a turntable): the two factors equal.

A landmark survives a residual error of half a step when its frame gap and bins move by less
than about half a unit: at a quarter semitone (1.5 %) a step, bins up to ~70 (1.7 kHz) and
gaps up to ~60 frames mostly do. A long query's alignment also drifts by the residual over its
length, so its offsets are gathered in buckets that wide (`candidates(tolerance=...)`).

The false-match rate: every extra key is another chance for an unrelated sound to align, so a
shifted match needs SHIFTED_MIN_MATCHED aligned landmarks, more than an unshifted one, and the
search only runs when the unshifted lookup finds nothing that explains most of the query. Each key visits at most
SHIFTED_BUDGET postings, the rarest hashes first, so the whole search costs a bounded amount.
"""

from __future__ import annotations

import dataclasses
import math
from functools import cache
from typing import TYPE_CHECKING, Final

import numpy as np

from renderer.fingerprint import matching
from renderer.fingerprint.extraction import (
    F32,
    HOP_S,
    N_BINS,
    QUERY_EXTRA_FAN_OUT,
    QUERY_ONLY,
    Fingerprint,
    Peaks,
    _landmarks,
    _packed,
)
from renderer.fingerprint.matching import Match, is_shifted

if TYPE_CHECKING:
    from renderer.fingerprint.index import FingerprintIndex

TEMPO_RANGE: Final = 0.055  # +-5 % and a half step beyond
TEMPO_STEP: Final = 0.015
PITCH_RANGE_ST: Final = 2.125  # +-2 semitones and a half step beyond
PITCH_STEP_ST: Final = 0.25
SPEED_RANGE_ST: Final = 1.0  # a +-5 % speed change is +-0.84 semitones
SHIFTED_MIN_MATCHED: Final = 16
SHIFTED_BUDGET: Final = 200_000  # for all keys together, as one lookup's QUERY_BUDGET
# A long query is searched on the SHIFTED_EXCERPT_S of it richest in peaks.
SHIFTED_EXCERPT_S: Final = 8.0
# Key k's landmarks are moved k * _SPREAD frames (9 h) later in the one lookup (see _search).
_SPREAD: Final = 1 << 21
# A conclusive unshifted match explaining this share of the query's duration settles it.
UNSHIFTED_COVERAGE: Final = 0.5
SHIFTED_PREFERRED: Final = 2.0


@cache
def keys() -> tuple[tuple[float, float], ...]:
    """(tempo factor, pitch factor) pairs the search tries, nearest to unchanged first."""
    found: list[tuple[float, float]] = []
    steps = int(TEMPO_RANGE / TEMPO_STEP)
    found += [(1.0 + k * TEMPO_STEP, 1.0) for k in range(-steps, steps + 1) if k]
    steps = int(PITCH_RANGE_ST / PITCH_STEP_ST)
    found += [(1.0, 2.0 ** (k * PITCH_STEP_ST / 12)) for k in range(-steps, steps + 1) if k]
    steps = int(SPEED_RANGE_ST / PITCH_STEP_ST)
    for k in range(-steps, steps + 1):
        if k:
            factor = 2.0 ** (k * PITCH_STEP_ST / 12)
            found.append((factor, factor))
    return tuple(sorted(found, key=lambda key: abs(math.log(key[0])) + abs(math.log(key[1]))))


def _residual(tempo: float, pitch: float) -> float:
    """The largest tempo error left between a change this key stands for and the key."""
    if tempo == 1.0:
        return 0.0  # a pitch shift keeps the tempo
    if pitch == 1.0:
        return TEMPO_STEP / 2
    return float(2.0 ** (PITCH_STEP_ST / 24) - 1.0)


def shifted(fp: Fingerprint, tempo: float, pitch: float) -> Fingerprint | None:
    """The landmarks `fp`'s sound would have with its tempo divided by `tempo` and its pitch by
    `pitch` (times and duration on the unchanged sound's clock), or None without peaks."""
    return _shifted_all(fp, [(tempo, pitch)])


def _shifted_all(fp: Fingerprint, changes: list[tuple[float, float]]) -> Fingerprint | None:
    """`shifted` for every change at once, change k's landmarks k * _SPREAD frames later: one
    constellation, paired in one pass (no pair spans two changes, _SPREAD frames apart), so the
    cost is one pairing however many keys there are. Duration: the unchanged one's."""
    peaks = fp.peaks
    if peaks is None:
        return None
    tempos = np.asarray([t for t, _ in changes], np.float32)[:, None]
    pitches = np.asarray([p for _, p in changes], np.float32)[:, None]
    lead = (np.arange(len(changes), dtype=np.int64) * _SPREAD)[:, None]
    parts = []
    sets = (
        (peaks.frames, peaks.bins, peaks.strength, peaks.fan_out),
        (
            peaks.dense_frames,
            peaks.dense_bins,
            peaks.dense_strength,
            peaks.fan_out + QUERY_EXTRA_FAN_OUT,
        ),
    )
    for frames_f, bins_f, strength, fan_out in sets:
        frames = (np.rint(frames_f[None, :] * tempos).astype(np.int64) + lead).ravel()
        bins = np.rint((bins_f[None, :] + 1.0) / pitches - 1.0).astype(np.int64).ravel()
        level = np.broadcast_to(strength[None, :], (len(changes), strength.shape[0])).ravel()
        inside = (bins >= 0) & (bins < N_BINS)
        frames, bins, level = frames[inside], bins[inside], level[inside]
        order = np.lexsort((bins, frames))
        hashes, times = _landmarks(frames[order], bins[order], level[order], fan_out)
        parts.append(_packed(hashes, times))
    # One sort instead of unique + setdiff: tag each landmark with its set (0 indexed-like, 1
    # query-only) in the low bit, keep the first of equal landmarks (the indexed one wins).
    tagged = np.concatenate([parts[0] << np.uint64(1), (parts[1] << np.uint64(1)) | np.uint64(1)])
    tagged.sort()
    value = tagged >> np.uint64(1)
    first = np.ones(tagged.shape[0], dtype=bool)
    first[1:] = value[1:] != value[:-1]
    extra = (tagged & np.uint64(1)).astype(bool)[first].astype(np.uint64)
    packed = value[first] | (extra * (np.uint64(QUERY_ONLY) << np.uint64(32)))
    return Fingerprint(
        hashes=(packed >> np.uint64(32)).astype(np.uint32),
        times=(packed & np.uint64(0xFFFFFFFF)).astype(np.uint32),
        duration_s=fp.duration_s * float(changes[0][0]) if len(changes) == 1 else fp.duration_s,
    )


def excerpt(fp: Fingerprint, seconds: float) -> tuple[Fingerprint, float]:
    """`fp` with its peaks cut to the `seconds` that hold the most of them, and where they
    start in it (s): a copy of a long stem is recognised from any part of it, and the search
    costs in proportion to the length it looks at."""
    peaks = fp.peaks
    if peaks is None or fp.duration_s <= seconds:
        return fp, 0.0
    span = seconds / HOP_S
    starts = np.sort(peaks.frames)
    within = np.searchsorted(starts, starts + span) - np.arange(starts.shape[0])
    first = float(starts[int(np.argmax(within))]) if starts.shape[0] else 0.0

    def cut(frames: F32, *columns: F32) -> list[F32]:
        keep = (frames >= first) & (frames < first + span)
        return [frames[keep] - np.float32(first), *(c[keep] for c in columns)]

    frames, bins, strength = cut(peaks.frames, peaks.bins, peaks.strength)
    dense = cut(peaks.dense_frames, peaks.dense_bins, peaks.dense_strength)
    cut_peaks = Peaks(frames, bins, strength, dense[0], dense[1], dense[2], peaks.fan_out)
    return Fingerprint(fp.hashes[:0], fp.times[:0], seconds, peaks=cut_peaks), first * HOP_S


def query(index: FingerprintIndex, fp: Fingerprint, *, limit: int = 5) -> list[Match]:
    """Items the query is a near-duplicate or an excerpt of, best first: unshifted, or failing
    that, under the best of `keys()` (offsets on the query's own clock)."""
    found = matching.query(index, fp, limit=limit)
    # Forward matches (a one-shot with its start cut off) are scored on other landmarks; they
    # ride along, after the rest, for the items nothing else found.
    ahead = [m for m in found if m.via == "forward"]
    found = [m for m in found if m.via != "forward"]
    if fp.peaks is None or (
        found and found[0].coverage >= UNSHIFTED_COVERAGE and matching.conclusive(found[0])
    ):
        return found
    # Nothing, or only a match that is weak or explains a part of the query: a shorter sound
    # inside it (the loop a long stem was bounced from) or a similar one-shot. The shifted
    # copy, if there is one, is kept beside those.
    # An item the unshifted lookup found keeps that match (with its waveform test and its
    # conclusiveness) unless a key explains SHIFTED_PREFERRED times its share: a copy is not
    # made a changed copy by a step, but a stretched copy's few landmarks that still line up
    # over a fraction of a second (found by the query-only half-hop look) are not its match.
    best: dict[str, Match] = {m.key: m for m in found}
    for match in _search(index, fp, limit):
        prior = best.get(match.key)
        if (
            prior is not None
            and not is_shifted(prior)
            and matching.conclusive(prior)
            and match.score <= SHIFTED_PREFERRED * prior.score
        ):
            continue
        if match.key not in best or match.score > best[match.key].score:
            best[match.key] = match
    ranked = sorted(best.values(), key=lambda m: (-m.score, -m.matched_hashes, m.key))[:limit]
    if not ranked:
        return _with_forward([], ahead, limit)
    # As in matching.query, items far below the best are its similar siblings; but a match with
    # more aligned landmarks than the best is no weaker sibling: a long copy scores below the
    # short loop it was bounced from (a share of far more landmarks), and both stay.
    kept = [
        m
        for m in ranked
        if m.score >= matching.RELATIVE_SCORE * ranked[0].score
        or m.matched_hashes > ranked[0].matched_hashes
    ]
    return _with_forward(kept, ahead, limit)


def _with_forward(found: list[Match], ahead: list[Match], limit: int) -> list[Match]:
    """`found`, then the forward matches of other items, unless something in `found` is
    conclusive: then the query is that copy, not a cut one, and forward matches beside it
    are only its similar sounds."""
    if any(matching.conclusive(m) for m in found):
        return found
    known = {m.key for m in found}
    return [*found, *(m for m in ahead if m.key not in known)][:limit]


def _search(index: FingerprintIndex, fp: Fingerprint, limit: int) -> list[Match]:
    """Every key at once, in one lookup: key k's landmarks are moved k * _SPREAD frames later,
    so its alignments sit at offsets no other key's reach, and each item's best alignment is its
    best key's. Per key, the matches are then judged against that key's own landmarks."""
    part, lead_s = excerpt(fp, SHIFTED_EXCERPT_S)
    # The unchanged key is searched too: an item whose best alignment is unchanged is none of
    # this search's business (a layer, a similar sound: the unshifted checks judge it), and a
    # key next to it must not report it as changed by a step.
    changes = [(1.0, 1.0), *keys()]
    combined = _shifted_all(part, changes)
    if combined is None or not len(combined):
        return []
    # A residual tempo error of half a step drifts an alignment by that much over the excerpt
    # (on the item's clock, up to 1 + TEMPO_RANGE times the query's).
    drift = max(_residual(t, p) for t, p in changes) * part.duration_s * (1.0 + TEMPO_RANGE)
    cands = matching.candidates(
        index,
        combined,
        dense=True,
        decay=False,
        budget=SHIFTED_BUDGET,
        tolerance=max(1, math.ceil(drift / HOP_S)),
    )
    key_of = (_SPREAD // 2 - cands.offsets) // _SPREAD
    out: list[Match] = []
    key_times = combined.times // np.uint32(_SPREAD)
    for k in np.unique(key_of).tolist():
        if not 1 <= k < len(changes):
            continue
        tempo, pitch = changes[k]
        # The key's own landmarks: its matches' scores are shares of those.
        own_landmarks = key_times == k
        shifted_fp = Fingerprint(
            combined.hashes[own_landmarks],
            combined.times[own_landmarks],
            part.duration_s * tempo,
        )
        mine = key_of == k
        own = dataclasses.replace(
            cands,
            **{
                name: getattr(cands, name)[mine]
                for name in ("items", "matched", "span_lo", "span_hi", "decay", "shared")
            },
            offsets=cands.offsets[mine] + k * _SPREAD,
        )
        own.span_lo -= k * _SPREAD
        own.span_hi -= k * _SPREAD
        for match in matching.matches(
            index, shifted_fp, own, contained=False, limit=limit, min_matched=SHIFTED_MIN_MATCHED
        ):
            out.append(
                dataclasses.replace(
                    match,
                    query_offset_s=match.query_offset_s / tempo + lead_s,
                    tempo=tempo,
                    pitch=pitch,
                )
            )
    return out
