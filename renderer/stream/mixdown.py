"""From the planner's layers to samples: stems prepared through the engine's StemCache, layers
laid out as `renderer.placement.Placement`s over a span of the mix, summed by `renderer.engine.mix`.

A stem is prepared once per (content, tempo) and kept in the worker's StemCache, so a decode
serves every listener whose stream plays it at that tempo. A span's placement of a layer starts
at the first repeat that reaches into the span (the earlier repeats cost nothing), so every frame
gets the same terms, in the same order (layer number), whatever span it is mixed in: the mix of
a long span equals the mixes of its parts, bit for bit.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from typing import Any

import numpy as np

from renderer.audio import Samples
from renderer.dsp.kweight import k_weight
from renderer.engine import mix
from renderer.placement import Placement
from renderer.plan import Layer, RenderPlan, Section, StemRef
from renderer.stems import StemCache, StemLoader, load_stems
from renderer.stream.planner import StemFacts
from renderer.stream.state import CHANNELS, SAMPLE_RATE, VaultStem

_UNCONFORMED_TEMPO = 120.0  # the plan tempo under which stems played at their own speed are cached
_FACTS_KEPT = 4096


def stem_key(content_sha256: str, tempo: float | None) -> str:
    """The mix's name for a stem's content prepared at a tempo (a stem may sound at two tempi at
    once while one phrase's loop fades out over the next's). By content, so the worker-wide
    caches below can never mistake one listener's stem for another's."""
    return content_sha256 if tempo is None else f"{content_sha256}@{tempo:g}"


class ByteBoundedCache(MutableMapping[tuple[Any, ...], Any]):
    """An LRU mapping of arrays bounded by their bytes: the per-worker stores of the stems'
    per-frame energies and prefix sums (`renderer.attribution.stem_energy_per_second`) and of
    their gained copies (`renderer.engine.mix`)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._items: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._lock = threading.RLock()  # a worker's render threads share the store

    def __getitem__(self, key: tuple[Any, ...]) -> Any:
        with self._lock:
            value = self._items[key]
            self._items.move_to_end(key)
            return value

    def __setitem__(self, key: tuple[Any, ...], value: Any) -> None:
        with self._lock:
            if key in self._items:
                del self[key]
            self._items[key] = value
            self.bytes += value.nbytes
            while self.bytes > self.max_bytes and len(self._items) > 1:
                _, evicted = self._items.popitem(last=False)
                self.bytes -= evicted.nbytes

    def __delitem__(self, key: tuple[Any, ...]) -> None:
        with self._lock:
            self.bytes -= self._items.pop(key).nbytes

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        with self._lock:
            return iter(list(self._items))

    def __len__(self) -> int:
        return len(self._items)


