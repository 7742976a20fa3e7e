"""The live player's benchmark (bench/stream.py) runs its probe end to end and names its figures."""

from __future__ import annotations

import math

import pytest

from bench import stream

EMBEDDED = ["stream_segment", "stream_first_audio_ms_embedded", "stream_control"]


@pytest.mark.slow
def test_a_tiny_run_reports_every_embedded_figure_with_its_unit_and_target() -> None:
    figures = list(stream.run(EMBEDDED, seconds=8, sessions=1, posts=2, stems=4))

    by_name = {figure.name: figure for figure in figures}
    expected = {name for name in stream.FIGURES if "redis" not in name}
    assert set(by_name) == expected
    assert len(figures) == len(expected)
    for figure in figures:
        assert math.isfinite(figure.value), figure
        assert figure.unit and figure.target, figure
    assert by_name["stream_segment_rtf"].unit.startswith("x real time, one core")
    assert by_name["stream_segment_rtf"].target == ">= 300"
    assert by_name["stream_segment_rtf"].value > 0
    # Every stage of the worker's pipeline ran: plan/mix, encode, sign each take some time.
    for stage in ("plan_mix_master", "encode", "sign", "commit"):
        assert by_name[f"stream_segment_stage_ms_{stage}"].value > 0, stage
    assert by_name["stream_first_audio_ms_embedded"].unit.startswith("ms")
    assert by_name["stream_first_audio_ms_embedded"].target == "<= 1000"
    assert by_name["stream_control_latency_s"].unit.startswith("s,")
    assert "segment 2 s + bar" in by_name["stream_control_latency_s_p95"].target


def test_the_control_target_is_one_segment_plus_the_longest_bar_heard() -> None:
    figures = list(
        stream._control_figures(
            {"latencies_s": [1.0, 2.0, 3.0, 4.0], "segment_s": 2.0, "tempos": [120.0, 90.0]}
            | {"delivered": 3}
        )
    )

    median, p95 = figures
    assert (median.name, median.value) == ("stream_control_latency_s", 2.5)
    assert (p95.name, p95.value) == ("stream_control_latency_s_p95", 4.0)
    # A bar of 4 beats at 90 bpm is 2.67 s.
    assert p95.target.startswith("p95 <= 4.67 s (segment 2 s + bar 2.67 s at 90.0 bpm)")
