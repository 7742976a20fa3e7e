"""Segments of the live stream: plan, mix, ride, limit, attribute, with carried state.

One call renders output frames [start, start + segment_frames). The output is the mix delayed by
`limiting.DELAY` frames (the limiter's look-ahead), so output frame o plays mix frame o - DELAY.
A call mixes whole 100 ms blocks of the mix from the block before the segment's first one (the
rider and the K-filter restart from the state carried at that block, and the limiter reads the
real signal on both sides of the segment), plans the bars the span reaches and carries
everything else in the state. The rider's look-ahead reads a throwaway copy of the plan planned
`rider_lookahead_s` further with the events known before the segment's end, so the carried plan
never commits bars beyond the span: a change made after a segment is heard from the first bar
line after it. The mix of a span equals the mixes of its parts bit for bit (`mixdown`), the
rider steps by absolute blocks and the limiter's release by absolute output blocks, so rendering
N segments in sequence equals rendering their span in one call (when no event falls in the last
second of a part, which the part's look-ahead did not know of).

A stem withdrawn from the vault (absent from `vault`) stops at the first output frame of the
segment planned after it, with a `withdraw_fade_s` fade (a cut would click), and is never chosen
again; the bars planned after that use only the stems of `vault`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from renderer.attribution import attribution_map, stem_energy_per_second
from renderer.encoding import quantise_24
from renderer.placement import Placement
from renderer.stems import StemCache, StemLoader
from renderer.stream import limiting, mixdown, planner, rider
from renderer.stream.state import (
    BLOCK_FRAMES,
    CHANNELS,
    SAMPLE_RATE,
    Controls,
    StreamError,
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
    attribution: dict[str, Any]  # renderer.attribution form, per second of this segment
    stems: tuple[str, ...]  # audible in this segment
    bar_frames: tuple[int, ...]  # output frames of the bar lines inside it
    stats: dict[str, float]
    # For the manifest: where each layer plays (frames from the segment's start, stem ids).
    placements: tuple[Placement, ...] = ()
    tempo_bpm: float = 0.0
    key: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def stream_open(
    *, seed: int, controls: Controls, settings: StreamSettings = _DEFAULT
) -> StreamState:
    """The state before a stream's first segment."""
    limiting.context(settings)  # refuses a look-ahead the delay cannot hold
    if not 0.0 <= controls.intensity <= 1.0:
        raise StreamError(f"intensity must be within 0..1, got {controls.intensity}")
    data = {"plan": planner.new_plan(seed, controls), "rider": rider.new_rider(), "release_db": 0.0}
    return StreamState(segment_index=0, start_frame=0, data=data)


def first_change_frame(
    state: StreamState, at_frame: int, settings: StreamSettings = _DEFAULT
) -> int:
    """The output frame of the first bar line at or after `at_frame` that is not planned yet: the
    state has planned the bars its segment's span reached, so from the state after a segment
    that is the first bar line at or after that segment's end."""
    plan = state.data["plan"]
    frame = planner.bar_line_at_or_after(plan, at_frame - limiting.DELAY, settings.phrase_bars)
    return frame + limiting.DELAY


def _layer_stem(layer: Mapping[str, Any]) -> VaultStem:
    """Enough of a vault stem to load a layer's audio, also after it left the vault."""
    return VaultStem(
        id=layer["stem"],
        role=layer["role"],
        kind=layer["kind"],
        moods=frozenset(),
        bpm=layer["bpm"],
        key=None,
        duration_s=0.0,
        content_sha256=layer["sha256"],
        path=layer["path"],
    )


