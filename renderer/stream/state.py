"""The live stream's shared types: settings, the vault as the planner sees it, controls, events,
and the state carried from one segment to the next (JSON, round-tripping exactly)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

SAMPLE_RATE: int = 48_000
CHANNELS: int = 2
STATE_SCHEMA = "stemvault.stream-state/1"

# 100 ms: the BS.1770 segment the loudness meter and the rider step by; segments are made of
# whole blocks so every block lies inside one segment.
BLOCK_FRAMES = SAMPLE_RATE // 10


class StreamError(ValueError):
    """A stream input the engine will not use (bad settings, state or event)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class StreamSettings:
    segment_frames: int = 96_000
    target_lufs: float = -14.0
    ceiling_dbtp: float = -1.0
    rider_max_db_per_s: float = 2.0  # the loudness rider's gain never moves faster than this
    rider_range_db: float = 24.0  # and stays within +- this
    rider_lookahead_s: float = 1.0  # how far ahead of the mix it reads the plan
    max_stem_run_s: float = 180.0  # no stem plays longer than this at a stretch
    stem_rest_s: float = 120.0  # a rotated-out stem rests at least this long
    tempo_step: float = 0.03  # tempo moves by at most 3% between phrases
    phrase_bars: int = 16  # tempo changes only on phrase lines
    layer_fade_s: float = 1.0  # layers enter and leave with fades this long
    withdraw_fade_s: float = 0.005  # a withdrawn stem stops at the next boundary, this fast
    limiter_lookahead_ms: float = 2.0
    limiter_release_db_per_s: float = 60.0

    def __post_init__(self) -> None:
        if self.segment_frames <= 0 or self.segment_frames % BLOCK_FRAMES:
            raise StreamError(
                f"segment_frames must be a positive multiple of {BLOCK_FRAMES} (100 ms at "
                f"{SAMPLE_RATE} Hz), got {self.segment_frames}"
            )
        if not -40.0 <= self.target_lufs <= -5.0:
            raise StreamError(f"target_lufs must be within -40..-5, got {self.target_lufs}")
        if not -12.0 <= self.ceiling_dbtp <= 0.0:
            raise StreamError(f"ceiling_dbtp must be within -12..0, got {self.ceiling_dbtp}")
        if self.rider_max_db_per_s <= 0.0:
            raise StreamError("rider_max_db_per_s must be > 0")
        if self.max_stem_run_s <= 0.0 or self.stem_rest_s < 0.0:
            raise StreamError("max_stem_run_s must be > 0 and stem_rest_s >= 0")
        if not 0.0 <= self.tempo_step <= 0.06:
            raise StreamError("tempo_step must be within 0..0.06 (loops conform at most 6%)")
        if self.phrase_bars < 1:
            raise StreamError("phrase_bars must be >= 1")


@dataclass(frozen=True)
class VaultStem:
    """One approved vault stem as the planner sees it."""

    id: str
    role: str  # drums percussion bass harmony melody vocals texture fx
    kind: str  # loop one-shot stem field-recording
    moods: frozenset[str]
    bpm: float | None
    key: str | None  # e.g. "A minor"
    duration_s: float
    content_sha256: str
    path: str | None = None


@dataclass(frozen=True)
class Controls:
    mood: str
    intensity: float  # 0..1
    bpm: float | None = None
    key: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"mood": self.mood, "intensity": self.intensity, "bpm": self.bpm, "key": self.key}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Controls:
        return cls(
            mood=str(data["mood"]),
            intensity=float(data["intensity"]),
            bpm=None if data.get("bpm") is None else float(data["bpm"]),
            key=None if data.get("key") is None else str(data["key"]),
        )


EVENT_KINDS = ("controls", "skip", "like", "dislike")


@dataclass(frozen=True)
class StreamEvent:
    at_frame: int  # applies from the first bar line at or after this output frame
    kind: str  # "controls" | "skip" | "like" | "dislike"
    controls: Controls | None = None
    stems: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.kind not in EVENT_KINDS:
            raise StreamError(f"event kind must be one of {EVENT_KINDS}, got {self.kind!r}")
        if self.kind == "controls" and self.controls is None:
            raise StreamError("a controls event needs its controls")


@dataclass
class StreamState:
    """Everything that spans a segment boundary. `data` is plain JSON (the planner's cursor and
    layers, the rider's gain and meter history, the limiter's release level, filter states); it
    is deep-copied in and out so a caller's copy never aliases the engine's."""

    segment_index: int
    start_frame: int
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": STATE_SCHEMA,
            "segment_index": self.segment_index,
            "start_frame": self.start_frame,
            "data": json.loads(json.dumps(self.data)),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StreamState:
        if not isinstance(data, dict) or data.get("schema") != STATE_SCHEMA:
            raise StreamError(f"not a stream state (schema must be {STATE_SCHEMA!r})")
        return cls(
            segment_index=int(data["segment_index"]),
            start_frame=int(data["start_frame"]),
            data=json.loads(json.dumps(data["data"])),
        )
