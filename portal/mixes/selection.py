"""Choosing stems for a plan: which approved stems fit a request's tempo, key and mood, and a
balanced set of them by role group (see the planner's module docstring for the rules).

Pure Python over plain `Candidate` records; the only database read is `vault_candidates()`.
Every choice is a sort or a draw from the caller's seeded `random.Random`, so it is
deterministic for a given request, seed and vault state.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from portal.core.errors import ApplicationError
from portal.core.music import MusicalKey, keys_fit, parse_key
from renderer.plan import MAX_TEMPO_CONFORM

DEFAULT_TEMPO_BPM = 120.0
# A hair inside the engine's 6% so that rounding the tempo to 0.01 bpm never crosses the line.
TEMPO_TOLERANCE = MAX_TEMPO_CONFORM - 1e-4

ROLE_GROUPS: dict[str, tuple[str, ...]] = {
    "drums": ("drums",),
    "bass": ("bass",),
    "harmony": ("harmony", "melody", "vocals"),
    "texture": ("texture", "percussion", "fx"),
}
GROUP_OF_ROLE = {role: group for group, roles in ROLE_GROUPS.items() for role in roles}


# --- candidates ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """What the planner needs to know about one stem."""

    id: int
    role: str
    bpm: float | None
    key: MusicalKey | None
    moods: frozenset[str]
    duration_s: float
    content_sha256: str  # sha256 of the stored file's bytes: what the engine's loader checks

    @property
    def group(self) -> str:
        return GROUP_OF_ROLE.get(self.role, "texture")

    def fits_tempo(self, tempo_bpm: float) -> bool:
        return self.bpm is None or abs(tempo_bpm / self.bpm - 1.0) <= TEMPO_TOLERANCE

    def tempo_window(self) -> tuple[float, float]:
        if self.bpm is None:
            return (0.0, math.inf)
        return (self.bpm * (1.0 - TEMPO_TOLERANCE), self.bpm * (1.0 + TEMPO_TOLERANCE))


def candidate_from_stem(stem: Any) -> Candidate:
    return Candidate(
        id=int(stem.pk),
        role=str(stem.role),
        bpm=float(stem.bpm) if stem.bpm else None,
        key=parse_key(stem.musical_key),
        moods=frozenset(str(m).strip().lower() for m in (stem.moods or []) if str(m).strip()),
        duration_s=float(stem.duration_s),
        content_sha256=str(stem.file_sha256),
    )


def vault_candidates() -> list[Candidate]:
    """Every approved stem, by id. Only approved stems sound in new renders."""
    from portal.mixes.selectors import renderable_stems

    return [candidate_from_stem(stem) for stem in renderable_stems()]


# --- choosing stems ------------------------------------------------------------------------


def _mood_match(candidate: Candidate, moods: Iterable[str]) -> bool:
    return bool(candidate.moods & set(moods))


def _groups_covered(pool: Sequence[Candidate]) -> int:
    return len({c.group for c in pool})


def _choose_anchor(pool: Sequence[Candidate], moods: frozenset[str]) -> float:
    """The tempo to build around when none is asked for: the loop tempo whose compatible pool
    covers the most role groups (then: most mood matches, then most stems, then lowest bpm)."""
    tempos = sorted({c.bpm for c in pool if c.bpm is not None})
    if not tempos:
        return DEFAULT_TEMPO_BPM
    best: tuple[tuple[int, int, int], float] | None = None
    for tempo in tempos:
        fitting = [c for c in pool if c.fits_tempo(tempo)]
        score = (
            _groups_covered(fitting),
            sum(1 for c in fitting if _mood_match(c, moods)),
            len(fitting),
        )
        if best is None or score > best[0]:
            best = (score, tempo)
    assert best is not None
    return best[1]


def _choose_key(pool: Sequence[Candidate], moods: frozenset[str]) -> MusicalKey | None:
    """The key to build around when none is asked for: the one most keyed stems fit."""
    keys = sorted({c.key for c in pool if c.key is not None}, key=lambda k: (k.pitch, k.minor))
    if not keys:
        return None
    scored = []
    for key in keys:
        fitting = [c for c in pool if c.key is not None and key.fits(c.key)]
        scored.append(
            (
                sum(1 for c in fitting if c.key == key),
                sum(1 for c in fitting if _mood_match(c, moods)),
                len(fitting),
                -keys.index(key),
                key,
            )
        )
    # Prefer a key that some stem is actually in, then mood matches, then fit count.
    return max(scored, key=lambda row: (row[0] > 0, row[1], row[2], row[3]))[4]


def _pick(
    pool: Sequence[Candidate],
    group: str,
    moods: frozenset[str],
    rng: random.Random,
    taken: set[int],
) -> Candidate | None:
    options = [c for c in pool if c.group == group and c.id not in taken]
    if not options:
        return None
    preferred = [c for c in options if _mood_match(c, moods)] or options
    return rng.choice(preferred)


def no_stems_error(
    *, total: int, after_key: int, request_bpm: float | None, key: str, mood: str
) -> ApplicationError:
    if total == 0:
        advice = "The vault has no approved stems yet; try again once curators approve some."
    elif after_key == 0:
        advice = f"No approved stem fits the key {key}; leave the key out or choose another."
    elif request_bpm is not None:
        advice = (
            f"No approved stem can play at {request_bpm:g} bpm (loops may only be conformed by "
            f"up to 6%); leave the bpm out or choose another tempo."
        )
    else:
        advice = "Relax the tempo or the key."
    return ApplicationError(
        "no_compatible_stems",
        f"The vault cannot satisfy this request. {advice}",
        status=422,
    )


@dataclass(frozen=True)
class Selection:
    stems: tuple[Candidate, ...]
    anchor_bpm: float
    key: MusicalKey | None


def select_stems(
    candidates: Sequence[Candidate],
    *,
    bpm: float | None,
    key: MusicalKey | None,
    moods: frozenset[str],
    rng: random.Random,
    intensity: float = 0.5,
    include: Candidate | None = None,
    max_context: int | None = None,
) -> Selection:
    """Choose a balanced, compatible set of stems. `include` is a stem that must be in it (a
    preview's subject); then `max_context` bounds how many others join it."""
    pool = sorted(candidates, key=lambda c: c.id)
    if include is not None:
        pool = [c for c in pool if c.id != include.id]
        key = key or include.key
        bpm = bpm or include.bpm
    if key is not None:
        pool = [c for c in pool if keys_fit(c.key, key)]
    anchor = bpm if bpm is not None else _choose_anchor(pool, moods)
    pool = [c for c in pool if c.fits_tempo(anchor)]
    if key is None:
        key = _choose_key(pool, moods)
        if key is not None:
            pool = [c for c in pool if keys_fit(c.key, key)]

    chosen: list[Candidate] = [include] if include is not None else []
    taken = {c.id for c in chosen}
    groups = list(ROLE_GROUPS)
    if include is not None:
        # A preview shows the stem against the other roles, not against more of its own kind.
        groups = [g for g in groups if g != include.group]
    for group in groups:
        picked = _pick(pool, group, moods, rng, taken)
        if picked is not None:
            chosen.append(picked)
            taken.add(picked.id)
    if include is None and intensity >= 0.5:
        # Fuller arrangements get a second tonal voice when the vault offers a different role.
        tonal_roles = {c.role for c in chosen if c.group == "harmony"}
        second = [
            c
            for c in pool
            if c.group == "harmony" and c.id not in taken and c.role not in tonal_roles
        ]
        if second:
            picked = rng.choice([c for c in second if _mood_match(c, moods)] or second)
            chosen.append(picked)
    if include is not None and max_context is not None:
        chosen = chosen[: 1 + max_context]
    return Selection(stems=tuple(chosen), anchor_bpm=anchor, key=key)
