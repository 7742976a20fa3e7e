"""The renderer's modules stay small enough to read: one concern each."""

from __future__ import annotations

from pathlib import Path

RENDERER = Path(__file__).resolve().parents[2] / "renderer"


def test_every_renderer_module_is_under_500_lines():
    lengths = {
        str(path.relative_to(RENDERER)): len(path.read_text(encoding="utf-8").splitlines())
        for path in RENDERER.rglob("*.py")
    }
    assert lengths and {name: n for name, n in lengths.items() if n >= 500} == {}
