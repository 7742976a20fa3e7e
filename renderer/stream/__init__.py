"""The live player's engine: an endless, never-repeating stream planned bar by bar from the vault,
rendered segment by segment with every piece of state that spans a boundary carried in JSON.

Public names (the contract shared with the portal and the HLS packager):

* `stream_open(seed=, controls=, settings=)` -> the `StreamState` before the first segment.
* `render_segment(state, vault=, events=, excluded=, weights=, load=, cache=, settings=)` ->
  `Segment` (mastered float32 samples, `state_after`, attribution, stems, bar lines, stats).
* `first_change_frame(state, at_frame, settings)` -> the output frame a change is heard from.
* `segment_manifest(segment, session_id=, seed=, vault=)` -> the unsigned manifest of a segment.

The codec/container lives in `renderer.stream.hls` (imported from there, not re-exported here).
"""

from __future__ import annotations

from renderer.stream.provenance import segment_manifest
from renderer.stream.segment import Segment, first_change_frame, render_segment, stream_open
from renderer.stream.state import (
    CHANNELS,
    SAMPLE_RATE,
    Controls,
    StreamError,
    StreamEvent,
    StreamSettings,
    StreamState,
    VaultStem,
)

__all__ = [
    "CHANNELS",
    "SAMPLE_RATE",
    "Controls",
    "Segment",
    "StreamError",
    "StreamEvent",
    "StreamSettings",
    "StreamState",
    "VaultStem",
    "first_change_frame",
    "render_segment",
    "segment_manifest",
    "stream_open",
]
