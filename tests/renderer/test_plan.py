from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from renderer.plan import (
    ACCENT_KEYS,
    ACCENT_REQUIRED_KEYS,
    LAYER_KEYS,
    LAYER_REQUIRED_KEYS,
    PLAN_KEYS,
    REQUIRED_KEYS,
    SECTION_KEYS,
    SECTION_REQUIRED_KEYS,
    STEM_KEYS,
    STEM_REQUIRED_KEYS,
    PlanError,
    parse_plan,
    plan_hash,
)

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "renderer" / "plan_schema.json"


def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text())


def base_plan() -> dict[str, Any]:
    return {
        "schema": "stemvault.render-plan/1",
        "tempo_bpm": 120,
        "duration_s": 20,
        "stems": [
            {"id": "kick", "path": "kick.wav"},
            {"id": "loop", "path": "loop.flac", "bpm": 118},
        ],
        "sections": [
            {
                "name": "intro",
                "start_bar": 0,
                "bars": 4,
                "layers": [{"stem": "kick", "repeats": 16, "period_beats": 1}],
            },
            {
                "name": "main",
                "start_bar": 4,
                "bars": 4,
                "layers": [{"stem": "loop", "gain_db": -3, "fade_in_s": 1.5}],
            },
        ],
    }


def test_schema_examples_parse_and_round_trip() -> None:
    examples = schema()["examples"]
    assert len(examples) >= 2
    for example in examples:
        plan = parse_plan(example)
        assert parse_plan(plan.to_dict()) == plan
        assert plan_hash(parse_plan(plan.to_dict())) == plan_hash(plan)


def test_schema_file_keys_match_the_parser() -> None:
    document = schema()
    defs = document["$defs"]
    assert set(document["required"]) == REQUIRED_KEYS
    assert set(document["properties"]) == PLAN_KEYS
    assert set(defs["stem"]["required"]) == STEM_REQUIRED_KEYS
    assert set(defs["stem"]["properties"]) == STEM_KEYS
    assert set(defs["section"]["required"]) == SECTION_REQUIRED_KEYS
    assert set(defs["section"]["properties"]) == SECTION_KEYS
    assert set(defs["layer"]["required"]) == LAYER_REQUIRED_KEYS
    assert set(defs["layer"]["properties"]) == LAYER_KEYS
    assert set(defs["accent"]["required"]) == ACCENT_REQUIRED_KEYS
    assert set(defs["accent"]["properties"]) == ACCENT_KEYS


def test_defaults_are_filled_in() -> None:
    plan = parse_plan(base_plan())
    assert plan.sample_rate == 48000
    assert plan.channels == 2
    assert plan.loudness_lufs == -14.0
    assert plan.true_peak_dbtp == -1.0
    assert plan.format == "wav"
    layer = plan.sections[1].layers[0]
    assert (layer.start_bar, layer.repeats, layer.fade_out_s) == (0.0, 1, 0.0)
    assert plan.stem("loop").bpm == 118.0


def test_plan_hash_ignores_key_order_and_changes_with_content() -> None:
    data = base_plan()
    reordered = json.loads(json.dumps(data, sort_keys=True))
    reordered = dict(reversed(list(reordered.items())))
    assert plan_hash(parse_plan(reordered)) == plan_hash(parse_plan(data))
    louder = copy.deepcopy(data)
    louder["sections"][1]["layers"][0]["gain_db"] = -2
    assert plan_hash(parse_plan(louder)) != plan_hash(parse_plan(data))
    assert len(plan_hash(parse_plan(data))) == 64


def test_inline_stem_objects_are_hoisted_into_the_stem_list() -> None:
    data = base_plan()
    data["sections"][0]["layers"].append({"stem": {"id": "pad", "path": "pad.flac"}})
    plan = parse_plan(data)
    assert [s.id for s in plan.stems] == ["kick", "loop", "pad"]
    assert plan.to_dict()["sections"][0]["layers"][1]["stem"] == "pad"


def test_tempo_conform_beyond_six_percent_is_refused() -> None:
    data = base_plan()
    data["stems"][1]["bpm"] = 110  # 120/110 = +9.1%
    with pytest.raises(PlanError, match=r"'loop'.*110 bpm.*\+9\.1%.*6%"):
        parse_plan(data)
    data["stems"][1]["bpm"] = 114  # +5.3%: allowed
    assert parse_plan(data).stem("loop").bpm == 114


