"""Writes for jobs: enqueue, claim, progress, finish, sweep."""

from __future__ import annotations

import logging
import os
import socket
import threading
import traceback
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from portal.jobs.models import Job, JobStatus, WorkerBeat
from portal.jobs.registry import JobFailed, get_kind

logger = logging.getLogger(__name__)


def _ring(job_id: int, delay_ms: int = 0) -> None:
    # Imported late: the actor module needs the configured broker.
    from portal.jobs.tasks import run_job

    try:
        run_job.send_with_options(args=(job_id,), delay=delay_ms or None)
    except Exception:  # the broker is down: the row stays queued and the sweeper rings later
        logger.warning("could not ring the broker for job %s; the sweeper will retry", job_id)


def job_enqueue(
    *,
    kind: str,
    args: dict[str, Any] | None = None,
    dedupe_key: str | None = None,
    owner: Any = None,
) -> Job:
    """Create the job row and ring the broker once the surrounding transaction commits.

    With a dedupe_key, enqueuing the same work twice returns the existing job.
    """
    job_kind = get_kind(kind)
    now = timezone.now()
    if dedupe_key:
        existing = Job.objects.filter(dedupe_key=dedupe_key).first()
        if existing is not None:
            return existing
    try:
        with transaction.atomic():
            job = Job.objects.create(
                kind=kind,
                owner=owner,
                args=args or {},
                max_attempts=job_kind.max_attempts,
                run_after=now,
                enqueued_at=now,
                dedupe_key=dedupe_key,
            )
    except IntegrityError:
        return Job.objects.get(dedupe_key=dedupe_key)
    transaction.on_commit(lambda: _ring(job.pk))
    return job


def job_claim(*, job_id: int) -> tuple[Job, str] | None:
    """Move a queued job to running, atomically. None if someone else has it or it is finished."""
    token = uuid.uuid4().hex
    now = timezone.now()
    claimed = Job.objects.filter(pk=job_id, status=JobStatus.QUEUED, run_after__lte=now).update(
        status=JobStatus.RUNNING,
        attempts=F("attempts") + 1,
        claim_token=token,
        heartbeat_at=now,
        started_at=now,
        progress=0,
    )
    if claimed != 1:
        return None
    return Job.objects.get(pk=job_id), token


def job_heartbeat(*, job_id: int, token: str, progress: int | None = None) -> bool:
    """Touch the heartbeat (and progress); False if the claim was lost to the sweeper."""
    fields: dict[str, Any] = {"heartbeat_at": timezone.now()}
    if progress is not None:
        fields["progress"] = max(0, min(100, int(progress)))
    return (
        Job.objects.filter(pk=job_id, claim_token=token, status=JobStatus.RUNNING).update(**fields)
        == 1
    )


def job_succeed(*, job_id: int, token: str, result: Any) -> bool:
    return (
        Job.objects.filter(pk=job_id, claim_token=token, status=JobStatus.RUNNING).update(
            status=JobStatus.DONE,
            progress=100,
            result=result if isinstance(result, dict) else {"value": result},
            error="",
            error_code="",
            finished_at=timezone.now(),
        )
        == 1
    )


def job_fail(*, job_id: int, token: str, code: str, message: str) -> bool:
    return (
        Job.objects.filter(pk=job_id, claim_token=token, status=JobStatus.RUNNING).update(
            status=JobStatus.FAILED, error=message, error_code=code, finished_at=timezone.now()
        )
        == 1
    )


def _gave_up(job_id: int) -> None:
    """Tell the job's domain that its job was abandoned (see JobKind.on_give_up)."""
    job = Job.objects.filter(pk=job_id).only("kind", "args", "error").first()
    if job is None:
        return
    try:
        kind = get_kind(job.kind)
        if kind.on_give_up is not None:
            kind.on_give_up(job_id=job.pk, message=job.error, **job.args)
    except Exception:
        logger.exception("the give-up hook of job %s (%s) raised", job_id, job.kind)


def backoff_seconds(attempts: int) -> float:
    return float(min(300, 2 ** max(0, attempts - 1)))


def job_retry_or_fail(*, job: Job, token: str, message: str) -> None:
    if job.attempts >= job.max_attempts:
        if job_fail(
            job_id=job.pk,
            token=token,
            code="gave_up",
            message=f"Failed after {job.attempts} attempts: {message}",
        ):
            _gave_up(job.pk)
        return
    delay = backoff_seconds(job.attempts)
    now = timezone.now()
    updated = Job.objects.filter(pk=job.pk, claim_token=token, status=JobStatus.RUNNING).update(
        status=JobStatus.QUEUED,
        error=message,
        error_code="retrying",
        run_after=now + timedelta(seconds=delay),
        enqueued_at=now,
    )
    if updated:
        _ring(job.pk, delay_ms=int(delay * 1000))


def job_execute(job_id: int) -> None:
    """Run one job if it can be claimed. Safe to call any number of times for the same id."""
    claim = job_claim(job_id=job_id)
    if claim is None:
        return
    job, token = claim
    stop = threading.Event()
    last_progress = {"value": -1}

    def beat() -> None:
        while not stop.wait(settings.JOB_HEARTBEAT_S):
            if not job_heartbeat(job_id=job.pk, token=token):
                return

    def progress(value: int) -> None:
        value = max(0, min(99, int(value)))
        if value != last_progress["value"]:
            last_progress["value"] = value
            job_heartbeat(job_id=job.pk, token=token, progress=value)

    beater = threading.Thread(target=beat, name=f"job-{job.pk}-heartbeat", daemon=True)
    beater.start()
    try:
        kind = get_kind(job.kind)
        result = kind.handler(job_id=job.pk, progress=progress, **job.args)
    except JobFailed as exc:
        job_fail(job_id=job.pk, token=token, code=exc.code, message=exc.message)
    except Exception as exc:
        logger.exception("job %s (%s) raised", job.pk, job.kind)
        summary = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        job_retry_or_fail(job=job, token=token, message=summary)
    else:
        job_succeed(job_id=job.pk, token=token, result=result)
    finally:
        stop.set()


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
        "pk", "attempts", "max_attempts", "claim_token"
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
                _gave_up(job.pk)
            continue
        if Job.objects.filter(
            pk=job.pk, claim_token=job.claim_token, status=JobStatus.RUNNING
        ).update(status=JobStatus.QUEUED, claim_token="", run_after=now, enqueued_at=now):
            counts["requeued"] += 1
            _ring(job.pk)
    lost = Job.objects.filter(status=JobStatus.QUEUED, run_after__lte=now).filter(
        Q(enqueued_at__lt=redeliver) | Q(enqueued_at__isnull=True)
    )
    for job_id in list(lost.values_list("pk", flat=True)[:500]):
        if Job.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(enqueued_at=now):
            counts["rerung"] += 1
            _ring(job_id)
    return counts
