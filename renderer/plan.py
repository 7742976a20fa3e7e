"""The render plan: what to mix, where, and how loud.

A plan is a JSON document, schema ``"stemvault.render-plan/1"`` (machine-readable form in
``renderer/plan_schema.json``, kept in sync with this parser by tests)::

    {
      "schema": "stemvault.render-plan/1",
      "tempo_bpm": 120,             # required, 20..400; bar = 4 beats
      "key": "A minor",             # optional free text, default ""
      "duration_s": 180,            # required, > 0 and <= 3600; the output is exactly this long
      "sample_rate": 48000,         # 44100 | 48000 | 88200 | 96000, default 48000
      "channels": 2,                # 1 | 2, default 2
      "stems": [                    # the stems the layers may use
        {"id": "kick", "path": "kick.flac", "content_sha256": "ab12...", "bpm": 124}
      ],
      "sections": [
        {"name": "intro", "start_bar": 0, "bars": 8, "layers": [
          {"stem": "kick", "start_bar": 0, "repeats": 8, "gain_db": -3,
           "fade_in_s": 0, "fade_out_s": 2, "period_beats": 4}
        ]}
      ],
      "hit_points": [12.0, 30.5],   # seconds, within the duration; carried into the manifest
      "loudness_preset": "streaming", # optional: streaming | ebu_r128 | atsc_a85 (renderer.presets)
      "loudness_lufs": -14,         # integrated loudness target, -40..-5, default -14 (or the preset's)
      "true_peak_dbtp": -1,         # true-peak ceiling, -12..0, default -1 (or the preset's)
      "accents": [                  # optional: one-shots placed on an exact sample
        {"stem": "hit", "at_s": 12.0, "gain_db": -2}
      ],
      "format": "wav",              # "wav" (24-bit PCM WAV) or "flac" (24-bit FLAC)
      "seed": 0                     # reserved for seeded variation; the engine uses no randomness
    }

Stems: ``id`` (non-empty string) and at least one of ``path`` (a file, relative paths resolved
by the loader; the CLI resolves them against the plan's folder) or ``content_sha256`` (64 hex,
the sha256 of the stem file's bytes; the portal's loader fetches by it and the default loader
checks it). ``bpm`` is optional: when set, the stem is a loop recorded at that tempo and is
conformed to the plan's tempo by resampling, which is only allowed within 6%.

A layer's ``stem`` is a stem id, or an inline stem object (hoisted into ``stems``).

Timing: a layer starts at ``section.start_bar + layer.start_bar`` bars; sample position
``round(bar * 4 * 60 / tempo_bpm * sample_rate)``. It plays ``repeats`` times, repeat k starting
``k * period`` later, where period is ``period_beats`` beats if given, else the loop's length in
whole beats at its own tempo (stems with ``bpm``), else the stem's length rounded up to whole
beats. The layer is cut at its section's end (and at the render's end).

Accents: a stem (a stinger, an impact) played once from the frame ``round(at_s *
sample_rate)``, whatever the tempo and the bar grid, to its own end or the render's: not cut by
sections and never faded. They are how a hit point lands on the exact sample when it falls
between bar lines. ``accents`` is left out of the canonical form when empty, so every plan
written before accents existed keeps its form and hash.

Fades: ``fade_in_s`` ramps the layer in from its start, ``fade_out_s`` ramps it out towards its
end, linearly in time. At a boundary between two adjacent sections the fades become an
equal-power crossfade: a layer that reaches the end of its section with a fade-out keeps playing
``fade_out_s`` into the next section, fading on a cosine curve, and layers starting at the
beginning of that next section fade in on a sine curve.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# PlanError is defined beside the field readers and stays importable from here, its home.
from renderer.plan_fields import PlanError as PlanError
from renderer.plan_fields import _check_keys, _integer, _number, _string
from renderer.presets import loudness_preset

SCHEMA = "stemvault.render-plan/1"
SAMPLE_RATES = (44100, 48000, 88200, 96000)
FORMATS = ("wav", "flac")
MAX_TEMPO_CONFORM = 0.06  # a loop may be sped up or slowed down by at most 6%

# Key sets the JSON Schema file must agree with (tests compare them).
REQUIRED_KEYS = frozenset({"schema", "tempo_bpm", "duration_s", "stems", "sections"})
PLAN_KEYS = REQUIRED_KEYS | {
    "accents",
    "key",
    "sample_rate",
    "channels",
    "hit_points",
    "loudness_preset",
    "loudness_lufs",
    "true_peak_dbtp",
    "format",
    "seed",
}
STEM_REQUIRED_KEYS = frozenset({"id"})
STEM_KEYS = STEM_REQUIRED_KEYS | {"path", "content_sha256", "bpm"}
SECTION_REQUIRED_KEYS = frozenset({"name", "start_bar", "bars", "layers"})
SECTION_KEYS = SECTION_REQUIRED_KEYS
LAYER_REQUIRED_KEYS = frozenset({"stem"})
LAYER_KEYS = LAYER_REQUIRED_KEYS | {
    "start_bar",
    "repeats",
    "gain_db",
    "fade_in_s",
    "fade_out_s",
    "period_beats",
}

ACCENT_REQUIRED_KEYS = frozenset({"stem", "at_s"})
ACCENT_KEYS = ACCENT_REQUIRED_KEYS | {"gain_db"}

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class StemRef:
    id: str
    path: str | None = None
    content_sha256: str | None = None
    bpm: float | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id}
        if self.path is not None:
            data["path"] = self.path
        if self.content_sha256 is not None:
            data["content_sha256"] = self.content_sha256
        if self.bpm is not None:
            data["bpm"] = self.bpm
        return data


@dataclass(frozen=True)
class Layer:
    stem: str  # a StemRef id
    start_bar: float = 0.0
    repeats: int = 1
    gain_db: float = 0.0
    fade_in_s: float = 0.0
    fade_out_s: float = 0.0
    period_beats: float | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "stem": self.stem,
            "start_bar": self.start_bar,
            "repeats": self.repeats,
            "gain_db": self.gain_db,
            "fade_in_s": self.fade_in_s,
            "fade_out_s": self.fade_out_s,
        }
        if self.period_beats is not None:
            data["period_beats"] = self.period_beats
        return data


@dataclass(frozen=True)
class Accent:
    stem: str  # a StemRef id
    at_s: float
    gain_db: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"stem": self.stem, "at_s": self.at_s, "gain_db": self.gain_db}


@dataclass(frozen=True)
class Section:
    name: str
    start_bar: int
    bars: int
    layers: tuple[Layer, ...]

    @property
    def end_bar(self) -> int:
        return self.start_bar + self.bars

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "start_bar": self.start_bar,
            "bars": self.bars,
            "layers": [layer.to_dict() for layer in self.layers],
        }


@dataclass(frozen=True)
class RenderPlan:
    tempo_bpm: float
    duration_s: float
    stems: tuple[StemRef, ...]
    sections: tuple[Section, ...]
    key: str = ""
    sample_rate: int = 48000
    channels: int = 2
    hit_points: tuple[float, ...] = ()
    loudness_lufs: float = -14.0
    true_peak_dbtp: float = -1.0
    format: str = "wav"
    seed: int = 0
    loudness_preset: str | None = None  # the named target the two figures above come from
    accents: tuple[Accent, ...] = ()
    _stem_index: Mapping[str, StemRef] = field(
        default_factory=dict, repr=False, compare=False, hash=False
    )

    def stem(self, stem_id: str) -> StemRef:
        index = self._stem_index or {stem.id: stem for stem in self.stems}
        return index[stem_id]

    @property
    def frames(self) -> int:
        return round(self.duration_s * self.sample_rate)

    @property
    def bar_seconds(self) -> float:
        return 4 * 60.0 / self.tempo_bpm

    def to_dict(self) -> dict[str, Any]:
        """The canonical form: every default filled in, stems hoisted into `stems`; `accents`
        only when there are some."""
        data = {
            "schema": SCHEMA,
            "tempo_bpm": self.tempo_bpm,
            "key": self.key,
            "duration_s": self.duration_s,
            "sample_rate": self.sample_rate,
            "channels": self.channels,
            "stems": [stem.to_dict() for stem in self.stems],
            "sections": [section.to_dict() for section in self.sections],
            "hit_points": list(self.hit_points),
            "loudness_lufs": self.loudness_lufs,
            "true_peak_dbtp": self.true_peak_dbtp,
            "format": self.format,
            "seed": self.seed,
            # Only when named, so the plans (and plan hashes) made before presets stay the same.
            **({"loudness_preset": self.loudness_preset} if self.loudness_preset else {}),
        }
        if self.accents:
            data["accents"] = [accent.to_dict() for accent in self.accents]
        return data


def canonical_json(data: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8: the byte form hashes and signatures are computed over."""
    return json.dumps(
        data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def plan_hash(plan: RenderPlan) -> str:
    return hashlib.sha256(canonical_json(plan.to_dict())).hexdigest()


# --- parsing -------------------------------------------------------------------------------


def _parse_stem(data: Any, where: str, tempo_bpm: float) -> StemRef:
    _check_keys(data, where, STEM_KEYS, STEM_REQUIRED_KEYS)
    stem_id = _string(data, "id", where)
    if not stem_id:
        raise PlanError(f"{where}.id must not be empty")
    path = _string(data, "path", where) if data.get("path") is not None else None
    digest = None
    if data.get("content_sha256") is not None:
        digest = _string(data, "content_sha256", where).lower()
        if not _SHA256.match(digest):
            raise PlanError(f"{where}.content_sha256 must be 64 hex digits, got {digest!r}")
    if path is None and digest is None:
        raise PlanError(f"stem {stem_id!r} needs a path or a content_sha256")
    bpm = None
    if data.get("bpm") is not None:
        bpm = _number(data, "bpm", where, low=20.0, high=400.0)
        ratio = tempo_bpm / bpm
        if abs(ratio - 1.0) > MAX_TEMPO_CONFORM + 1e-12:
            raise PlanError(
                f"stem {stem_id!r} is a {bpm:g} bpm loop; conforming it to the plan's "
                f"{tempo_bpm:g} bpm would change its speed by {100 * (ratio - 1):+.1f}%, "
                f"more than the {100 * MAX_TEMPO_CONFORM:.0f}% allowed"
            )
    return StemRef(id=stem_id, path=path, content_sha256=digest, bpm=bpm)


def _loudness_target(data: Mapping[str, Any]) -> tuple[str | None, float, float]:
    """(preset name or None, loudness target, true-peak ceiling). A preset supplies both
    figures; a plan may repeat them, but one that contradicts its preset is refused rather
    than silently mastered to either."""
    preset = None
    if data.get("loudness_preset") is not None:
        try:
            preset = loudness_preset(_string(data, "loudness_preset", "plan"))
        except ValueError as exc:
            raise PlanError(f"plan.loudness_preset: {exc}") from None
    loudness = _number(
        data,
        "loudness_lufs",
        "plan",
        preset.loudness_lufs if preset else -14.0,
        low=-40.0,
        high=-5.0,
    )
    ceiling = _number(
        data,
        "true_peak_dbtp",
        "plan",
        preset.true_peak_dbtp if preset else -1.0,
        low=-12.0,
        high=0.0,
    )
    if preset is not None and (loudness, ceiling) != (preset.loudness_lufs, preset.true_peak_dbtp):
        raise PlanError(
            f"plan.loudness_preset {preset.describe()} contradicts loudness_lufs {loudness:g} / "
            f"true_peak_dbtp {ceiling:g}: leave them out or make them the preset's"
        )
    return (preset.name if preset else None), loudness, ceiling


def parse_plan(data: Any) -> RenderPlan:
    """Validate a plan document and return it as frozen dataclasses; PlanError if invalid."""
    _check_keys(data, "plan", PLAN_KEYS, REQUIRED_KEYS)
    if data["schema"] != SCHEMA:
        raise PlanError(f"plan.schema must be {SCHEMA!r}, got {data['schema']!r}")
    tempo = _number(data, "tempo_bpm", "plan", low=20.0, high=400.0)
    duration = _number(data, "duration_s", "plan", low=0.0, high=3600.0, low_inclusive=False)
    sample_rate = _integer(data, "sample_rate", "plan", 48000)
    if sample_rate not in SAMPLE_RATES:
        raise PlanError(f"plan.sample_rate must be one of {SAMPLE_RATES}, got {sample_rate}")
    channels = _integer(data, "channels", "plan", 2)
    if channels not in (1, 2):
        raise PlanError(f"plan.channels must be 1 or 2, got {channels}")
    fmt = _string(data, "format", "plan", "wav").lower()
    if fmt not in FORMATS:
        raise PlanError(f"plan.format must be 'wav' or 'flac', got {fmt!r}")
    preset_name, loudness, ceiling = _loudness_target(data)
    seed = _integer(data, "seed", "plan", 0)
    key = _string(data, "key", "plan", "")

    stems: dict[str, StemRef] = {}
    raw_stems = data["stems"]
    if not isinstance(raw_stems, list):
        raise PlanError("plan.stems must be a list")
    for index, raw in enumerate(raw_stems):
        stem = _parse_stem(raw, f"stems[{index}]", tempo)
        if stem.id in stems:
            raise PlanError(f"stem id {stem.id!r} is listed twice")
        stems[stem.id] = stem

    raw_sections = data["sections"]
    if not isinstance(raw_sections, list) or not raw_sections:
        raise PlanError("plan.sections must be a non-empty list")
    bar_s = 240.0 / tempo
    sections: list[Section] = []
    for s_index, raw_section in enumerate(raw_sections):
        where = f"sections[{s_index}]"
        _check_keys(raw_section, where, SECTION_KEYS, SECTION_REQUIRED_KEYS)
        name = _string(raw_section, "name", where)
        if not name:
            raise PlanError(f"{where}.name must not be empty")
        where = f"section {name!r}"
        start_bar = _integer(raw_section, "start_bar", where)
        bars = _integer(raw_section, "bars", where, low=1)
        if sections and start_bar < sections[-1].end_bar:
            previous = sections[-1]
            raise PlanError(
                f"{where} starts at bar {start_bar}, before the previous section "
                f"{previous.name!r} ends (bar {previous.end_bar}); sections must be in order "
                f"and must not overlap"
            )
        if start_bar * bar_s >= duration:
            raise PlanError(
                f"{where} starts at bar {start_bar} ({start_bar * bar_s:.3f} s), at or after "
                f"the end of the render ({duration:g} s)"
            )
        raw_layers = raw_section["layers"]
        if not isinstance(raw_layers, list):
            raise PlanError(f"{where}.layers must be a list")
        layers: list[Layer] = []
        for l_index, raw_layer in enumerate(raw_layers):
            lwhere = f"{where} layer {l_index}"
            _check_keys(raw_layer, lwhere, LAYER_KEYS, LAYER_REQUIRED_KEYS)
            ref = raw_layer["stem"]
            if isinstance(ref, dict):
                inline = _parse_stem(ref, f"{lwhere}.stem", tempo)
                if inline.id in stems and stems[inline.id] != inline:
                    raise PlanError(
                        f"{lwhere} defines stem {inline.id!r} differently from the stems list"
                    )
                stems.setdefault(inline.id, inline)
                stem_id = inline.id
            elif isinstance(ref, str):
                stem_id = ref
                if stem_id not in stems:
                    known = ", ".join(sorted(stems)) or "none"
                    raise PlanError(
                        f"{lwhere} uses unknown stem {stem_id!r} (known stems: {known})"
                    )
            else:
                raise PlanError(f"{lwhere}.stem must be a stem id or a stem object")
            layer_start = _number(raw_layer, "start_bar", lwhere, 0.0, low=0.0)
            if layer_start >= bars:
                raise PlanError(
                    f"{lwhere}.start_bar {layer_start:g} is outside its section ({bars} bars)"
                )
            period = None
            if raw_layer.get("period_beats") is not None:
                period = _number(
                    raw_layer, "period_beats", lwhere, low=0.0, low_inclusive=False, high=4096.0
                )
            layers.append(
                Layer(
                    stem=stem_id,
                    start_bar=layer_start,
                    repeats=_integer(raw_layer, "repeats", lwhere, 1, low=1),
                    gain_db=_number(raw_layer, "gain_db", lwhere, 0.0, low=-120.0, high=24.0),
                    fade_in_s=_number(raw_layer, "fade_in_s", lwhere, 0.0, low=0.0, high=600.0),
                    fade_out_s=_number(raw_layer, "fade_out_s", lwhere, 0.0, low=0.0, high=600.0),
                    period_beats=period,
                )
            )
        sections.append(Section(name=name, start_bar=start_bar, bars=bars, layers=tuple(layers)))

    raw_hits = data.get("hit_points", [])
    if not isinstance(raw_hits, list):
        raise PlanError("plan.hit_points must be a list of seconds")
    hits: list[float] = []
    for index, value in enumerate(raw_hits):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise PlanError(f"plan.hit_points[{index}] must be a number, got {value!r}")
        if not 0.0 <= float(value) <= duration:
            raise PlanError(
                f"plan.hit_points[{index}] = {value!r} s is outside the render (0..{duration:g} s)"
            )
        hits.append(float(value))

    accents = _parse_accents(data.get("accents", []), stems, duration)
    stem_tuple = tuple(stems.values())
    return RenderPlan(
        tempo_bpm=tempo,
        duration_s=duration,
        stems=stem_tuple,
        sections=tuple(sections),
        key=key,
        sample_rate=sample_rate,
        channels=channels,
        hit_points=tuple(sorted(hits)),
        loudness_lufs=loudness,
        true_peak_dbtp=ceiling,
        format=fmt,
        seed=seed,
        loudness_preset=preset_name,
        accents=accents,
        _stem_index={stem.id: stem for stem in stem_tuple},
    )


def _parse_accents(raw: Any, stems: Mapping[str, StemRef], duration: float) -> tuple[Accent, ...]:
    if not isinstance(raw, list):
        raise PlanError("plan.accents must be a list")
    accents: list[Accent] = []
    for index, item in enumerate(raw):
        where = f"accents[{index}]"
        _check_keys(item, where, ACCENT_KEYS, ACCENT_REQUIRED_KEYS)
        stem_id = _string(item, "stem", where)
        if stem_id not in stems:
            known = ", ".join(sorted(stems)) or "none"
            raise PlanError(f"{where} uses unknown stem {stem_id!r} (known stems: {known})")
        at_s = _number(item, "at_s", where, low=0.0)
        if at_s >= duration:
            raise PlanError(f"{where}.at_s = {at_s:g} s is at or after the end ({duration:g} s)")
        gain = _number(item, "gain_db", where, 0.0, low=-120.0, high=24.0)
        accents.append(Accent(stem=stem_id, at_s=at_s, gain_db=gain))
    return tuple(sorted(accents, key=lambda a: (a.at_s, a.stem)))
