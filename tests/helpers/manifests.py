"""A small two-stem render plan, its stems on disk and the renderer's CLI, shared by the
renderer's manifest, signature, Broadcast WAV, Node-verifier and mastering tests."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

SR = 48000
"""The sample rate of the stems `write_stems` writes."""

REPO = Path(__file__).resolve().parents[2]
"""The repository root, where `python -m renderer` and tools/ are found."""


def write_stems(folder: Path) -> None:
    """Write the plan's stems into `folder`: a 0.3 s mono WAV kick and a 2 s stereo FLAC pad."""
    t = np.arange(int(0.3 * SR)) / SR
    kick = (0.9 * np.sin(2 * np.pi * 60 * t) * np.exp(-t * 12)).astype(np.float32)
    sf.write(folder / "kick.wav", kick, SR, subtype="PCM_24")
    t = np.arange(2 * SR) / SR
    pad = np.stack([0.2 * np.sin(2 * np.pi * 220 * t), 0.2 * np.sin(2 * np.pi * 330 * t)], 1)
    sf.write(folder / "pad.flac", pad.astype(np.float32), SR, subtype="PCM_24")


def plan_data(fmt: str, folder: Path | None = None) -> dict[str, Any]:
    """A 9 s plan in `fmt` over the stems of `write_stems`, their paths under `folder` if given."""
    prefix = "" if folder is None else f"{folder}/"
    return {
        "schema": "stemvault.render-plan/1",
        "tempo_bpm": 120,
        "duration_s": 9,
        "format": fmt,
        "stems": [
            {"id": "kick", "path": f"{prefix}kick.wav"},
            {"id": "pad", "path": f"{prefix}pad.flac"},
        ],
        "sections": [
            {"name": "intro", "start_bar": 0, "bars": 2, "layers": [{"stem": "pad", "repeats": 2}]},
            {
                "name": "main",
                "start_bar": 2,
                "bars": 2,
                "layers": [{"stem": "kick", "repeats": 8, "period_beats": 1}, {"stem": "pad"}],
            },
        ],
    }


STEMS_META = {
    "kick": {"license_version": "svl-1.2", "credits": [{"artist": "Ana", "split_percent": 100}]},
    "pad": {
        "license_version": "svl-1.2",
        "credits": [{"artist": "Ben", "split_percent": 60}, {"artist": "Cy", "split_percent": 40}],
    },
}
"""Licence and credits of the plan's two stems, as the portal passes them to build_manifest."""


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the renderer's CLI in a subprocess; without `env`, no signing or public key leaks in."""
    # `python -m renderer` imports every subcommand; until all of them exist, drive ours directly.
    if importlib.util.find_spec("renderer.cli.analyze") is not None:
        command = [sys.executable, "-m", "renderer", *args]
    else:
        runner = (
            "import argparse, importlib, sys; m = importlib.import_module('renderer.cli.' + "
            "sys.argv[1]); p = argparse.ArgumentParser(); m.add_arguments(p); "
            "sys.exit(m.main(p.parse_args(sys.argv[2:])))"
        )
        command = [sys.executable, "-c", runner, *args]
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    full_env.pop("STEMVAULT_SIGNING_KEY", None) if env is None else None
    full_env.pop("STEMVAULT_PUBLIC_KEY", None) if env is None else None
    for name in ("C2PA_CERT_CHAIN_PEM", "C2PA_PRIVATE_KEY_PEM"):
        full_env.pop(name, None) if env is None else None
    return subprocess.run(command, capture_output=True, text=True, env=full_env, cwd=REPO)
