"""Time to file: from a Sync API request to a downloadable, credentialed WAV (issue #16 item 8).

`soundtrack_p95_s_60s` and `soundtrack_p95_s_180s`: p95 over REQUESTS requests with distinct
seeds and moods of the demo vault, on the embedded default (SQLite, the in-process worker,
local storage), as `make run` serves them; each timed from the POST to the download's last byte
(bench/_soundtrack_probe.py says exactly what is timed and checked). Targets: 2 s and 4 s.
Reported beside the render job's own median run time in the same run: `vs_job` is how many
times the engine's time the client waits at p95.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable

from bench import Figure, run_probe

FIGURES = ("soundtrack_p95_s_60s", "soundtrack_p95_s_180s")
TARGETS = {60: 2.0, 180: 4.0}
REQUESTS = int(os.environ.get("BENCH_SOUNDTRACK_REQUESTS", "20"))


def _measure(seconds: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="stemvault-bench-") as var_dir:
        env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "BROKER_URL"}}
        env |= {"VAR_DIR": var_dir, "DEBUG": "1", "AWS_STORAGE_BUCKET_NAME": ""}
        result: dict[str, float] = run_probe(
            ["bench._soundtrack_probe", str(seconds), str(REQUESTS)], env=env, timeout=1800
        )
        return result


def run(selected: list[str] | None) -> Iterable[Figure]:
    for seconds in (60, 180):
        name = f"soundtrack_p95_s_{seconds}s"
        if selected and not any(name.startswith(s) for s in selected):
            continue
        data = _measure(seconds)
        job = data.get("job_median_s") or 0.0
        ratio = f"{data['p95_s'] / job:.2f}x" if job else "n/a"
        yield Figure(
            name,
            round(data["p95_s"], 3),
            f"s p95, request to last byte of a credentialed {seconds} s WAV "
            f"({int(data['requests'])} requests, embedded default)",
            f"<= {TARGETS[seconds]}",
            peer=(
                f"median {data['median_s']:.3f} s, max {data['max_s']:.3f} s; the render job "
                f"alone {job:.3f} s median, so p95 is {ratio} the engine's time; "
                f"{data['mean_bytes'] / 1e6:.1f} MB per file"
            ),
        )
