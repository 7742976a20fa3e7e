"""Soundtrack planning benchmarks: does the mood steer the mix, and do hit points land?

The vault is the demo vault (portal/stems/demo.py SPECS), synthesised in memory exactly as
`seed_demo` synthesises it and handed to the planner as approved candidates, so no database is
needed and the figures are deterministic.

- mood_share: for every mood tagged in the demo vault and seeds 0..SEEDS-1 (60 s, tempo left
  to the planner, intensity 0.5), the share of the mix's energy (sum of squares the engine's
  attribution computes from the placed, gained stems, before mastering) that comes from stems
  tagged with the requested mood or one of its mood-map neighbours. `mood_share` is the mean,
  `mood_share_min` the worst (mood, seed). Target >= 0.8.
- mood_distinct: over the same seeds, the share of pairs of different moods whose chosen stem
  sets differ. Target >= 0.9.
- hit_point_error_ms_p95: random requests (20-60 s, 1-4 hit points spaced as the API allows,
  a fixed tempo half the time, a random demo mood), each rendered by the engine; the error is
  |where the rendered placement puts the hit (renderer.placement.hit_landings, what the
  manifest lists) - requested time|. Target <= 10 ms. Requests the planner refuses are
  counted in `hit_point_refused`, which must be 0 with the demo vault's stinger.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import os
import random
from collections.abc import Iterable
from typing import Any

import numpy as np

from bench import Figure

SEEDS = 4
HIT_REQUESTS = 24


def _setup() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    django.setup()


def _demo_vault() -> tuple[list[Any], dict[str, bytes]]:
    from portal.mixes.selection import Candidate
    from portal.stems import demo

    candidates, files = [], {}
    for index, spec in enumerate(demo.SPECS, start=1):
        data = demo.flac_bytes(demo.synthesise(spec))
        digest = hashlib.sha256(data).hexdigest()
        files[digest] = data
        one_shot = spec.one_shot_s is not None
        candidates.append(
            Candidate(
                id=index,
                role=spec.role,
                bpm=None if one_shot else float(spec.bpm),
                key=_key(spec.key),
                moods=frozenset(spec.moods),
                duration_s=spec.seconds,
                content_sha256=digest,
                kind="one-shot" if one_shot else "loop",
                genres=frozenset(spec.genres),
            )
        )
    return candidates, files


def _key(name: str) -> Any:
    from portal.core.music import parse_key

    return parse_key(name)


def _loader(files: dict[str, bytes]) -> Any:
    def load(ref: Any) -> bytes:
        return files[ref.content_sha256]

    return load


def _plan(data: dict[str, Any], candidates: list[Any]) -> dict[str, Any]:
    from portal.mixes.planner import plan_soundtrack
    from portal.mixes.soundtrack_request import soundtrack_request_from

    return plan_soundtrack(soundtrack_request_from(data), candidates)


def _mood_figures(candidates: list[Any], files: dict[str, bytes]) -> Iterable[Figure]:
    from portal.mixes.selection import mood_affinity
    from renderer.attribution import stem_energy_per_second
    from renderer.placement import plan_placements
    from renderer.plan import parse_plan
    from renderer.stems import load_stems

    by_id = {str(c.id): c for c in candidates}
    moods = sorted({m for c in candidates if not c.is_hit for m in c.moods})
    shares: list[float] = []
    chosen: dict[tuple[str, int], frozenset[str]] = {}
    for mood, seed in itertools.product(moods, range(SEEDS)):
        plan = parse_plan(_plan({"duration_s": 60, "mood": mood, "seed": seed}, candidates))
        chosen[mood, seed] = frozenset(s.id for s in plan.stems)
        stems = load_stems(plan, _loader(files))
        placements = plan_placements(plan, {k: v.shape[0] for k, v in stems.items()})
        energies = stem_energy_per_second(
            placements, stems, plan.frames, plan.channels, plan.sample_rate
        )
        total = sum(float(np.sum(e)) for e in energies.values())
        on_mood = sum(
            float(np.sum(e))
            for stem_id, e in energies.items()
            if mood_affinity(by_id[stem_id], [mood]) > 0
        )
        shares.append(on_mood / total if total > 0 else 0.0)
    pairs = [
        chosen[a, seed] != chosen[b, seed]
        for seed in range(SEEDS)
        for a, b in itertools.combinations(moods, 2)
    ]
    yield Figure("mood_share", round(sum(shares) / len(shares), 4), "ratio", ">= 0.8")
    yield Figure("mood_share_min", round(min(shares), 4), "ratio", ">= 0.8")
    yield Figure("mood_distinct", round(sum(pairs) / len(pairs), 4), "ratio", ">= 0.9")


def _random_request(rng: random.Random, moods: list[str]) -> dict[str, Any]:
    duration = float(rng.randint(20, 60))
    count = rng.randint(1, 4)
    hits: list[float] = []
    while len(hits) < count:
        hit = round(rng.uniform(1.0, duration - 0.5), 6)  # microseconds: off the sample grid
        if all(abs(hit - other) >= 1.0 for other in hits):
            hits.append(hit)
    data: dict[str, Any] = {
        "duration_s": duration,
        "mood": rng.choice(moods),
        "hit_points": sorted(hits),
        "seed": rng.randint(0, 1000),
    }
    if rng.random() < 0.5:
        data["bpm"] = rng.choice([90.0, 110.0, 120.0])
    return data


def _hit_figures(candidates: list[Any], files: dict[str, bytes]) -> Iterable[Figure]:
    from portal.core.errors import ApplicationError
    from renderer.engine import render
    from renderer.placement import hit_landings
    from renderer.plan import parse_plan

    rng = random.Random(17)
    moods = sorted({m for c in candidates if not c.is_hit for m in c.moods})
    errors: list[float] = []
    refused = 0
    for _ in range(HIT_REQUESTS):
        data = _random_request(rng, moods)
        try:
            plan = parse_plan(_plan(data, candidates))
        except ApplicationError:
            refused += 1
            continue
        result = render(plan, load=_loader(files))
        for landing in hit_landings(plan, result.placements):
            error = landing["error_ms"]
            errors.append(float("inf") if error is None else float(error))
    p95 = float(np.percentile(errors, 95)) if errors else float("inf")
    yield Figure("hit_point_error_ms_p95", round(p95, 4), "ms", "<= 10")
    yield Figure("hit_point_error_ms_max", round(max(errors, default=math.inf), 4), "ms", "<= 10")
    yield Figure("hit_point_refused", float(refused), "requests", "== 0")


def run(names: list[str] | None = None) -> Iterable[Figure]:
    _setup()
    candidates, files = _demo_vault()
    if names is None or {"mood_share", "mood_share_min", "mood_distinct"} & set(names):
        yield from _mood_figures(candidates, files)
    hit_names = {"hit_point_error_ms_p95", "hit_point_error_ms_max", "hit_point_refused"}
    if names is None or hit_names & set(names):
        yield from _hit_figures(candidates, files)
