"""The mood map: which moods the planner knows, and which of them are close to each other.

Each mood sits at a point (valence, arousal) on Russell's circumplex model of affect (J. A.
Russell, "A circumplex model of affect", Journal of Personality and Social Psychology 39(6),
1980): valence runs from unpleasant (-1) to pleasant (+1), arousal from sleepy (-1) to excited
(+1). The positions are our own reading of where each word falls on that plane, placed by hand
(not measured values), and they only need to get the neighbourhoods right: "calm" is near
"peaceful" and "relaxed", far from "tense" and "energetic".

Two moods are neighbours when their points are at most `NEIGHBOUR_RADIUS` apart: about a sixth
of the plane's width, so a neighbour shares the requested mood's feeling and energy (calm and
peaceful) while moods that differ in one of the two (bright and uplifting: equally pleasant, but
one lifts) stay apart. A request for a mood uses stems tagged with it first, then stems tagged
with a neighbour; when the vault holds neither, the nearest mood on the map that it does hold
stands in (see portal.mixes.selection).

Moods an artist tags a stem with that are not on the map are known too (the vocabulary lists
them), but have no neighbours: the map cannot say what they are close to.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from portal.core.errors import ApplicationError

MOOD_MAP: dict[str, tuple[float, float]] = {
    # pleasant, calm
    "calm": (0.4, -0.7),
    "peaceful": (0.6, -0.7),
    "relaxed": (0.5, -0.5),
    "dreamy": (0.3, -0.4),
    "romantic": (0.6, -0.2),
    # pleasant, lively
    "bright": (0.6, 0.2),
    "happy": (0.8, 0.4),
    "playful": (0.7, 0.5),
    "uplifting": (0.7, 0.6),
    "energetic": (0.4, 0.9),
    "epic": (0.2, 0.8),
    # unpleasant, lively
    "aggressive": (-0.6, 0.8),
    "tense": (-0.5, 0.6),
    # unpleasant, calm
    "mysterious": (-0.2, 0.0),
    "dark": (-0.6, -0.1),
    "sad": (-0.7, -0.4),
    "melancholic": (-0.5, -0.6),
}
NEIGHBOUR_RADIUS = 0.35
# How much a stem tagged with a neighbouring mood counts for, against one tagged with the
# requested mood itself: enough to be chosen over an off-mood stem, never over an on-mood one.
NEIGHBOUR_WEIGHT = 0.5


def normalise(mood: str) -> str:
    return mood.strip().lower()


def neighbours(mood: str) -> list[str]:
    """The moods near `mood` on the map, nearest first (empty for a mood not on it)."""
    point = MOOD_MAP.get(normalise(mood))
    if point is None:
        return []
    near = [
        (math.dist(point, other), name)
        for name, other in MOOD_MAP.items()
        if name != normalise(mood) and math.dist(point, other) <= NEIGHBOUR_RADIUS
    ]
    return [name for _, name in sorted(near)]


def mood_weights(moods: Iterable[str]) -> dict[str, float]:
    """Tag -> weight for a request of `moods`: 1 for each requested mood, NEIGHBOUR_WEIGHT for
    their neighbours."""
    weights: dict[str, float] = {}
    requested = {normalise(m) for m in moods if normalise(m)}
    for mood in requested:
        for near in neighbours(mood):
            weights[near] = max(weights.get(near, 0.0), NEIGHBOUR_WEIGHT)
    for mood in requested:
        weights[mood] = 1.0
    return weights


def nearest_tagged(moods: Iterable[str], tagged: Iterable[str]) -> str | None:
    """The map mood nearest the requested ones among `tagged` (the moods the usable stems
    carry), for a request none of whose moods or neighbours the vault holds: "epic" with no
    epic or energetic stems borrows from "uplifting", not from whatever fits the most roles."""
    points = [MOOD_MAP[normalise(m)] for m in moods if normalise(m) in MOOD_MAP]
    options = sorted({normalise(t) for t in tagged} & set(MOOD_MAP))
    if not points or not options:
        return None
    return min(options, key=lambda name: (min(math.dist(p, MOOD_MAP[name]) for p in points), name))


def known_moods(tagged: Iterable[str]) -> list[str]:
    """Every mood a request may name: the map's and any mood an approved stem is tagged with."""
    return sorted(set(MOOD_MAP) | {normalise(m) for m in tagged if normalise(m)})


def check_mood(mood: str, tagged: Iterable[str]) -> None:
    """Refuse a mood that is neither on the map nor on an approved stem, listing the known."""
    known = known_moods(tagged)
    if normalise(mood) in known:
        return
    listed = ", ".join(known)
    raise ApplicationError(
        "unknown_mood",
        f"The mood {mood!r} is not one the planner knows. Choose one of: {listed} "
        f"(GET /api/v1/vocabulary/ lists them with how many approved stems each has).",
        fields={"mood": [f"Choose one of: {listed}."]},
        status=400,
    )
