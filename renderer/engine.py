"""The render engine: plan + stems -> a loudness-normalised, true-peak-limited 24-bit file.

Pipeline (`render`):

1. Prepare every distinct stem once (`renderer.stems`): decode, conform channels, resample to
   the plan's rate and tempo, on a small thread pool, through a cache a worker keeps.
2. Lay out placements on the bar grid (`renderer.placement`) and sum every layer into one
   preallocated float32 buffer with in-place adds (`mix`).
3. Attribution (`renderer.attribution`): per second of output, each stem's share of the energy
   of the mix.
4. Normalise to the target integrated loudness (BS.1770, `renderer.loudness`), true-peak limit
   (`renderer.limiter`, with the meter's own interpolator), re-measure; the input gain is
   corrected and the limiter re-run until the loudness is within 0.05 LU of the target and the
   24-bit result's true peak is at or under the ceiling. The gain that makes up for what the
   limiter took is bounded (`MAX_MAKEUP_GAIN_DB`, see `master`); a mix that is silent or not
   finite is refused (`RenderError`), and no non-finite sample ever reaches the encoder.
5. Encode 24-bit WAV or FLAC from integer samples (`renderer.encoding`: no timestamps, no
   dither, so the output is a pure function of the plan, the stems' contents and
   ENGINE_VERSION).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from renderer import ENGINE_VERSION
from renderer.attribution import attribution_map, stem_energy_per_second
from renderer.audio import Samples
from renderer.buses import OTHER_GROUP, group_order, pre_limiter_factor
from renderer.encoding import encode, pcm24_sha256, quantise_24
from renderer.limiter import limit_with_gain
from renderer.loudness import (
    LoudnessReport,
    SegmentEnergies,
    integrated_loudness,
    loudness_report,
    segment_energies,
    true_peak_dbtp,
)
from renderer.placement import Placement, pieces, plan_placements, repeat_spans
from renderer.plan import PlanError, RenderPlan
from renderer.stems import StemCache, StemLoader, load_stems
from renderer.threads import default_workers

LOUDNESS_TOLERANCE_LU = 0.05  # aim well inside the 0.1 LU promise
_MAX_PASSES = 10
# The most gain `master` adds on top of plain loudness normalisation to make up for what the
# limiter took. Dense music needs a few dB; a short one-shot alone in a long preview would need
# without bound (limiting keeps its loudness flat while the gain climbs to overflow), so past
# this the render stays at the loudness it reached and says so (`loudness_shortfall_lu`).
MAX_MAKEUP_GAIN_DB = 12.0
_FINITE_BLOCK = 1 << 16  # frames per finiteness check (a small temporary, not a full copy)


class RenderError(PlanError):
    """The engine cannot produce valid audio for this plan (a silent or non-finite mix, or
    output that would not be finite); the message names the cause."""


def all_finite(samples: Samples) -> bool:
    """Whether every sample is finite (no NaN, no infinity), checked block by block."""
    for start in range(0, samples.shape[0], _FINITE_BLOCK):
        if not np.isfinite(samples[start : start + _FINITE_BLOCK]).all():
            return False
    return True


_MIX_CHUNK = 32768  # frames per scratch block when a long stem is gained on the fly
_GAIN_COPY_MAX_BYTES = 8 << 20  # stems up to this size get one gained copy, reused per repeat


def mix(
    placements: list[Placement],
    stems: Mapping[str, Samples],
    frames: int,
    channels: int,
    out: Samples | None = None,
    workers: int = 1,
    gained: MutableMapping[tuple[str, np.float32], Samples] | None = None,
) -> Samples:
    """Sum every placement into one float32 buffer of shape (frames, channels), in place.

    A short stem (a loop repeated many times) is gained once into a stem-sized copy; a long one
    (a full-length stem) is gained block by block through a small scratch buffer that stays in
    cache, instead of a second full-length array. Both multiply the same samples by the same
    float32 gain, then by the fade gain, so the sum is the same either way.

    With `workers` > 1 each thread sums every placement into its own span of the output. Every
    output sample still receives the same terms in the same order, so the result is the same
    bits as one thread's.

    `gained`: where the gained copies are kept beyond this call (a stream mixes the same layer
    at the same gain segment after segment, so its worker keeps them), keyed by stem id and
    gain: the ids must name the same samples in every call that shares it.
    """
    if out is None:
        out = np.zeros((frames, channels), dtype=np.float32)
    # Gained copies of the short stems, made once for every thread and every layer that plays
    # the same stem at the same gain.
    copies: MutableMapping[tuple[str, np.float32], Samples] = {} if gained is None else gained
    for p in placements:
        stem, gain = stems[p.stem_id], _linear_gain(p)
        short = stem.nbytes <= _GAIN_COPY_MAX_BYTES
        if gain != 1.0 and short and (p.stem_id, gain) not in copies:
            copies[p.stem_id, gain] = np.multiply(stem, gain, dtype=np.float32)
    spans = min(max(1, workers), max(1, frames // _MIX_CHUNK))
    if spans == 1:
        _mix_span(placements, stems, copies, out, 0, frames)
        return out
    edges = [frames * k // spans for k in range(spans + 1)]
    with ThreadPoolExecutor(spans, thread_name_prefix="mix") as pool:
        list(
            pool.map(
                lambda k: _mix_span(placements, stems, copies, out, edges[k], edges[k + 1]),
                range(spans),
            )
        )
    return out


def _linear_gain(p: Placement) -> np.float32:
    return np.float32(10.0 ** (p.gain_db / 20.0))


def _mix_span(
    placements: list[Placement],
    stems: Mapping[str, Samples],
    copies: Mapping[tuple[str, np.float32], Samples],
    out: Samples,
    first: int,
    stop: int,
) -> None:
    """`mix` of output frames [first, stop) only; `copies` holds the gained short stems."""
    scratch = np.empty((_MIX_CHUNK, 2), dtype=np.float32)
    for p in placements:
        if p.end_frame <= first or p.start_frame >= stop:
            continue
        stem, gain = stems[p.stem_id], _linear_gain(p)
        gained = stem if gain == 1.0 else copies.get((p.stem_id, gain))
        on_the_fly = gained is None  # a long stem at a gain other than 1
        if on_the_fly and scratch.shape[1] < stem.shape[1]:
            scratch = np.empty((_MIX_CHUNK, stem.shape[1]), dtype=np.float32)
        for a, b in repeat_spans(p, stem.shape[0]):
            if b <= first or a >= stop:
                continue
            for lo, hi, env in pieces(p, max(a, first), min(b, stop)):
                if gained is not None:
                    target = out[lo:hi]
                    source = gained[lo - a : hi - a]
                    if env is None:
                        np.add(target, source, out=target)
                    else:
                        np.add(target, source * env[:, None].astype(np.float32), out=target)
                    continue
                for c0 in range(lo, hi, _MIX_CHUNK):
                    c1 = min(hi, c0 + _MIX_CHUNK)
                    block = scratch[: c1 - c0, : stem.shape[1]]
                    np.multiply(stem[c0 - a : c1 - a], gain, out=block)
                    if env is not None:
                        np.multiply(
                            block, env[c0 - lo : c1 - lo, None].astype(np.float32), out=block
                        )
                    np.add(out[c0:c1], block, out=out[c0:c1])


# --- mastering -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mastered:
    pcm: npt.NDArray[np.int32]  # 24-bit values in int32
    samples: Samples  # pcm / 2**23, exactly what a decoder returns
    loudness_lufs: float
    true_peak_dbtp: float
    input_gain_db: float
    limiter_reduction_db: float
    passes: int
    # K-weighted segment energies of the result (None when it is too short to reuse them or
    # was trimmed afterwards): the bext loudness figures come from them without filtering again.
    energies: SegmentEnergies | None = None
    makeup_gain_db: float = 0.0  # input gain beyond plain normalisation (<= MAX_MAKEUP_GAIN_DB)
    loudness_shortfall_lu: float = 0.0  # how far under the target the render stayed (>= 0)

    def loudness_report(self, sample_rate: int) -> LoudnessReport:
        """The five EBU figures of the result (the bext chunk's)."""
        if self.energies is None:
            return loudness_report(self.samples, sample_rate)
        return self.energies.report(self.true_peak_dbtp)


def _finished(
    limited: Samples,
    sample_rate: int,
    loudness: float,
    *,
    input_gain_db: float,
    plain_gain_db: float,
    target_lufs: float,
    reduction_db: float,
    passes: int,
    energies: SegmentEnergies | None,
) -> Mastered:
    """Quantise a pass's output, refusing it unless every sample and both measures are finite:
    quantising would turn a NaN into a full-scale integer, so the check comes first."""
    if not all_finite(limited) or not math.isfinite(loudness):
        raise RenderError(
            f"the mastered output is not finite (input gain {input_gain_db:.1f} dB); "
            "nothing was written"
        )
    pcm, samples = quantise_24(limited)
    peak = true_peak_dbtp(samples, sample_rate)
    if not math.isfinite(peak):
        raise RenderError("the mastered output's true peak is not finite; nothing was written")
    # Short of the target by more than the tolerance: the make-up bound (or the passes) ran out.
    shortfall = target_lufs - loudness
    return Mastered(
        pcm,
        samples,
        loudness,
        peak,
        input_gain_db,
        reduction_db,
        passes,
        energies,
        makeup_gain_db=input_gain_db - plain_gain_db,
        loudness_shortfall_lu=shortfall if shortfall > LOUDNESS_TOLERANCE_LU else 0.0,
    )


def master(mixed: Samples, sample_rate: int, target_lufs: float, ceiling_dbtp: float) -> Mastered:
    """Normalise to `target_lufs`, limit to `ceiling_dbtp`, quantise to 24 bits.

    The input gain starts at plain normalisation (target minus the mix's loudness) and rises
    while the limiter takes loudness away, by at most `MAX_MAKEUP_GAIN_DB` above that start.
    When the target is out of reach within the bound (a short one-shot alone in a 30 s
    preview: the limiter flattens every hit, so more gain buys almost no loudness), the result
    is the bounded pass: finite, under the ceiling, at the loudness it reached, with the gap
    in `loudness_shortfall_lu`. A preview of a sparse sound is still worth hearing; a render
    pushed further would only be a wall of clipped clicks, and without the bound the gain ran
    to overflow and NaN.

    Refused with `RenderError` (nothing to normalise, or nothing valid to write): a mix with
    a non-finite sample, and a silent one (below BS.1770's -70 LUFS absolute gate, so its
    loudness is -inf and no gain reaches any target).
    """
    if not all_finite(mixed):
        raise RenderError("the mix holds non-finite samples (NaN or infinity); nothing to master")
    # K-weight the mix once. Every pass's limiter output equals the gained mix except where the
    # limiter's gain is below 1, so its loudness comes from these energies with only the
    # segments the limiter touched filtered again (bit-identical measurement of the mix; the
    # re-measurement differs from a full pass only by float rounding, ~1e-12 LU).
    reusable = mixed.shape[0] >= round(0.4 * sample_rate)  # shorter: one-block measurement
    energies = segment_energies(mixed, sample_rate) if reusable else None
    measured = (
        energies.integrated_lufs()
        if energies is not None
        else integrated_loudness(mixed, sample_rate)
    )
    if not math.isfinite(measured):
        raise RenderError(
            "the mix is silent (below the -70 LUFS absolute gate of BS.1770): no gain reaches "
            f"the {target_lufs:g} LUFS target; check that the plan's stems play and are not muted"
        )
    plain_gain_db = gain_db = target_lufs - measured
    max_gain_db = plain_gain_db + MAX_MAKEUP_GAIN_DB
    margin_db, search_db = 0.05, 3.0
    best: Mastered | None = None
    previous: tuple[float, float] | None = None  # (input gain, loudness) of the last pass
    for attempt in range(1, _MAX_PASSES + 1):
        gain_db = min(gain_db, max_gain_db)
        factor = pre_limiter_factor(gain_db)  # the stems' level too (renderer.buses)
        scaled = np.multiply(mixed, factor, dtype=np.float32)
        limited, gain, stats = limit_with_gain(
            scaled, sample_rate, ceiling_dbtp - margin_db, search_db=search_db
        )
        del scaled
        after = None
        if energies is not None:
            after = energies.after_change(float(factor), gain < 1.0, limited)
            loudness = after.integrated_lufs()
        else:
            loudness = integrated_loudness(limited, sample_rate)
        del gain
        off = target_lufs - loudness
        bounded = off > 0.0 and gain_db >= max_gain_db  # more gain is not allowed: keep this
        if abs(off) > LOUDNESS_TOLERANCE_LU and attempt < _MAX_PASSES - 2 and not bounded:
            # Limiting took loudness away: raise the input gain and limit again. Loudness rises
            # monotonically but, under heavy limiting, less than 1 dB per dB of gain, so step
            # by the secant slope of the last two passes (clamped to a sane range).
            slope = 1.0
            if previous is not None and gain_db != previous[0]:
                slope = min(1.0, max(0.05, (loudness - previous[1]) / (gain_db - previous[0])))
            previous = (gain_db, loudness)
            gain_db += off / slope
            continue
        best = _finished(
            limited,
            sample_rate,
            loudness,
            input_gain_db=gain_db,
            plain_gain_db=plain_gain_db,
            target_lufs=target_lufs,
            reduction_db=stats.max_reduction_db,
            passes=attempt,
            energies=after,
        )
        del limited
        peak = best.true_peak_dbtp
        if peak <= ceiling_dbtp:
            return best
        # The BS.1770 meter found an over our estimate missed: widen the search, add margin.
        margin_db += peak - ceiling_dbtp + 0.02
        search_db += 3.0
    if best is not None and best.true_peak_dbtp > ceiling_dbtp:
        # Last resort, never expected: scale the result under the ceiling.
        trim_db = ceiling_dbtp - best.true_peak_dbtp - 0.01
        trimmed = np.multiply(best.samples, np.float32(10.0 ** (trim_db / 20.0)), dtype=np.float32)
        _, trimmed = quantise_24(trimmed)  # measured as written (quantising again is exact)
        return _finished(
            trimmed,
            sample_rate,
            integrated_loudness(trimmed, sample_rate),
            input_gain_db=best.input_gain_db,
            plain_gain_db=plain_gain_db,
            target_lufs=target_lufs,
            reduction_db=best.limiter_reduction_db,
            passes=best.passes,
            energies=None,  # trimmed: the energies no longer describe the samples
        )
    assert best is not None
    return best


def mix_buses(
    placements: Sequence[Placement],
    stems: Mapping[str, Samples],
    frames: int,
    channels: int,
    groups: Mapping[str, str],
    *,
    input_gain_db: float,
    workers: int = 1,
) -> dict[str, Samples]:
    """One float32 (frames, channels) bus per role group that plays, in `group_order`, at the
    level the mix enters the limiter (renderer.buses); a stem missing from `groups` goes to
    `other`."""
    by_group: dict[str, list[Placement]] = {}
    for p in placements:
        by_group.setdefault(groups.get(p.stem_id, OTHER_GROUP), []).append(p)
    factor = pre_limiter_factor(input_gain_db)
    buses: dict[str, Samples] = {}
    for group in group_order(list(by_group)):
        bus = mix(by_group[group], stems, frames, channels, workers=workers)
        np.multiply(bus, factor, out=bus)
        buses[group] = bus
    return buses


# --- the whole render ----------------------------------------------------------------------


@dataclass(frozen=True)
class RenderResult:
    audio: bytes  # the encoded file, without a manifest
    format: str  # "wav" or "flac"
    samples: Samples  # the decoded output, float32 (frames, channels)
    sample_rate: int
    duration_s: float
    audio_sha256: str  # renderer.audio.pcm_sha256 of the decoded output
    loudness_lufs: float
    true_peak_dbtp: float
    placements: tuple[Placement, ...]
    attribution: dict[str, Any]
    engine_version: str = ENGINE_VERSION
    # How far under the plan's loudness the render stayed, in LU: 0 unless the make-up bound
    # stopped it (`master`); the manifest's audio section carries it then.
    loudness_shortfall_lu: float = 0.0
    stats: dict[str, float] = field(default_factory=dict)
    # The other EBU R 128 figures of the output, for the Broadcast WAV bext chunk.
    loudness_range_lu: float = 0.0
    max_momentary_lufs: float = float("-inf")
    max_short_term_lufs: float = float("-inf")
    # Role group -> its bus at the level it entered the limiter (renderer.buses), when asked.
    buses: Mapping[str, Samples] = field(default_factory=dict)

    @property
    def loudness_report(self) -> LoudnessReport:
        return LoudnessReport(
            integrated_lufs=self.loudness_lufs,
            loudness_range_lu=self.loudness_range_lu,
            true_peak_dbtp=self.true_peak_dbtp,
            max_momentary_lufs=self.max_momentary_lufs,
            max_short_term_lufs=self.max_short_term_lufs,
        )


def render(
    plan: RenderPlan,
    *,
    load: StemLoader | None = None,
    progress: Callable[[int], None] | None = None,
    cache: StemCache | None = None,
    workers: int | None = None,
    buses: Mapping[str, str] | None = None,
) -> RenderResult:
    """Render `plan`; `load` fetches a stem (default: read its path), `progress` gets 0..100,
    `workers` threads decode and mix the stems (default `default_workers()`). With `buses`
    (stem id -> role group) the result also holds one bus per group (renderer.buses)."""

    def report(percent: int) -> None:
        if progress is not None:
            progress(percent)

    report(0)
    stems = load_stems(plan, load, cache, workers)
    report(20)
    placements = plan_placements(plan, {k: v.shape[0] for k, v in stems.items()})
    frames, channels, sr = plan.frames, plan.channels, plan.sample_rate
    mixed = mix(placements, stems, frames, channels, workers=workers or default_workers())
    if not all_finite(mixed):
        # Name the cause: a stem that decodes to NaN or infinity (a float file can hold them).
        bad = sorted(k for k, v in stems.items() if not all_finite(v))
        named = ", ".join(repr(k) for k in bad) if bad else "none of the stems alone"
        raise RenderError(
            f"the mix holds non-finite samples (NaN or infinity); stems with such samples: {named}"
        )
    report(40)
    energies = stem_energy_per_second(placements, stems, frames, channels, sr)
    attribution = attribution_map(energies, sr, channels)
    report(50)
    mastered = master(mixed, sr, plan.loudness_lufs, plan.true_peak_dbtp)
    del mixed
    group_buses = {}
    if buses is not None:
        group_buses = mix_buses(
            placements,
            stems,
            frames,
            channels,
            buses,
            input_gain_db=mastered.input_gain_db,
            workers=workers or default_workers(),
        )
    loudness = mastered.loudness_report(sr)
    report(90)
    audio = encode(mastered.pcm, sr, plan.format)
    report(100)
    return RenderResult(
        audio=audio,
        format=plan.format,
        samples=mastered.samples,
        sample_rate=sr,
        duration_s=frames / sr,
        audio_sha256=pcm24_sha256(mastered.pcm, sr),
        loudness_lufs=mastered.loudness_lufs,
        true_peak_dbtp=mastered.true_peak_dbtp,
        placements=tuple(placements),
        attribution=attribution,
        loudness_shortfall_lu=mastered.loudness_shortfall_lu,
        stats={
            "input_gain_db": mastered.input_gain_db,
            "limiter_reduction_db": mastered.limiter_reduction_db,
            "mastering_passes": float(mastered.passes),
            "makeup_gain_db": mastered.makeup_gain_db,
        },
        loudness_range_lu=loudness.loudness_range_lu,
        max_momentary_lufs=loudness.max_momentary_lufs,
        max_short_term_lufs=loudness.max_short_term_lufs,
        buses=group_buses,
    )