def test_unknown_layer_stem_is_named_in_the_error() -> None:
    data = base_plan()
    data["sections"][1]["layers"][0]["stem"] = "snare"
    with pytest.raises(PlanError, match=r"section 'main' layer 0 uses unknown stem 'snare'"):
        parse_plan(data)


def test_negative_duration_is_refused() -> None:
    data = base_plan()
    data["duration_s"] = -5
    with pytest.raises(PlanError, match=r"duration_s must be > 0, got -5"):
        parse_plan(data)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(schema="stemvault.render-plan/2"), "plan.schema must be"),
        (lambda d: d.pop("sections"), "missing required key"),
        (lambda d: d.update(colour="red"), "unknown key"),
        (lambda d: d.update(format="mp3"), "format must be 'wav' or 'flac'"),
        (lambda d: d.update(sample_rate=22050), "sample_rate must be one of"),
        (lambda d: d["stems"][0].pop("path"), "needs a path or a content_sha256"),
        (lambda d: d["stems"][0].update(content_sha256="xyz"), "64 hex digits"),
        (lambda d: d["sections"][1].update(start_bar=2), "must not overlap"),
        (lambda d: d["sections"][1].update(start_bar=400), "after the end of the render"),
        (lambda d: d["sections"][0]["layers"][0].update(repeats=0), "repeats must be >= 1"),
        (lambda d: d["sections"][0]["layers"][0].update(start_bar=4), "outside its section"),
        (lambda d: d.update(hit_points=[25.0]), "outside the render"),
        (lambda d: d.update(tempo_bpm="fast"), "tempo_bpm must be a number"),
        (lambda d: d["stems"].append({"id": "kick", "path": "x.wav"}), "listed twice"),
    ],
)
def test_malformed_plans_raise_plan_error_with_a_clear_message(mutate: Any, message: str) -> None:
    data = base_plan()
    mutate(data)
    with pytest.raises(PlanError) as info:
        parse_plan(data)
    assert message in info.value.message


def test_hit_points_are_kept_sorted() -> None:
    data = base_plan()
    data["hit_points"] = [12.5, 3]
    assert parse_plan(data).hit_points == (3.0, 12.5)


# --- loudness presets ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("preset", "lufs", "dbtp"),
    [("streaming", -14.0, -1.0), ("ebu_r128", -23.0, -1.0), ("atsc_a85", -24.0, -2.0)],
)
def test_a_loudness_preset_sets_the_target_and_the_ceiling(
    preset: str, lufs: float, dbtp: float
) -> None:
    plan = parse_plan({**base_plan(), "loudness_preset": preset})
    assert (plan.loudness_preset, plan.loudness_lufs, plan.true_peak_dbtp) == (preset, lufs, dbtp)
    assert plan.to_dict()["loudness_preset"] == preset
    assert parse_plan(plan.to_dict()) == plan
    # Repeating the preset's figures is allowed.
    again = {**base_plan(), "loudness_preset": preset, "loudness_lufs": lufs}
    assert parse_plan(again) == plan


def test_a_plan_without_a_preset_keeps_its_old_form_and_hash() -> None:
    plan = parse_plan(base_plan())
    assert plan.loudness_preset is None
    assert "loudness_preset" not in plan.to_dict()
    assert plan_hash(plan) == plan_hash(parse_plan({**base_plan(), "loudness_lufs": -14}))


def test_an_unknown_or_contradicted_preset_is_refused_with_the_known_ones() -> None:
    with pytest.raises(PlanError, match=r"streaming .*ebu_r128 .*atsc_a85"):
        parse_plan({**base_plan(), "loudness_preset": "loud"})
    with pytest.raises(PlanError, match="contradicts"):
        parse_plan({**base_plan(), "loudness_preset": "ebu_r128", "true_peak_dbtp": -2})


def test_the_schema_lists_the_renderers_presets() -> None:
    from renderer.presets import LOUDNESS_PRESETS

    assert schema()["properties"]["loudness_preset"]["enum"] == list(LOUDNESS_PRESETS)
