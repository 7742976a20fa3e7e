"""The manifest of one stream segment, in the form of a render's (`renderer.manifest`).

The segment is described as a render plan of its own length (its tempo and key, the stems heard
and each layer as it plays inside the segment) and its audio as a render result (24-bit samples,
their pcm_sha256, per-second attribution), and `build_manifest` writes the manifest exactly as
it does for renders; a `stream` entry adds the session, the seed, the segment's index and its
frames in the stream. Signing stays with the caller (`renderer.signing`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from renderer.encoding import pcm24_sha256, quantise_24
from renderer.engine import RenderResult
from renderer.loudness import true_peak_dbtp
from renderer.manifest import build_manifest
from renderer.plan import Layer, RenderPlan, Section, StemRef
from renderer.stream import hls
from renderer.stream.limiting import DELAY
from renderer.stream.state import SAMPLE_RATE, StreamSettings, VaultStem

if TYPE_CHECKING:
    from renderer.stream.segment import Segment

SEGMENT_FORMAT = "flac"  # what renderer.stream.hls carries: FLAC in fragmented MP4


def _segment_plan(segment: Segment, vault: Sequence[VaultStem]) -> RenderPlan:
    known = {stem.id: stem for stem in vault}
    tempo = segment.tempo_bpm or 120.0
    bar = 4 * 60.0 / tempo * SAMPLE_RATE
    beat = bar / 4.0
    used = sorted({p.stem_id for p in segment.placements})
    refs = tuple(
        StemRef(
            id=stem_id,
            content_sha256=known[stem_id].content_sha256 if stem_id in known else None,
            bpm=known[stem_id].bpm if stem_id in known else None,
        )
        for stem_id in used
    )
    frames = segment.samples.shape[0]
    layers = tuple(
        Layer(
            stem=p.stem_id,
            start_bar=round(max(0, p.start_frame) / bar, 6),
            repeats=p.repeats,
            gain_db=p.gain_db,
            fade_in_s=round(p.fade_in_frames / SAMPLE_RATE, 6),
            fade_out_s=round(p.fade_out_frames / SAMPLE_RATE, 6),
            period_beats=round(p.period_frames / beat, 6),
        )
        for p in segment.placements
    )
    return RenderPlan(
        tempo_bpm=tempo,
        duration_s=frames / SAMPLE_RATE,
        stems=refs,
        sections=(Section("segment", 0, max(1, round(frames / bar + 0.5)), layers),),
        key=segment.key,
        sample_rate=SAMPLE_RATE,
        channels=int(segment.samples.shape[1]),
        loudness_lufs=StreamSettings().target_lufs,
        format=SEGMENT_FORMAT,
    )


def segment_manifest(
    segment: Segment,
    *,
    session_id: str,
    seed: int,
    vault: Sequence[VaultStem],
    pcm: npt.NDArray[np.int16] | None = None,
) -> dict[str, Any]:
    """The unsigned manifest of one segment (see the module docstring); `pcm` is the packager's
    `hls.quantise_dithered` of the segment when the caller made it already."""
    plan = _segment_plan(segment, vault)
    frames = int(segment.samples.shape[0])
    # The hash is of what a listener's decoder yields: the packager's dithered 16-bit samples.
    delivered = hls.delivered_samples(segment.samples, start_frame=segment.start_frame, pcm=pcm)
    pcm24, _ = quantise_24(delivered)
    result = RenderResult(
        audio=b"",
        format=SEGMENT_FORMAT,
        samples=delivered,
        sample_rate=SAMPLE_RATE,
        duration_s=frames / SAMPLE_RATE,
        audio_sha256=pcm24_sha256(pcm24, SAMPLE_RATE),
        loudness_lufs=segment.stats.get("short_term_lufs", float("-inf")),
        true_peak_dbtp=true_peak_dbtp(delivered, SAMPLE_RATE),
        placements=segment.placements,
        attribution=segment.attribution,
    )
    meta = {stem.id: {"content_sha256": stem.content_sha256} for stem in vault}
    manifest = build_manifest(
        plan, result, render_id=f"stream:{session_id}:{segment.index}", stems_meta=meta
    )
    manifest["audio"]["bits"] = hls.BITS_PER_SAMPLE
    manifest["stream"] = {
        "session_id": session_id,
        "seed": seed,
        "segment_index": segment.index,
        "start_frame": segment.start_frame,
        "frames": frames,
        "start_s": segment.start_frame / SAMPLE_RATE,
        "bar_frames": list(segment.bar_frames),
        "stems": list(segment.stems),
        "delay_frames": DELAY,
    }
    return manifest
