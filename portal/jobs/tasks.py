"""The Dramatiq actors, one per queue: each takes a job id and runs whatever the row says."""

from __future__ import annotations

import time

import dramatiq

from portal.jobs.registry import DEFAULT_QUEUE, QUEUE_ACTORS, RENDER_QUEUE, Progress, job_kind
from portal.jobs.services import job_execute

# The ceiling for a message that carries no time limit of its own (one rung before kinds had
# limits). Every ring sends its kind's time limit with the message, and dramatiq's TimeLimit
# middleware reads the message's option first: that is what enforces each kind's limit.
CEILING_MS = 60 * 60 * 1000


# max_retries=0: retries and backoff live on the job row, where they survive a broker restart.
@dramatiq.actor(
    actor_name=QUEUE_ACTORS[DEFAULT_QUEUE],
    queue_name=DEFAULT_QUEUE,
    max_retries=0,
    time_limit=CEILING_MS,
)
def run_job(job_id: int) -> None:
    job_execute(job_id, queue=DEFAULT_QUEUE)


@dramatiq.actor(
    actor_name=QUEUE_ACTORS[RENDER_QUEUE],
    queue_name=RENDER_QUEUE,
    max_retries=0,
    time_limit=CEILING_MS,
)
def run_render_job(job_id: int) -> None:
    job_execute(job_id, queue=RENDER_QUEUE)


@job_kind("jobs.demo", max_attempts=5, time_limit_s=120)
def demo_job(
    *, job_id: int, progress: Progress, steps: int = 10, step_s: float = 0.2
) -> dict[str, int]:
    """A job that does nothing but take time: it proves the queue end to end (tests, /healthz)."""
    for step in range(steps):
        time.sleep(step_s)
        progress(int(100 * (step + 1) / steps))
    return {"steps": steps}
