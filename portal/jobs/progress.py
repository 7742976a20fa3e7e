"""How far a job is, in words and time: the stage it is in and an estimated time left.

Handlers report a percentage only (a `progress(n)` call between the steps of their work); each
job kind names the stage that starts at each reported figure (`job_kind(stages=...)`), so the
stage is read off the progress without another column or another write per step.

The time left is extrapolated from this attempt's elapsed time and its fraction done:
elapsed × (100 − p) / p. It assumes the rest goes at the pace so far; it is shown only once a
job has done enough (MIN_PERCENT) and run long enough (MIN_ELAPSED_S) for the pace to mean
something, and never for a job that is not running."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone

from portal.jobs.models import JobStatus
from portal.jobs.registry import find_kind

MIN_PERCENT = 5
MIN_ELAPSED_S = 1.0
_STATUS_STAGES = {
    JobStatus.QUEUED: "waiting for a worker",
    JobStatus.DONE: "finished",
    JobStatus.FAILED: "failed",
}


@dataclass(frozen=True)
class JobProgress:
    stage: str
    elapsed_s: int | None
    eta_s: int | None


def stage_for(kind: str, progress: int) -> str:
    """The named stage that covers `progress` for this kind ("working" when it names none)."""
    found = find_kind(kind)
    stage = "working"
    for start, name in found.stages if found is not None else ():
        if progress >= start:
            stage = name
    return stage


def job_progress(job: Any, *, now: datetime | None = None) -> JobProgress:
    """The job's stage, how long this attempt has run, and the estimated seconds left."""
    status = job.status
    if status == JobStatus.QUEUED or job.started_at is None:
        return JobProgress(stage=_STATUS_STAGES[JobStatus.QUEUED], elapsed_s=None, eta_s=None)
    finished = status in (JobStatus.DONE, JobStatus.FAILED)
    end = job.finished_at if finished and job.finished_at else (now or timezone.now())
    elapsed = max(0.0, (end - job.started_at).total_seconds())
    if finished:
        return JobProgress(stage=_STATUS_STAGES[status], elapsed_s=round(elapsed), eta_s=None)
    percent = int(job.progress)
    eta = None
    if MIN_PERCENT <= percent < 100 and elapsed >= MIN_ELAPSED_S:
        eta = round(elapsed * (100 - percent) / percent)
    return JobProgress(stage=stage_for(job.kind, percent), elapsed_s=round(elapsed), eta_s=eta)
