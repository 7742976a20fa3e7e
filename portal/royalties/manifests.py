"""A signed manifest compiled for the royalty math: its credits and per-second attribution map
as integer arrays, checked on the way (`ManifestError` says what is wrong with it). Pure: no
Django, no database.

A manifest share (a float with 6 decimals per second, summing to 1) becomes parts per million,
``ppm = round(share * 1_000_000)``: the only rounding before money. A credit's split is in basis
points summing to 10000.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]

PPM = 1_000_000
BPS = 10_000


class ManifestError(ValueError):
    """A manifest the royalty math cannot use (missing credits, splits not summing to 10000...)."""


def stem_order(stem_id: str) -> tuple[int, int, str]:
    """Numeric ids in numeric order ("9" before "10"), then any others as text."""
    return (0, int(stem_id), "") if stem_id.isdigit() else (1, 0, stem_id)


@dataclass(frozen=True)
class CompiledMix:
    """One mix's attribution map and credits as arrays.

    `stems` are the stems audible at least once (ppm > 0 in some second), in `stem_order`;
    the entries (one per audible stem per second) are sorted by (stem index, second); the
    credits by (stem index, artist id).
    """

    key: str
    duration_ms: int
    seconds: int
    stems: tuple[str, ...]
    entry_stem: IntArray
    entry_second: IntArray
    entry_ppm: IntArray
    credit_stem: IntArray
    credit_artist: IntArray
    credit_bps: IntArray


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ManifestError(f"{what} must be an integer, not {value!r}")
    return int(value)


def compile_manifest(key: str, manifest: Mapping[str, Any], duration_ms: int) -> CompiledMix:
    """Turn a signed manifest's `stems` credits and `attribution` map into a CompiledMix."""
    credits: dict[str, list[tuple[int, int]]] = {}
    for stem in manifest.get("stems") or []:
        stem_id = str(stem.get("id"))
        rows = []
        for credit in stem.get("credits") or []:
            artist = _int(credit.get("artist_id"), f"stem {stem_id}: credit artist_id")
            bps = _int(credit.get("split_bps"), f"stem {stem_id}: credit split_bps")
            if bps <= 0:
                raise ManifestError(f"stem {stem_id}: a credit's split_bps must be positive")
            rows.append((artist, bps))
        if rows and sum(bps for _, bps in rows) != BPS:
            raise ManifestError(
                f"stem {stem_id}: credit splits sum to {sum(b for _, b in rows)}, not 10000"
            )
        if len({artist for artist, _ in rows}) != len(rows):
            raise ManifestError(f"stem {stem_id}: an artist is credited twice")
        credits[stem_id] = sorted(rows)
    attribution = manifest.get("attribution") or {}
    if attribution.get("resolution_s", 1) != 1:
        raise ManifestError("only an attribution map at 1 s resolution is supported")
    per_stem: dict[str, list[tuple[int, int]]] = {}
    last_second = -1
    seen: set[int] = set()
    for row in attribution.get("seconds") or []:
        second = _int(row.get("t"), "attribution second t")
        if second < 0 or second in seen:
            raise ManifestError(f"attribution second {second} is negative or repeated")
        seen.add(second)
        last_second = max(last_second, second)
        total = 0
        for stem_id, share in (row.get("shares") or {}).items():
            if not isinstance(share, int | float) or not 0 <= share <= 1:
                raise ManifestError(f"second {second}: share of stem {stem_id} is {share!r}")
            ppm = round(share * PPM)
            if ppm == 0:
                continue
            if not credits.get(str(stem_id)):
                raise ManifestError(f"stem {stem_id} sounds at {second} s but has no credits")
            per_stem.setdefault(str(stem_id), []).append((second, ppm))
            total += ppm
        # Shares are rounded to 6 decimals and their residue is moved to the largest, so a
        # second sums to 1e6 ppm give or take a unit per share; more than that is a bad map.
        if total > PPM + len(row.get("shares") or {}):
            raise ManifestError(f"second {second}: shares sum to more than 1")
    stems = tuple(sorted(per_stem, key=stem_order))
    entry_stem, entry_second, entry_ppm = [], [], []
    credit_stem, credit_artist, credit_bps = [], [], []
    for index, stem_id in enumerate(stems):
        for second, ppm in sorted(per_stem[stem_id]):
            entry_stem.append(index)
            entry_second.append(second)
            entry_ppm.append(ppm)
        for artist, bps in credits[stem_id]:
            credit_stem.append(index)
            credit_artist.append(artist)
            credit_bps.append(bps)
    seconds = max(last_second + 1, -(-max(duration_ms, 0) // 1000))
    return CompiledMix(
        key=key,
        duration_ms=int(duration_ms),
        seconds=int(seconds),
        stems=stems,
        entry_stem=np.asarray(entry_stem, dtype=np.int64),
        entry_second=np.asarray(entry_second, dtype=np.int64),
        entry_ppm=np.asarray(entry_ppm, dtype=np.int64),
        credit_stem=np.asarray(credit_stem, dtype=np.int64),
        credit_artist=np.asarray(credit_artist, dtype=np.int64),
        credit_bps=np.asarray(credit_bps, dtype=np.int64),
    )
