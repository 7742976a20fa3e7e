"""How many real-time listeners the whole stack serves on this 2-core machine (issue 15, item 10).

`stream_listeners_2_cores`: the largest number of simulated listeners (bench/_listeners_load.py:
each opens a session with a seed of its own, reloads the live playlist, fetches every segment
over HTTP in real time and sends the /listen/ player's heartbeats) that the stack serves for
BENCH_LISTENERS_SECONDS (default 300 s each) with zero underruns, gaps and errors; target >= 200.

The stack is the real one, started as processes of its own on a free port with a fresh state:
- embedded (the figure `stream_listeners_2_cores`): `manage.py runportal` as `make run` starts
  it (DEBUG on, SQLite in a temporary VAR_DIR, local storage, the embedded worker in the web
  process);
- redis (`stream_listeners_2_cores_redis`, when a Redis answers at BENCH_REDIS_URL): the same
  `runportal`, which then starts a `rundramatiq` worker process, plus
  BENCH_LISTENERS_RENDER_WORKERS (default 1) `rundramatiq --queues renders` processes, on the
  PostgreSQL of BENCH_LISTENERS_DATABASE_URL (emptied first) or else SQLite.
The API's rate limits are raised (THROTTLE_USER): one app's credential carries every listener's
heartbeats here, which a real app's listeners would spread over their own requests.

After a warm-up run of 2 listeners (not counted), the count is searched with shorter runs
(BENCH_LISTENERS_SEARCH_S, default 60 s): doubling from
BENCH_LISTENERS_START (16) up to BENCH_LISTENERS_MAX (256), then bisecting to within 10%; the
figure is the count a full-length run then serves (stepping down by 15% until one does).
BENCH_LISTENERS_STACKS (default "embedded,redis") chooses the stacks measured. The load
generator's own CPU share, the stack's and the whole machine's are printed beside it: on a
machine shared with other work the figure is a floor.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from bench import ROOT, Figure, bench_redis_url, run_probe
from bench._listeners_load import Outcome, run_listeners

FIGURES = ("stream_listeners_2_cores", "stream_listeners_2_cores_redis")
TARGET = ">= 200"
HOST = "127.0.0.1"


def _env_float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _ticks(pids: Iterable[int]) -> float:
    """CPU seconds (user + system) used so far by these processes."""
    hz = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / hz
    return total


def _group(pgid: int) -> list[int]:
    """The processes of a process group (the stack: the server and the workers it started)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[2]) == pgid:
                    pids.append(int(entry.name))
    return pids


def _machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    hz = os.sysconf("SC_CLK_TCK")
    idle = values[3] + values[4]
    return (sum(values) - idle) / hz, sum(values) / hz


@dataclass
class Stack:
    port: int
    credential: str
    groups: list[subprocess.Popen[bytes]]

    def cpu(self) -> float:
        return _ticks(pid for p in self.groups for pid in _group(p.pid))


@contextlib.contextmanager
def _stack(broker_url: str | None, database_url: str | None) -> Iterator[Stack]:
    with tempfile.TemporaryDirectory(prefix="stemvault-bench-listeners-") as var_dir:
        drop = {"DATABASE_URL", "BROKER_URL", "CACHE_URL", "AWS_STORAGE_BUCKET_NAME"}
        env = {k: v for k, v in os.environ.items() if k not in drop}
        port = _free_port()
        env.update(
            VAR_DIR=var_dir,
            DEBUG="1",  # as `make run`: plain HTTP, no HTTPS redirect
            PORT=str(port),
            THROTTLE_USER="1000000/min",
            THROTTLE_ANON="1000000/min",
        )
        if broker_url:
            env["BROKER_URL"] = broker_url
            if database_url:
                env["DATABASE_URL"] = database_url
        credential = run_probe(["bench._listeners_setup"], env=env, timeout=900)["credential"]
        log = Path(var_dir) / "stack.log"
        commands = [[sys.executable, "manage.py", "runportal", "--port", str(port)]]
        if broker_url:
            extra = int(os.environ.get("BENCH_LISTENERS_RENDER_WORKERS", "1"))
            render = ["rundramatiq", "--processes", "1", "--threads", "1", "--queues", "renders"]
            commands += [[sys.executable, "manage.py", *render]] * extra
        groups = [
            subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdout=log.open("ab"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            for command in commands
        ]
        try:
            _wait_listening(port, groups[0], log)
            yield Stack(port, credential, groups)
        finally:
            for process in groups:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
            for process in groups:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)


def _wait_listening(port: int, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"runportal exited: {log.read_text()[-2000:]}")
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=1):
            return
        time.sleep(0.2)
    raise RuntimeError("runportal did not listen within 120 s")