class StemSource:
    """Prepared stems for one render call, through the worker's cache; and their facts (length
    and K-weighted power), kept per worker beside the cache."""

    _facts: OrderedDict[tuple[str, float | None], StemFacts] = OrderedDict()
    energies = ByteBoundedCache(256 * 1024 * 1024)
    # A layer plays at one gain for many segments: its stem's gained copy is made once, not
    # once a segment (the copy of a whole loop cost more than mixing the segment's share of it).
    # Keyed by `stem_key` (content and tempo) and gain, so any listener's layer may reuse it.
    gained = ByteBoundedCache(128 * 1024 * 1024)

    def __init__(self, load: StemLoader | None, cache: StemCache | None) -> None:
        self.load = load
        self.cache = cache if cache is not None else StemCache()
        self.prepared: dict[str, Samples] = {}

    def _prepare(self, stems: Sequence[tuple[VaultStem, float | None]]) -> None:
        by_tempo: dict[float | None, list[VaultStem]] = {}
        for stem, tempo in stems:
            if stem_key(stem.content_sha256, tempo) not in self.prepared:
                by_tempo.setdefault(tempo, []).append(stem)
        for tempo, group in sorted(by_tempo.items(), key=lambda item: (item[0] is None, item[0])):
            refs = tuple(
                StemRef(
                    id=stem.id,
                    path=stem.path,
                    content_sha256=stem.content_sha256,
                    bpm=stem.bpm if tempo is not None else None,
                )
                for stem in group
            )
            plan = RenderPlan(
                tempo_bpm=_UNCONFORMED_TEMPO if tempo is None else tempo,
                duration_s=1.0,
                stems=refs,
                sections=(Section("stream", 0, 1, tuple(Layer(stem=ref.id) for ref in refs)),),
                sample_rate=SAMPLE_RATE,
                channels=CHANNELS,
            )
            sha = {stem.id: stem.content_sha256 for stem in group}
            # One thread: a stream worker renders one listener's segment per core.
            for stem_id, samples in load_stems(plan, self.load, self.cache, workers=1).items():
                self.prepared[stem_key(sha[stem_id], tempo)] = samples

    def samples(self, stems: Sequence[tuple[VaultStem, float | None]]) -> dict[str, Samples]:
        self._prepare(stems)
        keys = [stem_key(s.content_sha256, t) for s, t in stems]
        return {key: self.prepared[key] for key in keys}

    def facts(self, stem: VaultStem, tempo: float | None) -> StemFacts:
        key = (stem.content_sha256, tempo)
        known = self._facts.get(key)
        if known is not None:
            self._facts.move_to_end(key)
            return known
        samples = self.samples([(stem, tempo)])[stem_key(stem.content_sha256, tempo)]
        weighted = k_weight(samples, SAMPLE_RATE)
        # Energy over the output channels: a mono stem is heard on both.
        power = float(np.mean(np.square(weighted), axis=0).sum()) * (CHANNELS / samples.shape[1])
        facts = StemFacts(frames=int(samples.shape[0]), power=max(power, 1e-12))
        self._facts[key] = facts
        while len(self._facts) > _FACTS_KEPT:
            self._facts.popitem(last=False)
        return facts


def layer_placement(layer: Mapping[str, Any], first: int, stop: int) -> Placement | None:
    """The layer's placement over mix frames [first, stop), in frames from `first`."""
    start, period, end = int(layer["start"]), int(layer["period"]), layer["end"]
    stop_at = stop if end is None else min(int(end), stop)
    if start >= stop or stop_at <= first:
        return None
    skip = max(0, (first - start) // period - 1)
    if start + skip * period < start + int(layer["fade_in"]):
        skip = 0  # the fade-in is measured from the first repeat
    origin = start + skip * period
    repeats = max(1, math.ceil((stop_at - origin) / period))
    fade_start = layer["fade_start"]
    return Placement(
        stem_id=stem_key(layer["sha256"], layer["tempo"]),
        section=str(layer["n"]),
        start_frame=origin - first,
        end_frame=stop_at - first,
        period_frames=period,
        repeats=repeats,
        gain_db=float(layer["gain_db"]),
        fade_in_frames=int(layer["fade_in"]) if skip == 0 else 0,
        fade_in_shape="equal_power",
        fade_out_start=(stop if fade_start is None else int(fade_start)) - first,
        fade_out_frames=int(layer["fade_out"]),
        fade_out_shape="equal_power",
        sample_rate=SAMPLE_RATE,
    )


def placements(layers: Sequence[Mapping[str, Any]], first: int, stop: int) -> list[Placement]:
    out = []
    for layer in sorted(layers, key=lambda item: item["n"]):
        placed = layer_placement(layer, first, stop)
        if placed is not None:
            out.append(placed)
    return out


def mix_span(
    layers: Sequence[Mapping[str, Any]], stems: Mapping[str, Samples], first: int, stop: int
) -> tuple[Samples, list[Placement]]:
    placed = placements(layers, first, stop)
    gained: Any = StemSource.gained  # keys (stem_key, gain): mix's own key form
    return mix(placed, stems, stop - first, CHANNELS, workers=1, gained=gained), placed
