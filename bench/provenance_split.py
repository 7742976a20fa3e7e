"""The corpus split for provenance figures: a calibration half (thresholds are tuned on it) and
an evaluation half (never tuned on), stratified by kind and length, fixed by a committed list.

`python -m bench.provenance_split --write` regenerates bench/data/provenance_split.json; it is
deterministic (the order within a stratum is a keyed hash of the file name, not a random draw),
so running it again on the same corpus writes the same file. The benchmarks only ever read the
committed list: a file added to the corpus later joins neither half until the list is redone.

Strata are (kind, class): kind is the file-name family ("bd", "tabla", "loop" ...); class is
"one_shot" (under ONE_SHOT_S, loops excepted) or "loop" (the rest, all under 20 s). The corpus
has nothing longer than 20 s, so each half also gets LONG_PER_HALF "long" stems, bounced from
that half's loops and longer sounds as a musician would arrange a track: sections of 2-8
repeats of one source, then the next, 30 to 120 s in all (recipes in the list, audio made by
`bounce`). Files that are edits of one another (RELATED) stay in one half.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import soundfile as sf

SPLIT_FILE = Path(__file__).resolve().parent / "data" / "provenance_split.json"
CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "cc0-samples"
HALVES = ("calibration", "evaluation")
CLASSES = ("one_shot", "loop", "long")
ONE_SHOT_S = 2.0
LONG_PER_HALF = 12
LONG_RATE = 44_100
SALT = b"stemvault-provenance-split-v1"
# Files that are edits of one another in the corpus: always in one half, never a false match.
RELATED = (frozenset({"loop_amen", "loop_amen_full"}),)
Array = npt.NDArray[np.float32]


def kind_of(name: str) -> str:
    return name.split("_", 1)[0]


def class_of(name: str, duration_s: float) -> str:
    if duration_s > 20.0:
        return "long"
    if kind_of(name) == "loop" or duration_s >= ONE_SHOT_S:
        return "loop"
    return "one_shot"


def _key(name: str) -> str:
    return hashlib.sha256(SALT + name.encode()).hexdigest()


@dataclass(frozen=True)
class Split:
    half: dict[str, str]  # corpus file name -> half
    classes: dict[str, str]  # corpus file name -> class
    long: dict[str, list[dict[str, Any]]]  # half -> bounce recipes

    def names(self, half: str) -> list[str]:
        return sorted(n for n, h in self.half.items() if h == half)


def load_split(path: Path = SPLIT_FILE) -> Split:
    data = json.loads(path.read_text())
    return Split(
        half={n: e["half"] for n, e in data["files"].items()},
        classes={n: e["class"] for n, e in data["files"].items()},
        long=data["long"],
    )


def make_split(folder: Path = CORPUS) -> dict[str, Any]:
    durations = {p.stem: float(sf.info(str(p)).duration) for p in sorted(folder.glob("*.flac"))}
    strata: dict[tuple[str, str], list[str]] = defaultdict(list)
    grouped = {n for group in RELATED for n in group}
    for name, seconds in durations.items():
        if name not in grouped:
            strata[(kind_of(name), class_of(name, seconds))].append(name)
    half: dict[str, str] = {}
    # Alternate within each stratum; the stratum's first goes to whichever half is smaller so
    # far, so odd-sized strata do not all lean the same way.
    counts: dict[tuple[str, str], int] = defaultdict(int)  # (class, half) -> files so far
    for stratum in sorted(strata):
        names = sorted(strata[stratum], key=_key)
        first = min(HALVES, key=lambda h: (counts[(stratum[1], h)], h))
        order = (first, HALVES[1 - HALVES.index(first)])
        for i, name in enumerate(names):
            half[name] = order[i % 2]
            counts[(stratum[1], order[i % 2])] += 1
    for group in sorted(RELATED, key=sorted):
        present = sorted(n for n in group if n in durations)
        if not present:
            continue
        cls = class_of(present[0], durations[present[0]])
        smaller = min(HALVES, key=lambda h: (counts[(cls, h)], h))
        for name in present:
            half[name] = smaller
            counts[(cls, smaller)] += 1
    long: dict[str, list[dict[str, Any]]] = {}
    for h in HALVES:
        sources = sorted(
            (n for n in half if half[n] == h and class_of(n, durations[n]) == "loop"), key=_key
        )
        recipes = []
        for i in range(LONG_PER_HALF):
            seed = int(_key(f"{h}:{i}")[:8], 16)
            rng = np.random.default_rng(seed)
            target = float(rng.uniform(30.0, 120.0))
            picks = [sources[int(j)] for j in rng.choice(len(sources), 3, replace=False)]
            sections: list[dict[str, Any]] = []
            total = 0.0
            while total < target:
                name = picks[len(sections) % len(picks)]
                repeats = int(rng.integers(2, 9))
                sections.append({"source": name, "repeats": repeats})
                total += repeats * durations[name]
            recipes.append(
                {"name": f"long_{h[:3]}_{i:02d}", "seconds": round(target, 2), "sections": sections}
            )
        long[h] = recipes
    files = {
        n: {"half": half[n], "class": class_of(n, durations[n]), "seconds": round(durations[n], 3)}
        for n in sorted(half)
    }
    return {
        "about": "Generated by `python -m bench.provenance_split --write`; see its docstring.",
        "files": files,
        "long": long,
    }


def _resample(samples: Array, src: int, dst: int) -> Array:
    if src == dst:
        return samples
    n = samples.shape[0]
    m = max(1, round(n * dst / src))
    spectrum = np.fft.rfft(samples, axis=0)
    keep = min(spectrum.shape[0], m // 2 + 1)
    return np.asarray(np.fft.irfft(spectrum[:keep], n=m, axis=0) * (m / n), dtype=np.float32)


def bounce(recipe: dict[str, Any], sources: dict[str, tuple[Array, int]]) -> Array:
    """A long stem from a recipe: each section repeats one source end to end (mono, 44.1 kHz),
    sections joined with a 10 ms crossfade, cut to the recipe's length with a 50 ms fade."""
    fade = int(0.01 * LONG_RATE)
    parts: list[Array] = []
    for section in recipe["sections"]:
        samples, rate = sources[section["source"]]
        mono = _resample(samples.mean(axis=1, keepdims=True), rate, LONG_RATE)[:, 0]
        parts.append(np.tile(mono, section["repeats"]).astype(np.float32))
    out = parts[0]
    ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
    for part in parts[1:]:
        head = out[-fade:] * (1.0 - ramp) + part[:fade] * ramp
        out = np.concatenate([out[:-fade], head, part[fade:]])
    out = out[: int(recipe["seconds"] * LONG_RATE)].copy()
    out[-int(0.05 * LONG_RATE) :] *= np.linspace(1.0, 0.0, int(0.05 * LONG_RATE))
    peak = float(np.max(np.abs(out))) or 1.0
    return (out * np.float32(0.7 / peak))[:, None].astype(np.float32)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.provenance_split")
    parser.add_argument("--write", action="store_true", help=f"write {SPLIT_FILE.name}")
    args = parser.parse_args(argv)
    split = make_split()
    text = json.dumps(split, indent=1, sort_keys=True) + "\n"
    if args.write:
        SPLIT_FILE.write_text(text)
    tally: dict[tuple[str, str], int] = defaultdict(int)
    for entry in split["files"].values():
        tally[(entry["half"], entry["class"])] += 1
    for h in HALVES:
        tally[(h, "long")] = len(split["long"][h])
    print(json.dumps({f"{h}/{c}": tally[(h, c)] for h in HALVES for c in CLASSES}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
