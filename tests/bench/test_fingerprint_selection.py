"""`python -m bench NAME` runs what NAME names: a fingerprint figure asked for by its full name
(with its half, as the README lists it) is measured and printed, on that half only, not skipped
as if nobody had asked for it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import bench.fingerprint as fingerprint_bench
from bench.__main__ import _wanted
from bench.fingerprint import FIGURES, Clip, Tally


@pytest.fixture
def measured(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list[str], bool]]:
    """Replace the corpus and the measurement with stand-ins; record what was measured."""
    calls: list[tuple[str, list[str], bool]] = []
    clip = Clip("bd_test", np.zeros((4410, 1), np.float32), 44_100, "one_shot")

    def evaluate(clips: list[Clip], transforms: list[str], containment: bool) -> Any:
        calls.append((clips[0].name, list(transforms), containment))
        tally = Tally()
        tally.count(True, "one_shot")
        names = [*transforms, *(["containment", "mix3"] if containment else [])]
        return {name: tally for name in names}, 0, 1, []

    monkeypatch.setattr(fingerprint_bench, "CORPUS", Path(__file__).parent)
    monkeypatch.setattr(fingerprint_bench, "load_corpus", lambda: [clip])
    monkeypatch.setattr(fingerprint_bench, "half_clips", lambda half, clips: clips)
    monkeypatch.setattr(fingerprint_bench, "evaluate", evaluate)
    return calls


@pytest.mark.parametrize(
    "name",
    [
        "fingerprint_recall_gain_calibration",
        "fingerprint_recall_pitch_evaluation",
        "fingerprint_recall_mix3_evaluation",
    ],
)
def test_a_figure_asked_for_by_its_full_name_is_measured(
    measured: list[tuple[str, list[str], bool]], name: str
) -> None:
    assert name in FIGURES
    assert _wanted("bench.fingerprint", [name])
    printed = [figure.name for figure in fingerprint_bench.run([name])]
    assert printed == [name]
    assert len(measured) == 1  # one half measured, not both


def test_a_prefix_still_selects_both_halves(
    measured: list[tuple[str, list[str], bool]],
) -> None:
    printed = [figure.name for figure in fingerprint_bench.run(["fingerprint_recall_tempo"])]
    assert printed == [
        "fingerprint_recall_tempo_calibration",
        "fingerprint_recall_tempo_evaluation",
    ]
    assert [transforms for _, transforms, _ in measured] == [["tempo"], ["tempo"]]


def test_a_name_no_benchmark_knows_is_an_error_not_an_empty_run(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bench.__main__ import main

    assert main(["fingerprint_recall_tempo_evaluaton"]) == 2  # a typo
    assert "fingerprint_recall_tempo_evaluaton" in capsys.readouterr().err
