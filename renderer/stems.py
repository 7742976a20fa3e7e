"""The stems of a render: fetched, decoded once, conformed to the plan, and cached.

Every distinct stem is prepared once: decode, conform the channel count, resample to the plan's
rate and, for loops whose bpm differs from the plan's, to the plan's tempo (one FFT resampling
does both). Prepared stems are kept in a `StemCache` keyed by content hash, which a worker can
keep across jobs. Stems are fetched one by one in the caller's thread (the loader may use a
database connection) and decoded and prepared on a small thread pool: libsndfile and numpy's
FFT release the GIL, so the stems of one render decode on every core. The result does not
depend on the number of threads.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from typing import Any

import numpy as np
import soundfile as sf

from renderer.audio import Audio, Samples, load_audio, to_mono
from renderer.dsp.resample import MAX_FACTOR as MAX_POLYPHASE_FACTOR
from renderer.dsp.resample import fft_resample, polyphase_resample
from renderer.plan import PlanError, RenderPlan, StemRef
from renderer.threads import default_workers


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
    used |= {accent.stem for accent in plan.accents}
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
