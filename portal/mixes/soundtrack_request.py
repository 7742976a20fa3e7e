"""A client's soundtrack request, checked: the rules that cross fields (the API and the web
form check types and ranges first)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from portal.core.errors import ApplicationError
from portal.core.music import parse_key
from renderer.presets import DEFAULT_LOUDNESS_PRESET, LOUDNESS_PRESETS, known_presets

DEFAULT_LOUDNESS_LUFS = LOUDNESS_PRESETS[DEFAULT_LOUDNESS_PRESET].loudness_lufs
DEFAULT_TRUE_PEAK_DBTP = LOUDNESS_PRESETS[DEFAULT_LOUDNESS_PRESET].true_peak_dbtp
# Room an accent needs to be heard as its own event: after the start, and between two hits.
MIN_HIT_FROM_START_S = 1.0
MIN_HIT_GAP_S = 1.0
# What a soundtrack may be delivered as: the lossless master (one of the first two, with the
# signed manifest embedded) and an MP3 of it (renderer.mp3). Stems are asked for apart.
MASTER_FORMATS = ("wav", "flac")
OFFERED_FORMATS = (*MASTER_FORMATS, "mp3")
MAX_PINNED_STEMS = 8
MAX_MUTED_STEMS = 32
MAX_REGENERATED_SECTIONS = 16


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
    # A named target (renderer.presets) sets both figures; None: a custom loudness_lufs with
    # the default ceiling (requests made before presets existed read back this way).
    loudness_preset: str | None = DEFAULT_LOUDNESS_PRESET
    true_peak_dbtp: float = DEFAULT_TRUE_PEAK_DBTP
    # Every format delivered, in OFFERED_FORMATS order: the master's and an "mp3" if asked.
    formats: tuple[str, ...] = ("wav",)
    stems: bool = False  # a zip of role-group stems beside the mix (renderer.stem_package)
    # Stems that must play (still approved stems only) and stems that never may, by id.
    pinned_stem_ids: tuple[int, ...] = ()
    muted_stem_ids: tuple[int, ...] = ()
    # Set by a version of another soundtrack (portal.mixes.versions), never by a client: the
    # length whose form (tempo, sections) this one keeps while it is extended or shortened,
    # and the sections re-drawn after that, in order, each (section index, seed).
    form_duration_s: float | None = None
    regenerated_sections: tuple[tuple[int, int], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        # The iteration fields only when set: a plain request reads back as it always did.
        extra: dict[str, Any] = {}
        if self.pinned_stem_ids:
            extra["pinned_stem_ids"] = list(self.pinned_stem_ids)
        if self.muted_stem_ids:
            extra["muted_stem_ids"] = list(self.muted_stem_ids)
        if self.form_duration_s is not None:
            extra["form_duration_s"] = self.form_duration_s
        if self.regenerated_sections:
            extra["regenerated_sections"] = [
                {"index": index, "seed": seed} for index, seed in self.regenerated_sections
            ]
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
            "loudness_preset": self.loudness_preset,
            "formats": list(self.formats),
            "stems": self.stems,
            **extra,
        }


def hit_spacing_errors(hits: Sequence[float]) -> list[str]:
    """What is wrong with the hit points' spacing (empty when nothing is): the checks that need
    no vault, run with the request's other field checks."""
    errors = []
    if hits and hits[0] < MIN_HIT_FROM_START_S:
        errors.append(
            f"The hit point at {hits[0]:g} s is too close to the start: leave at least "
            f"{MIN_HIT_FROM_START_S:g} s before the first hit."
        )
    for before, after in itertools.pairwise(hits):
        if after - before < MIN_HIT_GAP_S:
            errors.append(
                f"The hit points at {before:g} s and {after:g} s are {after - before:.3g} s "
                f"apart: leave at least {MIN_HIT_GAP_S:g} s between two hits."
            )
    return errors


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
    elif spacing := hit_spacing_errors(hits):
        fields["hit_points"] = spacing
    key = str(data.get("key") or "").strip()
    if key and parse_key(key) is None:
        fields["key"] = ['Write a key like "C", "F#m", "Bb major" or "A minor".']
    bpm = data.get("bpm")
    if bpm is not None and not 40.0 <= float(bpm) <= 240.0:
        fields["bpm"] = ["Ask for 40 to 240 bpm."]
    preset_name, loudness, ceiling = _loudness_target(data, fields)
    fmt, formats = _formats(data, fields)
    intensity = float(data.get("intensity", 0.5) if data.get("intensity") is not None else 0.5)
    if not 0.0 <= intensity <= 1.0:
        fields["intensity"] = ["Intensity goes from 0 (sparse) to 1 (full)."]
    seed = int(data.get("seed") or 0)
    if seed < 0:
        fields["seed"] = ["The seed is a whole number, 0 or more."]
    mood = str(data.get("mood") or "").strip().lower()
    if not mood:
        fields["mood"] = ["Name a mood, e.g. calm, uplifting, tense."]
    pinned, muted = (
        _stem_ids(data, "pinned_stem_ids", fields),
        _stem_ids(data, "muted_stem_ids", fields),
    )
    if len(pinned) > MAX_PINNED_STEMS:
        fields["pinned_stem_ids"] = [f"Pin at most {MAX_PINNED_STEMS} stems."]
    if len(muted) > MAX_MUTED_STEMS:
        fields["muted_stem_ids"] = [f"Mute at most {MAX_MUTED_STEMS} stems."]
    if both := sorted(set(pinned) & set(muted)):
        fields["muted_stem_ids"] = [
            f"Stem {both[0]} is both pinned and muted: a stem either must play or must not."
        ]
    form_duration = data.get("form_duration_s")
    if form_duration is not None and not 5.0 <= float(form_duration) <= 600.0:
        fields["form_duration_s"] = ["The kept form's length is 5 to 600 seconds."]
    regenerated = tuple(
        (int(r["index"]), int(r["seed"])) for r in data.get("regenerated_sections") or []
    )
    if len(regenerated) > MAX_REGENERATED_SECTIONS or any(i < 0 or s < 0 for i, s in regenerated):
        fields["regenerated_sections"] = [
            f"Re-draw at most {MAX_REGENERATED_SECTIONS} sections, by index and seed (0 or more)."
        ]
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
        loudness_preset=preset_name,
        true_peak_dbtp=ceiling,
        formats=formats,
        stems=bool(data.get("stems")),
        pinned_stem_ids=pinned,
        muted_stem_ids=muted,
        form_duration_s=float(form_duration) if form_duration is not None else None,
        regenerated_sections=regenerated,
    )


