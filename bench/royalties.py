"""Royalties: play ingestion over HTTP on PostgreSQL, and the allocation math at 10M plays.

ingest_events_per_s / ingest_p99_ms
    A fresh PostgreSQL database (DATABASE_URL if it is PostgreSQL, else
    postgres://postgres@127.0.0.1:5432/; the bench creates and drops `stemvault_bench`), migrated,
    with 50 finished mixes requested by an approved client app, whose credential reports the
    plays. The portal is served by Django's threaded WSGI server (what runserver uses, HTTP/1.1
    keep-alive, TCP_NODELAY as gunicorn sets it) in WORKERS processes (default 4: gunicorn's
    advice is 2-4 per core), each on its own port; a load generator in this process posts
    pre-built batches of 500 fresh events from CLIENTS keep-alive http.client connections spread
    round-robin over the workers, as a reverse proxy balances its upstreams. Server, PostgreSQL
    and load generator share this machine's cores.

allocate_10M_plays_s
    The pure allocation (portal.royalties.allocation.allocate, the very function the period close
    calls) over 10,000,000 qualifying plays on 10,000 mixes using 50,000 stems (8 per mix, 1-3
    credited artists each, 20,000 artists), mix lengths 120-300 s: plays binned per mix and second,
    stem-ns per (mix, stem), weights per (artist, stem), largest remainder to artists and to their
    statement lines. The compiled mixes and plays are generated with numpy beforehand (not timed).

rules_10M_plays_s
    The listening rules (portal.royalties.rules.hold, what period_compute calls: overlap, daily
    cap, volume spike, lockstep, threshold hugging) over the same 10M plays, given 2,000,000
    listeners on 50 apps, start times over a 31-day month and 14 days of volume history.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from bench import Figure, run_probe

FIGURES = ("ingest_events_per_s", "ingest_p99_ms", "allocate_10M_plays_s", "rules_10M_plays_s")
ROOT = Path(__file__).resolve().parent.parent
BENCH_DB = "stemvault_bench"
WORKERS = int(os.environ.get("BENCH_INGEST_WORKERS", "4"))
CLIENTS = int(os.environ.get("BENCH_INGEST_CLIENTS", "4"))
BATCH = 500
REQUESTS = int(os.environ.get("BENCH_INGEST_REQUESTS", "400"))
WARMUP = 24


# --- allocation -----------------------------------------------------------------------------------


def _synthetic_period(
    n_mixes: int = 10_000,
    n_stems: int = 50_000,
    n_plays: int = 10_000_000,
    n_artists: int = 20_000,
    seed: int = 6,
) -> tuple[list[Any], np.ndarray, np.ndarray]:
    from portal.royalties.manifests import PPM, CompiledMix

    rng = np.random.default_rng(seed)
    per_mix = 8
    # Every stem is used: the first 5 slots of each mix walk a permutation of all 50,000 stems.
    base = rng.permutation(n_stems).reshape(n_mixes, n_stems // n_mixes)
    extra = rng.integers(0, n_stems, size=(n_mixes, per_mix - base.shape[1]))
    stem_credits: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    credit_count = rng.integers(1, 4, size=n_stems)
    for stem in range(n_stems):
        k = int(credit_count[stem])
        artists = np.sort(rng.choice(n_artists, size=k, replace=False)).astype(np.int64) + 1
        cuts = np.sort(rng.choice(np.arange(1, 10_000), size=k - 1, replace=False))
        bps = np.diff(np.concatenate([[0], cuts, [10_000]])).astype(np.int64)
        stem_credits[stem] = (artists, bps)
    mixes = []
    durations = rng.integers(120, 301, size=n_mixes)
    for m in range(n_mixes):
        stems = sorted(set(base[m].tolist()) | set(extra[m].tolist()))
        seconds = int(durations[m])
        n = len(stems)
        # Each stem plays over a contiguous section; energy weights are random per second.
        start = rng.integers(0, seconds // 2, size=n)
        start[0] = 0  # something sounds from the first second
        end = np.minimum(seconds, start + rng.integers(seconds // 3, seconds + 1, size=n))
        end[0] = seconds
        grid = np.arange(seconds)
        active = (grid[None, :] >= start[:, None]) & (grid[None, :] < end[:, None])
        weights = rng.random((n, seconds)) * active
        ppm = np.floor(weights / weights.sum(axis=0, keepdims=True) * PPM).astype(np.int64)
        stem_index, second = np.nonzero(ppm)
        credit_stem, credit_artist, credit_bps = [], [], []
        for index, stem in enumerate(stems):
            artists, bps = stem_credits[stem]
            credit_stem.append(np.full(artists.shape[0], index, dtype=np.int64))
            credit_artist.append(artists)
            credit_bps.append(bps)
        mixes.append(
            CompiledMix(
                key=f"mix-{m}",
                duration_ms=seconds * 1000,
                seconds=seconds,
                stems=tuple(str(s + 1) for s in stems),
                entry_stem=stem_index.astype(np.int64),
                entry_second=second.astype(np.int64),
                entry_ppm=ppm[stem_index, second],
                credit_stem=np.concatenate(credit_stem),
                credit_artist=np.concatenate(credit_artist),
                credit_bps=np.concatenate(credit_bps),
            )
        )
    # Popularity is skewed (Zipf-like): a few mixes get most plays.
    popularity = 1.0 / np.arange(1, n_mixes + 1) ** 0.8
    play_mix = rng.choice(n_mixes, size=n_plays, p=popularity / popularity.sum()).astype(np.int64)
    lengths = durations[play_mix] * 1000
    play_ms = rng.integers(30_000, lengths + 1).astype(np.int64)
    return mixes, play_mix, play_ms


def _bench_allocation(want: list[str]) -> list[Figure]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    from portal.royalties import rules
    from portal.royalties.allocation import allocate

    t0 = time.perf_counter()
    mixes, play_mix, play_ms = _synthetic_period()
    generated = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = allocate(mixes, play_mix, play_ms, 1_000_000_00)
    elapsed = time.perf_counter() - t0
    assert sum(result.artist_amounts.values()) == 1_000_000_00
    figures = []
    if "allocate_10M_plays_s" in want:
        figures.append(
            Figure(
                name="allocate_10M_plays_s",
                value=round(elapsed, 2),
                unit="s",
                target="<= 10",
                peer=(
                    f"allocate() over 10M plays, 10k mixes, {sum(len(m.stems) for m in mixes)} "
                    f"(mix, stem) pairs, {len(result.lines)} statement lines, "
                    f"{len(result.artist_amounts)} artists paid exactly 1,000,000.00; "
                    f"input generation {generated:.1f} s (not timed)"
                ),
            )
        )
    if "rules_10M_plays_s" in want:
        rng = np.random.default_rng(1)
        n = play_ms.shape[0]
        n_apps = 50
        app = np.asarray(rng.integers(0, n_apps, size=n), dtype=np.int64)
        first_day = 19_800
        start_ms = np.asarray(
            first_day * 86_400_000 + rng.integers(0, 31 * 86_400_000, size=n), dtype=np.int64
        )
        durations = np.fromiter((m.duration_ms for m in mixes), dtype=np.int64, count=len(mixes))
        plays = rules.Plays(
            listener=np.asarray(rng.integers(0, 2_000_000, size=n), dtype=np.int64),
            app=app,
            mix=play_mix,
            start_ms=start_ms,
            ms_played=play_ms,
            duration_ms=durations[play_mix],
            rank=rng.permutation(n).astype(np.int64),
            candidate=np.ones(n, dtype=np.bool_),
            released=np.zeros(n, dtype=np.bool_),
            prior=np.zeros(n, dtype=np.int64),
        )
        days = rules.Thresholds().spike_history_days
        usual = np.full((n_apps, days), n // n_apps // 31, dtype=np.int64)
        history = rules.VolumeHistory(first_day - days, usual, np.zeros_like(usual))
        t0 = time.perf_counter()
        codes = rules.hold(plays, history, n_apps, rules.Thresholds())
        took = time.perf_counter() - t0
        held = {rules.rule_of(c): int(k) for c, k in enumerate(np.bincount(codes)) if c and k}
        figures.append(
            Figure(
                name="rules_10M_plays_s",
                value=round(took, 2),
                unit="s",
                target="<= 10",
                peer=(
                    f"rules.hold() over the same 10M plays (2M listeners on {n_apps} apps, "
                    f"random starts over 31 days): held {held}; with allocate(): "
                    f"{elapsed + took:.2f} s, what period_compute spends after reading the rows"
                ),
            )
        )
    return figures


# --- ingestion ------------------------------------------------------------------------------------


def _postgres_base() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        url = "postgres://postgres@127.0.0.1:5432/postgres"
    return url


def _with_db(url: str, name: str) -> str:
    parsed = urlparse(url)
    return parsed._replace(path=f"/{name}").geturl()


def _admin(url: str, statements: list[str]) -> None:
    import psycopg

    parsed = urlparse(url)
    with psycopg.connect(
        host=parsed.hostname or "127.0.0.1",
        port=parsed.port or 5432,
        user=parsed.username or "postgres",
        password=parsed.password or None,
        dbname="postgres",
        autocommit=True,
        connect_timeout=3,
    ) as conn:
        for statement in statements:
            conn.execute(statement)


def _server_env(db_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": db_url,
        "DEBUG": "0",
        "SECURE_SSL_REDIRECT": "0",
        "LOG_LEVEL": "WARNING",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _events(mixes: list[list[Any]], count: int, seed: int) -> list[bytes]:
    rng = np.random.default_rng(seed)
    base = datetime.now(UTC) - timedelta(days=1)
    bodies = []
    for _ in range(count):
        events = []
        for _ in range(BATCH):
            mix_id, duration = mixes[int(rng.integers(0, len(mixes)))]
            events.append(
                {
                    "event_id": str(uuid.uuid4()),
                    "mix_id": mix_id,
                    "listener_id": f"listener-{int(rng.integers(0, 100_000))}",
                    "started_at": (
                        base + timedelta(seconds=int(rng.integers(0, 80_000)))
                    ).isoformat(),
                    "ms_played": int(rng.integers(0, duration + 1)),
                    "client": "bench",
                }
            )
        bodies.append(json.dumps({"events": events}).encode())
    return bodies


def _load(ports: list[int], token: str, bodies: list[bytes]) -> tuple[float, list[float], int]:
    """Post every body once over CLIENTS keep-alive connections, client i to worker i mod
    WORKERS; (wall s, latencies ms, accepted)."""
    lock = threading.Lock()
    queue = list(reversed(bodies))
    latencies: list[float] = []
    accepted = [0]
    errors: list[str] = []
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def client(port: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while True:
            with lock:
                if not queue:
                    break
                body = queue.pop()
            t0 = time.perf_counter()
            conn.request("POST", "/api/v1/plays/", body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            took = (time.perf_counter() - t0) * 1000
            with lock:
                if response.status != 200:
                    errors.append(f"{response.status} {data[:200]!r}")
                else:
                    latencies.append(took)
                    accepted[0] += json.loads(data)["accepted"]
        conn.close()

    threads = [
        threading.Thread(target=client, args=(ports[i % len(ports)],)) for i in range(CLIENTS)
    ]
    t0 = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - t0
    if errors:
        raise RuntimeError(f"{len(errors)} failed requests, e.g. {errors[0]}")
    return wall, latencies, accepted[0]


def _bench_ingest() -> list[Figure]:
    base = _postgres_base()
    assert base is not None
    try:
        _admin(base, [f"DROP DATABASE IF EXISTS {BENCH_DB}", f"CREATE DATABASE {BENCH_DB}"])
    except Exception as exc:
        sys.stderr.write(
            f"bench.royalties: PostgreSQL unreachable at {base} ({exc}); ingest skipped\n"
        )
        return []
    db_url = _with_db(base, BENCH_DB)
    env = _server_env(db_url)
    servers: list[subprocess.Popen[bytes]] = []
    try:
        info = run_probe(["bench.royalties", "setup"], env=env, timeout=600)
        ports = [_free_port() for _ in range(WORKERS)]
        for port in ports:
            servers.append(
                subprocess.Popen(
                    [sys.executable, "-m", "bench.royalties", "serve", str(port)],
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                )
            )
        for port in ports:
            _wait_ready(port, servers)
        bodies = _events(info["mixes"], WARMUP + REQUESTS, seed=9)
        _load(ports, info["token"], bodies[:WARMUP])
        server_cpu_before = _cpu_seconds([s.pid for s in servers])
        monitor = _BackendCpu(base)
        monitor.start()
        wall, latencies, accepted = _load(ports, info["token"], bodies[WARMUP:])
        monitor.stop()
        server_cpu = _cpu_seconds([s.pid for s in servers]) - server_cpu_before
        events = REQUESTS * BATCH
        per_s = events / wall
        p50 = statistics.median(latencies)
        p99 = float(np.percentile(latencies, 99))
        load = os.getloadavg()[0]
        peer = (
            f"{REQUESTS} POSTs of {BATCH} events over {CLIENTS} keep-alive connections to "
            f"{WORKERS} Django threaded-WSGI processes (round-robin) on PostgreSQL, all on {os.cpu_count()} "
            f"cores (load average {load:.1f} at the end); accepted {accepted}/{events}; "
            f"p50 {p50:.1f} ms; CPU per event: Django {server_cpu / events * 1e6:.0f} us, "
            f"PostgreSQL backends {monitor.cpu / events * 1e6:.0f} us, over {wall:.1f} s wall"
        )
        return [
            Figure("ingest_events_per_s", round(per_s), "events/s", ">= 25000", peer),
            Figure("ingest_p99_ms", round(p99, 1), "ms per 500-event request", "<= 100", peer),
        ]
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
        try:
            _admin(base, [f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)"])
        except Exception as exc:
            sys.stderr.write(f"bench.royalties: could not drop {BENCH_DB}: {exc}\n")


class _BackendCpu:
    """CPU seconds the bench database's PostgreSQL backends use while it runs (from /proc)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    @property
    def cpu(self) -> float:
        return sum(self.last[pid] - self.first.get(pid, 0.0) for pid in self.last)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _sample(self) -> None:
        import psycopg

        parsed = urlparse(self.base_url)
        try:
            conn = psycopg.connect(
                host=parsed.hostname or "127.0.0.1",
                port=parsed.port or 5432,
                user=parsed.username or "postgres",
                password=parsed.password or None,
                dbname="postgres",
                autocommit=True,
            )
        except Exception:
            return
        with conn:
            while not self._stop.is_set():
                rows = conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s", [BENCH_DB]
                ).fetchall()
                for (pid,) in rows:
                    cpu = _cpu_seconds([pid])
                    if cpu:
                        self.first.setdefault(pid, cpu)
                        self.last[pid] = cpu
                self._stop.wait(0.25)


