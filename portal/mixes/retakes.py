"""Plan edits for a new take of a soundtrack: pinned and muted stems, a form kept while the
length changes, and one section re-drawn. Pure Python over candidates and plan sections; the
planner calls these, in this order, from `plan_soundtrack`.

What each keeps, precisely:

* Extend or shorten (`resized_form`): the parent's tempo and every section before its outro
  keep their names, start bars and lengths as far as the new length reaches; the last kept one
  is cut at the bar where the outro now starts. Extending adds main/breakdown sections of the
  parent's main length; the outro keeps its length (shortened only if the piece is too short).
  The stems are the same (the same request and seed draw them), so the kept sections' layers
  are the same except for the fade where a kept section now hands over to a different one.
* Regenerate section i (`redraw_section`): only section i's layers change, re-drawn with their
  own seed from the stems that fit the soundtrack's tempo and key, preferring stems other than
  the ones it had. Every other section keeps its layers, fades included, so before mastering
  the mix is byte-identical outside [start of i, end of i + the new layers' crossfade tail
  (half a beat)]; accents (hit points) are the parent's. Mastering applies one gain and a
  limiter to the whole file, so after it the other sections can differ by that gain.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from portal.core.errors import ApplicationError
from portal.mixes.selection import Candidate

FILL_NAMES = ("main", "breakdown")


def split_pins(
    pool: Sequence[Candidate], *, pinned_ids: Iterable[int], muted_ids: Iterable[int]
) -> tuple[list[Candidate], list[Candidate]]:
    """(the pool without muted stems, the pinned candidates). A pinned id that is not an
    approved stem of the vault (unknown, withdrawn, taken down, not yet licensed) is refused."""
    muted = set(muted_ids)
    by_id = {c.id: c for c in pool}
    wanted = sorted(set(pinned_ids))
    missing = [i for i in wanted if i not in by_id]
    if missing:
        message = (
            f"Stem {missing[0]} cannot be pinned: it is not an approved, licensed stem of the "
            "vault (it may be unknown, withdrawn, taken down or still in review)."
        )
        raise ApplicationError(
            "pinned_stem_unavailable",
            message,
            fields={"pinned_stem_ids": [message]},
            status=400,
        )
    return [c for c in pool if c.id not in muted], [by_id[i] for i in wanted]


def form_of(sections: Sequence[dict[str, Any]]) -> tuple[list[str], list[int]]:
    """(section names, start bars of every section after the first) of a plan's sections."""
    return [s["name"] for s in sections], [int(s["start_bar"]) for s in sections[1:]]


def resized_form(
    sections: Sequence[dict[str, Any]], *, total_bars: int
) -> tuple[list[str], list[int]]:
    """The parent's form stretched or cut to `total_bars` (see the module docstring)."""
    names, starts = form_of(sections)
    lengths = [int(s["bars"]) for s in sections]
    has_outro = len(names) > 1 and names[-1] == "outro"
    outro_bars = lengths[-1] if has_outro else 0
    # The outro stays an outro, at most a third of the new piece (a short piece ends sooner).
    outro_bars = min(outro_bars, max(1, total_bars // 3)) if has_outro and total_bars > 1 else 0
    body_end = total_bars - outro_bars
    body = list(zip(names[:-1] if has_outro else names, [0, *starts], strict=False))
    kept = [(name, start) for name, start in body if start < body_end]
    if not kept:
        kept = [(names[0], 0)]
    old_body_end = int(sections[-1]["start_bar"]) if has_outro else sum(lengths)
    if body_end > old_body_end:
        main_lengths = [n for name, n in zip(names, lengths, strict=True) if name == "main"]
        step = max(2, main_lengths[0] if main_lengths else 8)
        bar, turn = old_body_end, 0
        while bar < body_end:
            # Leave no stub shorter than two bars before the outro: fold it into the last fill.
            if kept and bar > old_body_end and body_end - bar < 2:
                break
            kept.append((FILL_NAMES[turn % 2], bar))
            bar, turn = bar + step, turn + 1
    result_names = [name for name, _ in kept]
    boundaries = [start for _, start in kept[1:]]
    if outro_bars:
        result_names.append("outro")
        boundaries.append(body_end)
    return result_names, boundaries


def total_bars_for(duration_s: float, bar_s: float) -> int:
    return max(1, math.ceil(duration_s / bar_s - 1e-6))


def fresh_pool(
    pool: Sequence[Candidate], current_ids: set[int], keep_ids: set[int]
) -> list[Candidate]:
    """The pool a re-drawn section draws from: in each role group, the stems it did not have,
    when the group has any others; the group's current stems otherwise (and pins always)."""
    groups: dict[str, list[Candidate]] = {}
    for c in pool:
        groups.setdefault(c.group, []).append(c)
    result = []
    for members in groups.values():
        others = [c for c in members if c.id not in current_ids or c.id in keep_ids]
        result += others if any(c.id not in current_ids for c in others) else members
    return sorted(result, key=lambda c: c.id)


def redraw_section(
    sections: Sequence[dict[str, Any]],
    index: int,
    fresh: dict[str, Any],
    *,
    beat_s: float,
) -> list[dict[str, Any]]:
    """`sections` with section `index`'s layers taken from `fresh` (the same section of an
    arrangement of the re-drawn stems). Its layers' fade-outs are made again against the
    section that really follows; no other section changes."""
    if not 0 <= index < len(sections):
        raise ApplicationError(
            "invalid",
            f"This soundtrack has sections 0 to {len(sections) - 1}; there is no section {index}.",
            fields={"regenerate_section": [f"Choose a section from 0 to {len(sections) - 1}."]},
            status=400,
        )
    is_last = index == len(sections) - 1
    following = set() if is_last else {layer["stem"] for layer in sections[index + 1]["layers"]}
    layers = []
    for layer in fresh["layers"]:
        layer = dict(layer)
        if not (is_last and fresh["name"] == "outro"):
            leaving = not is_last and layer["stem"] not in following
            layer["fade_out_s"] = round(beat_s / 2, 4) if leaving else 0.0
        layers.append(layer)
    result = [dict(s) for s in sections]
    result[index] = {**result[index], "layers": layers}
    return result
