"""Measures job round trips in a process of its own (see bench/jobs.py)."""

from __future__ import annotations

import json
import os
import statistics
import sys
import time

from bench import probe_worker

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")


def main(rounds: int) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from portal.jobs.models import Job, JobStatus
    from portal.jobs.services import job_enqueue

    call_command("migrate", verbosity=0)
    with probe_worker(embedded_threads=2):
        # Warm up: the first jobs pay for imports and connections.
        for _ in range(5):
            _roundtrip(job_enqueue, Job, JobStatus, transaction)
        timings = [_roundtrip(job_enqueue, Job, JobStatus, transaction) for _ in range(rounds)]
        floor = []
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TABLE IF NOT EXISTS bench_floor (id INTEGER PRIMARY KEY, v INTEGER)"
            )
            for i in range(50):
                started = time.perf_counter()
                with transaction.atomic():
                    cursor.execute("INSERT INTO bench_floor (v) VALUES (%s)", [i])
                cursor.execute("SELECT v FROM bench_floor ORDER BY id DESC LIMIT 1")
                cursor.fetchone()
                floor.append(time.perf_counter() - started)
    timings.sort()
    print(
        json.dumps(
            {
                "median_ms": statistics.median(timings) * 1000,
                "p95_ms": timings[int(len(timings) * 0.95) - 1] * 1000,
                "floor_ms": statistics.median(floor) * 1000,
            }
        )
    )


def _roundtrip(job_enqueue, Job, JobStatus, transaction) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    with transaction.atomic():
        job = job_enqueue(kind="jobs.demo", args={"steps": 0})
    deadline = started + 30
    while True:
        status = Job.objects.filter(pk=job.pk).values_list("status", flat=True).first()
        if status == JobStatus.DONE:
            return time.perf_counter() - started
        if time.perf_counter() > deadline:
            raise RuntimeError(f"job {job.pk} not done within 30 s (status {status})")
        time.sleep(0.0005)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