@dataclass
class Trial:
    count: int
    seconds: float
    outcome: Outcome
    wall_s: float
    generator_cpu_s: float
    stack_cpu_s: float
    machine_busy: float  # share of the whole machine's CPU that was busy

    @property
    def served(self) -> bool:
        return self.outcome.served

    def describe(self) -> str:
        o = self.outcome
        cores = os.cpu_count() or 1
        first = sorted(o.first_audio_s)
        median_first = first[len(first) // 2] if first else float("nan")
        return (
            f"{self.count} listeners x {self.seconds:.0f} s: {o.underruns} underruns "
            f"({o.stalled_s:.1f} s stalled), {o.gaps} gaps, {o.errors} errors, {o.segments} "
            f"segments, {o.heartbeats} heartbeats, {o.playlists} playlists; first audio median "
            f"{median_first:.2f} s; worst margin {o.worst_margin_s:.2f} s; load generator "
            f"{self.generator_cpu_s / self.wall_s / cores:.1%} of the machine, stack "
            f"{self.stack_cpu_s / self.wall_s / cores:.1%}, machine busy {self.machine_busy:.0%}"
            + (f"; errors e.g. {o.error_samples[:2]}" if o.error_samples else "")
        )


def _trial(stack: Stack, count: int, seconds: float, seed0: int) -> Trial:
    segment_s = _env_float("STREAM_SEGMENT_SECONDS", 2.0)
    ramp_s = min(20.0, seconds / 5)
    times, stack_cpu, (busy, total) = os.times(), stack.cpu(), _machine_busy()
    wall = time.monotonic()
    outcome = asyncio.run(
        run_listeners(
            host=HOST,
            port=stack.port,
            credential=stack.credential,
            count=count,
            seconds=seconds,
            ramp_s=ramp_s,
            seed0=seed0,
            segment_s=segment_s,
        )
    )
    wall = time.monotonic() - wall
    after = os.times()
    busy_after, total_after = _machine_busy()
    trial = Trial(
        count=count,
        seconds=seconds,
        outcome=outcome,
        wall_s=wall,
        generator_cpu_s=(after.user + after.system) - (times.user + times.system),
        stack_cpu_s=stack.cpu() - stack_cpu,
        machine_busy=(busy_after - busy) / max(1e-9, total_after - total),
    )
    sys.stderr.write(f"bench: stream listeners: {trial.describe()}\n")
    # Let the previous run's sessions end and their render-ahead drain before the next.
    time.sleep(5)
    return trial


def search(trial: Callable[[int, float], Trial]) -> tuple[int, Trial | None, list[Trial]]:
    """(the count served at full length, that run, every run made)."""
    short = _env_float("BENCH_LISTENERS_SEARCH_S", 60.0)
    full = _env_float("BENCH_LISTENERS_SECONDS", 300.0)
    count = int(os.environ.get("BENCH_LISTENERS_START", "16"))
    # Warm-up, not counted: the workers booted and their decoded-stem caches filled, as in a
    # stack that has been serving for a while.
    trial(2, 20.0)
    most = int(os.environ.get("BENCH_LISTENERS_MAX", "256"))
    runs: list[Trial] = []
    served, failed = 0, None
    while count <= most:
        runs.append(run := trial(count, short))
        if not run.served:
            failed = count
            break
        served, count = count, count * 2
    while failed is not None and failed - served > max(1, served // 10):
        middle = (served + failed) // 2
        runs.append(run := trial(middle, short))
        served, failed = (middle, failed) if run.served else (served, middle)
    count = served
    while count > 0:
        if short == full and runs and any(r.count == count and r.served for r in runs):
            return count, next(r for r in runs if r.count == count and r.served), runs
        runs.append(run := trial(count, full))
        if run.served:
            return count, run, runs
        count = int(count * 0.85)
    return 0, None, runs


def _figure(name: str, stack_kind: str, found: tuple[int, Trial | None, list[Trial]]) -> Figure:
    count, run, runs = found
    tried = ", ".join(
        f"{r.count}{'' if r.served else ' (not served)'}@{r.seconds:.0f}s" for r in runs
    )
    peer = (run.describe() if run else "no count was served") + f"; runs: {tried}"
    return Figure(
        name,
        count,
        f"listeners in real time with zero underruns ({stack_kind})",
        TARGET,
        peer=peer,
    )


def run(selected: list[str] | None = None) -> Iterable[Figure]:
    def wanted(name: str) -> bool:
        return not selected or any(name.startswith(s) for s in selected)

    stacks = os.environ.get("BENCH_LISTENERS_STACKS", "embedded,redis").split(",")
    seeds = iter(range(10_000, 10**9, 10_000))  # every run's listeners have seeds of their own
    if wanted(FIGURES[0]) and "embedded" in stacks:
        with _stack(None, None) as stack:
            found = search(lambda n, s: _trial(stack, n, s, next(seeds)))
        yield _figure(
            FIGURES[0], "runportal as `make run`: embedded worker, SQLite, local storage", found
        )
    if wanted(FIGURES[1]) and "redis" in stacks and (url := bench_redis_url(FIGURES[1])):
        database = os.environ.get("BENCH_LISTENERS_DATABASE_URL")
        workers = int(os.environ.get("BENCH_LISTENERS_RENDER_WORKERS", "1"))
        with _stack(url, database) as stack:
            found = search(lambda n, s: _trial(stack, n, s, next(seeds)))
        kind = (
            f"runportal + its rundramatiq + {workers} render-only rundramatiq on Redis, "
            f"{'PostgreSQL' if database else 'SQLite'}, local storage"
        )
        yield _figure(FIGURES[1], kind, found)
