"""The stream planner: continues the music bar by bar, for ever, never the same way twice.

The planner's state is plain JSON (`new_plan`, then `plan_until` mutates it): the bar grid's
cursor, the current phrase's tempo and the next phrase's (decided a phrase ahead, so the bar
lines of the next 16+ bars are always known and `first_change_frame` can answer without the
vault), the section, and the layers: each a stem played from a bar line, repeated every whole
number of beats (loops) or bars (everything else), with a fade in and, once it leaves, a fade out
that starts on a bar line.

At every bar line, in this order:
1. the events whose output frame has come (controls, skip, like, dislike) apply;
2. on a phrase line the tempo moves to the next phrase's (within `tempo_step`); a loop then
   restarts on the new grid and the section starts afresh;
3. layers leave that must: disliked or excluded stems, stems that would pass `max_stem_run_s`;
4. at a section's end, a skip, or new controls a new section starts (mood, density from
   intensity, key kept or moved to the dominant/subdominant, length 8-16 bars), keeping some
   of the layers that still fit; otherwise the section evolves (a layer enters, leaves or is
   swapped for another stem of its role, with probability `_EVOLVE`).

Every random choice draws from a generator seeded by (seed, bar index, purpose), so the plan is a
function of the seed, the events, the vault passed at each bar, exclusions and weights.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from renderer.music import MusicalKey
from renderer.stream import selection
from renderer.stream.state import SAMPLE_RATE, Controls, StreamEvent, StreamSettings, VaultStem

_EVOLVE = 0.35  # chance that a bar inside a section changes one layer
_SECTION_BARS = (8, 8, 12, 16)
_REFERENCE_LUFS = -20.0  # each layer is levelled to this before its role's offset
_LIKE_BOOST = 2.0  # weight of a liked stem when the portal passes no weight for it
_RHYTHM_FADE_S = 0.01  # drums, percussion and bass enter and leave crisply on the bar line
_RHYTHM_RELEASE_S = 0.05
_LIKED_KEPT = 64


@dataclass(frozen=True)
class StemFacts:
    frames: int  # prepared length at the tempo it plays at
    power: float  # K-weighted mean square, summed over the output channels, at unity gain


# (stem, tempo it is conformed to or None) -> its facts; loads and prepares the stem.
FactsFn = Callable[[VaultStem, float | None], StemFacts]


def bar_frames_at(tempo: float) -> int:
    return round(4 * 60.0 / tempo * SAMPLE_RATE)


def new_plan(seed: int, controls: Controls) -> dict[str, Any]:
    return {
        "seed": seed,
        "controls": controls.to_json(),
        "bar": 0,
        "frame": 0,
        "tempo": None,  # chosen from the vault at the first bar
        "bar_frames": None,
        "next_tempo": None,
        "phrase_start": 0,
        "key": None,
        "section": None,
        "layers": [],
        "seq": 0,
        "last_end": {},
        "events_applied": 0,
        "liked": [],
        "bars": [],
    }


def _rng(plan: Mapping[str, Any], purpose: int) -> np.random.Generator:
    return np.random.default_rng([int(plan["seed"]) & 0xFFFFFFFF, int(plan["bar"]), purpose])


def _weighted(rng: np.random.Generator, items: Sequence[Any], weights: Sequence[float]) -> Any:
    total = math.fsum(weights)
    if total <= 0.0:
        return items[int(rng.integers(len(items)))]
    return items[int(rng.choice(len(items), p=np.asarray(weights) / total))]


@dataclass
class _Bar:
    """What one bar's planning needs besides the plan itself."""

    frame: int
    vault: dict[str, VaultStem]
    facts: FactsFn
    weights: Mapping[str, float]
    excluded: frozenset[str]
    settings: StreamSettings
    delay: int


def sounding(plan: Mapping[str, Any], frame: int) -> list[dict[str, Any]]:
    return [
        layer
        for layer in plan["layers"]
        if layer["start"] <= frame and (layer["end"] is None or layer["end"] > frame)
    ]


