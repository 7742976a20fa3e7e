"""Where every layer of a plan plays: placements on the bar grid, and their fades."""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from renderer.plan import RenderPlan

Float64Array = npt.NDArray[np.float64]
ACCENT_SECTION = "accent"  # the `section` of an accent's placement (accents are in none)


def bar_to_frame(bar: float, tempo_bpm: float, sample_rate: int) -> int:
    """Frame index of a bar line: round(bar * 4 beats * 60/bpm s * rate)."""
    return round(bar * 4 * 60.0 / tempo_bpm * sample_rate)


@dataclass(frozen=True)
class Placement:
    """Where one layer plays in the output, in frames."""

    stem_id: str
    section: str
    start_frame: int  # first frame of the first repeat
    end_frame: int  # exclusive; the layer is silent from here on
    period_frames: int  # distance between repeat starts
    repeats: int
    gain_db: float
    fade_in_frames: int
    fade_in_shape: str  # "linear" or "equal_power"
    fade_out_start: int  # frame where the fade-out begins
    fade_out_frames: int
    fade_out_shape: str
    sample_rate: int

    @property
    def start_s(self) -> float:
        return self.start_frame / self.sample_rate

    @property
    def end_s(self) -> float:
        return self.end_frame / self.sample_rate

    def to_dict(self) -> dict[str, Any]:
        return {
            "stem": self.stem_id,
            "section": self.section,
            "start_s": round(self.start_s, 6),
            "end_s": round(self.end_s, 6),
            "gain_db": self.gain_db,
        }


def plan_placements(plan: RenderPlan, stem_frames: Mapping[str, int]) -> list[Placement]:
    """Lay every layer out on the bar grid; `stem_frames` are prepared stem lengths."""
    sr, bpm = plan.sample_rate, plan.tempo_bpm
    total = plan.frames
    beat = 60.0 / bpm * sr
    placements: list[Placement] = []
    # Boundaries where one section hands over directly to the next: fades there crossfade.
    handovers = {
        plan.sections[i].end_bar
        for i in range(len(plan.sections) - 1)
        if plan.sections[i + 1].start_bar == plan.sections[i].end_bar
    }
    for section in plan.sections:
        section_start = bar_to_frame(section.start_bar, bpm, sr)
        section_end = min(total, bar_to_frame(section.end_bar, bpm, sr))
        for layer in section.layers:
            length = stem_frames[layer.stem]
            if length == 0:
                continue
            ref = plan.stem(layer.stem)
            if layer.period_beats is not None:
                period = round(layer.period_beats * beat)
            elif ref.bpm is not None:
                # A loop: repeat every whole number of beats it spans.
                period = round(max(1, round(length / beat)) * beat)
            else:
                period = round(math.ceil(length / beat - 1e-9) * beat)
            period = max(period, 1)
            start = bar_to_frame(section.start_bar + layer.start_bar, bpm, sr)
            natural_end = start + (layer.repeats - 1) * period + length
            end = min(natural_end, section_end)
            fade_out = round(layer.fade_out_s * sr)
            fade_in = round(layer.fade_in_s * sr)
            crossfade_out = (
                fade_out > 0 and natural_end >= section_end and section.end_bar in handovers
            )
            if crossfade_out:
                # Keep playing into the next section while fading out on a cosine.
                end = min(natural_end, section_end + fade_out, total)
                fade_out_start = section_end
            else:
                fade_out_start = end - fade_out
            crossfade_in = fade_in > 0 and start == section_start and section.start_bar in handovers
            if end <= start:
                continue
            placements.append(
                Placement(
                    stem_id=layer.stem,
                    section=section.name,
                    start_frame=start,
                    end_frame=end,
                    period_frames=period,
                    repeats=layer.repeats,
                    gain_db=layer.gain_db,
                    fade_in_frames=fade_in,
                    fade_in_shape="equal_power" if crossfade_in else "linear",
                    fade_out_start=fade_out_start,
                    fade_out_frames=fade_out,
                    fade_out_shape="equal_power" if crossfade_out else "linear",
                    sample_rate=sr,
                )
            )
    for accent in plan.accents:
        length = stem_frames[accent.stem]
        start = round(accent.at_s * sr)  # the exact sample: no bar grid, no rounding to beats
        end = min(start + length, total)
        if length == 0 or end <= start:
            continue
        placements.append(
            Placement(
                stem_id=accent.stem,
                section=ACCENT_SECTION,
                start_frame=start,
                end_frame=end,
                period_frames=length,
                repeats=1,
                gain_db=accent.gain_db,
                fade_in_frames=0,
                fade_in_shape="linear",
                fade_out_start=end,
                fade_out_frames=0,
                fade_out_shape="linear",
                sample_rate=sr,
            )
        )
    return placements


