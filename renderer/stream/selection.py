"""Which vault stems may sound in a bar, and how likely each is to be chosen.

Licence at planning time: only the stems of the `vault` passed to the call that plans a bar are
candidates. Mood comes first (a stem of the listener's mood always beats one of another mood
for a role), then tempo (a loop is conformed to the bar's tempo only within 6%, the engine's
limit, `renderer.plan.MAX_TEMPO_CONFORM`), then key (`renderer.music`: same key, relative, or a
fifth away), then the listener's exclusions, the stems resting after a long run, and weights.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from renderer.music import MusicalKey, parse_key
from renderer.plan import MAX_TEMPO_CONFORM
from renderer.stream.state import VaultStem

ROLES = ("drums", "percussion", "bass", "harmony", "melody", "vocals", "texture", "fx")
# Which roles a section reaches for first: calm material leads with pads and texture, energetic
# material with the rhythm section.
CALM_ORDER = ("harmony", "texture", "melody", "vocals", "bass", "percussion", "drums", "fx")
ENERGETIC_ORDER = ("drums", "bass", "harmony", "percussion", "melody", "vocals", "fx", "texture")
RHYTHMIC = frozenset({"drums", "percussion", "bass"})
# Level of each role in the mix relative to a loudness-normalised layer, in dB.
ROLE_DB = {
    "drums": 0.0,
    "percussion": -4.0,
    "bass": -1.0,
    "harmony": -3.0,
    "melody": -2.0,
    "vocals": -1.0,
    "texture": -6.0,
    "fx": -8.0,
}
_CONFORM_LIMIT = MAX_TEMPO_CONFORM - 1e-3  # a margin under the engine's hard limit


def conform_tempo(stem: VaultStem) -> bool:
    """Loops and full stems with a tempo play on the bar grid; one-shots, field recordings and
    stems without a tempo play at their own speed."""
    return stem.bpm is not None and stem.kind in ("loop", "stem")


def tempo_fits(stem: VaultStem, tempo: float) -> bool:
    if not conform_tempo(stem):
        return True
    assert stem.bpm is not None
    return abs(tempo / stem.bpm - 1.0) <= _CONFORM_LIMIT


def key_of(stem: VaultStem) -> MusicalKey | None:
    return parse_key(stem.key)


def key_fits(stem: VaultStem, key: int | None) -> bool:
    """`key` is the section's key as the pitch class of its relative major (None: key-less);
    a stem fits when it is key-less or its key has the same notes (same key or relative)."""
    parsed = key_of(stem)
    return parsed is None or key is None or parsed.relative_major == key


def key_moves(key: int) -> tuple[int, ...]:
    """Where a section may move from `key` (relative majors): stay (or relative), dominant,
    subdominant."""
    return (key, (key + 7) % 12, (key + 5) % 12)


def mood_first(stems: Sequence[VaultStem], mood: str) -> list[VaultStem]:
    """The stems of this mood; all of them only when none has it."""
    of_mood = [stem for stem in stems if mood in stem.moods]
    return of_mood or list(stems)


def role_order(intensity: float) -> tuple[str, ...]:
    return ENERGETIC_ORDER if intensity >= 0.5 else CALM_ORDER


def target_layers(intensity: float) -> int:
    """Density: 1 layer at intensity 0, 6 at intensity 1."""
    return 1 + round(min(1.0, max(0.0, intensity)) * 5)


def candidates(
    vault: Sequence[VaultStem],
    *,
    mood: str,
    tempo: float,
    key: int | None,
    blocked: frozenset[str],
) -> list[VaultStem]:
    """Stems that may enter now, mood first, sorted by id (deterministic order)."""
    usable = [
        stem
        for stem in vault
        if stem.id not in blocked and tempo_fits(stem, tempo) and key_fits(stem, key)
    ]
    return sorted(mood_first(usable, mood), key=lambda stem: stem.id)


def selection_weight(
    stem: VaultStem,
    *,
    weights: Mapping[str, float],
    liked: frozenset[str],
    idle_frames: int | None,
    sample_rate: int,
    like_boost: float,
) -> float:
    """Chance weight of a candidate: the listener's weight (a like raises it), times freshness:
    a stem never played or long unheard is up to 4x likelier than one just heard."""
    weight = float(weights.get(stem.id, like_boost if stem.id in liked else 1.0))
    freshness = 4.0
    if idle_frames is not None:
        freshness = min(4.0, 1.0 + idle_frames / (300.0 * sample_rate))
    return max(weight, 0.0) * freshness


def best_tempo(stems: Sequence[VaultStem], wanted: float | None) -> float:
    """The opening tempo: the one asked for, else the integer tempo that the most loops of the
    mood fit (the lowest such on a tie); 120 with no loops at all."""
    if wanted is not None:
        return float(round(wanted))
    loops = [stem for stem in stems if conform_tempo(stem)]
    if not loops:
        return 120.0
    options = sorted({float(round(stem.bpm or 0.0)) for stem in loops})
    return max(options, key=lambda t: (sum(tempo_fits(s, t) for s in loops), -t))


def best_key(stems: Sequence[VaultStem], wanted: str | None) -> int | None:
    """The opening key (relative-major pitch class): the one asked for, else the commonest."""
    asked = parse_key(wanted)
    if asked is not None:
        return asked.relative_major
    counts: dict[int, int] = {}
    for stem in stems:
        parsed = key_of(stem)
        if parsed is not None:
            counts[parsed.relative_major] = counts.get(parsed.relative_major, 0) + 1
    if not counts:
        return None
    return max(sorted(counts), key=lambda k: counts[k])
