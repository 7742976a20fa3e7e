"""Arranging chosen stems in time: sections of whole bars (intro, build, main, breakdown,
outro), which role groups play in each, and each layer's gain and fades. Pure Python over
`Candidate` records; the planner's module docstring gives the music rules."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from portal.mixes.hits import bar_seconds
from portal.mixes.selection import Candidate

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
