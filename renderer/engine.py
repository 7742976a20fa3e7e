"""The render engine: plan + stems -> a loudness-normalised, true-peak-limited 24-bit file.

Pipeline (`render`):

1. Prepare every distinct stem once: decode, conform the channel count, resample to the plan's
   rate and, for loops whose bpm differs from the plan's, to the plan's tempo (one FFT
   resampling does both). Prepared stems are kept in a `StemCache` keyed by content hash, which
   a worker can keep across jobs. Stems are fetched one by one in the caller's thread (the
   loader may use a database connection) and decoded and prepared on a small thread pool:
   libsndfile and numpy's FFT release the GIL, so the stems of one render decode on every core.
   The result does not depend on the number of threads.
2. Lay out placements on the bar grid (`bar_to_frame`) and sum every layer into one
   preallocated float32 buffer with in-place adds (`mix`).
3. Attribution: per second of output, each stem's share of the energy of the mix, computed from
   prefix sums of each stem's energy rather than another pass over the output.
4. Normalise to the target integrated loudness (BS.1770, `renderer.loudness`), true-peak limit
   (`renderer.limiter`), re-measure; the input gain is corrected and the limiter re-run until
   the loudness is within 0.05 LU of the target and the 24-bit result's true peak is at or
   under the ceiling.
5. Encode 24-bit WAV or FLAC from integer samples (no timestamps, no dither: the output is a
   pure function of the plan, the stems' contents and ENGINE_VERSION).
"""

from __future__ import annotations

import functools
import hashlib
import io
import itertools
import math
import os
import struct
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt
import soundfile as sf

from renderer import ENGINE_VERSION
from renderer.audio import Audio, Samples, load_audio, to_mono
from renderer.dsp.resample import MAX_FACTOR as MAX_POLYPHASE_FACTOR
from renderer.dsp.resample import fft_resample, polyphase_resample
from renderer.limiter import limit_with_gain
from renderer.loudness import integrated_loudness, segment_energies, true_peak_dbtp
from renderer.plan import PlanError, RenderPlan, StemRef

Float64Array = npt.NDArray[np.float64]

PCM24_SCALE = 8388608.0  # 2**23: float full scale <-> 24-bit integer
AUDIBILITY_FLOOR_DB = 60.0  # a stem this far under the loudest in a second gets no share
SILENCE_MEAN_SQUARE = 1e-12  # -120 dBFS: a second quieter than this counts as silence
LOUDNESS_TOLERANCE_LU = 0.05  # aim well inside the 0.1 LU promise
_MAX_PASSES = 10


# --- stems ---------------------------------------------------------------------------------


class StemCache:
    """LRU of prepared (decoded, resampled, tempo-conformed) stems, bounded by bytes."""

    def __init__(self, max_bytes: int = 512 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[Any, ...], Samples] = OrderedDict()
        self.bytes = 0
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: tuple[Any, ...]) -> Samples | None:
        value = self._items.get(key)
        if value is None:
            self.misses += 1
            return None
        self._items.move_to_end(key)
        self.hits += 1
        return value

    def put(self, key: tuple[Any, ...], value: Samples) -> None:
        if key in self._items:
            self.bytes -= self._items.pop(key).nbytes
        if value.nbytes > self.max_bytes:
            return  # would evict everything and still not fit
        value.setflags(write=False)  # shared between jobs: nobody may modify it in place
        self._items[key] = value
        self.bytes += value.nbytes
        while self.bytes > self.max_bytes:
            _, evicted = self._items.popitem(last=False)
            self.bytes -= evicted.nbytes


# A loader fetches one stem's file: its encoded bytes (decoded by the engine, on the pool) or
# already decoded audio.
StemLoader = Callable[[StemRef], "Audio | bytes"]


class StemUndecodable(PlanError):
    """A stem's bytes are not audio the engine can decode."""

    def __init__(self, stem_id: str, detail: str) -> None:
        super().__init__(f"stem {stem_id!r} is not decodable audio ({detail})")
        self.stem_id = stem_id


