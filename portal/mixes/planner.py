"""The planner: a client's request (length, mood, tempo, key, hit points) -> a render plan.

Pure Python over plain candidate records: `selection.py` chooses the stems (its
`vault_candidates()` is the only database read: approved stems only, so a withdrawn or
taken-down stem never reaches a new plan), `soundtrack_request.py` checks the request, `arrangement.py` lays
the chosen stems out in time, `retakes.py` edits a plan for a new take (pins, mutes, a kept
form, a re-drawn section), and this module puts them together. The output is a
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
from dataclasses import replace
from typing import Any

from portal.core.errors import ApplicationError
from portal.core.music import keys_fit, parse_key
from portal.mixes.arrangement import arrange
from portal.mixes.hits import END_WEIGHT, bar_seconds, choose_tempo, plan_hits
from portal.mixes.moods import check_mood
from portal.mixes.retakes import (
    form_of,
    fresh_pool,
    redraw_section,
    resized_form,
    split_pins,
    total_bars_for,
)
from portal.mixes.selection import (
    Candidate,
    Selection,
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
    the vault cannot satisfy it. Pinned, muted, resized and re-drawn takes: see `retakes`."""
    pool = sorted(vault_candidates() if candidates is None else candidates, key=lambda c: c.id)
    check_mood(request.mood, (m for c in pool for m in c.moods))
    pool, pinned = split_pins(
        pool, pinned_ids=request.pinned_stem_ids, muted_ids=request.muted_stem_ids
    )
    pinned_hits = [c for c in pinned if c.is_hit]
    if pinned_hits and not request.hit_points:
        raise ApplicationError(
            "invalid",
            f"Stem {pinned_hits[0].id} is a one-shot heard on hit points: add a hit point or "
            "unpin it.",
            fields={"pinned_stem_ids": ["A pinned one-shot needs a hit point."]},
            status=400,
        )
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
        pinned=[c for c in pinned if not c.is_hit],
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
    names: list[str] | None = None
    boundaries: list[int] | None = None
    if request.form_duration_s is not None:
        # Extend or shorten: the take planned at the kept length gives the tempo and form.
        base = plan_soundtrack(
            replace(
                request,
                duration_s=request.form_duration_s,
                hit_points=tuple(h for h in request.hit_points if h < request.form_duration_s),
                form_duration_s=None,
                regenerated_sections=(),
            ),
            candidates=candidates,
        )
        tempo = float(base["tempo_bpm"])
        total = total_bars_for(request.duration_s, bar_seconds(tempo))
        names, boundaries = resized_form(base["sections"], total_bars=total)
    elif request.bpm is not None:
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
        names=names,
        boundaries=boundaries,
    )
    used = list(selection.stems)
    for index, section_seed in request.regenerated_sections:
        if not 0 <= index < len(sections):
            continue  # a section a later shortening removed (versions check new indices)
        redrawn = _redrawn_stems(
            request, pool, pinned, selection, sections, index, section_seed, tempo
        )
        fresh = arrange(
            redrawn,
            tempo=tempo,
            duration_s=request.duration_s,
            hit_points=request.hit_points,
            intensity=request.intensity,
            names=form_of(sections)[0],
            boundaries=form_of(sections)[1],
        )
        sections = redraw_section(sections, index, fresh[index], beat_s=60.0 / tempo)
        used += [c for c in redrawn if c.id not in {u.id for u in used}]
    hit_stem, accents = plan_hits(
        request,
        pinned_hits or pool,
        key=selection.key,
        tempo=tempo,
        section_starts_s=[s["start_bar"] * bar_seconds(tempo) for s in sections],
    )
    if pinned_hits and hit_stem not in pinned_hits:
        raise ApplicationError(
            "pinned_stems_incompatible",
            f"The pinned one-shot {pinned_hits[0].id} does not fit this soundtrack's key.",
            fields={"pinned_stem_ids": ["The pinned one-shot does not fit the key."]},
            status=400,
        )
    used += [hit_stem] if hit_stem is not None else []
    if request.regenerated_sections:
        # A re-drawn section's old stems may be heard nowhere else now: not listed, not loaded.
        heard = {layer["stem"] for s in sections for layer in s["layers"]}
        used = [c for c in used if str(c.id) in heard or c is hit_stem]
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


def _redrawn_stems(
    request: SoundtrackRequest,
    pool: Sequence[Candidate],
    pinned: Sequence[Candidate],
    selection: Selection,
    sections: Sequence[dict[str, Any]],
    index: int,
    section_seed: int,
    tempo: float,
) -> tuple[Candidate, ...]:
    """The stems section `index` is re-drawn from: the same tempo, key and pins, its own seed,
    and other stems than it had where the vault offers them."""
    current = {int(layer["stem"]) for layer in sections[index]["layers"]}
    pinned_loops = [c for c in pinned if not c.is_hit]
    redraw = select_stems(
        fresh_pool(pool, current, {c.id for c in pinned_loops}),
        bpm=tempo,
        key=selection.key,
        moods=frozenset({request.mood}),
        rng=random.Random(f"stemvault-section:{request.seed}:{index}:{section_seed}"),
        intensity=request.intensity,
        mood_leads=True,
        pinned=pinned_loops,
    )
    return redraw.stems


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
