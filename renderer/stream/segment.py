"""Segments of the live stream: plan, mix, ride, limit, attribute (being built)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from renderer.stems import StemCache, StemLoader
from renderer.stream.state import (
    Controls,
    StreamEvent,
    StreamSettings,
    StreamState,
    VaultStem,
)

_DEFAULT = StreamSettings()


@dataclass(frozen=True)
class Segment:
    index: int
    start_frame: int
    samples: npt.NDArray[np.float32]  # (segment_frames, 2), mastered, on the 24-bit grid
    state_after: StreamState
    attribution: dict[str, Any]
    stems: tuple[str, ...]
    bar_frames: tuple[int, ...]
    stats: dict[str, float]


def stream_open(
    *, seed: int, controls: Controls, settings: StreamSettings = _DEFAULT
) -> StreamState:
    raise NotImplementedError


def render_segment(
    state: StreamState,
    *,
    vault: Sequence[VaultStem],
    events: Sequence[StreamEvent],
    excluded: frozenset[str] = frozenset(),
    weights: Mapping[str, float] | None = None,
    load: StemLoader | None = None,
    cache: StemCache | None = None,
    settings: StreamSettings = _DEFAULT,
) -> Segment:
    raise NotImplementedError


def first_change_frame(
    state: StreamState, at_frame: int, settings: StreamSettings = _DEFAULT
) -> int:
    raise NotImplementedError


def segment_manifest(
    segment: Segment, *, session_id: str, seed: int, vault: Sequence[VaultStem]
) -> dict[str, Any]:
    raise NotImplementedError
