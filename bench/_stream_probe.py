"""Measures the live player in a process of its own (see bench/stream.py).

`python -m bench._stream_probe [--seconds S] [--sessions N] [--posts P] [--stems K]` migrates the SQLite
database of its VAR_DIR, seeds the demo vault (accounts, client app, stems, review: the stems
approved through the product's own services), then prints one JSON object with what it measured:

- rtf: `stream_render_ahead` (the worker's whole pipeline) rendering S seconds of one session in
  this thread, pinned to one CPU, with no worker running; wall and CPU time, per stage.
- first_audio_ms: N sessions opened through the API with the demo app's credential, each timed
  from the POST to its first segment listed, fetched and decoded, on the configured broker (the
  embedded worker in this process, or a `rundramatiq` subprocess when BROKER_URL is Redis).
- control: P controls POSTs at random moments of one session that a player thread plays in real
  time; for each, the playhead at the POST and the time the response says the change is heard.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from bench import probe_worker

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

SEEDERS = ("portal.accounts.demo", "portal.clients.demo", "portal.stems.demo", "portal.review.demo")
MOODS = ("calm", "uplifting")


class _Quiet:
    def write(self, *_: Any, **__: Any) -> None:
        pass


def _seed(stems: int) -> Any:
    import importlib

    from portal.clients.demo import demo_app
    from portal.clients.services import credential_issue
    from portal.stems import demo as stems_demo

    if stems:  # a small vault for a quick run: the first `stems` demo stems of the two moods
        specs = [s for s in stems_demo.SPECS if set(s.moods) & set(MOODS)]
        stems_demo.SPECS = specs[:stems]
    for name in SEEDERS:
        importlib.import_module(name).seed(out=_Quiet())
    _drain()  # the approvals' preview renders, before anything is timed
    app = demo_app()
    if app is None:
        raise RuntimeError("the demo seeders made no client app")
    return app, credential_issue(app_id=app.pk, actor=app.owner, name="bench").plain


def _drain() -> None:
    """Run every runnable queued job in this thread, as a worker would."""
    from django.utils import timezone

    from portal.jobs.models import Job, JobStatus
    from portal.jobs.services import job_execute

    while ids := list(
        Job.objects.filter(status=JobStatus.QUEUED, run_after__lte=timezone.now())
        .order_by("pk")
        .values_list("pk", flat=True)
    ):
        for job_id in ids:
            job_execute(job_id)


def _timed(module: Any, name: str, stages: dict[str, float], stage: str) -> Callable[[], None]:
    """Wrap module.name so its wall time adds to stages[stage]; returns the undo."""
    original = getattr(module, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            stages[stage] += time.perf_counter() - started

    setattr(module, name, wrapper)
    return lambda: setattr(module, name, original)


def _render_run(app: Any, seed: int, seconds: float) -> tuple[int, float]:
    """Open a session whose origin lies in the past, so that the lead asks for `seconds` of audio;
    returns (session's segments rendered, seconds of audio)."""
    from django.utils import timezone

    from portal.streams import engine, schedule
    from portal.streams.models import StreamSession
    from portal.streams.services.rendering import stream_render_ahead
    from portal.streams.services.sessions import stream_create, stream_end

    session = stream_create(
        app=app, listener_id=f"bench-{seed}", mood=MOODS[seed % 2], intensity=0.6, seed=seed
    )
    count = max(1, round(seconds / engine.segment_seconds()))
    # Rendered: indexes 0 .. edge + lead + batch - 1, edge = (elapsed + publish_ahead_s) // segment.
    edge = count - schedule.lead_segments() - schedule.render_batch()
    elapsed = (edge + 0.5) * engine.segment_seconds() - schedule.publish_ahead_s()
    StreamSession.objects.filter(pk=session.pk).update(
        origin=timezone.now() - timedelta(seconds=max(0.0, elapsed))
    )
    result = stream_render_ahead(
        session_id=str(session.pk), generation=session.generation, progress=lambda _: None
    )
    stream_end(session=session)  # its queued render job then finds nothing to do
    rendered = len(result["rendered"])
    return rendered, rendered * engine.segment_seconds()


def measure_rtf(app: Any, seconds: float) -> dict[str, Any]:
    from bench import cpu_seconds, one_cpu
    from portal.streams import engine
    from portal.streams.services import rendering

    # Warm-up: imports, code paths and the worker's decode cache (a worker in service has the
    # vault's stems decoded already; one decode serves every listener).
    _render_run(app, 4, seconds)  # the mood of the timed session, another seed
    stages: dict[str, float] = defaultdict(float)
    undo = [
        _timed(engine, "vault_now", stages, "vault"),
        _timed(engine, "render_segment", stages, "plan_mix_master"),
        _timed(engine, "segment_manifest", stages, "manifest"),
        _timed(rendering, "manifest_sign", stages, "sign"),
        _timed(engine, "delivered_pcm", stages, "dither"),
        _timed(engine, "media_segment", stages, "encode"),
        _timed(engine, "embed_manifest", stages, "embed"),
        _timed(rendering, "_store", stages, "store"),
        _timed(rendering, "_commit", stages, "commit"),
        _timed(rendering, "self_output_register", stages, "fingerprint"),
    ]
    try:
        with one_cpu():
            wall, cpu = time.perf_counter(), cpu_seconds()
            segments, audio_s = _render_run(app, 2, seconds)
            wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    finally:
        for step in undo:
            step()
    stages["other"] = max(0.0, wall - sum(stages.values()))
    return {
        "segments": segments,
        "audio_s": audio_s,
        "wall_s": wall,
        "cpu_s": cpu,
        "stages_s": dict(stages),
    }


def measure_rtf_steady(app: Any, seconds: float) -> dict[str, Any]:
    """A session somebody listens to, once its lead is met: each segment length of wall clock
    (here: the origin moved one segment back instead of waiting) a playlist fetch enqueues one
    render job, and a worker runs it through the job system (claim, render one segment, succeed).
    Timed: the jobs only, pinned to one CPU."""
    from django.db.models import F
    from django.utils import timezone

    from bench import cpu_seconds, one_cpu
    from portal.streams import engine
    from portal.streams.models import StreamSegment, StreamSession
    from portal.streams.services.rendering import render_needed
    from portal.streams.services.sessions import stream_create, stream_end

    session = stream_create(
        app=app, listener_id="bench-steady", mood=MOODS[0], intensity=0.6, seed=3
    )
    _drain()  # its first segments, up to the lead: not timed
    ready = StreamSegment.objects.filter(session=session, status="ready")
    before = ready.count()
    step = timedelta(seconds=engine.segment_seconds())
    wall = cpu = 0.0
    with one_cpu():
        for _ in range(max(1, round(seconds / engine.segment_seconds()))):
            StreamSession.objects.filter(pk=session.pk).update(origin=F("origin") - step)
            session.refresh_from_db()
            render_needed(session=session, now=timezone.now())
            started, used = time.perf_counter(), cpu_seconds()
            _drain()
            wall, cpu = wall + time.perf_counter() - started, cpu + cpu_seconds() - used
    segments = ready.count() - before
    stream_end(session=session)
    return {
        "segments": segments,
        "audio_s": segments * engine.segment_seconds(),
        "wall_s": wall,
        "cpu_s": cpu,
    }


class _Api:
    """The real API and playback views, in process (Django's test client: the same middleware,
    authentication and views as a request over HTTP, without the socket)."""

    def __init__(self, credential: str) -> None:
        from rest_framework.test import APIClient

        self.client = APIClient()
        self.client.credentials(HTTP_AUTHORIZATION=f"Bearer {credential}")

    def post(self, path: str, body: dict[str, Any]) -> Any:
        response = self.client.post(path, body, format="json", secure=True)
        if response.status_code >= 300:
            raise RuntimeError(f"POST {path}: {response.status_code} {response.content[:300]!r}")
        return response.json()

    def get(self, path: str) -> Any:
        return self.client.get(path, secure=True)


def _path(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def _first_audio(api: _Api, seed: int, init: list[bytes]) -> float:
    from portal.streams import engine

    started = time.perf_counter()
    created = api.post(
        "/api/v1/streams/",
        {"listener_id": f"first-{seed}", "mood": MOODS[seed % 2], "intensity": 0.5, "seed": seed},
    )
    base = _path(created["playlist_url"]).rsplit("/", 1)[0]
    deadline = started + 30
    while True:
        playlist = api.get(base + "/live.m3u8")  # waits up to 3 s for the first segment itself
        listed = re.findall(r"seg/(\d+)\.m4s", playlist.content.decode())
        if playlist.status_code == 200 and listed:
            break
        if time.perf_counter() > deadline:
            raise RuntimeError(f"no segment listed 30 s after opening session {created['id']}")
        time.sleep(0.01)
    if not init:
        init.append(api.get(base + "/init.mp4").content)  # cached by players and CDNs alike
    segment = api.get(f"{base}/seg/{listed[0]}.m4s")
    if segment.status_code != 200:
        raise RuntimeError(f"listed segment {listed[0]} answered {segment.status_code}")
    audio = engine.decode(init[0], [segment.content])
    if len(audio) == 0:
        raise RuntimeError("the first segment decoded to no audio")
    elapsed = time.perf_counter() - started
    api.post(f"/api/v1/streams/{created['id']}/end", {})
    return elapsed


def _wait_idle(timeout: float = 60) -> None:
    """Until no job is queued or running (the previous session's render-ahead is done)."""
    from portal.jobs.models import Job, JobStatus

    deadline = time.monotonic() + timeout
    while Job.objects.filter(
        status__in=[JobStatus.QUEUED, JobStatus.RUNNING], kind="streams.render"
    ).exists():
        if time.monotonic() > deadline:
            raise RuntimeError("render jobs still queued or running after 60 s")
        time.sleep(0.02)


def measure_first_audio(api: _Api, sessions: int) -> list[float]:
    init: list[bytes] = []
    _first_audio(api, 990, init)  # warm-up: imports, first decodes into the worker's cache
    _wait_idle()
    timings = []
    for seed in range(100, 100 + sessions):
        timings.append(_first_audio(api, seed, init) * 1000)
        _wait_idle()
    return timings


def _player(
    api: _Api,
    base: str,
    origin: float,
    stop: threading.Event,
    delivered: list[int],
    margins: list[float],
    answers: list[float],
) -> None:
    """Plays as hls.js in lowLatencyMode does: once it holds a segment, a blocking reload for
    the next (`?_HLS_msn=N`, held by the server until N is published), then each segment listed
    that it has not, and at once the next blocking reload; half a segment's pause only when a
    reload brought nothing. For each segment, how long before its play time for a player in
    real time from the origin (the playhead the latency is measured from) it arrived: negative
    is a stall of that player. And for each held reload, how long after the publication of the
    segment it asked for its answer came."""
    from django.db import connection

    from portal.streams import engine, schedule

    try:
        while not stop.is_set():
            held = f"?_HLS_msn={delivered[-1] + 1}" if delivered else ""
            playlist = api.get(base + "/live.m3u8" + held)
            if delivered and playlist.status_code == 200:
                published = origin + (delivered[-1] + 1) * engine.segment_seconds()
                answers.append(time.time() - published + schedule.publish_ahead_s())
            progressed = False
            for index in map(int, re.findall(r"seg/(\d+)\.m4s", playlist.content.decode())):
                fresh = not delivered or index > delivered[-1]
                if fresh and api.get(f"{base}/seg/{index}.m4s").status_code == 200:
                    margins.append(origin + index * engine.segment_seconds() - time.time())
                    delivered.append(index)
                    progressed = True
            if not progressed:
                stop.wait(engine.segment_seconds() / 2)
    finally:
        connection.close()


def _margins(
    session: Any, changes: list[tuple[int, float, float]]
) -> tuple[list[float], list[float]]:
    """For each change whose first changed segment was rendered before a later change discarded
    it: how long before its play time (origin + its start) it was ready (negative = a stall),
    and how long after the POST."""
    from portal.streams import engine
    from portal.streams.models import StreamSegment

    margins, after_post = [], []
    for generation, heard_s, posted in changes:
        index = int(heard_s // engine.segment_seconds())
        row = StreamSegment.objects.filter(
            session=session, generation=generation, index=index
        ).first()
        if row is not None:
            plays_at = session.origin.timestamp() + index * engine.segment_seconds()
            margins.append(plays_at - row.rendered_at.timestamp())
            after_post.append(row.rendered_at.timestamp() - posted)
    return margins, after_post


def measure_control(api: _Api, posts: int) -> dict[str, Any]:
    from portal.streams import engine, schedule, selectors
    from portal.streams.models import StreamSession

    rng = random.Random(15)
    created = api.post(
        "/api/v1/streams/",
        {"listener_id": "controls", "mood": "calm", "intensity": 0.5, "seed": 4242},
    )
    session = StreamSession.objects.get(pk=created["id"])
    base = _path(created["playlist_url"]).rsplit("/", 1)[0]
    stop, delivered = threading.Event(), list[int]()
    arrivals, answers = list[float](), list[float]()
    player = threading.Thread(
        target=_player,
        args=(api, base, session.origin.timestamp(), stop, delivered, arrivals, answers),
        daemon=True,
    )
    player.start()
    latencies: list[float] = []
    changes: list[tuple[int, float, float]] = []  # (generation after it, heard_from_s, POST)
    tempos: set[float] = set()
    try:
        time.sleep(1.0)
        for _ in range(posts):
            time.sleep(rng.uniform(0.3, 2.5))
            body: dict[str, Any] = (
                {"intensity": round(rng.uniform(0.1, 0.9), 2)}
                if rng.random() < 0.5
                else {"mood": rng.choice(MOODS)}
            )
            # The playhead of a player that plays in real time from the session's origin.
            posted = time.time()
            playhead = posted - session.origin.timestamp()
            answer = api.post(f"/api/v1/streams/{session.pk}/controls", body)
            latencies.append(answer["heard_from_s"] - playhead)
            generation = StreamSession.objects.values_list("generation", flat=True).get(
                pk=session.pk
            )
            changes.append((generation, answer["heard_from_s"], posted))
            last = selectors.latest_ready(session)
            if last is not None and last.state_after["data"]["plan"].get("tempo"):
                tempos.add(float(last.state_after["data"]["plan"]["tempo"]))
    finally:
        stop.set()
        player.join(timeout=10)
    margins, after_post = _margins(session, changes)
    return {
        "latencies_s": latencies,
        "margins_s": margins,
        "ready_after_post_s": after_post,
        "segment_s": engine.segment_seconds(),
        "tempos": sorted(tempos),
        "delivered": len(delivered),
        # The first segment plays from the origin although it is fetched a moment after it:
        # that start-up is first_audio_ms's, not a stall.
        "arrival_margins_s": arrivals[1:],
        "answer_lags_s": answers,
        "publish_ahead_s": schedule.publish_ahead_s(),
    }


def main(seconds: float, sessions: int, posts: int, stems: int) -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    app, credential = _seed(stems)
    result: dict[str, Any] = {"broker": settings.BROKER_KIND}
    if seconds > 0:
        result["rtf"] = measure_rtf(app, seconds)
        result["rtf_steady"] = measure_rtf_steady(app, seconds)
        _drain()
    if sessions or posts:
        with probe_worker():
            api = _Api(credential)
            if sessions:
                result["first_audio_ms"] = measure_first_audio(api, sessions)
            if posts:
                result["control"] = measure_control(api, posts)
    print(json.dumps(result))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench._stream_probe")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--posts", type=int, default=20)
    parser.add_argument("--stems", type=int, default=0, help="0: the whole demo vault")
    args = parser.parse_args()
    main(args.seconds, args.sessions, args.posts, args.stems)
