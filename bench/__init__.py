"""Benchmarks: `python -m bench [NAME ...] [--json]`.

Each module listed in MODULES exposes `run() -> Iterable[Figure]`. A figure is reported as a ratio
against a peer or a physical floor measured in the same run wherever one exists.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from threadpoolctl import threadpool_limits

MODULES = [
    "bench.jobs",
    "bench.provenance",
    "bench.fingerprint",
    "bench.provenance_eval",
    "bench.render",
    "bench.royalties",
    "bench.fraud",
    "bench.payouts",
    "bench.uploads",
]


ROOT = Path(__file__).resolve().parent.parent


def run_probe(module_args: list[str], *, env: dict[str, str], timeout: float) -> Any:
    """Run `python -m MODULE ARGS...` from the repository root in a fresh interpreter (its own
    settings, database and memory) and return the JSON object on its last line of output.

    A probe that fails raises, with the end of its stderr written out, so a bench never
    reports figures from a run that did not happen."""
    result = subprocess.run(
        [sys.executable, "-m", *module_args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        sys.stderr.write(result.stderr[-4000:])
        raise RuntimeError(f"{' '.join(module_args)} failed (exit {result.returncode})")
    return json.loads(result.stdout.strip().splitlines()[-1])


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    target: str
    peer: str | None = None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if data["peer"] is None:
            del data["peer"]
        return data


@contextlib.contextmanager
def one_cpu() -> Iterator[None]:
    """Run the block on one CPU of the ones this process may use, with one BLAS thread.

    Pinning covers only the calling thread: OpenBLAS starts its worker threads at import, free to
    run on every core, so BLAS is limited to one thread as well (threadpoolctl). Where the
    process cannot be pinned (not Linux), only BLAS is limited."""
    allowed = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    if allowed:
        os.sched_setaffinity(0, {min(allowed)})
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        if allowed:
            os.sched_setaffinity(0, allowed)


def cpu_seconds() -> float:
    """User + system CPU time of this process, all its threads: over a block run under
    `one_cpu`, it equals the wall time when nothing ran in parallel."""
    times = os.times()
    return times.user + times.system
