"""renderer.threads: a render's thread budget."""

from __future__ import annotations


def test_render_threads_come_from_the_environment_else_the_usable_cores(monkeypatch):
    from renderer.threads import default_workers

    monkeypatch.setenv("RENDER_THREADS", "3")
    assert default_workers() == 3
    monkeypatch.setenv("RENDER_THREADS", "zero")
    assert default_workers() >= 1
