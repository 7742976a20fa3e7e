"""Measures time to file in a process of its own (see bench/deliveries.py).

`python -m bench._soundtrack_probe SECONDS REQUESTS` migrates the SQLite database of its VAR_DIR,
seeds the demo vault through the product's own services (as bench._stream_probe does), starts
the embedded worker `make run` starts, and then, REQUESTS times with distinct seeds: POSTs a
SECONDS-long WAV soundtrack to the Sync API with the demo app's credential, polls its status as a
client would (every 25 ms), and downloads the file to its last byte. The clock runs from the
POST to the last byte. Each file is then checked, outside the clock, to carry Content Credentials
(c2pa-python's Reader finds a manifest naming its stems) and a manifest signature; a request
that fails either check fails the probe. The floor: the render job's own run time (started to
finished) of the same requests, so the figure can be read as engine time plus what the API, the
queue and the download add.

The requests go through Django's test client (the whole request stack but the socket): a socket
adds the same small constant to every request, which the local-network floor of a deployment
decides and this probe cannot.
"""

from __future__ import annotations

import io
import json
import os
import random
import statistics
import sys
import time
from typing import Any

from bench import probe_worker

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

SEEDERS = ("portal.accounts.demo", "portal.clients.demo", "portal.stems.demo", "portal.review.demo")
POLL_S = 0.025
TIMEOUT_S = 120.0


class _Quiet:
    def write(self, *_: Any, **__: Any) -> None:
        pass


def _seed() -> str:
    import importlib

    from portal.clients.demo import demo_app
    from portal.clients.services import credential_issue
    from portal.jobs.models import Job, JobStatus
    from portal.jobs.services import job_execute

    for name in SEEDERS:
        importlib.import_module(name).seed(out=_Quiet())
    # The approvals' preview renders run before anything is timed.
    while ids := list(
        Job.objects.filter(status=JobStatus.QUEUED).order_by("pk").values_list("pk", flat=True)
    ):
        for job_id in ids:
            job_execute(job_id)
    app = demo_app()
    if app is None:
        raise RuntimeError("the demo seeders made no client app")
    return str(credential_issue(app_id=app.pk, actor=app.owner, name="bench").plain)


def _request(api: Any, seconds: float, seed: int, mood: str) -> tuple[float, str, bytes]:
    started = time.perf_counter()
    created = api.post(
        "/api/v1/soundtracks/",
        {"duration_s": seconds, "mood": mood, "seed": seed, "format": "wav"},
        format="json",
    )
    if created.status_code != 202:
        raise RuntimeError(f"request refused: {created.status_code} {created.content[:300]!r}")
    detail = f"/api/v1/soundtracks/{created.json()['id']}/"
    while True:
        body = api.get(detail).json()
        if body["status"] == "done":
            break
        if body["status"] == "failed" or time.perf_counter() - started > TIMEOUT_S:
            raise RuntimeError(f"soundtrack {body['id']} did not finish: {body['status']}")
        time.sleep(POLL_S)
    response = api.get(body["audio_url"])
    data = b"".join(response.streaming_content)
    return time.perf_counter() - started, str(body["id"]), data


def _check_credentials(data: bytes, mix: Any) -> None:
    import c2pa

    with c2pa.Reader("audio/wav", io.BytesIO(data)) as reader:
        report = json.loads(reader.json())
    active = report["manifests"][report["active_manifest"]]
    ingredients = {str(i.get("instance_id", "")) for i in active.get("ingredients", [])}
    stems = {str(stem["id"]) for stem in mix.manifest["stems"]}
    if len(ingredients) < len(stems):
        raise RuntimeError(f"mix {mix.pk}: {len(ingredients)} ingredients for {len(stems)} stems")
    if not (mix.manifest.get("signature") or {}).get("jws"):
        raise RuntimeError(f"mix {mix.pk} has no manifest signature")


def main(seconds: float, requests: int) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from rest_framework.test import APIClient

    from portal.mixes.models import Mix
    from portal.stems import demo as stems_demo

    call_command("migrate", verbosity=0)
    credential = _seed()
    api = APIClient(HTTP_HOST="127.0.0.1")  # an ALLOWED_HOSTS name of the DEBUG default
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {credential}")
    rng = random.Random(16)
    moods = sorted({mood for spec in stems_demo.SPECS for mood in spec.moods})
    timings: list[float] = []
    engine: list[float] = []
    sizes: list[int] = []
    with probe_worker():
        _request(api, seconds, 10_000, "calm")  # warm-up: imports, caches, connections
        for index in range(requests):
            elapsed, mix_id, data = _request(api, seconds, 1 + index, rng.choice(moods))
            timings.append(elapsed)
            mix = Mix.objects.get(pk=mix_id)
            job = mix.job
            if job is not None and job.started_at and job.finished_at:
                engine.append((job.finished_at - job.started_at).total_seconds())
            _check_credentials(data, mix)
            sizes.append(len(data))
    ordered = sorted(timings)
    print(
        json.dumps(
            {
                "requests": requests,
                "median_s": statistics.median(ordered),
                "p95_s": ordered[max(0, round(0.95 * len(ordered)) - 1)],
                "max_s": ordered[-1],
                "job_median_s": statistics.median(engine) if engine else None,
                "mean_bytes": statistics.mean(sizes),
            }
        )
    )


if __name__ == "__main__":
    main(float(sys.argv[1]), int(sys.argv[2]))
