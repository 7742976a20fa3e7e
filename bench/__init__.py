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
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from threadpoolctl import threadpool_limits

MODULES = [
    "bench.jobs",
    "bench.provenance",
    "bench.fingerprint",
    "bench.provenance_eval",
    "bench.render",
    "bench.formats",
    "bench.royalties",
    "bench.fraud",
    "bench.payouts",
    "bench.uploads",
    "bench.soundtracks",
    "bench.deliveries",
    "bench.clearance",
    "bench.stream",
    "bench.catalogue",
    "bench.stream_listeners",
]


ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus" / "cc0-samples"
# Eight CC0 recordings that make a mix: beats, bass, pads, a choir, a drone, tabla.
CORPUS_MIX_STEMS = (
    "arovane_beat_a",
    "arovane_beat_b",
    "bass_dnb_f",
    "ambi_choir",
    "ambi_drone",
    "ambi_piano",
    "ambi_glass_hum",
    "loop_tabla",
)


def corpus_mix_paths() -> list[Path] | None:
    """The FLAC files of CORPUS_MIX_STEMS, or None when the shared corpus is not there."""
    paths = [CORPUS / f"{name}.flac" for name in CORPUS_MIX_STEMS]
    return paths if all(path.exists() for path in paths) else None


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


@dataclass
class Rounds:
    """Seconds of one contender's timed runs: wall clock, and this process's CPU time."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)


def interleaved_rounds(actions: dict[str, Callable[[], object]], runs: int) -> dict[str, Rounds]:
    """Time each action over `runs` rounds, every round running each action once in turn (the
    order rotating from round to round), after one untimed round: a slow spell of the machine
    falls on every contender alike, none always follows the same one, and none is timed with
    cold caches or a cold heap. CPU time is `time.process_time` (all of this process's threads,
    at a finer grain than `cpu_seconds`; a child process's time is not in it)."""
    for action in actions.values():
        action()
    rounds = {name: Rounds() for name in actions}
    names = list(actions)
    for round_ in range(runs):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            wall, cpu = time.perf_counter(), time.process_time()
            actions[name]()
            rounds[name].cpu.append(time.process_time() - cpu)
            rounds[name].wall.append(time.perf_counter() - wall)
    return rounds


def cpu_seconds() -> float:
    """User + system CPU time of this process, all its threads: over a block run under
    `one_cpu`, it equals the wall time when nothing ran in parallel."""
    times = os.times()
    return times.user + times.system


def bench_redis_url(skipped: str) -> str | None:
    """The Redis a bench may run its broker figures on (BENCH_REDIS_URL, default db 9), or None,
    with a line naming the figure `skipped` that then is not measured."""
    url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
    try:
        import redis

        redis.Redis.from_url(url, socket_timeout=1).ping()
    except Exception:
        sys.stderr.write(f"bench: no Redis at {url}; {skipped} skipped\n")
        return None
    return url


@contextlib.contextmanager
def probe_worker(embedded_threads: int | None = None) -> Iterator[None]:
    """Inside a probe (Django set up): a worker for the probe's jobs, as `make run` has one. On the
    embedded broker the in-process worker; on Redis or RabbitMQ a `rundramatiq` process (one
    process, two threads) started on emptied queues and stopped on the way out."""
    from django.conf import settings

    worker = None
    if settings.BROKER_KIND == "embedded":
        from portal.jobs.embedded import start_embedded_worker

        start_embedded_worker(embedded_threads)
    else:
        import dramatiq

        dramatiq.get_broker().flush_all()
        worker = subprocess.Popen(
            [sys.executable, "manage.py", "rundramatiq", "--processes", "1", "--threads", "2"],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    try:
        yield
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=20)
