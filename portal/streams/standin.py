"""TEMPORARY STAND-IN for renderer.stream and renderer.stream.hls (issue 15), until the engine and
hls branches land: the same names and signatures as /work/wt/STREAM_INTERFACE.md, a sine per
stem instead of the vault's audio, and a toy container instead of FLAC in fMP4. Only
portal/streams/engine.py imports it; it is deleted when the real modules are merged.
"""

from __future__ import annotations

import hashlib
import json
import math
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

SAMPLE_RATE = 48_000
CHANNELS = 2
CODECS = "fLaC"
_BAR_FRAMES = 96_000  # 4 beats at 120 bpm


@dataclass(frozen=True)
class StreamSettings:
    segment_frames: int = 96_000
    target_lufs: float = -14.0
    ceiling_dbtp: float = -1.0


@dataclass(frozen=True)
class VaultStem:
    id: str
    role: str
    kind: str
    moods: frozenset[str]
    bpm: float | None
    key: str | None
    duration_s: float
    content_sha256: str
    path: str | None = None


@dataclass(frozen=True)
class Controls:
    mood: str
    intensity: float
    bpm: float | None = None
    key: str | None = None


@dataclass(frozen=True)
class StreamEvent:
    at_frame: int
    kind: str
    controls: Controls | None = None
    stems: frozenset[str] = frozenset()


@dataclass
class StreamState:
    segment_index: int
    start_frame: int
    seed: int
    controls: Controls
    section: int = 0
    applied: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "segment_index": self.segment_index,
            "start_frame": self.start_frame,
            "seed": self.seed,
            "controls": self.controls.__dict__,
            "section": self.section,
            "applied": self.applied,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StreamState:
        return cls(
            segment_index=int(data["segment_index"]),
            start_frame=int(data["start_frame"]),
            seed=int(data["seed"]),
            controls=Controls(**data["controls"]),
            section=int(data["section"]),
            applied=int(data["applied"]),
        )


@dataclass(frozen=True)
class Segment:
    index: int
    start_frame: int
    samples: np.ndarray
    state_after: StreamState
    attribution: dict[str, Any]
    stems: tuple[str, ...]
    bar_frames: tuple[int, ...]
    stats: dict[str, float] = field(default_factory=dict)


def stream_open(
    *, seed: int, controls: Controls, settings: StreamSettings = StreamSettings()
) -> StreamState:
    return StreamState(segment_index=0, start_frame=0, seed=seed, controls=controls)


