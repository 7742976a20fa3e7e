"""Accents: one-shots on the exact sample, whatever the tempo, and the manifest's `hits`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from renderer.engine import mix, render
from renderer.manifest import build_manifest
from renderer.placement import hit_landings, plan_placements
from renderer.plan import PlanError, parse_plan, plan_hash
from tests.factories import audio

SR = 48000


def _plan(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "schema": "stemvault.render-plan/1",
        "tempo_bpm": 97,  # a bar of 2.474 s: nothing below lands on a bar line by luck
        "duration_s": 12,
        "stems": [{"id": "bed", "path": "bed.wav"}, {"id": "hit", "path": "hit.wav"}],
        "sections": [
            {"name": "intro", "start_bar": 0, "bars": 2, "layers": [{"stem": "bed"}]},
            {"name": "main", "start_bar": 2, "bars": 3, "layers": [{"stem": "bed"}]},
        ],
        "hit_points": [4.9, 7.3331],
        "accents": [{"stem": "hit", "at_s": 4.9}, {"stem": "hit", "at_s": 7.3331, "gain_db": -6}],
    }
    data.update(overrides)
    return data


def test_an_accent_sounds_from_the_sample_nearest_its_time_not_from_a_bar_line() -> None:
    plan = parse_plan(_plan())
    click = np.zeros((100, 1), dtype=np.float32)
    click[0] = 1.0
    silence = np.zeros((10, 1), dtype=np.float32)
    placements = plan_placements(plan, {"bed": 10, "hit": 100})
    out = mix(placements, {"bed": silence, "hit": click}, plan.frames, 1)
    assert np.flatnonzero(out[:, 0]).tolist() == [round(4.9 * SR), round(7.3331 * SR)]
    assert out[round(7.3331 * SR), 0] == pytest.approx(10 ** (-6 / 20))


def test_an_accent_plays_through_a_section_change_to_its_own_end() -> None:
    # 4.9 s is 0.05 s before the bar-2 boundary (4.948 s): a layer would be cut there.
    plan = parse_plan(_plan(accents=[{"stem": "hit", "at_s": 4.9}]))
    (accent,) = [p for p in plan_placements(plan, {"bed": 10, "hit": SR}) if p.stem_id == "hit"]
    assert accent.start_frame == round(4.9 * SR)
    assert accent.end_frame == round(4.9 * SR) + SR
    assert accent.fade_out_frames == 0 and accent.fade_in_frames == 0


def test_the_hits_say_where_each_hit_point_landed_in_the_placed_audio() -> None:
    plan = parse_plan(_plan(hit_points=[4.9, 7.3331, 4.95], accents=[{"stem": "hit", "at_s": 4.9}]))
    landings = hit_landings(plan, plan_placements(plan, {"bed": 10, "hit": 100}))
    by_request = {h["requested_s"]: h for h in landings}
    assert by_request[4.9]["by"] == "accent" and by_request[4.9]["frame"] == round(4.9 * SR)
    assert by_request[4.9]["error_ms"] < 0.011  # within a sample
    # No accent at 7.3331 s: the nearest mark is the section change on bar 2, 2.38 s earlier,
    # and the landing says so rather than pretending the hit was met.
    bar_2 = round(2 * 240 / 97 * SR)
    assert by_request[7.3331]["frame"] == bar_2
    assert by_request[7.3331]["error_ms"] == pytest.approx((7.3331 - bar_2 / SR) * 1000, abs=1e-3)
    # 4.95 s is nearest the section change on bar 2 (round(2 * 4 * 60 / 97 * 48000) frames).
    assert by_request[4.95]["by"] == "section"
    assert by_request[4.95]["frame"] == bar_2


def test_plans_without_accents_keep_their_canonical_form_and_hash() -> None:
    data = _plan()
    del data["accents"]
    plan = parse_plan(data)
    assert "accents" not in plan.to_dict()
    assert plan_hash(plan) == plan_hash(parse_plan({**data, "accents": []}))
    assert plan_hash(plan) != plan_hash(parse_plan(_plan()))


@pytest.mark.parametrize(
    ("accents", "message"),
    [
        ([{"stem": "nope", "at_s": 1.0}], "unknown stem 'nope'"),
        ([{"stem": "hit", "at_s": 12.0}], "at or after the end"),
        ([{"stem": "hit", "at_s": -1}], "at_s must be >= 0"),
        ([{"stem": "hit", "at_s": 1.0, "when": 2}], "unknown key(s): when"),
        ({"stem": "hit"}, "plan.accents must be a list"),
    ],
)
def test_malformed_accents_are_refused(accents: Any, message: str) -> None:
    with pytest.raises(PlanError) as caught:
        parse_plan(_plan(accents=accents))
    assert message in caught.value.message


def test_a_rendered_accent_is_credited_and_listed_with_its_actual_time(tmp_path: Path) -> None:
    sf.write(tmp_path / "bed.wav", audio.pink_noise(2.0, seed=3) * 0.1, SR, subtype="PCM_24")
    sf.write(tmp_path / "hit.wav", audio.impact(seconds=1.0, seed=4), SR, subtype="PCM_24")
    data = _plan()
    data["stems"] = [
        {"id": "bed", "path": str(tmp_path / "bed.wav")},
        {"id": "hit", "path": str(tmp_path / "hit.wav")},
    ]
    plan = parse_plan(data)
    result = render(plan)
    manifest = build_manifest(plan, result, render_id="r", stems_meta={})
    assert [s["id"] for s in manifest["stems"]] == ["bed", "hit"]
    assert [(h["actual_s"], h["by"]) for h in manifest["hits"]] == [
        (round(round(4.9 * SR) / SR, 6), "accent"),
        (round(round(7.3331 * SR) / SR, 6), "accent"),
    ]
    assert max(h["error_ms"] for h in manifest["hits"]) <= 0.011