def hit_landings(plan: RenderPlan, placements: Sequence[Placement]) -> list[dict[str, Any]]:
    """Where each of the plan's hit points actually lands in the rendered audio: the nearest
    accent onset or section change (the frames the mix was built from, not the request), with
    its error in milliseconds. What the manifest lists as `hits`."""
    sr = plan.sample_rate
    marks: list[tuple[int, str, str | None]] = [
        (p.start_frame, "accent", p.stem_id) for p in placements if p.section == ACCENT_SECTION
    ]
    marks += [
        (bar_to_frame(section.start_bar, plan.tempo_bpm, sr), "section", None)
        for section in plan.sections
        if section.start_bar > 0
    ]
    landings = []
    for hit in plan.hit_points:
        if not marks:
            landings.append({"requested_s": hit, "actual_s": None, "by": None, "error_ms": None})
            continue
        # Nearest first; at equal distance an accent (a sound on the hit) before a section.
        frame, by, stem = min(marks, key=lambda m: (abs(m[0] - hit * sr), m[1] != "accent"))
        landing: dict[str, Any] = {
            "requested_s": hit,
            "actual_s": round(frame / sr, 6),
            "frame": frame,
            "by": by,
            "error_ms": round(abs(frame / sr - hit) * 1000.0, 3),
        }
        if stem is not None:
            landing["stem"] = stem
        landings.append(landing)
    return landings


@functools.lru_cache(maxsize=16)
def _fade_curve(frames: int, shape: str, rising: bool) -> Float64Array:
    """The gain of every frame of a fade in (rising) or out, read-only: computed once and shared
    by every layer, repeat and render with the same fade (a 2 s equal-power fade is 96,000
    sines, which cost more than mixing the frames they scale)."""
    curve = _fade_gain((np.arange(frames, dtype=np.float64) + 0.5) / frames, shape, rising)
    curve.setflags(write=False)
    return curve


def _fade_gain(t: Float64Array, shape: str, rising: bool) -> Float64Array:
    """A fade's gain at positions t (0..1 through the fade): equal-power (sine/cosine) or linear."""
    if shape == "equal_power":
        return np.sin(0.5 * np.pi * t) if rising else np.cos(0.5 * np.pi * t)
    return t if rising else 1.0 - t


def _envelope(p: Placement, a: int, b: int) -> Float64Array | None:
    """Fade gain for output frames [a, b) of placement p, or None where it is flat 1.0."""
    in_end = p.start_frame + p.fade_in_frames
    out_end = p.fade_out_start + p.fade_out_frames
    touches_in = p.fade_in_frames > 0 and a < in_end
    touches_out = p.fade_out_frames > 0 and b > p.fade_out_start and a < out_end
    if not (touches_in or touches_out):
        return None
    # The spans `pieces` cuts lie within one fade (or both, in a layer shorter than its fades).
    if touches_in and not touches_out and p.start_frame <= a and b <= in_end:
        fade_in = _fade_curve(p.fade_in_frames, p.fade_in_shape, True)
        return fade_in[a - p.start_frame : b - p.start_frame]
    if touches_out and not touches_in and p.fade_out_start <= a and b <= out_end:
        fade_out = _fade_curve(p.fade_out_frames, p.fade_out_shape, False)
        return fade_out[a - p.fade_out_start : b - p.fade_out_start]
    frames = np.arange(a, b, dtype=np.float64)
    env = np.ones(b - a, dtype=np.float64)
    if touches_in:
        t = np.clip((frames - p.start_frame + 0.5) / p.fade_in_frames, 0.0, 1.0)
        env *= _fade_gain(t, p.fade_in_shape, True)
    if touches_out:
        t = np.clip((frames - p.fade_out_start + 0.5) / p.fade_out_frames, 0.0, 1.0)
        env *= _fade_gain(t, p.fade_out_shape, False)
    return env


def pieces(p: Placement, a: int, b: int) -> Iterator[tuple[int, int, Float64Array | None]]:
    """[a, b) cut at the fade boundaries: (lo, hi, fade gain or None where it is flat 1.0).

    A 30 s layer with a 2 s fade-out gets its gain computed over those 2 s only, and its other
    28 s added without a multiply.
    """
    cuts = {a, b}
    for edge in (
        p.start_frame + p.fade_in_frames,
        p.fade_out_start,
        p.fade_out_start + p.fade_out_frames,
    ):
        if a < edge < b:
            cuts.add(edge)
    bounds = sorted(cuts)
    for lo, hi in itertools.pairwise(bounds):
        yield lo, hi, _envelope(p, lo, hi)


def repeat_spans(p: Placement, length: int) -> Iterator[tuple[int, int]]:
    """Output spans [a, b) of each repeat; every span starts at the stem's first frame."""
    for k in range(p.repeats):
        a = p.start_frame + k * p.period_frames
        if a >= p.end_frame:
            break
        yield a, min(a + length, p.end_frame)
