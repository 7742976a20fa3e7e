"""The master step's limits: a bounded make-up gain, refusals that name their cause, and no
non-finite sample ever written (issue 18, item 5)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from renderer import engine
from renderer.audio import load_audio
from renderer.engine import MAX_MAKEUP_GAIN_DB, RenderError, master, render
from renderer.loudness import integrated_loudness, true_peak_dbtp
from renderer.manifest import build_manifest, extract_manifest
from renderer.plan import parse_plan
from tests.factories.audio import RATE, blip, encode, tone_loop
from tests.helpers.manifests import cli

TARGET, CEILING = -14.0, -1.0


def _plan(folder: Path, samples: np.ndarray, *, subtype: str = "PCM_24", **extra: Any) -> Any:
    """A 30 s preview of one stem alone, placed once at the start: what the issue rendered."""
    (folder / "stem.wav").write_bytes(encode(samples, RATE, subtype=subtype))
    return {
        "schema": "stemvault.render-plan/1",
        "tempo_bpm": 120,
        "duration_s": 30,
        "loudness_lufs": TARGET,
        "true_peak_dbtp": CEILING,
        "stems": [{"id": "s", "path": str(folder / "stem.wav")}],
        "sections": [{"name": "a", "start_bar": 0, "bars": 15, "layers": [{"stem": "s"}]}],
        **extra,
    }


def _sparse_mix() -> np.ndarray:
    mixed = np.zeros((30 * RATE, 2), dtype=np.float32)
    one = blip()
    mixed[RATE : RATE + one.shape[0]] = one
    return mixed


def test_master_bounds_the_make_up_gain_on_a_sparse_one_shot() -> None:
    mixed = _sparse_mix()
    plain = TARGET - integrated_loudness(mixed, RATE)
    done = master(mixed, RATE, TARGET, CEILING)
    # Before the bound the gain ran 12 -> 24 -> 280 -> ... -> 867 dB and the samples were NaN.
    assert done.input_gain_db <= plain + MAX_MAKEUP_GAIN_DB + 1e-9
    assert done.makeup_gain_db == pytest.approx(done.input_gain_db - plain)
    assert np.isfinite(done.samples).all()
    assert math.isfinite(done.loudness_lufs) and done.true_peak_dbtp <= CEILING
    # Short of the target, and saying by how much.
    assert done.loudness_shortfall_lu == pytest.approx(TARGET - done.loudness_lufs)
    assert done.loudness_shortfall_lu > 1.0
    assert done.loudness_lufs == pytest.approx(integrated_loudness(done.samples, RATE), abs=0.01)


def test_a_30_s_preview_of_a_short_one_shot_renders_finite_audio_at_the_loudness_it_reaches(
    tmp_path: Path,
) -> None:
    plan = parse_plan(_plan(tmp_path, blip()))
    result = render(plan)
    decoded = load_audio(result.audio)
    assert np.isfinite(decoded.samples).all() and np.any(decoded.samples)
    measured = integrated_loudness(decoded.samples, RATE)
    assert math.isfinite(measured) and measured == pytest.approx(result.loudness_lufs, abs=0.01)
    assert true_peak_dbtp(decoded.samples, RATE) <= CEILING
    assert result.loudness_shortfall_lu == pytest.approx(TARGET - result.loudness_lufs)
    assert result.loudness_shortfall_lu > 1.0
    assert result.stats["makeup_gain_db"] <= MAX_MAKEUP_GAIN_DB + 1e-9
    # The manifest reports the shortfall beside the loudness it reached.
    manifest = build_manifest(plan, result, render_id="r", stems_meta={})
    assert manifest["audio"]["loudness_lufs"] == round(result.loudness_lufs, 3)
    assert manifest["audio"]["loudness_shortfall_lu"] == round(result.loudness_shortfall_lu, 3)


def test_a_render_that_reaches_its_target_reports_no_shortfall(tmp_path: Path) -> None:
    plan = parse_plan(_plan(tmp_path, tone_loop(2.0), duration_s=8))
    result = render(plan)
    assert abs(result.loudness_lufs - TARGET) <= 0.1
    assert result.loudness_shortfall_lu == 0.0
    assert (
        "loudness_shortfall_lu"
        not in build_manifest(plan, result, render_id="r", stems_meta={})["audio"]
    )


def test_a_silent_plan_is_refused_naming_the_cause(tmp_path: Path) -> None:
    plan = parse_plan(_plan(tmp_path, np.zeros((RATE, 2), dtype=np.float32)))
    with pytest.raises(RenderError, match=r"silent .*-70 LUFS absolute gate"):
        render(plan)


def test_a_stem_holding_nan_is_refused_naming_the_stem(tmp_path: Path) -> None:
    samples = tone_loop(2.0)
    samples[1000, 0] = np.nan
    plan = parse_plan(_plan(tmp_path, samples, subtype="FLOAT"))
    with pytest.raises(RenderError, match=r"non-finite samples .*'s'"):
        render(plan)
    with pytest.raises(RenderError, match="non-finite"):
        master(samples, RATE, TARGET, CEILING)


def test_the_engine_refuses_output_that_is_not_finite_instead_of_writing_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Whatever goes wrong inside mastering (here: a limiter that returns NaN), quantising
    # would turn a NaN into a full-scale integer and the file would look valid.
    real = engine.limit_with_gain

    def broken(samples: Any, *args: Any, **kwargs: Any) -> Any:
        out, gain, stats = real(samples, *args, **kwargs)
        out[len(out) // 2] = np.nan
        return out, gain, stats

    monkeypatch.setattr(engine, "limit_with_gain", broken)
    plan = parse_plan(_plan(tmp_path, tone_loop(2.0), duration_s=8))
    with pytest.raises(RenderError, match="not finite"):
        render(plan)


def test_the_cli_exits_non_zero_and_writes_nothing_when_a_render_fails(tmp_path: Path) -> None:
    data = _plan(tmp_path, np.zeros((RATE, 2), dtype=np.float32))
    (tmp_path / "plan.json").write_text(json.dumps(data))
    out = tmp_path / "out" / "mix.wav"
    done = cli("render", str(tmp_path / "plan.json"), "--out", str(out))
    assert done.returncode == 1, done.stdout
    assert "error: render failed: the mix is silent" in done.stderr
    assert "Traceback" not in done.stderr
    assert not out.exists() and not (tmp_path / "out" / "mix.manifest.json").exists()


def test_the_cli_renders_a_sparse_one_shot_to_finite_audio_and_notes_the_shortfall(
    tmp_path: Path,
) -> None:
    (tmp_path / "plan.json").write_text(json.dumps(_plan(tmp_path, blip())))
    out = tmp_path / "mix.wav"
    done = cli("render", str(tmp_path / "plan.json"), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "out of reach" in done.stderr
    decoded = load_audio(out.read_bytes())
    assert np.isfinite(decoded.samples).all()
    assert math.isfinite(integrated_loudness(decoded.samples, RATE))
    manifest = extract_manifest(out.read_bytes())
    assert manifest is not None and manifest["audio"]["loudness_shortfall_lu"] > 1.0