def _energies_per_second(
    placed: Sequence[Placement],
    stems: Mapping[str, npt.NDArray[np.float32]],
    frames: int,
    ids: Mapping[str, str],
) -> dict[str, npt.NDArray[np.float64]]:
    """Energy per second of the segment of each stem id, by `stem_energy_per_second`. A
    placement may start before the segment (a loop already playing): the count runs from whole
    seconds earlier, so its seconds stay the segment's, and the earlier ones are dropped."""
    earliest = min((p.start_frame for p in placed), default=0)
    lead = -(-max(0, -earliest) // SAMPLE_RATE)
    shift = lead * SAMPLE_RATE
    moved = [
        dataclasses.replace(
            p,
            start_frame=p.start_frame + shift,
            end_frame=p.end_frame + shift,
            fade_out_start=p.fade_out_start + shift,
        )
        for p in placed
    ]
    energies: dict[str, npt.NDArray[np.float64]] = {}
    counted = stem_energy_per_second(
        moved, stems, frames + shift, CHANNELS, SAMPLE_RATE, cache=mixdown.StemSource.energies
    )
    for key, values in sorted(counted.items()):
        stem_id = ids[key]
        mine = values[lead:]
        energies[stem_id] = energies[stem_id] + mine if stem_id in energies else mine
    return energies


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
    """Render the segment that starts at `state.start_frame`; see the module docstring."""
    data = json.loads(json.dumps(state.data))  # never alias the caller's state
    first_out = state.start_frame
    if first_out % BLOCK_FRAMES:
        raise StreamError(f"a segment must start on a 100 ms block, not at frame {first_out}")
    frames = settings.segment_frames
    mix_first, mix_stop = first_out - limiting.DELAY, first_out + frames - limiting.DELAY
    block_first, block_stop = first_out // BLOCK_FRAMES - 1, (first_out + frames) // BLOCK_FRAMES
    span_first, span_stop = block_first * BLOCK_FRAMES, block_stop * BLOCK_FRAMES
    plan = data["plan"]
    source = mixdown.StemSource(load, cache)

    in_vault = {stem.id for stem in vault}
    for layer in list(plan["layers"]):
        if layer["stem"] not in in_vault:
            planner.end_layer(plan, layer, mix_first, settings.withdraw_fade_s)
    planning: dict[str, Any] = {
        "vault": vault,
        "excluded": excluded,
        "weights": weights or {},
        "facts": source.facts,
        "settings": settings,
        "delay": limiting.DELAY,
    }
    planner.plan_until(plan, span_stop, events=events, **planning)
    layers = plan["layers"]
    # The rider looks `rider_lookahead_s` beyond the span at a throwaway copy of the plan, planned
    # with the events known before this segment's end only: the carried plan stops at the span,
    # so a change that comes after this segment is heard from the first bar line after it, not
    # a look-ahead later, and a render from the full timeline still gives the same bytes.
    ahead = max(1, round(settings.rider_lookahead_s * 10)) * BLOCK_FRAMES
    glimpse = json.loads(json.dumps(plan))
    known = [event for event in events if event.at_frame < first_out + frames]
    planner.plan_until(glimpse, span_stop + ahead, events=known, **planning)
    sounding = [
        layer
        for layer in layers
        if layer["start"] < span_stop and (layer["end"] is None or layer["end"] > span_first)
    ]
    stems = source.samples([(_layer_stem(layer), layer["tempo"]) for layer in sounding])
    mixed, _ = mixdown.mix_span(sounding, stems, span_first, span_stop)
    ridden, data["rider"], rider_stats = rider.ride(
        data["rider"], mixed, block_first, glimpse["layers"], settings
    )
    limited, data["release_db"], reduction = limiting.limit_span(
        ridden, mix_first - span_first, mix_stop - span_first, 0, data["release_db"], settings
    )
    _, samples = quantise_24(limited)

    # Attribution over the output frames, from the mix's placements (before the master, as a
    # render's: the rider and limiter scale every stem alike).
    placed = mixdown.placements(sounding, mix_first, mix_stop)
    ids = {mixdown.stem_key(layer["sha256"], layer["tempo"]): layer["stem"] for layer in sounding}
    energies = _energies_per_second(placed, stems, frames, ids)
    attribution = attribution_map(energies, SAMPLE_RATE, CHANNELS)
    audible = sorted({s for second in attribution["seconds"] for s in second["shares"]})

    bars = tuple(
        b + limiting.DELAY
        for b in plan["bars"]
        if first_out <= b + limiting.DELAY < first_out + frames
    )
    plan["bars"] = [b for b in plan["bars"] if b + limiting.DELAY >= first_out + frames]
    keep_from = span_stop - BLOCK_FRAMES  # where the next call's span begins
    plan["layers"] = [item for item in layers if item["end"] is None or item["end"] > keep_from]
    stats = {
        **rider_stats,
        "limiter_reduction_db": reduction,
        "layers": float(sum(item["end"] is None for item in sounding)),
        "tempo_bpm": float(plan["tempo"]),
    }
    after = StreamState(
        segment_index=state.segment_index + 1, start_frame=first_out + frames, data=data
    )
    return Segment(
        index=state.segment_index,
        start_frame=first_out,
        samples=samples,
        state_after=after,
        attribution=attribution,
        stems=tuple(audible),
        bar_frames=bars,
        stats=stats,
        placements=tuple(dataclasses.replace(p, stem_id=ids[p.stem_id]) for p in placed),
        tempo_bpm=float(plan["tempo"]),
        key=planner.key_name(plan["key"]),
    )