def _cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            return 0.0
    return total


def _wait_ready(port: int, servers: list[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for server in servers:
            if server.poll() is not None:
                raise RuntimeError(
                    f"server exited: {server.stderr.read()[-2000:] if server.stderr else ''!r}"
                )
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/v1/me/")
            conn.getresponse().read()
            conn.close()
            time.sleep(0.5)  # let it finish importing before the load starts
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the portal did not start within 60 s")


# --- subprocess modes -----------------------------------------------------------------------------


def _setup() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from bench._rows import approved_stem, license_for_bench
    from portal.accounts.services import user_create
    from portal.mixes.models import Mix, RenderKind, RenderStatus
    from portal.stems.models import Submission

    player = user_create(username="bench-player", role="artist", password=None)
    artist = user_create(username="bench-artist", role="artist", password=None)
    submission = Submission.objects.create(artist=artist, license=license_for_bench())
    stems = [
        approved_stem(submission=submission, artist=artist, title=f"bench {i}", index=i)
        for i in range(20)
    ]
    mixes = []
    for m in range(50):
        used = [stems[(m + k) % 20] for k in range(4)]
        seconds = 120 + m
        manifest = {
            "stems": [
                {
                    "id": str(s.pk),
                    "credits": [{"artist_id": artist.pk, "artist": "a", "split_bps": 10000}],
                }
                for s in used
            ],
            "attribution": {
                "resolution_s": 1,
                "seconds": [
                    {"t": t, "shares": {str(s.pk): 0.25 for s in used}} for t in range(seconds)
                ],
            },
        }
        mix = Mix.objects.create(
            kind=RenderKind.SOUNDTRACK,
            status=RenderStatus.DONE,
            duration_ms=seconds * 1000,
            duration_s=float(seconds),
            manifest=manifest,
        )
        mixes.append([str(mix.pk), seconds * 1000])
    # Plays are reported with an approved client app's credential, of the app's own mixes,
    # dated after the mixes were requested.
    from portal.clients.services import app_decide, app_register, credential_issue

    staff = user_create(username="bench-staff", role="staff", password=None)
    app = app_register(owner=player, name="bench game")
    app_decide(app_id=app.pk, actor=staff, status="approved")
    Mix.objects.update(client_app=app, created_at=datetime.now(UTC) - timedelta(days=3))
    token = credential_issue(app_id=app.pk, actor=player, name="bench").plain
    print(json.dumps({"token": token, "mixes": mixes}))


def _serve(port: int) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    django.setup()
    from django.core.servers.basehttp import (
        ThreadedWSGIServer,
        WSGIRequestHandler,
        get_internal_wsgi_application,
    )

    class QuietHandler(WSGIRequestHandler):
        # TCP_NODELAY, as gunicorn sets on its TCP sockets: the WSGI handler writes the status
        # line, headers and body in separate sends, and with Nagle on, the body waits for the
        # client's delayed ACK (40 ms on Linux) on every keep-alive response.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadedWSGIServer(("127.0.0.1", port), QuietHandler)
    server.set_app(get_internal_wsgi_application())
    server.serve_forever()


def run(selected: list[str] | None) -> Iterable[Figure]:
    want = [name for name in FIGURES if not selected or any(name.startswith(s) for s in selected)]
    if "ingest_events_per_s" in want or "ingest_p99_ms" in want:
        for figure in _bench_ingest():
            if figure.name in want:
                yield figure
    if "allocate_10M_plays_s" in want or "rules_10M_plays_s" in want:
        yield from _bench_allocation(want)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    if sys.argv[1] == "setup":
        _setup()
    elif sys.argv[1] == "serve":
        _serve(int(sys.argv[2]))
    else:
        raise SystemExit("usage: python -m bench.royalties setup|serve PORT")
