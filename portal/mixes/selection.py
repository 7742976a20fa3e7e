"""Choosing stems for a plan: the request's mood first, then which of its stems fit one tempo
and key, and a balanced set of them by role group (see the planner's module docstring).

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
from portal.mixes.moods import mood_weights, nearest_tagged, normalise
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
# A hit (a stinger or impact the planner places on a hit point, never loops): a one-shot of
# one of these roles, no longer than this.
HIT_ROLES = frozenset({"fx", "percussion", "drums"})
HIT_MAX_SECONDS = 8.0


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
    kind: str = "loop"
    genres: frozenset[str] = frozenset()

    @property
    def group(self) -> str:
        return GROUP_OF_ROLE.get(self.role, "texture")

    @property
    def is_hit(self) -> bool:
        return (
            self.kind == "one-shot"
            and self.role in HIT_ROLES
            and self.bpm is None
            and self.duration_s <= HIT_MAX_SECONDS
        )

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
        kind=str(stem.kind),
        genres=frozenset(str(g).strip().lower() for g in (stem.genres or []) if str(g).strip()),
    )


def vault_candidates() -> list[Candidate]:
    """Every approved stem, by id. Only approved stems sound in new renders."""
    from portal.mixes.selectors import renderable_stems

    return [candidate_from_stem(stem) for stem in renderable_stems()]


# --- choosing stems ------------------------------------------------------------------------
#
# Mood comes first. Every stem gets an affinity for the request: 1 when it is tagged with the
# requested mood, NEIGHBOUR_WEIGHT when tagged with a mood near it on the mood map
# (portal.mixes.moods), 0 otherwise. When the stems with an affinity can make a soundtrack (at
# least one of drums, bass, harmony or melody among them), the tempo and key are chosen to suit
# them and the mix is built from them only; off-mood stems join only to fill a vault whose mood
# stems would leave the mix a single role group. When the vault holds no stem of the mood or
# its neighbours, the nearest mood on the map that it holds stands in; only a vault without any
# mapped mood falls back to the balanced choice by role coverage.


def _affinity(candidate: Candidate, weights: dict[str, float]) -> float:
    return max((weights.get(m, 0.0) for m in candidate.moods), default=0.0)


def _groups_covered(pool: Sequence[Candidate]) -> int:
    return len({c.group for c in pool})


def _can_lead(pool: Sequence[Candidate]) -> bool:
    return any(c.group != "texture" for c in pool)


def _choose_anchor(pool: Sequence[Candidate], weights: dict[str, float]) -> float:
    """The tempo to build around when none is asked for: the loop tempo whose fitting mood
    stems can lead a mix and cover the most role groups with the most affinity (then: most
    role groups overall, most stems, lowest bpm)."""
    tempos = sorted({c.bpm for c in pool if c.bpm is not None})
    if not tempos:
        return DEFAULT_TEMPO_BPM
    best: tuple[tuple[float, ...], float] | None = None
    for tempo in tempos:
        fitting = [c for c in pool if c.fits_tempo(tempo)]
        on_mood = [c for c in fitting if _affinity(c, weights) > 0]
        score = (
            float(_can_lead(on_mood)),
            float(_groups_covered(on_mood)),
            round(math.fsum(_affinity(c, weights) for c in on_mood), 6),
            float(_groups_covered(fitting)),
            float(len(fitting)),
        )
        if best is None or score > best[0]:
            best = (score, tempo)
    assert best is not None
    return best[1]


def _choose_key(pool: Sequence[Candidate], weights: dict[str, float]) -> MusicalKey | None:
    """The key to build around when none is asked for: one the mood stems are in, then the one
    most keyed stems fit."""
    keys = sorted({c.key for c in pool if c.key is not None}, key=lambda k: (k.pitch, k.minor))
    if not keys:
        return None
    scored = []
    for key in keys:
        fitting = [c for c in pool if c.key is not None and key.fits(c.key)]
        scored.append(
            (
                round(math.fsum(_affinity(c, weights) for c in fitting), 6),
                sum(1 for c in fitting if c.key == key),
                len(fitting),
                -keys.index(key),
                key,
            )
        )
    # Prefer the key the mood stems fit, then a key some stem is actually in, then fit count.
    return max(scored, key=lambda row: (row[0], row[1] > 0, row[2], row[3]))[4]


def _pick(
    pool: Sequence[Candidate],
    group: str,
    weights: dict[str, float],
    rng: random.Random,
    taken: set[int],
    *,
    roles_taken: frozenset[str] = frozenset(),
) -> Candidate | None:
    options = [
        c for c in pool if c.group == group and c.id not in taken and c.role not in roles_taken
    ]
    if not options:
        return None
    # The closest mood tier that has a stem: the requested mood, its neighbours, the rest.
    best = max(_affinity(c, weights) for c in options)
    return rng.choice([c for c in options if _affinity(c, weights) == best])


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
    mood_leads: bool = False,
    pinned: Sequence[Candidate] = (),
) -> Selection:
    """Choose a balanced, compatible set of stems. `include` is a stem that must be in it (a
    preview's subject); then `max_context` bounds how many others join it. `mood_leads`: build
    from the mood's stems only when they can make a mix (a soundtrack); otherwise the mood
    only breaks ties within a role group (a preview, whose subject leads). `pinned`: stems the
    client requires; they set the tempo and key when the request leaves them free, take their
    role group's place, and must fit together (ApplicationError("pinned_stems_incompatible"))."""
    weights = mood_weights(moods) if mood_leads else {normalise(m): 1.0 for m in moods}
    pinned = sorted(pinned, key=lambda c: c.id)
    pinned_ids = {c.id for c in pinned}
    pool = sorted(
        (c for c in candidates if not c.is_hit and c.id not in pinned_ids), key=lambda c: c.id
    )
    if pinned:
        bpm, key = _pinned_frame(pinned, bpm=bpm, key=key)
    if include is not None:
        pool = [c for c in pool if c.id != include.id]
        key = key or include.key
        bpm = bpm or include.bpm
    if key is not None:
        pool = [c for c in pool if keys_fit(c.key, key)]
    if mood_leads and not any(_affinity(c, weights) > 0 for c in pool):
        stand_in = nearest_tagged(moods, (m for c in pool for m in c.moods))
        if stand_in is not None:
            weights = mood_weights([stand_in])
    anchor = bpm if bpm is not None else _choose_anchor(pool, weights)
    pool = [c for c in pool if c.fits_tempo(anchor)]
    if key is None:
        key = _choose_key(pool, weights)
        if key is not None:
            pool = [c for c in pool if keys_fit(c.key, key)]
    if mood_leads:
        on_mood = [c for c in pool if _affinity(c, weights) > 0]
        # Off-mood stems stay out once the mood's own stems can carry a mix of two role groups.
        if _can_lead(on_mood) and _groups_covered(on_mood) >= 2:
            pool = on_mood

    chosen: list[Candidate] = [include] if include is not None else []
    chosen += pinned
    taken = {c.id for c in chosen}
    # A pinned stem takes its group's place: pinning a bass swaps the bass the draw would pick.
    groups = [g for g in ROLE_GROUPS if g not in {c.group for c in pinned}]
    if include is not None:
        # A preview shows the stem against the other roles, not against more of its own kind.
        groups = [g for g in groups if g != include.group]
    for group in groups:
        picked = _pick(pool, group, weights, rng, taken)
        if picked is not None:
            chosen.append(picked)
            taken.add(picked.id)
    if include is None:
        # Intensity adds voices of roles not yet playing: a second tonal voice from 0.5 (when
        # the vault offers a different role), a second texture or percussion layer from 0.75.
        for group, threshold in (("harmony", 0.5), ("texture", 0.75)):
            if intensity < threshold:
                continue
            roles = frozenset(c.role for c in chosen if c.group == group)
            picked = _pick(pool, group, weights, rng, taken, roles_taken=roles)
            if picked is not None:
                chosen.append(picked)
                taken.add(picked.id)
    if include is not None and max_context is not None:
        chosen = chosen[: 1 + max_context]
    return Selection(stems=tuple(chosen), anchor_bpm=anchor, key=key)


def _pinned_frame(
    pinned: Sequence[Candidate], *, bpm: float | None, key: MusicalKey | None
) -> tuple[float | None, MusicalKey | None]:
    """The tempo and key a mix with these pinned stems is built around: the request's, else
    the first pinned loop's tempo and the first pinned keyed stem's key. Refused when a pinned
    stem cannot play at that tempo or in that key."""
    if bpm is None:
        bpm = next((c.bpm for c in pinned if c.bpm is not None), None)
    if key is None:
        key = next((c.key for c in pinned if c.key is not None), None)
    for c in pinned:
        if bpm is not None and not c.fits_tempo(bpm):
            raise _pin_error(f"Pinned stem {c.id} (at {c.bpm:g} bpm) cannot play at {bpm:g} bpm.")
        if key is not None and not keys_fit(c.key, key):
            raise _pin_error(
                f"Pinned stem {c.id} (in {c.key.name if c.key else '?'}) does not fit {key.name}."
            )
    return bpm, key


def _pin_error(message: str) -> ApplicationError:
    return ApplicationError(
        "pinned_stems_incompatible",
        f"{message} Loops may only be conformed by up to 6%, and keys must be the same, "
        "relative or a fifth apart: unpin one, or change the tempo or key.",
        fields={"pinned_stem_ids": [message]},
        status=400,
    )


def mood_affinity(candidate: Candidate, moods: Iterable[str]) -> float:
    """1 for a stem tagged with one of `moods`, NEIGHBOUR_WEIGHT for a neighbour's tag, else 0."""
    return _affinity(candidate, mood_weights(moods))
