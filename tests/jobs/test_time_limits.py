"""Each job kind's time limit is enforced, by a real dramatiq worker and inline, and a job that
hits it says so on its row."""

from __future__ import annotations

import time
from typing import Any

import pytest

from portal.jobs.models import Job, JobStatus
from portal.jobs.registry import RENDER_QUEUE, get_kind, job_kind
from portal.jobs.services import job_enqueue, job_execute
from tests.conftest import wait_for

FINISHED: list[int] = []


def _sleep_without_reporting(seconds: float) -> None:
    # Short sleeps: dramatiq's interruption lands between two bytecodes, never inside a sleep.
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.02)


@job_kind("tests.sleepy", max_attempts=2, time_limit_s=0.5)
def sleepy_job(*, job_id: int, progress: Any) -> None:
    """Reports no progress: only the worker's interruption can stop it."""
    _sleep_without_reporting(6)
    FINISHED.append(job_id)


@job_kind("tests.sleepy_render", max_attempts=2, time_limit_s=0.5, queue=RENDER_QUEUE)
def sleepy_render_job(*, job_id: int, progress: Any) -> None:
    _sleep_without_reporting(6)
    FINISHED.append(job_id)


@job_kind("tests.reporting", max_attempts=1, time_limit_s=0.2)
def reporting_job(*, job_id: int, progress: Any) -> None:
    for step in range(300):
        time.sleep(0.01)
        progress(step // 3)
    FINISHED.append(job_id)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["tests.sleepy", "tests.sleepy_render"])
def test_a_real_worker_stops_a_job_at_its_kinds_time_limit_retries_it_then_gives_up(
    real_worker: Any, kind: str
) -> None:
    FINISHED.clear()
    real_worker(threads=1)
    job = job_enqueue(kind=kind)
    finished = wait_for(lambda: (row := Job.objects.get(pk=job.pk)).is_finished and row, timeout=60)
    assert finished.status == JobStatus.FAILED
    assert finished.attempts == 2  # the first hit was retried, as any unexpected error is
    assert finished.error_code == "gave_up"
    assert finished.error == "Failed after 2 attempts: time limit of 0.5 s exceeded"
    assert FINISHED == []  # neither run got to the end of its work


@pytest.mark.django_db
def test_a_job_that_reports_progress_stops_at_its_time_limit_even_without_a_worker() -> None:
    FINISHED.clear()
    job = job_enqueue(kind="tests.reporting")
    job_execute(job.pk)  # inline, as `run_jobs` and the tests do: no dramatiq around it
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.attempts == 1
    assert job.error == "Failed after 1 attempt: time limit of 0.2 s exceeded"
    assert FINISHED == []


@pytest.mark.django_db
def test_a_first_time_limit_hit_is_recorded_as_such_while_the_job_waits_to_retry() -> None:
    @job_kind("tests.reporting_twice", max_attempts=2, time_limit_s=0.2)
    def reporting_twice(*, job_id: int, progress: Any) -> None:
        reporting_job(job_id=job_id, progress=progress)

    job = job_enqueue(kind="tests.reporting_twice")
    job_execute(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED and job.attempts == 1
    assert job.error_code == "time_limit"
    assert job.error == "time limit of 0.2 s exceeded"


def test_the_render_kind_is_limited_to_the_configured_render_time() -> None:
    from django.conf import settings

    assert get_kind("mixes.render").time_limit_s == settings.MIXES_RENDER_TIME_LIMIT_S
