"""Job round trip: enqueue (row + doorbell on commit) until a worker has marked the job done.

Each broker runs in its own process with a fresh SQLite database under a temporary VAR_DIR, so
the two figures are measured alike and each is reported against the other and against the floor
of the same database (one committed write and one read, which every round trip must pay at
least three times: the insert, the claim and the completion).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

from bench import Figure, bench_redis_url

FIGURES = ("job_roundtrip_ms_embedded", "job_roundtrip_ms_redis")
ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 200


def _probe(broker_url: str | None) -> dict[str, float] | None:
    with tempfile.TemporaryDirectory(prefix="stemvault-bench-") as var_dir:
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in {"DATABASE_URL", "BROKER_URL"}
        }
        env["VAR_DIR"] = var_dir
        env["JOB_SWEEP_INTERVAL_S"] = "5"
        if broker_url:
            env["BROKER_URL"] = broker_url
        result = subprocess.run(
            [sys.executable, "-m", "bench._jobs_probe", str(ROUNDS)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if result.returncode != 0:
            sys.stderr.write(result.stderr[-2000:])
            return None
        return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def run(selected: list[str] | None) -> Iterable[Figure]:
    want = [name for name in FIGURES if not selected or any(name.startswith(s) for s in selected)]
    results: dict[str, dict[str, float] | None] = {}
    if "job_roundtrip_ms_embedded" in want:
        results["embedded"] = _probe(None)
    if "job_roundtrip_ms_redis" in want and (url := bench_redis_url("job_roundtrip_ms_redis")):
        results["redis"] = _probe(url)
    for kind, data in results.items():
        if data is None:
            continue
        other = results.get("redis" if kind == "embedded" else "embedded")
        peer = (
            f"floor: one committed write + read on the same SQLite = {data['floor_ms']:.2f} ms "
            f"(round trip = {data['median_ms'] / data['floor_ms']:.1f}x floor); p95 {data['p95_ms']:.1f} ms"
        )
        if other:
            peer += f"; {kind} / {'redis' if kind == 'embedded' else 'embedded'} = {data['median_ms'] / other['median_ms']:.2f}"
        yield Figure(
            name=f"job_roundtrip_ms_{kind}",
            value=round(data["median_ms"], 2),
            unit=f"ms, median of {ROUNDS}",
            target="lower is better",
            peer=peer,
        )
