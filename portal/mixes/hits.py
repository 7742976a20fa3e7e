"""Hit points that land: an accent on the exact sample, or a refusal that says why.

A hit point is a moment the client needs marked (a cut, a goal, a door slam). The planner
changes section on the bar line nearest to it, and when the tempo is free picks the tempo that
brings bar lines closest; but a bar grid can only land every hit exactly by luck. So each hit
also gets an accent: a stinger or impact one-shot from the vault (see `Candidate.is_hit`),
which the engine places on the sample `round(hit * rate)` whatever the tempo
(renderer/plan.py, "Accents"). A hit then lands within a sample.

When the vault has no hit one-shot that fits, a hit lands only where a section change falls
within `HIT_TOLERANCE_S` of it; a request with a hit that no section change can meet is refused
with the times it would have landed at, instead of being moved silently.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Any

from portal.core.errors import ApplicationError
from portal.core.music import MusicalKey, keys_fit
from portal.mixes.selection import TEMPO_TOLERANCE, Candidate, mood_affinity
from portal.mixes.soundtrack_request import SoundtrackRequest

HIT_TOLERANCE_S = 0.010
ACCENT_GAIN_DB = -3.0
TEMPO_STEP_BPM = 0.01


def bar_seconds(tempo_bpm: float) -> float:
    return 240.0 / tempo_bpm


END_WEIGHT = 0.25  # ending on a bar line is nice; landing the hit points is the point


def _bar_error(targets: Sequence[tuple[float, float]], tempo_bpm: float) -> float:
    bar = bar_seconds(tempo_bpm)
    return math.fsum(weight * abs(t - round(t / bar) * bar) for t, weight in targets)


def choose_tempo(
    stems: Sequence[Candidate], *, anchor: float, targets: Sequence[tuple[float, float]]
) -> float:
    """The tempo (0.01 bpm grid) inside every chosen loop's 6% window that puts `targets`
    ((seconds, weight): hit points and the end) closest to bar lines; ties go to the tempo
    nearest the anchor, which resamples the loops least."""
    low, high = anchor * (1.0 - TEMPO_TOLERANCE), anchor * (1.0 + TEMPO_TOLERANCE)
    for stem in stems:
        lo, hi = stem.tempo_window()
        low, high = max(low, lo), min(high, hi)
    first, last = math.ceil(low / TEMPO_STEP_BPM), math.floor(high / TEMPO_STEP_BPM)
    best_tempo, best_score = round(anchor, 2), (math.inf, math.inf)
    for step in range(first, last + 1):
        tempo = round(step * TEMPO_STEP_BPM, 2)
        if not all(stem.fits_tempo(tempo) for stem in stems):
            continue
        # Errors compared on a 0.1 ms grid so float noise cannot break ties non-deterministically.
        score = (round(_bar_error(targets, tempo), 4), abs(tempo - anchor))
        if score < best_score:
            best_tempo, best_score = tempo, score
    return best_tempo


def choose_hit_stem(
    candidates: Sequence[Candidate],
    *,
    moods: frozenset[str],
    key: MusicalKey | None,
    rng: random.Random,
) -> Candidate | None:
    """The one-shot every hit of this soundtrack uses: the closest mood tier, then a seeded draw."""
    options = [c for c in candidates if c.is_hit and keys_fit(c.key, key)]
    if not options:
        return None
    best = max(mood_affinity(c, moods) for c in options)
    return rng.choice([c for c in options if mood_affinity(c, moods) == best])


def accents_for(
    hits: Sequence[float], stem: Candidate | None, *, intensity: float
) -> list[dict[str, Any]]:
    if stem is None:
        return []
    gain = round(ACCENT_GAIN_DB + (intensity - 0.5) * 4.0, 2)
    return [{"stem": str(stem.id), "at_s": hit, "gain_db": gain} for hit in hits]


def check_section_landings(
    hits: Sequence[float], *, section_starts_s: Sequence[float], tempo: float, fixed: bool
) -> None:
    """Without accents: refuse hits that no section change lands within HIT_TOLERANCE_S of."""
    missed = []
    for hit in hits:
        nearest = min(section_starts_s, key=lambda s: abs(s - hit), default=None)
        if nearest is None or abs(nearest - hit) > HIT_TOLERANCE_S:
            missed.append((hit, nearest))
    if not missed:
        return
    where = "; ".join(
        f"{hit:g} s (nearest section change {nearest:.3f} s)"
        if nearest is not None
        else f"{hit:g} s (no section change near it)"
        for hit, nearest in missed
    )
    advice = (
        "leave the bpm out so the planner can choose a tempo that lands them, or move them"
        if fixed
        else "move them onto the bar grid or ask for fewer hit points"
    )
    raise ApplicationError(
        "hit_point_unreachable",
        f"The vault has no hit or stinger one-shot to mark hit points with, and at "
        f"{tempo:g} bpm these would not land within {HIT_TOLERANCE_S * 1000:g} ms: {where}. "
        f"Ask again with hit points on bar lines ({240.0 / tempo:.4g} s apart at this tempo), "
        f"{advice}.",
        fields={"hit_points": [f"Hit points that cannot land: {where}."]},
        status=422,
    )


def plan_hits(
    request: SoundtrackRequest,
    pool: Sequence[Candidate],
    *,
    key: MusicalKey | None,
    tempo: float,
    section_starts_s: Sequence[float],
) -> tuple[Candidate | None, list[dict[str, Any]]]:
    """The hit one-shot (None without hits or without one in the vault) and the plan's
    accents; ApplicationError("hit_point_unreachable") for hits that cannot land."""
    if not request.hit_points:
        return None, []
    # Drawn from its own stream, so asking for hits never changes which loops play.
    rng = random.Random(f"stemvault-hits:{request.seed}")
    stem = choose_hit_stem(pool, moods=frozenset({request.mood}), key=key, rng=rng)
    if stem is None:
        check_section_landings(
            request.hit_points,
            section_starts_s=[s for s in section_starts_s if s > 0],
            tempo=tempo,
            fixed=request.bpm is not None,
        )
    return stem, accents_for(request.hit_points, stem, intensity=request.intensity)
