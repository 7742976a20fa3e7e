"""The listener-count search of bench/stream_listeners.py: doubling, bisection, then the count a
full-length run serves."""

from __future__ import annotations

import pytest

from bench._listeners_load import Outcome
from bench.stream_listeners import Trial, search


def _stack(short: int, full: int, made: list[tuple[int, float]]):
    """A stack that serves up to `short` listeners in a short run and `full` in a full one."""

    def trial(count: int, seconds: float) -> Trial:
        made.append((count, seconds))
        capacity = full if seconds >= 300 else short
        outcome = Outcome(listeners=count, started=count, underruns=int(count > capacity))
        return Trial(count, seconds, outcome, 1.0, 0.0, 0.0, 0.0)

    return trial


@pytest.fixture(autouse=True)
def _lengths(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "BENCH_LISTENERS_SEARCH_S": "60",
        "BENCH_LISTENERS_SECONDS": "300",
        "BENCH_LISTENERS_START": "16",
        "BENCH_LISTENERS_MAX": "256",
    }.items():
        monkeypatch.setenv(name, value)


def test_the_figure_is_what_a_full_length_run_serves_below_the_short_runs_bisection() -> None:
    made: list[tuple[int, float]] = []
    count, run, runs = search(_stack(50, 45, made))

    assert made[0] == (2, 20.0)  # the warm-up, not among the runs
    short = [c for c, s in made[1:] if s == 60]
    assert short == [16, 32, 64, 48, 56, 52]
    assert [c for c, s in made if s == 300] == [48, 40]
    assert count == 40 and run is not None and run.served and run.seconds == 300
    assert [r.count for r in runs] == [*short, 48, 40]


def test_a_stack_that_serves_the_most_tried_stops_doubling_there() -> None:
    made: list[tuple[int, float]] = []
    count, _, _ = search(_stack(1000, 1000, made))
    assert count == 256 and (256, 300) in made and (512, 60) not in made


def test_a_stack_that_serves_nobody_reports_zero() -> None:
    count, run, _ = search(_stack(0, 0, []))
    assert (count, run) == (0, None)
