"""renderer.threads: a render's thread budget, and BLAS kept inside it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_pinning_limits_every_blas_library_to_one_thread_per_call():
    pytest.importorskip("threadpoolctl")
    # In a fresh interpreter: the limit lasts for the process, and must not slow this one.
    script = (
        "import json, numpy\n"
        "from threadpoolctl import threadpool_info, threadpool_limits\n"
        "threadpool_limits(limits=2, user_api='blas')  # as if BLAS had two cores to itself\n"
        "from renderer.threads import pin_blas_threads\n"
        "applied = pin_blas_threads()\n"
        "again = pin_blas_threads()\n"
        "blas = [i['num_threads'] for i in threadpool_info() if i['user_api'] == 'blas']\n"
        "print(json.dumps([applied, again, blas]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    applied, again, blas = json.loads(done.stdout)
    assert applied and again
    assert blas and all(threads == 1 for threads in blas)


def test_render_threads_come_from_the_environment_else_the_usable_cores(monkeypatch):
    from renderer.threads import default_workers

    monkeypatch.setenv("RENDER_THREADS", "3")
    assert default_workers() == 3
    monkeypatch.setenv("RENDER_THREADS", "zero")
    assert default_workers() >= 1