def first_change_frame(
    state: StreamState, at_frame: int, settings: StreamSettings = StreamSettings()
) -> int:
    return -(-at_frame // _BAR_FRAMES) * _BAR_FRAMES


def _pick(vault: Sequence[VaultStem], state: StreamState, excluded: frozenset[str]) -> list[str]:
    pool = [s for s in vault if s.id not in excluded]
    moody = [s for s in pool if state.controls.mood in s.moods] or pool
    count = max(1, min(len(moody), 1 + round(3 * state.controls.intensity)))
    ranked = sorted(
        moody,
        key=lambda s: hashlib.sha256(f"{state.seed}:{state.section}:{s.id}".encode()).digest(),
    )
    return sorted(s.id for s in ranked[:count])


def render_segment(
    state: StreamState,
    *,
    vault: Sequence[VaultStem],
    events: Sequence[StreamEvent],
    excluded: frozenset[str] = frozenset(),
    weights: Mapping[str, float] = {},
    load: Any = None,
    cache: Any = None,
    settings: StreamSettings = StreamSettings(),
) -> Segment:
    frames = settings.segment_frames
    start = state.start_frame
    controls, section, applied = state.controls, state.section, state.applied
    for event in list(events)[applied:]:
        if first_change_frame(state, event.at_frame) >= start + frames:
            break
        applied += 1
        if event.kind == "controls" and event.controls is not None:
            controls = event.controls
        section += 1
    now = StreamState(state.segment_index, start, state.seed, controls, section, applied)
    stems = _pick(vault, now, excluded)
    t = (np.arange(start, start + frames, dtype=np.float64)) / SAMPLE_RATE
    mix = np.zeros(frames, dtype=np.float64)
    for stem_id in stems:
        freq = 110.0 * (1 + int(hashlib.sha256(stem_id.encode()).hexdigest()[:2], 16) % 8)
        mix += np.sin(2 * math.pi * freq * t) * (0.1 + 0.2 * controls.intensity)
    samples = np.repeat((mix / max(1, len(stems))).astype(np.float32)[:, None], CHANNELS, axis=1)
    share = round(1.0 / len(stems), 6) if stems else 0.0
    seconds = [
        {"t": s, "shares": {sid: share for sid in stems}} for s in range(frames // SAMPLE_RATE)
    ]
    after = StreamState(state.segment_index + 1, start + frames, state.seed, controls, section)
    after.applied = applied
    bars = tuple(f for f in range(start, start + frames) if f % _BAR_FRAMES == 0)
    return Segment(
        index=state.segment_index,
        start_frame=start,
        samples=samples,
        state_after=after,
        attribution={"resolution_s": 1, "seconds": seconds},
        stems=tuple(stems),
        bar_frames=bars,
    )


def segment_manifest(
    segment: Segment, *, session_id: str, seed: int, vault: Sequence[VaultStem]
) -> dict[str, Any]:
    return {
        "format": "stemvault.stream-segment/standin",
        "session_id": session_id,
        "seed": seed,
        "segment": {"index": segment.index, "start_frame": segment.start_frame},
        "stems": [{"id": sid} for sid in segment.stems],
        "attribution": segment.attribution,
    }


# --- renderer.stream.hls ------------------------------------------------------------------------


def init_segment(*, sample_rate: int = 48_000, channels: int = 2) -> bytes:
    return b"SVINIT" + struct.pack(">II", sample_rate, channels)


def media_segment(
    samples: np.ndarray, *, sequence: int, start_frame: int, sample_rate: int = 48_000
) -> bytes:
    body = np.asarray(samples, dtype="<f4").tobytes()
    return b"SVSEG" + struct.pack(">QQI", sequence, start_frame, len(body)) + body


def decode_segments(init: bytes, segments: Sequence[bytes]) -> np.ndarray:
    parts = []
    for data in segments:
        (length,) = struct.unpack(">I", data[21:25])
        parts.append(np.frombuffer(data[25 : 25 + length], dtype="<f4").reshape(-1, CHANNELS))
    return np.concatenate(parts) if parts else np.zeros((0, CHANNELS), dtype=np.float32)


def media_playlist(
    *,
    segments: Sequence[tuple[int, float, str]],
    target_duration: int,
    init_uri: str,
    ended: bool = False,
) -> str:
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:7",
        f"#EXT-X-TARGETDURATION:{target_duration}",
        f"#EXT-X-MEDIA-SEQUENCE:{segments[0][0] if segments else 0}",
        "#EXT-X-INDEPENDENT-SEGMENTS",
        f'#EXT-X-MAP:URI="{init_uri}"',
    ]
    for _, duration, uri in segments:
        lines += [f"#EXTINF:{duration:.3f},", uri]
    if ended:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def embed_segment_manifest(segment_bytes: bytes, signed_manifest: dict[str, Any]) -> bytes:
    blob = json.dumps(signed_manifest, sort_keys=True).encode()
    return segment_bytes + b"SVMAN" + struct.pack(">I", len(blob)) + blob


def extract_segment_manifest(segment_bytes: bytes) -> dict[str, Any] | None:
    at = segment_bytes.rfind(b"SVMAN")
    if at < 0:
        return None
    (length,) = struct.unpack(">I", segment_bytes[at + 5 : at + 9])
    found: dict[str, Any] = json.loads(segment_bytes[at + 9 : at + 9 + length])
    return found
