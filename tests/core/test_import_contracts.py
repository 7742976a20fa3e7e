"""The import contracts of pyproject.toml ([tool.importlinter], ARCHITECTURE.md) are kept."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_no_domain_imports_one_above_it_and_no_package_has_an_import_cycle():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "Portal domains stand in layers" in done.stdout
    assert "The renderer is pure" in done.stdout
    assert " broken" not in done.stdout.split("Contracts:")[-1].replace("0 broken", "")
