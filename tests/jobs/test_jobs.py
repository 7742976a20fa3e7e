from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta

import pytest
from django.utils import timezone

from portal.jobs.models import Job, JobStatus
from portal.jobs.registry import JobFailed, job_kind
from portal.jobs.services import job_claim, job_enqueue, job_execute, job_heartbeat
from portal.jobs.sweeper import jobs_sweep
from tests.conftest import ROOT

pytestmark = pytest.mark.django_db

CALLS: dict[str, int] = {}


@job_kind("tests.count", max_attempts=3)
def count_job(*, job_id: int, progress, name: str) -> dict[str, int]:
    CALLS[name] = CALLS.get(name, 0) + 1
    progress(50)
    return {"calls": CALLS[name]}


@job_kind("tests.refuse", max_attempts=3)
def refuse_job(*, job_id: int, progress) -> None:
    raise JobFailed("bad_input", "The input was wrong; fix it and resubmit.")


GIVEN_UP: list[tuple[int, str, dict]] = []


def record_give_up(*, job_id: int, message: str, **args) -> None:
    GIVEN_UP.append((job_id, message, args))


@job_kind("tests.crash", max_attempts=2, on_give_up=record_give_up)
def crash_job(*, job_id: int, progress, label: str = "") -> None:
    raise RuntimeError("disk on fire")