def load_stem_file(ref: StemRef) -> bytes:
    """Default loader: read `ref.path`; when the plan gives a content hash, the bytes must match."""
    if ref.path is None:
        raise PlanError(f"stem {ref.id!r} has no path and no loader was given to fetch it by hash")
    try:
        with open(ref.path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise PlanError(f"stem {ref.id!r}: cannot read {ref.path!r}: {exc.strerror}") from exc
    if ref.content_sha256 is not None:
        digest = hashlib.sha256(data).hexdigest()
        if digest != ref.content_sha256:
            raise PlanError(
                f"stem {ref.id!r}: {ref.path!r} has sha256 {digest}, "
                f"the plan expects {ref.content_sha256}"
            )
    return data


def _decode(ref: StemRef, fetched: Audio | bytes) -> Audio:
    if isinstance(fetched, Audio):
        return fetched
    try:
        return load_audio(fetched)
    except (sf.LibsndfileError, RuntimeError, ValueError) as exc:
        raise StemUndecodable(ref.id, str(exc)) from exc


def default_workers() -> int:
    """Threads for decoding stems: RENDER_THREADS, else the cores this process may use."""
    configured = os.environ.get("RENDER_THREADS", "")
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _conform_channels(samples: Samples, channels: int) -> Samples:
    if channels == 1:
        return samples if samples.shape[1] == 1 else to_mono(samples)[:, None]
    if samples.shape[1] in (1, 2):
        return samples  # mono is broadcast onto both channels when mixed
    return to_mono(samples)[:, None]


def _cache_key(ref: StemRef, plan: RenderPlan) -> tuple[Any, ...]:
    if ref.content_sha256 is not None:
        content: tuple[Any, ...] = ("sha256", ref.content_sha256)
    else:
        try:
            info = os.stat(ref.path or "")
            content = ("path", os.path.abspath(ref.path or ""), info.st_mtime_ns, info.st_size)
        except OSError:
            content = ("path", ref.path)
    return (*content, plan.sample_rate, plan.channels, ref.bpm, plan.tempo_bpm)


def prepare_stem(audio: Audio, ref: StemRef, plan: RenderPlan) -> Samples:
    """Decoded stem -> float32 at the plan's rate, channel layout and (for loops) tempo."""
    samples = _conform_channels(np.asarray(audio.samples, dtype=np.float32), plan.channels)
    seconds = audio.frames / audio.sample_rate
    if ref.bpm is not None and not math.isclose(ref.bpm, plan.tempo_bpm, rel_tol=1e-9):
        ratio = plan.tempo_bpm / ref.bpm
        if abs(ratio - 1.0) > 0.06 + 1e-12:
            raise PlanError(f"stem {ref.id!r}: tempo conform beyond 6% ({ref.bpm} bpm)")
        beats = seconds * ref.bpm / 60.0
        whole = round(beats)
        if whole >= 1 and abs(beats - whole) < 0.01 * whole:
            # A loop of whole beats: make it exactly that many beats on the plan's grid.
            frames_out = round(whole * 60.0 / plan.tempo_bpm * plan.sample_rate)
            return fft_resample(samples, frames_out, periodic=True)
        exact = Fraction(plan.sample_rate, audio.sample_rate) * (
            Fraction(ref.bpm).limit_denominator(1000)
            / Fraction(plan.tempo_bpm).limit_denominator(1000)
        )
        frames_out = round(audio.frames * exact)
        return fft_resample(samples, frames_out, ratio=exact)
    if audio.sample_rate != plan.sample_rate:
        exact = Fraction(plan.sample_rate, audio.sample_rate)
        frames_out = round(audio.frames * exact)
        if max(exact.numerator, exact.denominator) <= MAX_POLYPHASE_FACTOR:
            return polyphase_resample(samples, exact.numerator, exact.denominator, frames_out)
        return fft_resample(samples, frames_out, ratio=exact)
    return samples


def load_stems(
    plan: RenderPlan,
    load: StemLoader | None = None,
    cache: StemCache | None = None,
    workers: int | None = None,
) -> dict[str, Samples]:
    """Prepared samples of every stem the plan's layers use, each decoded at most once, on up
    to `workers` threads (default `default_workers()`)."""
    used = {layer.stem for section in plan.sections for layer in section.layers}
    prepared: dict[str, Samples] = {}
    missing: list[tuple[StemRef, tuple[Any, ...], Audio | bytes | None]] = []
    for ref in plan.stems:
        if ref.id not in used:
            continue
        key = _cache_key(ref, plan)
        samples = cache.get(key) if cache is not None else None
        if samples is not None:
            prepared[ref.id] = samples
        elif load is None:
            missing.append((ref, key, None))  # a plain file: read on the pool, beside decoding
        else:
            # A caller's loader runs here, in the caller's thread (the portal's queries the
            # database, whose connections belong to the thread that opened them).
            missing.append((ref, key, load(ref)))

    def decode_and_prepare(
        item: tuple[StemRef, tuple[Any, ...], Audio | bytes | None],
    ) -> Samples:
        ref, _, fetched = item
        if fetched is None:
            fetched = load_stem_file(ref)
        return prepare_stem(_decode(ref, fetched), ref, plan)

    threads = min(len(missing), workers or default_workers())
    if threads > 1:
        with ThreadPoolExecutor(threads, thread_name_prefix="stem-decode") as pool:
            results = list(pool.map(decode_and_prepare, missing))
    else:
        results = [decode_and_prepare(item) for item in missing]
    for (ref, key, _), samples in zip(missing, results, strict=True):
        if cache is not None:
            cache.put(key, samples)
        prepared[ref.id] = samples
    return {ref.id: prepared[ref.id] for ref in plan.stems if ref.id in prepared}


# --- placement -----------------------------------------------------------------------------


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
    return placements


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
    # The pieces `_pieces` cuts lie within one fade (or both, in a layer shorter than its fades).
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


def _pieces(p: Placement, a: int, b: int) -> Iterator[tuple[int, int, Float64Array | None]]:
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


def _segments(p: Placement, length: int) -> Iterator[tuple[int, int]]:
    """Output spans [a, b) of each repeat; every span starts at the stem's first frame."""
    for k in range(p.repeats):
        a = p.start_frame + k * p.period_frames
        if a >= p.end_frame:
            break
        yield a, min(a + length, p.end_frame)


_MIX_CHUNK = 32768  # frames per scratch block when a long stem is gained on the fly
_GAIN_COPY_MAX_BYTES = 8 << 20  # stems up to this size get one gained copy, reused per repeat


def mix(
    placements: list[Placement],
    stems: Mapping[str, Samples],
    frames: int,
    channels: int,
    out: Samples | None = None,
    workers: int = 1,
) -> Samples:
    """Sum every placement into one float32 buffer of shape (frames, channels), in place.

    A short stem (a loop repeated many times) is gained once into a stem-sized copy; a long one
    (a full-length stem) is gained block by block through a small scratch buffer that stays in
    cache, instead of a second full-length array. Both multiply the same samples by the same
    float32 gain, then by the fade gain, so the sum is the same either way.

    With `workers` > 1 each thread sums every placement into its own span of the output. Every
    output sample still receives the same terms in the same order, so the result is the same
    bits as one thread's.
    """
    if out is None:
        out = np.zeros((frames, channels), dtype=np.float32)
    # Gained copies of the short stems, made once for every thread and every layer that plays
    # the same stem at the same gain.
    copies: dict[tuple[str, np.float32], Samples] = {}
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
        for a, b in _segments(p, stem.shape[0]):
            if b <= first or a >= stop:
                continue
            for lo, hi, env in _pieces(p, max(a, first), min(b, stop)):
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


# --- attribution ---------------------------------------------------------------------------


def _frame_energies(stem: Samples) -> Float64Array:
    """Sum of squares of each frame, in float64 (the squares of float32 samples are exact).

    Channel by channel: a float64 einsum over the interleaved frames costs ~3x as much."""
    energies = np.square(stem[:, 0], dtype=np.float64)
    for channel in range(1, stem.shape[1]):
        energies += np.square(stem[:, channel], dtype=np.float64)
    return energies


def stem_energy_per_second(
    placements: list[Placement], stems: Mapping[str, Samples], frames: int, channels: int, sr: int
) -> dict[str, Float64Array]:
    """Energy (sum of squares over output channels) each stem adds to each second of the mix.

    Uses prefix sums of each gained stem's per-frame energy, so repeats cost O(seconds), not
    O(samples); only faded spans touch samples. Repeats of one stem that overlap in time are
    counted as the sum of their energies.
    """
    seconds = max(1, -(-frames // sr))
    energies: dict[str, Float64Array] = {}
    prefix_cache: dict[tuple[str, float], Float64Array] = {}
    frame_cache: dict[str, Float64Array] = {}
    for p in placements:
        stem = stems[p.stem_id]
        per_frame = frame_cache.get(p.stem_id)
        if per_frame is None:  # once per stem, however many layers play it
            per_frame = _frame_energies(stem)
            if stem.shape[1] != channels:
                # A mono stem is broadcast onto every output channel: its energy counts that often.
                per_frame *= channels / stem.shape[1]
            frame_cache[p.stem_id] = per_frame
        gain2 = 10.0 ** (p.gain_db / 10.0)
        key = (p.stem_id, gain2)
        prefix = prefix_cache.get(key)
        if prefix is None:
            prefix = np.concatenate([[0.0], np.cumsum(per_frame * gain2)])
            prefix_cache[key] = prefix
        total = energies.setdefault(p.stem_id, np.zeros(seconds, dtype=np.float64))
        for a, b in _segments(p, stem.shape[0]):
            for lo, hi, env in _pieces(p, a, b):
                first, last = lo // sr, (hi - 1) // sr
                bounds = np.clip(np.arange(first, last + 2, dtype=np.int64) * sr, lo, hi)
                if env is None:
                    values = prefix[bounds[1:] - a] - prefix[bounds[:-1] - a]
                else:
                    weighted = per_frame[lo - a : hi - a] * gain2 * env * env
                    values = np.add.reduceat(weighted, bounds[:-1] - lo)
                total[first : last + 1] += values
    return energies


def attribution_map(energies: Mapping[str, Float64Array], sr: int, channels: int) -> dict[str, Any]:
    """Per whole second, each audible stem's share of the energy, summing to 1 (6 decimals)."""
    ids = sorted(energies)
    seconds_out: list[dict[str, Any]] = []
    if not ids:
        return {"resolution_s": 1, "seconds": seconds_out}
    matrix = np.stack([energies[i] for i in ids])  # (stems, seconds)
    floor = 10.0 ** (-AUDIBILITY_FLOOR_DB / 10.0)
    silence = SILENCE_MEAN_SQUARE * sr * channels
    for t in range(matrix.shape[1]):
        column = matrix[:, t]
        loudest = float(column.max())
        shares: dict[str, float] = {}
        if loudest > silence:
            audible = column >= loudest * floor
            weights = np.where(audible, column, 0.0)
            fractions = weights / weights.sum()
            rounded = {ids[i]: round(float(fractions[i]), 6) for i in np.flatnonzero(audible)}
            rounded = {k: v for k, v in rounded.items() if v > 0.0}
            # Give the rounding residue to the largest share so the sum is exactly 1 to 1e-6.
            top = max(rounded, key=lambda k: rounded[k])
            rounded[top] = round(rounded[top] + 1.0 - math.fsum(rounded.values()), 6)
            shares = dict(sorted(rounded.items()))
        seconds_out.append({"t": t, "shares": shares})
    return {"resolution_s": 1, "seconds": seconds_out}


# --- loudness, limiting, encoding ------------------------------------------------------------


@dataclass(frozen=True)
class Mastered:
    pcm: npt.NDArray[np.int32]  # 24-bit values in int32
    samples: Samples  # pcm / 2**23, exactly what a decoder returns
    loudness_lufs: float
    true_peak_dbtp: float
    input_gain_db: float
    limiter_reduction_db: float
    passes: int


def quantise_24(samples: Samples) -> tuple[npt.NDArray[np.int32], Samples]:
    """Round to 24-bit integers (exact in float32, whose mantissa holds 24 bits)."""
    scaled = np.multiply(samples, np.float32(PCM24_SCALE), dtype=np.float32)
    np.rint(scaled, out=scaled)
    np.clip(scaled, -PCM24_SCALE, PCM24_SCALE - 1, out=scaled)
    pcm = scaled.astype(np.int32)
    scaled *= np.float32(1.0 / PCM24_SCALE)
    return pcm, scaled


def master(mixed: Samples, sample_rate: int, target_lufs: float, ceiling_dbtp: float) -> Mastered:
    """Normalise to `target_lufs`, limit to `ceiling_dbtp`, quantise to 24 bits."""
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
        pcm, samples = quantise_24(mixed)
        return Mastered(pcm, samples, measured, true_peak_dbtp(samples, sample_rate), 0.0, 0.0, 0)
    gain_db = target_lufs - measured
    margin_db, search_db = 0.05, 3.0
    best: Mastered | None = None
    previous: tuple[float, float] | None = None  # (input gain, loudness) of the last pass
    for attempt in range(1, _MAX_PASSES + 1):
        factor = np.float32(10.0 ** (gain_db / 20.0))
        scaled = np.multiply(mixed, factor, dtype=np.float32)
        limited, gain, stats = limit_with_gain(
            scaled, sample_rate, ceiling_dbtp - margin_db, search_db=search_db
        )
        del scaled
        if energies is not None:
            loudness = energies.after_change(float(factor), gain < 1.0, limited).integrated_lufs()
        else:
            loudness = integrated_loudness(limited, sample_rate)
        del gain
        off = target_lufs - loudness
        if abs(off) > LOUDNESS_TOLERANCE_LU and attempt < _MAX_PASSES - 2:
            # Limiting took loudness away: raise the input gain and limit again. Loudness rises
            # monotonically but, under heavy limiting, less than 1 dB per dB of gain, so step
            # by the secant slope of the last two passes (clamped to a sane range).
            slope = 1.0
            if previous is not None and gain_db != previous[0]:
                slope = min(1.0, max(0.05, (loudness - previous[1]) / (gain_db - previous[0])))
            previous = (gain_db, loudness)
            gain_db += off / slope
            continue
        pcm, samples = quantise_24(limited)
        peak = true_peak_dbtp(samples, sample_rate)
        best = Mastered(pcm, samples, loudness, peak, gain_db, stats.max_reduction_db, attempt)
        if peak <= ceiling_dbtp:
            return best
        # The BS.1770 meter found an over our estimate missed: widen the search, add margin.
        margin_db += peak - ceiling_dbtp + 0.02
        search_db += 3.0
    if best is not None and best.true_peak_dbtp > ceiling_dbtp:
        # Last resort, never expected: scale the result under the ceiling.
        trim = np.float32(10.0 ** ((ceiling_dbtp - best.true_peak_dbtp - 0.01) / 20.0))
        pcm, samples = quantise_24(np.multiply(best.samples, trim, dtype=np.float32))
        return Mastered(
            pcm,
            samples,
            integrated_loudness(samples, sample_rate),
            true_peak_dbtp(samples, sample_rate),
            best.input_gain_db,
            best.limiter_reduction_db,
            best.passes,
        )
    assert best is not None
    return best


# libFLAC's level 1 of 0..8 (soundfile maps 0..1 onto them): measured on a 180 s render it
# encodes in 76% of the time of libsndfile's default (level 5) for a file 3% larger; level 0
# saves 2% more time for 11% more bytes, levels 6-8 cost 1.5-3x the time for ~1% fewer.
FLAC_COMPRESSION_LEVEL = 0.125


def encode(pcm: npt.NDArray[np.int32], sample_rate: int, fmt: str) -> bytes:
    """24-bit WAV or FLAC bytes of 24-bit values held in int32."""
    if fmt == "wav":
        return wav24_bytes(pcm, sample_rate)
    if fmt != "flac":
        raise ValueError(f"unknown output format {fmt!r}")
    buffer = io.BytesIO()
    # libsndfile keeps the top 24 bits of int32 input.
    sf.write(
        buffer,
        np.left_shift(pcm, 8),
        sample_rate,
        format="FLAC",
        subtype="PCM_24",
        compression_level=FLAC_COMPRESSION_LEVEL,
    )
    return buffer.getvalue()


def wav24_bytes(pcm: npt.NDArray[np.int32], sample_rate: int) -> bytes:
    """A canonical RIFF/WAVE file, 24-bit PCM, of 24-bit values held in int32 (frames, channels).

    Written here rather than through libsndfile: packing is three byte-column copies, ~10x
    faster than libsndfile's per-sample conversion, and the layout is the plain 44-byte header
    every reader knows (WAVE_FORMAT_EXTENSIBLE for more than two channels, as the spec asks).
    """
    frames, channels = pcm.shape
    block_align = 3 * channels
    data_size = frames * block_align
    if data_size + 36 + 24 > 0xFFFFFFFF:
        raise ValueError("a WAV file holds at most 4 GiB; render FLAC instead")
    if channels <= 2:
        fmt_chunk = struct.pack(
            "<4sIHHIIHH",
            b"fmt ",
            16,
            1,
            channels,
            sample_rate,
            sample_rate * block_align,
            block_align,
            24,
        )
    else:
        mask = (1 << channels) - 1
        fmt_chunk = struct.pack(
            "<4sIHHIIHHHHI16s",
            b"fmt ",
            40,
            0xFFFE,
            channels,
            sample_rate,
            sample_rate * block_align,
            block_align,
            24,
            22,
            24,
            mask,
            b"\x01\x00\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71",
        )
    header = (
        struct.pack(
            "<4sI4s", b"RIFF", 4 + len(fmt_chunk) + 8 + data_size + (data_size & 1), b"WAVE"
        )
        + fmt_chunk
        + struct.pack("<4sI", b"data", data_size)
    )
    out = bytearray(len(header) + data_size + (data_size & 1))
    out[: len(header)] = header
    body = np.frombuffer(out, dtype=np.uint8, count=data_size, offset=len(header)).reshape(-1, 3)
    source = np.ascontiguousarray(pcm, dtype="<i4").reshape(-1).view(np.uint8).reshape(-1, 4)
    for byte in range(3):  # little-endian: the low three bytes of each int32
        body[:, byte] = source[:, byte]
    return bytes(out)


def pcm24_sha256(pcm: npt.NDArray[np.int32], sample_rate: int) -> str:
    """Same digest as renderer.audio.pcm_sha256 of the decoded file, without decoding it."""
    digest = hashlib.sha256()
    digest.update(f"{sample_rate}:{pcm.shape[1]}:".encode())
    # Hash the array's memory directly (no 4-bytes-per-sample copy through tobytes()).
    digest.update(np.ascontiguousarray(pcm, dtype="<i4").data)
    return digest.hexdigest()


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
    stats: dict[str, float] = field(default_factory=dict)


def render(
    plan: RenderPlan,
    *,
    load: StemLoader | None = None,
    progress: Callable[[int], None] | None = None,
    cache: StemCache | None = None,
    workers: int | None = None,
) -> RenderResult:
    """Render `plan`; `load` fetches a stem (default: read its path), `progress` gets 0..100,
    `workers` threads decode and mix the stems (default `default_workers()`)."""

    def report(percent: int) -> None:
        if progress is not None:
            progress(percent)

    report(0)
    stems = load_stems(plan, load, cache, workers)
    report(20)
    placements = plan_placements(plan, {k: v.shape[0] for k, v in stems.items()})
    frames, channels, sr = plan.frames, plan.channels, plan.sample_rate
    mixed = mix(placements, stems, frames, channels, workers=workers or default_workers())
    report(40)
    energies = stem_energy_per_second(placements, stems, frames, channels, sr)
    attribution = attribution_map(energies, sr, channels)
    report(50)
    mastered = master(mixed, sr, plan.loudness_lufs, plan.true_peak_dbtp)
    del mixed
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
        stats={
            "input_gain_db": mastered.input_gain_db,
            "limiter_reduction_db": mastered.limiter_reduction_db,
            "mastering_passes": float(mastered.passes),
        },
    )