def _open_layers(plan: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [layer for layer in plan["layers"] if layer["end"] is None]


def _leave(layer: dict[str, Any], frame: int, fade_s: float | None = None) -> None:
    if fade_s is None:
        fade_s = _RHYTHM_RELEASE_S if layer["role"] in selection.RHYTHMIC else layer["fade_s"]
    fade = max(1, round(fade_s * SAMPLE_RATE))
    layer["fade_start"] = frame
    layer["fade_out"] = fade
    layer["end"] = frame + fade


def end_layer(plan: dict[str, Any], layer: dict[str, Any], frame: int, fade_s: float) -> None:
    """End `layer` at `frame` (any frame, not only a bar line) with a fade of `fade_s`, or
    shorten a fade already under way so it ends by then; a layer not yet started is dropped."""
    if layer["start"] >= frame:
        plan["layers"].remove(layer)
        return
    fade = max(1, round(fade_s * SAMPLE_RATE))
    if layer["end"] is not None and layer["end"] <= frame + fade:
        return
    if layer["fade_start"] is not None and layer["fade_start"] < frame:
        layer["fade_out"] = frame + fade - layer["fade_start"]
        layer["end"] = frame + fade
    else:
        _leave(layer, frame, fade_s)
    plan["last_end"][layer["stem"]] = layer["end"]


def _start_layer(
    plan: dict[str, Any], bar: _Bar, stem: VaultStem, run_start: int | None = None
) -> None:
    tempo = float(plan["tempo"]) if selection.conform_tempo(stem) else None
    facts = bar.facts(stem, tempo)
    beat = plan["bar_frames"] / 4.0
    if tempo is not None:
        period = round(max(1, round(facts.frames / beat)) * beat)
    else:
        period = max(1, math.ceil(facts.frames / plan["bar_frames"] - 1e-9)) * plan["bar_frames"]
    average = facts.power * min(1.0, facts.frames / period)
    lufs = -0.691 + 10.0 * math.log10(average)
    controls = Controls.from_json(plan["controls"])
    gain = min(18.0, max(-30.0, _REFERENCE_LUFS - lufs)) + selection.ROLE_DB.get(stem.role, -6.0)
    if controls.intensity < 0.35 and stem.role in selection.RHYTHMIC:
        gain -= 3.0
    fade_s = _RHYTHM_FADE_S if stem.role in selection.RHYTHMIC else bar.settings.layer_fade_s
    plan["layers"].append(
        {
            "n": plan["seq"],
            "stem": stem.id,
            "role": stem.role,
            "kind": stem.kind,
            "bpm": stem.bpm,
            "sha256": stem.content_sha256,
            "path": stem.path,
            "tempo": tempo,
            "start": bar.frame,
            "run_start": bar.frame if run_start is None else run_start,
            "period": int(period),
            "length": int(facts.frames),
            "gain_db": round(gain, 6),
            "power": facts.power,
            "fade_in": min(round(fade_s * SAMPLE_RATE), facts.frames // 2),
            "fade_s": bar.settings.layer_fade_s,
            "fade_start": None,
            "fade_out": 0,
            "end": None,
        }
    )
    plan["seq"] += 1


def _blocked(
    plan: Mapping[str, Any], bar: _Bar, extra: frozenset[str], rest: bool = True
) -> frozenset[str]:
    wait = round(bar.settings.stem_rest_s * SAMPLE_RATE) if rest else 0
    resting = {stem for stem, end in plan["last_end"].items() if end + wait > bar.frame}
    playing = {layer["stem"] for layer in _open_layers(plan)}
    return frozenset(resting | playing | bar.excluded | extra)


def _pool(
    plan: Mapping[str, Any], bar: _Bar, avoid: frozenset[str], rest: bool = True
) -> list[VaultStem]:
    """The stems that may enter at this bar."""
    controls = Controls.from_json(plan["controls"])
    return selection.candidates(
        list(bar.vault.values()),
        mood=controls.mood,
        tempo=float(plan["tempo"]),
        key=plan["key"],
        blocked=_blocked(plan, bar, avoid, rest),
    )


def _add_layer(
    plan: dict[str, Any], bar: _Bar, avoid: frozenset[str], purpose: int, rest: bool = True
) -> bool:
    controls = Controls.from_json(plan["controls"])
    pool = _pool(plan, bar, avoid, rest)
    if not pool:
        return False
    rng = _rng(plan, purpose)
    present = {layer["role"] for layer in _open_layers(plan)}
    missing = [r for r in selection.role_order(controls.intensity) if r not in present]
    offered = [r for r in missing if any(s.role == r for s in pool)][:2]
    if offered:
        role = offered[int(rng.integers(len(offered)))]
        pool = [s for s in pool if s.role == role]
    liked = frozenset(plan["liked"])
    weights = [
        selection.selection_weight(
            stem,
            weights=bar.weights,
            liked=liked,
            idle_frames=(
                None if stem.id not in plan["last_end"] else bar.frame - plan["last_end"][stem.id]
            ),
            sample_rate=SAMPLE_RATE,
            like_boost=_LIKE_BOOST,
        )
        for stem in pool
    ]
    _start_layer(plan, bar, _weighted(rng, pool, weights))
    return True


def _apply_events(
    plan: dict[str, Any], bar: _Bar, events: Sequence[StreamEvent]
) -> tuple[bool, frozenset[str], frozenset[str]]:
    """Apply the events heard from this bar on; (new section?, stems to avoid, stems that leave)."""
    fresh, avoid, leave = False, set(), set()
    heard_from = bar.frame + bar.delay
    while plan["events_applied"] < len(events):
        event = events[plan["events_applied"]]
        if event.at_frame > heard_from:
            break
        plan["events_applied"] += 1
        if event.kind == "controls" and event.controls is not None:
            plan["controls"] = event.controls.to_json()
            fresh = True
        elif event.kind == "skip":
            fresh = True
            avoid |= {layer["stem"] for layer in sounding(plan, bar.frame)}
        elif event.kind == "dislike":
            leave |= event.stems
        elif event.kind == "like":
            liked = [s for s in plan["liked"] if s not in event.stems] + sorted(event.stems)
            plan["liked"] = liked[-_LIKED_KEPT:]
    return fresh, frozenset(avoid), frozenset(leave)


def _pending_dislikes(plan: Mapping[str, Any], events: Sequence[StreamEvent]) -> frozenset[str]:
    pending: set[str] = set()
    for event in events[plan["events_applied"] :]:
        if event.kind == "dislike":
            pending |= event.stems
    return frozenset(pending)


def _next_tempo(plan: Mapping[str, Any], bar: _Bar) -> float:
    tempo = float(plan["tempo"])
    step = bar.settings.tempo_step
    low, high = math.ceil(tempo * (1 - step)), math.floor(tempo * (1 + step))
    options = [float(t) for t in range(low, high + 1)] or [tempo]
    controls = Controls.from_json(plan["controls"])
    if controls.bpm is not None:
        return min(options, key=lambda t: (abs(t - controls.bpm), t))  # type: ignore[operator]
    rng = _rng(plan, 1)
    if rng.random() < 0.5:
        return tempo
    stems = selection.mood_first(list(bar.vault.values()), controls.mood)
    loops = [s for s in stems if selection.conform_tempo(s)]
    fits = [sum(selection.tempo_fits(s, t) for s in loops) for t in options]
    if max(fits, default=0) == 0:
        return tempo
    return float(_weighted(rng, options, [float(f) for f in fits]))


def _new_section(plan: dict[str, Any], bar: _Bar, avoid: frozenset[str]) -> None:
    controls = Controls.from_json(plan["controls"])
    rng = _rng(plan, 2)
    stems = list(bar.vault.values())
    key = plan["key"]
    asked = selection.best_key([], controls.key)
    if asked is not None:
        key = asked
    elif key is not None and rng.random() < 0.3:
        moves = selection.key_moves(key)
        key = moves[int(rng.integers(len(moves)))]
    if key is not None and not any(
        selection.key_of(s) is not None and selection.key_fits(s, key) for s in stems
    ):
        key = selection.best_key(stems, None)
    plan["key"] = key
    target = selection.target_layers(controls.intensity) + int(rng.choice([-1, 0, 0, 1]))
    bars = int(rng.choice(_SECTION_BARS))
    index = 0 if plan["section"] is None else plan["section"]["index"] + 1
    plan["section"] = {
        "index": index,
        "start": plan["bar"],
        "end": plan["bar"] + bars,
        "target": max(1, min(6, target)),
    }
    # Keep at most all but one of the layers that still fit, so every section sounds new.
    keep: list[dict[str, Any]] = []
    for layer in sorted(_open_layers(plan), key=lambda item: item["n"]):
        stem = bar.vault.get(layer["stem"])
        fits = (
            stem is not None
            and layer["stem"] not in avoid
            and selection.key_fits(stem, key)
            and (controls.mood in stem.moods or not selection.mood_first(stems, controls.mood))
        )
        if fits:
            keep.append(layer)
        else:
            _leave(layer, bar.frame)
            plan["last_end"][layer["stem"]] = layer["end"]
    limit = max(0, min(len(keep), plan["section"]["target"] - 1))
    order = rng.permutation(len(keep)).tolist()
    for position, index_ in enumerate(order):
        if position >= limit:
            layer = keep[index_]
            _leave(layer, bar.frame)
            plan["last_end"][layer["stem"]] = layer["end"]
    purpose = 10
    while len(_open_layers(plan)) < plan["section"]["target"]:
        if not _add_layer(plan, bar, avoid, purpose):
            break
        purpose += 1
    if not _open_layers(plan):
        # A small vault can have every stem that fits the key and tempo resting (they just
        # left): a stem back early beats a silent section (a 3 s window of K-filter tail).
        _add_layer(plan, bar, avoid, purpose, rest=False)


def _evolve(plan: dict[str, Any], bar: _Bar) -> None:
    rng = _rng(plan, 3)
    if rng.random() >= _EVOLVE:
        return
    layers = sorted(_open_layers(plan), key=lambda item: item["n"])
    target = plan["section"]["target"]
    if len(layers) < target or not layers:
        if not _add_layer(plan, bar, frozenset(), 20) and not layers:
            _add_layer(plan, bar, frozenset(), 20, rest=False)  # as in _new_section
        return
    victim = layers[int(rng.integers(len(layers)))]
    if len(layers) == 1 and not _pool(plan, bar, frozenset({victim["stem"]})):
        return  # nothing may replace the one layer now: it stays rather than leave silence
    _leave(victim, bar.frame)
    plan["last_end"][victim["stem"]] = victim["end"]
    if len(layers) <= target:
        _add_layer(plan, bar, frozenset({victim["stem"]}), 21)


def _change_tempo(plan: dict[str, Any], bar: _Bar, tempo: float) -> None:
    """A new phrase at a new tempo: loops restart on its grid (their run goes on)."""
    restart = [layer for layer in _open_layers(plan) if layer["tempo"] is not None]
    plan["tempo"] = tempo
    plan["bar_frames"] = bar_frames_at(tempo)
    for layer in restart:
        _leave(layer, bar.frame)
        stem = bar.vault.get(layer["stem"])
        if stem is not None and selection.tempo_fits(stem, tempo):
            _start_layer(plan, bar, stem, run_start=layer["run_start"])
        else:
            plan["last_end"][layer["stem"]] = layer["end"]


def _plan_bar(plan: dict[str, Any], bar: _Bar, events: Sequence[StreamEvent]) -> None:
    controls = Controls.from_json(plan["controls"])
    stems = list(bar.vault.values())
    if plan["tempo"] is None:
        first_tempo = selection.best_tempo(selection.mood_first(stems, controls.mood), controls.bpm)
        plan["tempo"] = first_tempo
        plan["bar_frames"] = bar_frames_at(first_tempo)
        plan["key"] = selection.best_key(selection.mood_first(stems, controls.mood), controls.key)
        plan["next_tempo"] = _next_tempo(plan, bar)
    fresh, avoid, leave = _apply_events(plan, bar, events)
    fresh = fresh or plan["section"] is None or plan["bar"] >= plan["section"]["end"]
    if plan["bar"] - plan["phrase_start"] >= bar.settings.phrase_bars:
        plan["phrase_start"] = plan["bar"]
        tempo = float(plan["next_tempo"])
        if tempo != plan["tempo"]:
            _change_tempo(plan, bar, tempo)
            fresh = True
        plan["next_tempo"] = _next_tempo(plan, bar)
    # Leave now: dislikes heard from this bar; excluded stems, except those whose dislike is
    # still to come (they leave at its bar, not before); runs that would pass the limit.
    gone = leave | (bar.excluded - _pending_dislikes(plan, events))
    limit = round(bar.settings.max_stem_run_s * SAMPLE_RATE) - plan["bar_frames"]
    for layer in _open_layers(plan):
        if (
            layer["stem"] in gone
            or layer["stem"] not in bar.vault
            or bar.frame - layer["run_start"] > limit
        ):
            _leave(layer, bar.frame)
            plan["last_end"][layer["stem"]] = layer["end"]
    if fresh:
        _new_section(plan, bar, avoid | gone)
    else:
        _evolve(plan, bar)


def plan_until(
    plan: dict[str, Any],
    horizon: int,
    *,
    vault: Sequence[VaultStem],
    events: Sequence[StreamEvent],
    excluded: frozenset[str],
    weights: Mapping[str, float],
    facts: FactsFn,
    settings: StreamSettings,
    delay: int,
) -> list[tuple[int, int]]:
    """Plan every bar line before mix frame `horizon`; returns their (bar index, mix frame).
    `delay` is how many frames after its mix frame a bar is heard (events are in output frames)."""
    by_id = {stem.id: stem for stem in sorted(vault, key=lambda s: s.id)}
    planned: list[tuple[int, int]] = []
    while plan["frame"] < horizon:
        bar = _Bar(plan["frame"], by_id, facts, weights, excluded, settings, delay)
        _plan_bar(plan, bar, events)
        planned.append((plan["bar"], plan["frame"]))
        plan["bars"].append(plan["frame"])
        plan["bar"] += 1
        plan["frame"] += plan["bar_frames"]
    return planned


def arrangement_at(plan: Mapping[str, Any], frame: int) -> tuple[tuple[str, int], ...]:
    """The stems sounding at `frame` (not leaving there) and where in each its playback is:
    (stem, offset into its repeat)."""
    return tuple(
        sorted(
            (layer["stem"], (frame - layer["start"]) % layer["period"])
            for layer in sounding(plan, frame)
            if layer["fade_start"] is None or layer["fade_start"] > frame
        )
    )


def bar_line_at_or_after(plan: Mapping[str, Any], frame: int, phrase_bars: int) -> int:
    """Mix frame of the first bar line not yet planned that lies at or after `frame`. The bars
    of the current phrase and of the next (whose tempo is decided a phrase ahead) are exact;
    further on the next phrase's tempo is assumed to hold (never needed within a few segments).
    Before the first bar is planned the tempo is not chosen yet: 120 bpm is assumed."""
    position, bar, phrase = int(plan["frame"]), int(plan["bar"]), int(plan["phrase_start"])
    length = int(plan["bar_frames"] or bar_frames_at(120.0))
    following = bar_frames_at(float(plan["next_tempo"] or plan["tempo"] or 120.0))
    while position < frame:
        position += length
        bar += 1
        if bar - phrase >= phrase_bars:
            phrase, length = bar, following
    return position


def key_name(key: int | None) -> str:
    return "" if key is None else MusicalKey(key, False).name