def test_enqueue_rings_the_broker_only_after_commit(
    django_capture_on_commit_callbacks, monkeypatch
):
    rung: list[int] = []
    monkeypatch.setattr(
        "portal.jobs.services.job_ring", lambda job_id, kind, delay_ms=0: rung.append(job_id)
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = job_enqueue(kind="tests.count", args={"name": "a"})
        assert rung == []
    assert len(callbacks) == 1
    callbacks[0]()
    assert rung == [job.pk]
    assert Job.objects.get(pk=job.pk).status == JobStatus.QUEUED


def test_a_job_runs_once_however_often_its_message_arrives():
    CALLS.clear()
    job = job_enqueue(kind="tests.count", args={"name": "once"})
    for _ in range(3):
        job_execute(job.pk)
    job.refresh_from_db()
    assert CALLS["once"] == 1
    assert job.status == JobStatus.DONE and job.progress == 100 and job.result == {"calls": 1}
    assert job.attempts == 1


def test_a_dedupe_key_gives_back_the_same_job():
    first = job_enqueue(kind="tests.count", args={"name": "d"}, dedupe_key="k1")
    second = job_enqueue(kind="tests.count", args={"name": "d"}, dedupe_key="k1")
    assert first.pk == second.pk and Job.objects.count() == 1


def test_an_expected_failure_is_recorded_and_not_retried():
    job = job_enqueue(kind="tests.refuse")
    job_execute(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.error_code == "bad_input" and "fix it" in job.error
    assert job.attempts == 1


def test_an_unexpected_error_is_retried_with_backoff_then_given_up():
    job = job_enqueue(kind="tests.crash")
    job_execute(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED and job.error_code == "retrying"
    assert "disk on fire" in job.error
    assert job.run_after > timezone.now()  # backoff: not runnable yet
    job_execute(job.pk)
    assert Job.objects.get(pk=job.pk).attempts == 1  # too early, nothing ran
    Job.objects.filter(pk=job.pk).update(run_after=timezone.now())
    job_execute(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.error_code == "gave_up" and job.attempts == 2


def test_giving_up_tells_the_jobs_domain_once():
    GIVEN_UP.clear()
    job = job_enqueue(kind="tests.crash", args={"label": "a"})
    for _ in range(2):
        Job.objects.filter(pk=job.pk).update(run_after=timezone.now())
        job_execute(job.pk)
    job_execute(job.pk)
    assert len(GIVEN_UP) == 1
    assert GIVEN_UP[0][0] == job.pk and GIVEN_UP[0][2] == {"label": "a"}
    assert "disk on fire" in GIVEN_UP[0][1]


def test_the_sweeper_tells_the_domain_when_every_worker_died_on_a_job():
    GIVEN_UP.clear()
    job = job_enqueue(kind="tests.crash", args={"label": "b"})
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING,
        attempts=2,
        claim_token="t",
        heartbeat_at=timezone.now() - timedelta(minutes=5),
    )
    jobs_sweep()
    jobs_sweep()
    assert len(GIVEN_UP) == 1 and GIVEN_UP[0][0] == job.pk
    assert "stopped responding" in GIVEN_UP[0][1]


def test_the_sweeper_requeues_a_job_whose_worker_died():
    job = job_enqueue(kind="tests.count", args={"name": "dead"})
    claim = job_claim(job_id=job.pk)
    assert claim is not None
    _, old_token = claim
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=5))
    counts = jobs_sweep()
    assert counts["requeued"] == 1
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED
    # The presumed-dead worker comes back: its writes no longer land.
    assert job_heartbeat(job_id=job.pk, token=old_token, progress=80) is False
    CALLS.clear()
    job_execute(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.DONE and job.attempts == 2


def test_the_sweeper_rings_again_for_a_job_whose_message_was_lost(monkeypatch):
    rung: list[int] = []
    monkeypatch.setattr(
        "portal.jobs.services.job_ring", lambda job_id, kind, delay_ms=0: rung.append(job_id)
    )
    job = job_enqueue(kind="tests.count", args={"name": "lost"})
    assert jobs_sweep()["rerung"] == 0  # rung just now: give the broker time
    Job.objects.filter(pk=job.pk).update(enqueued_at=timezone.now() - timedelta(minutes=5))
    assert jobs_sweep()["rerung"] == 1
    assert rung == [job.pk]


def test_the_sweeper_gives_up_on_a_job_that_kills_every_worker():
    job = job_enqueue(kind="tests.count", args={"name": "x"})
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING,
        attempts=3,
        claim_token="t",
        heartbeat_at=timezone.now() - timedelta(minutes=5),
    )
    assert jobs_sweep()["abandoned"] == 1
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.error_code == "worker_lost"


def test_an_unknown_kind_is_refused_at_enqueue():
    with pytest.raises(JobFailed, match="No handler"):
        job_enqueue(kind="tests.nope")


def test_the_job_api_shows_progress_to_its_owner_only(artist, other_artist, api_for):
    job = job_enqueue(kind="tests.count", args={"name": "api"}, owner=artist)
    response = api_for(artist).get(f"/api/v1/jobs/{job.pk}/")
    assert response.status_code == 200
    assert response.json()["status"] == "queued" and response.json()["progress"] == 0
    assert api_for(other_artist).get(f"/api/v1/jobs/{job.pk}/").status_code == 404


# Run in a fresh interpreter: this one already has threads (other tests' workers, sweepers).
# The spy only records which threads exist when the real keep_freed_memory is called.
_BOOT_PROBE = """
import json, os, threading
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
django.setup()
import dramatiq
import renderer.memory
from portal.jobs.embedded import boot_process

real, at_switch = renderer.memory.keep_freed_memory, []
def spy():
    at_switch.append(sorted(t.name for t in threading.enumerate()))
    return real()
renderer.memory.keep_freed_memory = spy
before = set(threading.enumerate())
boot_process(dramatiq.get_broker())
started = [t.name for t in threading.enumerate() if t not in before]
print(json.dumps({"at_switch": at_switch, "started": started}))
"""


def test_a_worker_process_switches_the_allocator_before_its_boot_starts_any_thread() -> None:
    """The real broker's middleware, booted as `rundramatiq` and the embedded worker boot it:
    the allocator switch (KeepFreedMemoryMiddleware) runs while the main thread is still the
    only one, and the boot then starts TimeLimit's timer thread (so the check is not vacuous)."""
    done = subprocess.run(
        [sys.executable, "-c", _BOOT_PROBE],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["at_switch"] == [["MainThread"]]
    assert seen["started"], "process_boot started no thread: is TimeLimit still armed on boot?"
