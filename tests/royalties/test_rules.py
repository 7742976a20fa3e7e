"""The listening rules, pure: arrays in, the rule holding each play out (portal/royalties/rules/).

Each rule is tested as the attacker it exists for, and against the human listening it must let
through. Times are in seconds from an arbitrary UTC midnight unless said otherwise."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from portal.royalties import rules

DAY = 86_400
T0_DAY = 19_800  # a UTC day number (2024-03-18)
T0 = T0_DAY * DAY  # seconds since the epoch
TH = rules.Thresholds()


def build(
    plays: list[dict[str, Any]], history: rules.VolumeHistory | None = None, n_apps: int = 3
) -> tuple[rules.Plays, rules.VolumeHistory, int]:
    """Each play: listener, app (0), mix (0), at (s after T0), ms, duration (180 s), and
    candidate / released / prior."""
    n = len(plays)

    def col(name: str, default: Any, dtype: Any = np.int64) -> Any:
        return np.array([p.get(name, default) for p in plays], dtype=dtype).reshape(n)

    app = col("app", 0)
    built = rules.Plays(
        listener=col("listener", 0) * 10 + app,  # ids are per app
        app=app,
        mix=col("mix", 0),
        start_ms=np.array([(T0 + p["at"]) * 1000 for p in plays], dtype=np.int64).reshape(n),
        ms_played=col("ms", 120_000),
        duration_ms=col("duration", 180_000),
        rank=np.arange(n, dtype=np.int64),
        candidate=col("candidate", True, np.bool_),
        released=col("released", False, np.bool_),
        prior=col("prior", 0),
    )
    if history is None:
        history = rules.VolumeHistory.empty(n_apps, T0_DAY - TH.spike_history_days)
    return built, history, n_apps


def held(plays: list[dict[str, Any]], th: rules.Thresholds = TH, **kwargs: Any) -> list[str]:
    codes = rules.hold(*build(plays, **kwargs), th)
    return [rules.rule_of(int(c)) for c in codes]


# --- overlap ------------------------------------------------------------------------------------


def test_a_listener_playing_two_streams_at_once_keeps_the_first_play_only() -> None:
    result = held(
        [
            {"listener": 1, "at": 0, "ms": 180_000},
            {"listener": 1, "at": 100, "ms": 180_000},  # 80 s into the first
            {"listener": 1, "at": 400, "ms": 60_000},
        ]
    )
    assert result == ["", "overlap", ""]


def test_a_crossfade_within_the_tolerance_is_one_pair_of_ears() -> None:
    tolerance_s = TH.overlap_tolerance_ms // 1000
    result = held(
        [
            {"listener": 1, "at": 0, "ms": 180_000},
            {"listener": 1, "at": 180 - tolerance_s, "ms": 180_000},
            # 1 s more than the tolerance before the second play ends:
            {"listener": 1, "at": 360 - 2 * tolerance_s - 1, "ms": 60_000},
        ]
    )
    assert result == ["", "", "overlap"]


def test_a_held_play_does_not_keep_the_ears_busy() -> None:
    # The second play is held; the third starts after the first (kept) play ended, so it is
    # heard, though it overlaps the held one.
    result = held(
        [
            {"listener": 1, "at": 0, "ms": 100_000},
            {"listener": 1, "at": 50, "ms": 250_000},
            {"listener": 1, "at": 150, "ms": 100_000},
        ]
    )
    assert result == ["", "overlap", ""]


def test_two_listeners_overlapping_is_just_two_people() -> None:
    assert held([{"listener": 1, "at": 0}, {"listener": 2, "at": 10}]) == ["", ""]


def test_the_same_listener_id_on_two_apps_is_two_listeners() -> None:
    result = held(
        [
            {"listener": 1, "app": 0, "at": 0, "mix": 0},
            {"listener": 1, "app": 1, "at": 10, "mix": 1},
        ]
    )
    assert result == ["", ""]


# --- daily cap ----------------------------------------------------------------------------------


def test_plays_over_the_daily_cap_are_held_by_daily_cap_in_start_order() -> None:
    th = rules.Thresholds(daily_limit=3)
    plays = [{"listener": 1, "at": 200 * i, "ms": 150_000} for i in reversed(range(5))]
    assert held(plays, th) == ["daily_cap", "daily_cap", "", "", ""]


def test_a_play_another_rule_holds_does_not_use_up_the_daily_allowance() -> None:
    th = rules.Thresholds(daily_limit=2)
    plays = [
        {"listener": 1, "at": 0, "ms": 150_000},
        {"listener": 1, "at": 10, "ms": 150_000},  # overlaps: held by overlap
        {"listener": 1, "at": 200, "ms": 150_000},
        {"listener": 1, "at": 400, "ms": 150_000},
    ]
    assert held(plays, th) == ["", "overlap", "", "daily_cap"]


def test_plays_counted_in_an_earlier_period_count_against_the_day() -> None:
    th = rules.Thresholds(daily_limit=2)
    plays = [{"listener": 1, "at": 0, "prior": 2}, {"listener": 2, "at": 0, "prior": 1}]
    assert held(plays, th) == ["daily_cap", ""]


# --- threshold hugging --------------------------------------------------------------------------


def test_a_listener_whose_plays_all_stop_just_after_30_seconds_is_held() -> None:
    loop = [
        {"listener": 7, "at": 40 * i, "ms": 30_000 + 300 * i, "duration": 180_000}
        for i in range(TH.hugging_min_plays)
    ]
    loop.append({"listener": 7, "at": 1000, "ms": 180_000})  # even its whole play
    assert held(loop) == ["threshold_hugging"] * len(loop)


def test_a_person_who_often_stops_early_is_not_held() -> None:
    plays = [{"listener": 7, "at": 200 * i, "ms": 31_000} for i in range(8)]
    plays += [{"listener": 7, "at": 2000 + 200 * i, "ms": 95_000} for i in range(4)]
    assert set(held(plays)) == {""}  # 8 of 12 hug: 67 %, under 90 %


def test_too_few_plays_do_not_make_a_pattern() -> None:
    plays = [{"listener": 7, "at": 40 * i, "ms": 31_000} for i in range(TH.hugging_min_plays - 1)]
    assert set(held(plays)) == {""}


def test_playing_a_short_mix_whole_is_not_hugging() -> None:
    plays = [
        {"listener": 7, "at": 40 * i, "ms": 33_000, "duration": 33_000}
        for i in range(TH.hugging_min_plays + 5)
    ]
    assert set(held(plays)) == {""}


def test_rotating_listener_ids_looping_30_seconds_are_held_on_the_apps_day() -> None:
    bots = [
        {"listener": 100 + i, "at": 35 * i, "ms": 30_200, "app": 1}
        for i in range(TH.hugging_app_min_plays)
    ]
    people = [
        {"listener": 500 + i, "at": 50 * i, "ms": 30_000 + 2_000 * i, "app": 0} for i in range(60)
    ]
    result = held(bots + people)
    assert result[: len(bots)] == ["threshold_hugging"] * len(bots)
    assert set(result[len(bots) :]) == {""}  # the other app's people stop all over the track


# --- lockstep -----------------------------------------------------------------------------------


def farm(listeners: int, bursts: int, app: int = 1, mix: int = 3) -> list[dict[str, Any]]:
    """A controller starting every account on the same mix within 2 s, every 10 minutes."""
    return [
        {"listener": 1000 + k, "app": app, "mix": mix, "at": 600 * b + (k % 3), "ms": 170_000}
        for b in range(bursts)
        for k in range(listeners)
    ]


def test_a_farm_starting_a_mix_in_lockstep_is_held() -> None:
    result = held(farm(listeners=12, bursts=6))
    assert set(result) == {"lockstep"}


def test_rotating_ids_in_lockstep_are_held_too() -> None:
    plays = [
        {"listener": 2000 + 20 * b + k, "app": 1, "mix": 3, "at": 900 * b + k % 4, "ms": 170_000}
        for b in range(5)
        for k in range(15)
    ]
    assert set(held(plays)) == {"lockstep"}


def test_a_popular_mix_with_many_listeners_is_not_lockstep() -> None:
    # 5,000 people pressing play at random over a day on one mix: about one start every 17 s.
    rng = np.random.default_rng(3)
    starts = np.sort(rng.integers(0, DAY, size=5000))
    plays = [
        {"listener": i, "app": 0, "mix": 0, "at": int(s), "ms": 150_000}
        for i, s in enumerate(starts)
    ]
    assert set(held(plays, history=history(5000))) == {""}


def test_a_listener_mostly_outside_bursts_is_not_held() -> None:
    plays = farm(listeners=12, bursts=2)
    own = [
        {"listener": 1000, "app": 1, "mix": 4, "at": 20_000 + 400 * i, "ms": 150_000}
        for i in range(8)
    ]
    result = held(plays + own)
    assert result[: len(plays)].count("lockstep") == len(plays) - 2  # all but listener 1000's
    assert set(result[len(plays) :]) == {""}


# --- volume spike -------------------------------------------------------------------------------


def history(per_day: int, days: int = TH.spike_history_days, app: int = 0) -> rules.VolumeHistory:
    total = np.zeros((3, days), dtype=np.int64)
    total[app, :] = per_day
    return rules.VolumeHistory(T0_DAY - days, total, np.zeros_like(total))


def day_of(count: int, app: int = 0, day: int = 0, first_listener: int = 0) -> list[dict[str, Any]]:
    return [
        {"listener": first_listener + i, "app": app, "mix": app, "at": day * DAY + 60 * (i % 1400)}
        for i in range(count)
    ]


def test_an_app_reporting_far_more_than_its_usual_day_is_held_that_day() -> None:
    result = held(day_of(100 * TH.spike_factor + 1), history=history(100))
    assert set(result) == {"volume_spike"}


def test_an_app_within_its_usual_range_is_not_held() -> None:
    assert set(held(day_of(100 * TH.spike_factor), history=history(100))) == {""}


def test_a_new_app_is_judged_against_the_floor() -> None:
    limit = TH.spike_factor * TH.spike_floor
    assert set(held(day_of(limit))) == {""}
    assert set(held(day_of(limit + 1))) == {"volume_spike"}


def test_a_held_day_does_not_become_the_next_days_usual() -> None:
    limit = TH.spike_factor * TH.spike_floor
    plays = day_of(limit + 50, day=0) + day_of(limit + 50, day=1, first_listener=10_000)
    assert set(held(plays)) == {"volume_spike"}


def test_released_plays_of_a_spike_day_become_history() -> None:
    limit = TH.spike_factor * TH.spike_floor
    first = [{**p, "released": True} for p in day_of(limit + 50, day=0)]
    second = day_of(limit + 50, day=1, first_listener=10_000)
    result = held(first + second)
    assert set(result) == {""}  # day 0 released, day 1 judged against it


def test_other_periods_held_plays_are_no_history() -> None:
    total = np.full((3, TH.spike_history_days), 400, dtype=np.int64)
    held_before = total.copy()
    held_before[:, -1] = 0  # only the last day of history was believed
    past = rules.VolumeHistory(T0_DAY - TH.spike_history_days, total, held_before)
    assert set(held(day_of(400 * TH.spike_factor - 1), history=past)) == {""}
    past_all_held = rules.VolumeHistory(past.first_day, total, total.copy())
    assert set(held(day_of(400 * TH.spike_factor - 1), history=past_all_held)) == {"volume_spike"}


# --- who is judged ------------------------------------------------------------------------------


def test_a_released_play_counts_whatever_the_rules_say() -> None:
    plays = [
        {"listener": 1, "at": 0, "ms": 180_000},
        {"listener": 1, "at": 10, "ms": 180_000, "released": True},
    ]
    assert held(plays) == ["", ""]


def test_plays_that_cannot_earn_are_never_held() -> None:
    plays = [
        {"listener": 1, "at": 0, "ms": 180_000},
        {"listener": 1, "at": 10, "ms": 5_000, "candidate": False},  # too short
        {"listener": 1, "at": 20, "ms": 180_000, "candidate": False},  # self-play
    ]
    assert held(plays) == ["", "", ""]


def test_a_play_held_by_several_rules_carries_the_most_specific() -> None:
    loop = [{"listener": 9, "at": 40 * i, "ms": 31_000} for i in range(12)]
    loop.append({"listener": 9, "at": 5, "ms": 31_000})  # also overlaps the first
    result = held(loop)
    assert result[-1] == "overlap" and set(result[:-1]) == {"threshold_hugging"}


@pytest.mark.parametrize("seed", range(5))
def test_the_result_does_not_depend_on_the_order_plays_arrived_in(seed: int) -> None:
    plays = (
        farm(listeners=11, bursts=3)
        + day_of(120, app=2)
        + [{"listener": 7, "at": 40 * i, "ms": 30_500} for i in range(11)]
        + [{"listener": 8, "at": 0}, {"listener": 8, "at": 30}, {"listener": 8, "at": 30}]
    )
    expected = held(plays)
    order = np.random.default_rng(seed).permutation(len(plays))
    shuffled = [plays[i] for i in order]
    # Ties keep their meaning: the rank follows the play, as event ids do.
    built, hist, n_apps = build(shuffled)
    built = rules.Plays(**{**built.__dict__, "rank": order.astype(np.int64)})
    got = [rules.rule_of(int(c)) for c in rules.hold(built, hist, n_apps, TH)]
    assert [got[int(np.flatnonzero(order == i)[0])] for i in range(len(plays))] == expected
