"""The one Dramatiq actor: it takes a job id and runs whatever the row says."""

from __future__ import annotations

import time

import dramatiq

from portal.jobs.registry import Progress, job_kind
from portal.jobs.services import job_execute


# max_retries=0: retries and backoff live on the job row, where they survive a broker restart.
# The time limit is the ceiling for any kind; kinds enforce tighter limits themselves.
@dramatiq.actor(queue_name="default", max_retries=0, time_limit=30 * 60 * 1000)
def run_job(job_id: int) -> None:
    job_execute(job_id)


@job_kind("jobs.demo", max_attempts=5, time_limit_s=120)
def demo_job(
    *, job_id: int, progress: Progress, steps: int = 10, step_s: float = 0.2
) -> dict[str, int]:
    """A job that does nothing but take time: it proves the queue end to end (tests, /healthz)."""
    for step in range(steps):
        time.sleep(step_s)
        progress(int(100 * (step + 1) / steps))
    return {"steps": steps}
