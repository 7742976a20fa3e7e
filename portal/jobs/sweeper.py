"""Recovery: the worker's heartbeat row, and the sweep that rings again for jobs whose message
or worker was lost (run by every worker's sweeper thread, portal/jobs/middleware.py)."""

from __future__ import annotations

import os
import socket
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

# Through the module, so that a test replacing services.job_ring sees the sweep ring too.
from portal.jobs import services
from portal.jobs.models import Job, JobStatus, WorkerBeat


def worker_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{settings.BROKER_KIND}"


def jobs_sweep(*, worker_id: str | None = None) -> dict[str, int]:
    """Recover jobs whose message or worker was lost; ring again for them.

    Two cases: a queued job whose doorbell was rung long ago but never answered (the broker lost
    the message: Redis here keeps nothing on disk, a restart empties it), and a running job whose
    heartbeat went stale (its worker died mid-job). Both go back to queued and ring again; the
    claim token makes a late answer from the old worker harmless.
    """
    now = timezone.now()
    stale = now - timedelta(seconds=settings.JOB_STALE_AFTER_S)
    redeliver = now - timedelta(seconds=settings.JOB_REDELIVER_AFTER_S)
    counts = {"requeued": 0, "rerung": 0, "abandoned": 0}
    if worker_id:
        WorkerBeat.objects.update_or_create(
            worker_id=worker_id,
            defaults={"beat_at": now, "broker": settings.BROKER_KIND},
            create_defaults={"beat_at": now, "started_at": now, "broker": settings.BROKER_KIND},
        )
    for job in Job.objects.filter(status=JobStatus.RUNNING, heartbeat_at__lt=stale).only(
        "pk", "kind", "attempts", "max_attempts", "claim_token"
    ):
        if job.attempts >= job.max_attempts:
            if Job.objects.filter(
                pk=job.pk, claim_token=job.claim_token, status=JobStatus.RUNNING
            ).update(
                status=JobStatus.FAILED,
                error_code="worker_lost",
                error=f"The worker stopped responding on each of {job.attempts} attempts.",
                finished_at=now,
            ):
                counts["abandoned"] += 1
                services.job_given_up(job.pk)
            continue
        if Job.objects.filter(
            pk=job.pk, claim_token=job.claim_token, status=JobStatus.RUNNING
        ).update(status=JobStatus.QUEUED, claim_token="", run_after=now, enqueued_at=now):
            counts["requeued"] += 1
            services.job_ring(job.pk, job.kind)
    lost = Job.objects.filter(status=JobStatus.QUEUED, run_after__lte=now).filter(
        Q(enqueued_at__lt=redeliver) | Q(enqueued_at__isnull=True)
    )
    for job_id, kind in list(lost.values_list("pk", "kind")[:500]):
        if Job.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(enqueued_at=now):
            counts["rerung"] += 1
            services.job_ring(job_id, kind)
    return counts
