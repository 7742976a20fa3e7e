"""What the repository tracks: the project, never a machine's environment or state."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT


def _tracked() -> list[str]:
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
        ).stdout
    except (FileNotFoundError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [name for name in out.decode().split("\0") if name]


def test_no_virtualenv_or_local_state_is_tracked():
    # A tracked `.venv` (once a symlink to a worktree's shared venv) replaces the real one on
    # every checkout that merges it, and points a clean clone at a folder it does not have.
    local = [n for n in _tracked() if n.split("/")[0] in {".venv", "var", "test-artifacts"}]
    assert local == []


def test_no_tracked_symlink_points_outside_the_repository():
    root = ROOT.resolve()
    outside = []
    for name in _tracked():
        path = ROOT / name
        # realpath, not resolve(): a link to itself (the one that was tracked) must not raise.
        if path.is_symlink() and not Path(os.path.realpath(path)).is_relative_to(root):
            outside.append(name)
    assert outside == []
