"""A real worker process, killed mid-job, loses nothing: on the embedded broker and on Redis."""

from __future__ import annotations

import pytest
from django.conf import settings

from portal.jobs.models import Job, JobStatus, WorkerBeat
from portal.jobs.services import job_enqueue
from tests.conftest import need, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def _status(job_id: int) -> Job:
    return Job.objects.get(pk=job_id)


def test_killing_the_worker_mid_job_and_starting_it_again_finishes_the_job(worker_process):
    job = job_enqueue(kind="jobs.demo", args={"steps": 30, "step_s": 0.2})
    first = worker_process()
    wait_for(lambda: _status(job.pk).progress >= 20, timeout=60)
    assert _status(job.pk).status == JobStatus.RUNNING
    first.kill()
    worker_process()
    done = wait_for(lambda: (j := _status(job.pk)).status == JobStatus.DONE and j, timeout=90)
    assert done.attempts == 2, "the job ran again after the crash, exactly once more"
    assert done.progress == 100 and done.result == {"steps": 30}


def test_a_job_whose_message_the_broker_lost_still_runs(worker_process, broker_flush):
    if settings.BROKER_KIND == "rabbitmq":
        need(False, "this test empties Redis or the in-process broker")
    job = job_enqueue(kind="jobs.demo", args={"steps": 2, "step_s": 0.05})
    broker_flush()  # as a broker restart with nothing on disk would
    worker_process()
    done = wait_for(lambda: (j := _status(job.pk)).status == JobStatus.DONE and j, timeout=60)
    assert done.attempts == 1
    assert WorkerBeat.objects.exists()