def offered_formats_text() -> str:
    return ", ".join(OFFERED_FORMATS)


def _formats(data: dict[str, Any], fields: dict[str, list[str]]) -> tuple[str, tuple[str, ...]]:
    """(the master's format, every format delivered). `format` names one, `formats` a list;
    both may be given. An MP3 alone still has a WAV master: the MP3 is made from it, and the
    master is what carries the embedded signed manifest."""
    wanted: list[str] = []
    for name in ("format", "formats"):
        raw = data.get(name)
        values = [raw] if isinstance(raw, str) else list(raw or [])
        values = [v for v in values if str(v).strip()]  # blank: not given
        unknown = [str(v) for v in values if str(v).strip().lower() not in OFFERED_FORMATS]
        if unknown:
            fields[name] = [
                f"“{unknown[0]}” is not offered; the offered formats are {offered_formats_text()}."
            ]
        wanted += [str(v).strip().lower() for v in values if str(v) not in unknown]
    masters = sorted({f for f in wanted if f in MASTER_FORMATS})
    if len(masters) > 1:
        fields["formats"] = ["Choose one lossless master: wav or flac (an mp3 may join it)."]
    master = masters[0] if masters else "wav"
    chosen = {master, *wanted}
    return master, tuple(f for f in OFFERED_FORMATS if f in chosen)


def _stem_ids(data: dict[str, Any], name: str, fields: dict[str, list[str]]) -> tuple[int, ...]:
    """Stem ids, each once, in increasing order (so the same set is the same request)."""
    raw = data.get(name) or []
    try:
        ids = sorted({int(i) for i in raw})
    except (TypeError, ValueError):
        fields[name] = ["List stem ids as whole numbers."]
        return ()
    if any(i <= 0 for i in ids):
        fields[name] = ["Stem ids are whole numbers above 0."]
        return ()
    return tuple(ids)


def _loudness_target(
    data: dict[str, Any], fields: dict[str, list[str]]
) -> tuple[str | None, float, float]:
    """(preset, target LUFS, ceiling dBTP). No preset and no loudness: the default preset. A
    loudness alone: a custom target under the default ceiling. Both: they must agree, since
    a file that is neither is what a compliance desk would reject."""
    raw_preset = data.get("loudness_preset")
    raw_loudness = data.get("loudness_lufs")
    if raw_preset in (None, "") and raw_loudness is None:
        raw_preset = DEFAULT_LOUDNESS_PRESET
    if raw_preset not in (None, ""):
        preset = LOUDNESS_PRESETS.get(str(raw_preset).strip().lower())
        if preset is None:
            fields["loudness_preset"] = [
                f"Unknown loudness preset “{raw_preset}”; choose one of: {known_presets()}."
            ]
            return None, DEFAULT_LOUDNESS_LUFS, DEFAULT_TRUE_PEAK_DBTP
        if raw_loudness is not None and float(raw_loudness) != preset.loudness_lufs:
            fields["loudness_lufs"] = [
                f"The {preset.describe()} preset masters to {preset.loudness_lufs:g} LUFS; "
                "leave loudness_lufs out or choose no preset."
            ]
        return preset.name, preset.loudness_lufs, preset.true_peak_dbtp
    loudness = float(raw_loudness) if raw_loudness is not None else DEFAULT_LOUDNESS_LUFS
    if not -30.0 <= loudness <= -8.0:
        fields["loudness_lufs"] = ["Ask for -30 to -8 LUFS."]
    return None, loudness, DEFAULT_TRUE_PEAK_DBTP
