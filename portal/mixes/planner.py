"""The planner: a client's request (length, mood, tempo, key, hit points) -> a render plan.

Pure Python over plain candidate records; the only database read is `vault_candidates()`
(approved stems only: a withdrawn or taken-down stem never reaches a new plan). The output is a
"stemvault.render-plan/1" document (renderer/plan.py) whose layers name stems by id and content
hash, so the renderer never needs the database.

Determinism: candidates are sorted by id and every choice is either a sort or a draw from a
`random.Random` seeded with the request's seed, so the same request, seed and vault state
give the same plan, and therefore (same engine) byte-identical audio.

Music rules, kept deliberately simple and explainable:

* Roles are balanced by group: drums, bass, harmony/melody, texture/percussion; one stem per
  group (two from harmony/melody at higher intensity when the vault has both).
* Tempo: a stem with a bpm is a loop the engine conforms by resampling, allowed only within
  6% (`renderer.plan.MAX_TEMPO_CONFORM`). Stems without a bpm fit any tempo.
* Keys: same key, relative major/minor, or a fifth away (same mode); key-less stems always fit.
* Mood: stems tagged with the requested mood are preferred within their group, not required.
* Form: sections of whole bars (intro, build, main, breakdown, outro). Hit points become
  section boundaries on the nearest bar line; when the tempo is not fixed, the planner picks
  the tempo inside the stems' 6% window that lands the hit points (and the end) closest to bar
  lines.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from portal.core.errors import ApplicationError
from portal.core.music import MusicalKey, keys_fit, parse_key
from renderer.plan import MAX_TEMPO_CONFORM, SCHEMA, parse_plan

SAMPLE_RATE = 48000
CHANNELS = 2
DEFAULT_LOUDNESS_LUFS = -14.0
TRUE_PEAK_CEILING_DBTP = -1.0
DEFAULT_TEMPO_BPM = 120.0
PREVIEW_DURATION_S = 30.0
# A hair inside the engine's 6% so that rounding the tempo to 0.01 bpm never crosses the line.
TEMPO_TOLERANCE = MAX_TEMPO_CONFORM - 1e-4
TEMPO_STEP_BPM = 0.01

ROLE_GROUPS: dict[str, tuple[str, ...]] = {
    "drums": ("drums",),
    "bass": ("bass",),
    "harmony": ("harmony", "melody", "vocals"),
    "texture": ("texture", "percussion", "fx"),
}
GROUP_OF_ROLE = {role: group for group, roles in ROLE_GROUPS.items() for role in roles}
# Mixing levels before loudness normalisation: the master gain is the engine's business, these
# only balance the layers against each other.
ROLE_GAIN_DB = {
    "drums": -3.0,
    "percussion": -7.0,
    "bass": -4.0,
    "harmony": -5.0,
    "melody": -4.0,
    "vocals": -4.0,
    "texture": -9.0,
    "fx": -10.0,
}
# Which role groups play in each section (intensity can add to these, see `_active_groups`).
SECTION_GROUPS: dict[str, frozenset[str]] = {
    "intro": frozenset({"harmony", "texture"}),
    "build": frozenset({"harmony", "texture", "drums"}),
    "main": frozenset({"drums", "bass", "harmony", "texture"}),
    "breakdown": frozenset({"harmony", "texture", "bass"}),
    "outro": frozenset({"harmony", "texture"}),
}
# Where sections would start without hit points, as fractions of the length, most important
# first: the main part, the outro, the build, the breakdown.
TEMPLATE_BOUNDARIES = (0.35, 0.85, 0.15, 0.7)


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


# --- the request ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SoundtrackRequest:
    duration_s: float
    mood: str
    bpm: float | None = None
    key: str = ""
    hit_points: tuple[float, ...] = ()
    intensity: float = 0.5
    loudness_lufs: float = DEFAULT_LOUDNESS_LUFS
    format: str = "wav"
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "duration_s": self.duration_s,
            "mood": self.mood,
            "bpm": self.bpm,
            "key": self.key,
            "hit_points": list(self.hit_points),
            "intensity": self.intensity,
            "loudness_lufs": self.loudness_lufs,
            "format": self.format,
            "seed": self.seed,
        }


def soundtrack_request_from(data: dict[str, Any]) -> SoundtrackRequest:
    """Check the rules that cross fields (the API and the form check types and ranges first)."""
    fields: dict[str, list[str]] = {}
    duration = float(data["duration_s"])
    if not 5.0 <= duration <= 600.0:
        fields["duration_s"] = ["Ask for 5 to 600 seconds."]
    hits = [float(h) for h in (data.get("hit_points") or [])]
    if any(not 0.0 < h < duration for h in hits):
        fields["hit_points"] = [
            f"Every hit point must lie inside the soundtrack (0..{duration:g} s)."
        ]
    elif hits != sorted(hits):
        fields["hit_points"] = ["List the hit points in increasing order."]
    key = str(data.get("key") or "").strip()
    if key and parse_key(key) is None:
        fields["key"] = ['Write a key like "C", "F#m", "Bb major" or "A minor".']
    bpm = data.get("bpm")
    if bpm is not None and not 40.0 <= float(bpm) <= 240.0:
        fields["bpm"] = ["Ask for 40 to 240 bpm."]
    loudness = float(data.get("loudness_lufs", DEFAULT_LOUDNESS_LUFS))
    if not -30.0 <= loudness <= -8.0:
        fields["loudness_lufs"] = ["Ask for -30 to -8 LUFS."]
    fmt = str(data.get("format") or "wav").lower()
    if fmt not in ("wav", "flac"):
        fields["format"] = ['Choose "wav" or "flac".']
    intensity = float(data.get("intensity", 0.5) if data.get("intensity") is not None else 0.5)
    if not 0.0 <= intensity <= 1.0:
        fields["intensity"] = ["Intensity goes from 0 (sparse) to 1 (full)."]
    seed = int(data.get("seed") or 0)
    if seed < 0:
        fields["seed"] = ["The seed is a whole number, 0 or more."]
    mood = str(data.get("mood") or "").strip().lower()
    if not mood:
        fields["mood"] = ["Name a mood, e.g. calm, uplifting, tense."]
    if fields:
        first = next(iter(fields.items()))
        raise ApplicationError(
            "invalid", f"Invalid input: {first[0]}: {first[1][0]}", fields=fields, status=400
        )
    key_obj = parse_key(key)
    return SoundtrackRequest(
        duration_s=duration,
        mood=mood,
        bpm=float(bpm) if bpm is not None else None,
        key=key_obj.name if key_obj else "",
        hit_points=tuple(hits),
        intensity=intensity,
        loudness_lufs=loudness,
        format=fmt,
        seed=seed,
    )


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


def _no_stems_error(
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


# --- tempo and form --------------------------------------------------------------------------


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


def _section_names(count: int) -> list[str]:
    if count == 1:
        return ["main"]
    if count == 2:
        return ["main", "outro"]
    middle_count = count - 2
    if middle_count == 1:
        middle = ["main"]
    else:
        middle = ["build", "main"]
        while len(middle) < middle_count:
            middle.append("breakdown" if middle[-1] == "main" else "main")
    return ["intro", *middle, "outro"]


def section_boundaries(total_bars: int, hit_bars: Sequence[int]) -> list[int]:
    """Start bars of every section after the first: the hit points' bars, plus template
    boundaries that keep at least two bars (one in short pieces) from any other boundary."""
    boundaries = sorted({b for b in hit_bars if 0 < b < total_bars})
    wanted = max(5, len(boundaries) + 1)
    spacing = 2 if total_bars >= 10 else 1
    for fraction in TEMPLATE_BOUNDARIES:
        if len(boundaries) + 1 >= wanted:
            break
        bar = round(fraction * total_bars)
        edges = [0, total_bars, *boundaries]
        if 0 < bar < total_bars and all(abs(bar - e) >= spacing for e in edges):
            boundaries = sorted([*boundaries, bar])
    return boundaries


def _active_groups(name: str, intensity: float, available: set[str]) -> set[str]:
    groups = set(SECTION_GROUPS.get(name, SECTION_GROUPS["main"]))
    if intensity >= 0.6 and name == "build":
        groups.add("bass")
    if intensity >= 0.8 and name in ("intro", "breakdown"):
        groups.add("drums" if name == "breakdown" else "bass")
    if intensity < 0.3 and name == "build":
        groups.discard("drums")
    active = groups & available
    # Never a silent section: if none of its roles is in the mix, everything plays.
    return active or set(available)


def _layer(
    stem: Candidate,
    *,
    tempo: float,
    bars: int,
    gain_db: float,
    fade_in_s: float = 0.0,
    fade_out_s: float = 0.0,
) -> dict[str, Any]:
    beat_s = 60.0 / tempo
    if stem.bpm is not None:
        period_beats = max(1, round(stem.duration_s * stem.bpm / 60.0))
    else:
        period_beats = max(1, math.ceil(stem.duration_s / beat_s - 1e-9))
    return {
        "stem": str(stem.id),
        "start_bar": 0,
        "repeats": max(1, math.ceil(bars * 4 / period_beats)),
        "gain_db": round(gain_db, 2),
        "fade_in_s": round(fade_in_s, 4),
        "fade_out_s": round(fade_out_s, 4),
    }


def _gain(stem: Candidate, intensity: float) -> float:
    gain = ROLE_GAIN_DB.get(stem.role, -6.0)
    if stem.group in ("drums",) or stem.role == "percussion":
        gain += (intensity - 0.5) * 6.0  # busier rhythm at higher intensity
    if stem.group == "texture":
        gain -= (intensity - 0.5) * 4.0  # and more air at lower intensity
    return gain


def arrange(
    stems: Sequence[Candidate],
    *,
    tempo: float,
    duration_s: float,
    hit_points: Sequence[float],
    intensity: float,
    names: Sequence[str] | None = None,
    boundaries: Sequence[int] | None = None,
    always: Candidate | None = None,
) -> list[dict[str, Any]]:
    """Sections of whole bars covering the duration, with the layers each one plays."""
    bar = bar_seconds(tempo)
    total_bars = max(1, math.ceil(duration_s / bar - 1e-6))
    if boundaries is None:
        boundaries = section_boundaries(total_bars, [round(h / bar) for h in hit_points])
    starts = [0, *boundaries]
    ends = [*boundaries, total_bars]
    section_names = list(names) if names is not None else _section_names(len(starts))
    available = {s.group for s in stems}
    # A "solo" section plays only the stem that is always there (a preview's subject).
    active = [
        set()
        if name == "solo"
        else {s.id for s in stems if s.group in _active_groups(name, intensity, available)}
        for name in section_names
    ]
    if always is not None:
        for ids in active:
            ids.add(always.id)
    beat = 60.0 / tempo
    sections = []
    for index, (name, start, end) in enumerate(zip(section_names, starts, ends, strict=True)):
        bars = end - start
        seconds = min(bars * bar, duration_s - start * bar)
        layers = []
        for stem in stems:
            if stem.id not in active[index]:
                continue
            fade_in = fade_out = 0.0
            if index == 0 and name == "intro":
                fade_in = min(bar, seconds / 2)
            is_last = index == len(section_names) - 1
            if is_last and name == "outro":
                fade_out = min(2 * bar, seconds / 2)
            elif not is_last and stem.id not in active[index + 1]:
                # Leaving at the boundary: half a beat of equal-power crossfade, not a cut.
                fade_out = beat / 2
            layers.append(
                _layer(
                    stem,
                    tempo=tempo,
                    bars=bars,
                    gain_db=_gain(stem, intensity),
                    fade_in_s=fade_in,
                    fade_out_s=fade_out,
                )
            )
        sections.append({"name": name, "start_bar": start, "bars": bars, "layers": layers})
    return sections


def _stem_refs(stems: Sequence[Candidate]) -> list[dict[str, Any]]:
    refs = []
    for stem in sorted(stems, key=lambda c: c.id):
        ref: dict[str, Any] = {"id": str(stem.id), "content_sha256": stem.content_sha256}
        if stem.bpm is not None:
            ref["bpm"] = stem.bpm
        refs.append(ref)
    return refs


def _finish(plan: dict[str, Any]) -> dict[str, Any]:
    # The engine's own parser is the judge of a valid plan; return its canonical form so the
    # stored plan, its hash and the manifest's copy are the same document.
    return parse_plan(plan).to_dict()


# --- public --------------------------------------------------------------------------------


def plan_soundtrack(
    request: SoundtrackRequest, candidates: Sequence[Candidate] | None = None
) -> dict[str, Any]:
    """A render plan for a soundtrack request; ApplicationError("no_compatible_stems") when
    the vault cannot satisfy it."""
    pool = sorted(vault_candidates() if candidates is None else candidates, key=lambda c: c.id)
    key = parse_key(request.key)
    rng = random.Random(f"stemvault-soundtrack:{request.seed}")
    moods = frozenset({request.mood})
    selection = select_stems(
        pool, bpm=request.bpm, key=key, moods=moods, rng=rng, intensity=request.intensity
    )
    # Texture alone (ambience, fx) is not a soundtrack: at least one of drums, bass,
    # harmony or melody must fit.
    if not any(stem.group != "texture" for stem in selection.stems):
        raise _no_stems_error(
            total=len(pool),
            after_key=sum(1 for c in pool if keys_fit(c.key, key)),
            request_bpm=request.bpm,
            key=request.key,
            mood=request.mood,
        )
    if request.bpm is not None:
        tempo = round(request.bpm, 2)
    else:
        tempo = choose_tempo(
            selection.stems,
            anchor=selection.anchor_bpm,
            targets=[*((h, 1.0) for h in request.hit_points), (request.duration_s, END_WEIGHT)],
        )
    sections = arrange(
        selection.stems,
        tempo=tempo,
        duration_s=request.duration_s,
        hit_points=request.hit_points,
        intensity=request.intensity,
    )
    return _finish(
        {
            "schema": SCHEMA,
            "tempo_bpm": tempo,
            "key": selection.key.name if selection.key else "",
            "duration_s": request.duration_s,
            "sample_rate": SAMPLE_RATE,
            "channels": CHANNELS,
            "stems": _stem_refs(selection.stems),
            "sections": sections,
            "hit_points": list(request.hit_points),
            "loudness_lufs": request.loudness_lufs,
            "true_peak_dbtp": TRUE_PEAK_CEILING_DBTP,
            "format": request.format,
            "seed": request.seed,
        }
    )


def plan_preview(
    subject: Candidate, candidates: Sequence[Candidate] | None = None, *, seed: int = 0
) -> dict[str, Any]:
    """30 s of `subject` in context: alone for the first bars, then with 2-3 compatible
    approved vault stems of other roles (alone throughout when the vault has none)."""
    pool = vault_candidates() if candidates is None else list(candidates)
    rng = random.Random(f"stemvault-preview:{subject.id}:{seed}")
    selection = select_stems(
        pool,
        bpm=subject.bpm,
        key=subject.key,
        moods=subject.moods,
        rng=rng,
        include=subject,
        max_context=3,
    )
    tempo = round(subject.bpm if subject.bpm is not None else selection.anchor_bpm, 2)
    bar = bar_seconds(tempo)
    total_bars = max(1, math.ceil(PREVIEW_DURATION_S / bar - 1e-6))
    context = [c for c in selection.stems if c.id != subject.id]
    if context and total_bars >= 4:
        solo_bars = max(1, round(total_bars * 0.25))
        outro_start = max(solo_bars + 1, total_bars - max(1, round(total_bars * 0.2)))
        boundaries = [solo_bars] + ([outro_start] if outro_start < total_bars else [])
        names = ["solo", "main", "outro"][: len(boundaries) + 1]
    else:
        boundaries, names = [], ["main"]
    sections = arrange(
        selection.stems,
        tempo=tempo,
        duration_s=PREVIEW_DURATION_S,
        hit_points=(),
        intensity=0.5,
        names=names,
        boundaries=boundaries,
        always=subject,
    )
    # The subject leads: a little louder than its role's usual level.
    for section in sections:
        for layer in section["layers"]:
            if layer["stem"] == str(subject.id):
                layer["gain_db"] = round(layer["gain_db"] + 3.0, 2)
    return _finish(
        {
            "schema": SCHEMA,
            "tempo_bpm": tempo,
            "key": selection.key.name if selection.key else "",
            "duration_s": PREVIEW_DURATION_S,
            "sample_rate": SAMPLE_RATE,
            "channels": CHANNELS,
            "stems": _stem_refs(selection.stems),
            "sections": sections,
            "hit_points": [],
            "loudness_lufs": DEFAULT_LOUDNESS_LUFS,
            "true_peak_dbtp": TRUE_PEAK_CEILING_DBTP,
            "format": "flac",
            "seed": seed,
        }
    )
