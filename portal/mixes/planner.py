"""The planner: a client's request (length, mood, tempo, key, hit points) -> a render plan.

Pure Python over plain candidate records: `selection.py` chooses the stems (its
`vault_candidates()` is the only database read: approved stems only, so a withdrawn or
taken-down stem never reaches a new plan), `soundtrack_request.py` checks the request, and this
module arranges the chosen stems in time. The output is a
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
* Mood leads: the mix is built from stems tagged with the requested mood or a mood near it on
  the mood map (`moods.py`), and the tempo and key are then chosen to suit them (`selection.py`).
  A mood the planner does not know is refused with the list of those it does.
* Intensity: more role groups play in more sections, more voices join (a second tonal voice
  from 0.5, a second texture from 0.75), drums and accents play louder, as it rises.
* Form: sections of whole bars (intro, build, main, breakdown, outro). Hit points become
  section boundaries on the nearest bar line; when the tempo is not fixed, the planner picks
  the tempo inside the stems' 6% window that lands the hit points (and the end) closest to bar
  lines. Each hit also gets an accent on its exact sample when the vault has a hit one-shot;
  without one, a hit no section change lands on is refused (`hits.py`).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Any

from portal.core.music import keys_fit, parse_key
from portal.mixes.hits import END_WEIGHT, bar_seconds, choose_tempo, plan_hits
from portal.mixes.moods import check_mood
from portal.mixes.selection import (
    Candidate,
    no_stems_error,
    select_stems,
    vault_candidates,
)
from portal.mixes.soundtrack_request import DEFAULT_LOUDNESS_LUFS, SoundtrackRequest
from renderer.plan import SCHEMA, parse_plan

SAMPLE_RATE = 48000
CHANNELS = 2
TRUE_PEAK_CEILING_DBTP = -1.0
PREVIEW_DURATION_S = 30.0

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


# --- tempo and form --------------------------------------------------------------------------


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
    if intensity >= 0.8 and name == "outro":
        groups.add("drums")
    if intensity < 0.3 and name == "build":
        groups.discard("drums")
    if intensity < 0.3 and name == "breakdown":
        groups.discard("bass")
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
    check_mood(request.mood, (m for c in pool for m in c.moods))
    key = parse_key(request.key)
    rng = random.Random(f"stemvault-soundtrack:{request.seed}")
    moods = frozenset({request.mood})
    selection = select_stems(
        pool,
        bpm=request.bpm,
        key=key,
        moods=moods,
        rng=rng,
        intensity=request.intensity,
        mood_leads=True,
    )
    # Texture alone (ambience, fx) is not a soundtrack: at least one of drums, bass,
    # harmony or melody must fit.
    if not any(stem.group != "texture" for stem in selection.stems):
        raise no_stems_error(
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
    hit_stem, accents = plan_hits(
        request,
        pool,
        key=selection.key,
        tempo=tempo,
        section_starts_s=[s["start_bar"] * bar_seconds(tempo) for s in sections],
    )
    used = [*selection.stems, *([hit_stem] if hit_stem is not None else [])]
    return _finish(
        {
            "schema": SCHEMA,
            "tempo_bpm": tempo,
            "key": selection.key.name if selection.key else "",
            "duration_s": request.duration_s,
            "sample_rate": SAMPLE_RATE,
            "channels": CHANNELS,
            "stems": _stem_refs(used),
            "sections": sections,
            "hit_points": list(request.hit_points),
            "accents": accents,
            "loudness_lufs": request.loudness_lufs,
            "true_peak_dbtp": request.true_peak_dbtp,
            "format": request.format,
            "seed": request.seed,
            **({"loudness_preset": request.loudness_preset} if request.loudness_preset else {}),
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
