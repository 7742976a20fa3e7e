"""A worker whose claim the sweeper gave to another stops, and records nothing: two claims of
the same job never both complete it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from portal.jobs.models import Job, JobStatus
from portal.jobs.registry import job_kind
from portal.jobs.services import job_claim, job_claim_assert, job_enqueue, job_execute, job_succeed
from portal.jobs.sweeper import jobs_sweep
from tests.conftest import wait_for

EFFECTS: list[tuple[int, str]] = []
MIDWAY: list[Callable[[int], None]] = []  # what happens to the job while its handler works


@job_kind("tests.effect", max_attempts=3)
def effect_job(*, job_id: int, progress: Any, label: str) -> dict[str, str]:
    for hook in MIDWAY:
        hook(job_id)
    job_claim_assert()  # as a render checks before it stores its file and mix row
    EFFECTS.append((job_id, label))
    return {"label": label}


def _taken_over(job_id: int) -> str:
    """The sweeper finds the job's heartbeat stale and requeues it; another worker claims it.
    Returns that worker's claim token."""
    Job.objects.filter(pk=job_id).update(heartbeat_at=timezone.now() - timedelta(minutes=5))
    assert jobs_sweep()["requeued"] == 1
    claim = job_claim(job_id=job_id)
    assert claim is not None
    return claim[1]


@pytest.fixture
def effects() -> Any:
    EFFECTS.clear()
    MIDWAY.clear()
    yield EFFECTS
    MIDWAY.clear()


@pytest.mark.django_db
def test_the_stale_claims_completion_is_refused_and_leaves_no_side_effect(
    effects: list[tuple[int, str]], settings: Any
) -> None:
    settings.JOB_HEARTBEAT_S = 60  # no beat during the test: the check before the write decides
    job = job_enqueue(kind="tests.effect", args={"label": "first"})
    second_token: list[str] = []
    MIDWAY.append(lambda job_id: second_token.append(_taken_over(job_id)))

    job_execute(job.pk)  # the first worker, presumed dead, still running

    assert effects == []
    row = Job.objects.get(pk=job.pk)
    # The second worker's claim stands untouched: running, its token, two attempts counted.
    assert row.status == JobStatus.RUNNING and row.claim_token == second_token[0]
    assert row.attempts == 2 and row.result == {} and row.error == ""
    # Its completion is the one that counts.
    assert job_succeed(job_id=job.pk, token=second_token[0], result={"label": "second"})
    assert Job.objects.get(pk=job.pk).result == {"label": "second"}


@pytest.mark.django_db
def test_a_worker_that_keeps_its_claim_completes_the_job(
    effects: list[tuple[int, str]],
) -> None:
    job = job_enqueue(kind="tests.effect", args={"label": "only"})
    job_execute(job.pk)
    assert effects == [(job.pk, "only")]
    assert Job.objects.get(pk=job.pk).status == JobStatus.DONE


BUSY_STEPS: list[int] = []


@job_kind("tests.busy", max_attempts=3)
def busy_job(*, job_id: int, progress: Any) -> None:
    """Works for a while without reporting progress or checking its claim."""
    for step in range(500):
        time.sleep(0.02)
        BUSY_STEPS.append(step)
    EFFECTS.append((job_id, "busy"))


@job_kind("tests.reporting_busy", max_attempts=3)
def reporting_busy_job(*, job_id: int, progress: Any) -> None:
    for step in range(500):
        time.sleep(0.02)
        BUSY_STEPS.append(step)
        progress(step // 5)
    EFFECTS.append((job_id, "busy"))


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["tests.busy", "tests.reporting_busy"])
def test_the_heartbeat_notices_the_lost_claim_and_stops_the_run(
    transactional_db: None, effects: list[tuple[int, str]], settings: Any, kind: str
) -> None:
    settings.JOB_HEARTBEAT_S = 0.05
    BUSY_STEPS.clear()
    job = job_enqueue(kind=kind)
    first = threading.Thread(target=job_execute, args=(job.pk,))
    first.start()
    try:
        wait_for(lambda: len(BUSY_STEPS) >= 5)
        second_token = _taken_over(job.pk)
        first.join(timeout=20)
        assert not first.is_alive()
    finally:
        first.join()
    assert effects == []  # it never reached the end of its work
    assert len(BUSY_STEPS) < 500
    row = Job.objects.get(pk=job.pk)
    assert row.status == JobStatus.RUNNING and row.claim_token == second_token
    assert row.error == ""  # the stopped worker wrote nothing, not even a failure
