"""The stream planner: deterministic, never repeating, rotating stems, honouring withdrawals."""

from __future__ import annotations

import numpy as np
import pytest

from renderer.stems import StemCache
from renderer.stream import Controls, StreamSettings, VaultStem, planner
from renderer.stream.limiting import DELAY
from renderer.stream.mixdown import StemSource
from tests.renderer.stream.vault import render_run, synthetic_vault

__all__ = ["synthetic_vault"]

RATE = 48_000


def test_the_same_seed_events_and_vault_give_identical_samples(synthetic_vault):
    first = render_run(6, vault=synthetic_vault, seed=11, cache=StemCache())
    again = render_run(6, vault=synthetic_vault, seed=11, cache=StemCache())
    other = render_run(6, vault=synthetic_vault, seed=12, cache=StemCache())
    for a, b in zip(first, again, strict=True):
        assert np.array_equal(a.samples, b.samples)
        assert a.attribution == b.attribution
        assert a.state_after.to_json() == b.state_after.to_json()
    assert not all(np.array_equal(a.samples, c.samples) for a, c in zip(first, other, strict=True))


def _plan_hours(vault: list[VaultStem], hours: float, settings: StreamSettings, seed: int):
    """Plan `hours` of bars without rendering audio; per bar: (frame, arrangement)."""
    plan = planner.new_plan(seed, Controls(mood="calm", intensity=0.6))
    source = StemSource(None, StemCache())
    bars = []
    end = round(hours * 3600 * RATE)
    while plan["frame"] < end:
        horizon = plan["frame"] + 1
        planned = planner.plan_until(
            plan,
            horizon,
            vault=vault,
            events=[],
            excluded=frozenset(),
            weights={},
            facts=source.facts,
            settings=settings,
            delay=DELAY,
        )
        for _, frame in planned:
            bars.append((frame, planner.arrangement_at(plan, frame)))
        # What render_segment prunes: layers that have ended.
        plan["layers"] = [
            layer
            for layer in plan["layers"]
            if layer["end"] is None or layer["end"] > plan["frame"]
        ]
        plan["bars"] = []
    return bars


@pytest.fixture(scope="module")
def three_hours(synthetic_vault):
    settings = StreamSettings()
    return settings, _plan_hours(synthetic_vault, 3.0, settings, seed=5)


@pytest.mark.slow
def test_no_minute_of_a_three_hour_session_repeats_an_earlier_arrangement(three_hours):
    _, bars = three_hours
    window = 60 * RATE
    frames = [frame for frame, _ in bars]
    seen: dict[tuple, int] = {}
    start_index = 0
    for start_index, (start, _) in enumerate(bars):
        stop = np.searchsorted(frames, start + window)
        if frames[-1] < start + window:
            break
        # The arrangement of the minute: per bar, its position in the minute and what sounds.
        minute = tuple((frame - start, sounding) for frame, sounding in bars[start_index:stop])
        assert minute not in seen, f"the minute from bar {start_index} repeats bar {seen[minute]}"
        seen[minute] = start_index
    assert start_index > 5000  # the whole three hours were compared, bar by bar


@pytest.mark.slow
def test_no_stem_plays_longer_than_the_rotation_limit(three_hours):
    settings, bars = three_hours
    run_start: dict[str, int] = {}
    longest = 0
    for frame, sounding in bars:
        present = {stem for stem, _ in sounding}
        for stem in list(run_start):
            if stem not in present:
                longest = max(longest, frame - run_start.pop(stem))
        for stem in present:
            run_start.setdefault(stem, frame)
    assert longest <= settings.max_stem_run_s * RATE
    assert longest >= 0.5 * settings.max_stem_run_s * RATE  # the limit was actually reached


def test_a_withdrawn_stem_stops_at_the_next_segment_and_never_returns(synthetic_vault):
    baseline = render_run(8, vault=synthetic_vault, seed=2, cache=StemCache())
    victim = next(stem for stem in baseline[3].stems if stem in baseline[4].stems)
    kept = [stem for stem in synthetic_vault if stem.id != victim]
    segments = render_run(
        14,
        vault=synthetic_vault,
        seed=2,
        cache=StemCache(),
        vault_at=lambda index: synthetic_vault if index < 4 else kept,
    )
    # Until the withdrawal the stream is the same; the segment planned after it has the stem
    # only in its first few milliseconds (the fade), and no later segment has it at all.
    for before, same in zip(baseline[:4], segments[:4], strict=True):
        assert np.array_equal(before.samples, same.samples)
    first_after = segments[4].attribution["seconds"]
    assert first_after[0]["shares"].get(victim, 0.0) < 0.05
    assert all(victim not in second["shares"] for second in first_after[1:])
    assert all(victim not in segment.stems for segment in segments[5:])
    assert all(victim not in {p.stem_id for p in segment.placements} for segment in segments[5:])
