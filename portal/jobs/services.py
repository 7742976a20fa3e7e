"""Writes for jobs: enqueue, claim, progress, finish, sweep."""

from __future__ import annotations

import contextvars
import logging
import threading
import time
import traceback
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import dramatiq
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from dramatiq.middleware import TimeLimitExceeded
from dramatiq.middleware.threading import raise_thread_exception

from portal.jobs.models import Job, JobStatus
from portal.jobs.registry import (
    DEFAULT_QUEUE,
    QUEUE_ACTORS,
    ClaimLost,
    JobFailed,
    JobKind,
    JobRetry,
    find_kind,
    get_kind,
    kinds_on_other_queues,
)

logger = logging.getLogger(__name__)


def job_ring(job_id: int, kind: str, delay_ms: int = 0) -> None:
    """Send the doorbell for a job on its kind's queue, with its kind's time limit."""
    job_kind = find_kind(kind)  # an unknown kind rings on the default queue, to be failed there
    queue = job_kind.queue if job_kind else DEFAULT_QUEUE
    # By name, not by import: the actors' module imports this one (see registry.QUEUE_ACTORS).
    actor = dramatiq.get_broker().get_actor(QUEUE_ACTORS[queue])
    options: dict[str, Any] = {}
    if job_kind is not None:
        # dramatiq's TimeLimit reads the message's time_limit before the actor's.
        options["time_limit"] = int(job_kind.time_limit_s * 1000)
    try:
        actor.send_with_options(args=(job_id,), delay=delay_ms or None, **options)
    except Exception:  # the broker is down: the row stays queued and the sweeper rings later
        logger.warning("could not ring the broker for job %s; the sweeper will retry", job_id)


def job_enqueue(
    *,
    kind: str,
    args: dict[str, Any] | None = None,
    dedupe_key: str | None = None,
    owner: Any = None,
    run_after: datetime | None = None,
) -> Job:
    """Create the job row and ring the broker once the surrounding transaction commits; with a
    dedupe_key the same work twice is one job, with run_after it waits until then."""
    job_kind = get_kind(kind)
    now = timezone.now()
    delay_ms = max(0, int((run_after - now).total_seconds() * 1000)) if run_after else 0
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
                run_after=max(run_after, now) if run_after else now,
                enqueued_at=now,
                dedupe_key=dedupe_key,
            )
    except IntegrityError:
        return Job.objects.get(dedupe_key=dedupe_key)
    transaction.on_commit(lambda: job_ring(job.pk, kind, delay_ms=delay_ms))
    return job


def job_claim(*, job_id: int, queue: str | None = None) -> tuple[Job, str] | None:
    """Move a queued job to running, atomically. None if someone else has it or it is finished.

    With `queue`, only a job of a kind on that queue is claimed: a doorbell that reached the
    wrong queue (rung before a kind moved queues) never lets a render take a thread that
    provenance checks and webhooks count on; the job's own doorbell, or the sweeper's, follows.
    """
    token = uuid.uuid4().hex
    now = timezone.now()
    candidates = Job.objects.filter(pk=job_id, status=JobStatus.QUEUED, run_after__lte=now)
    if queue is not None:
        candidates = candidates.exclude(kind__in=kinds_on_other_queues(queue))
    claimed = candidates.update(
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


def job_given_up(job_id: int) -> None:
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


def job_retry_or_fail(*, job: Job, token: str, message: str, code: str = "retrying") -> None:
    if job.attempts >= job.max_attempts:
        if job_fail(
            job_id=job.pk,
            token=token,
            code="gave_up",
            message=f"Failed after {job.attempts} attempt{'s' if job.attempts != 1 else ''}: "
            f"{message}",
        ):
            job_given_up(job.pk)
        return
    delay = backoff_seconds(job.attempts)
    now = timezone.now()
    updated = Job.objects.filter(pk=job.pk, claim_token=token, status=JobStatus.RUNNING).update(
        status=JobStatus.QUEUED,
        error=message,
        error_code=code,
        run_after=now + timedelta(seconds=delay),
        enqueued_at=now,
    )
    if updated:
        job_ring(job.pk, job.kind, delay_ms=int(delay * 1000))


# The claim of the job this thread is running, for job_claim_assert (set around the handler).
_current_run: contextvars.ContextVar[_Run | None] = contextvars.ContextVar(
    "current_job_run", default=None
)


class _Run:
    """One worker's run of one claimed job: its heartbeat, its progress reports, its time
    limit, and what it does when its claim is lost."""

    def __init__(self, job: Job, token: str, kind: JobKind) -> None:
        self.job = job
        self.token = token
        self.kind = kind
        self.deadline = time.monotonic() + kind.time_limit_s
        self.lost = threading.Event()
        self.stop = threading.Event()
        self.last_progress = -1
        self.thread_id = threading.get_ident()
        # Held while deciding to interrupt the job's thread and while leaving the handler, so
        # the interruption can only land in this job's handler, never in the thread's next job.
        self.abort_lock = threading.Lock()
        self.in_handler = False
        self.beater = threading.Thread(
            target=self._beat, name=f"job-{job.pk}-heartbeat", daemon=True
        )

    def _beat(self) -> None:
        try:
            while not self.stop.wait(settings.JOB_HEARTBEAT_S):
                try:
                    if job_heartbeat(job_id=self.job.pk, token=self.token):
                        continue
                    if self.stop.is_set():
                        return  # the job finished meanwhile: its own write said so
                    if self._taken_back():
                        self._abort()
                        return
                except Exception:  # a database hiccup: try again at the next beat
                    if self.stop.is_set():
                        return
                    logger.warning("heartbeat of job %s failed; retrying", self.job.pk)
        finally:
            connection.close()

    def _taken_back(self) -> bool:
        """The row says so: requeued, finished, or claimed again under another token. (A row
        this thread cannot see, as in a test whose transaction never commits, proves nothing;
        the handler's own check before it commits still decides.)"""
        return (
            Job.objects.filter(pk=self.job.pk)
            .exclude(claim_token=self.token, status=JobStatus.RUNNING)
            .exists()
        )

    def _abort(self) -> None:
        """The sweeper gave the job away: stop the handler, wherever it is. Handlers that report
        progress stop at their next report; the others are interrupted, as dramatiq's TimeLimit
        interrupts them (an exception raised in their thread at its next bytecode)."""
        self.lost.set()
        with self.abort_lock:
            if self.in_handler and not self.stop.is_set():
                logger.warning("job %s: claim lost to the sweeper; stopping", self.job.pk)
                raise_thread_exception(self.thread_id, ClaimLost)  # type: ignore[no-untyped-call]

    def progress(self, value: int) -> None:
        """The handler's progress callback: also where a lost claim or a time limit stops a
        handler that cooperates (the same outcome as dramatiq's interruption, sooner and at a
        point the handler chose)."""
        if self.lost.is_set():
            raise ClaimLost(f"job {self.job.pk}: the claim was lost")
        if time.monotonic() > self.deadline:
            raise TimeLimitExceeded()
        value = max(0, min(99, int(value)))
        if value != self.last_progress:
            self.last_progress = value
            if not job_heartbeat(job_id=self.job.pk, token=self.token, progress=value):
                self.lost.set()
                raise ClaimLost(f"job {self.job.pk}: the claim was lost")

    @contextmanager
    def handling(self) -> Iterator[None]:
        marker = _current_run.set(self)
        self.in_handler = True
        try:
            yield
        finally:
            with self.abort_lock:
                self.in_handler = False
            _current_run.reset(marker)


def job_claim_assert() -> None:
    """Raise ClaimLost unless this thread's job is still claimed by it; a no-op outside a job.

    A handler calls it just before committing its results (the render's file and mix row, a
    stem's verdicts): inside a transaction it also locks the job row, so the sweeper cannot
    take the job back between this check and the commit. A worker presumed dead that comes
    back therefore writes nothing over the work of the one that replaced it.
    """
    run = _current_run.get()
    if run is None:
        return
    held = Job.objects.filter(pk=run.job.pk, claim_token=run.token, status=JobStatus.RUNNING)
    if connection.in_atomic_block:
        held = held.select_for_update()
    if run.lost.is_set() or not list(held.values_list("pk", flat=True)):
        run.lost.set()
        raise ClaimLost(f"job {run.job.pk}: the claim was lost; its results are not recorded")


def job_execute(job_id: int, *, queue: str | None = None) -> None:
    """Run one job if it can be claimed. Safe to call any number of times for the same id.

    The kind's time limit is enforced twice: dramatiq's TimeLimit interrupts the worker thread
    (the limit travels with the message, see job_ring), and a handler that reports progress is
    stopped at its next report after the deadline (this also holds where no dramatiq worker
    runs the job). Either way the row records "time limit of N s exceeded" and the job is
    retried with backoff, then given up after max_attempts, as any unexpected error is.
    """
    claim = job_claim(job_id=job_id, queue=queue)
    if claim is None:
        return
    job, token = claim
    try:
        kind = get_kind(job.kind)
    except JobFailed as exc:
        job_fail(job_id=job.pk, token=token, code=exc.code, message=exc.message)
        return
    run = _Run(job, token, kind)
    run.beater.start()
    try:
        with run.handling():
            result = kind.handler(job_id=job.pk, progress=run.progress, **job.args)
    except ClaimLost:
        # Another worker has the job now: every write of ours would be refused (the token), and
        # the handler stopped before recording its results (job_claim_assert).
        logger.warning("job %s (%s): claim lost, results discarded", job.pk, job.kind)
    except TimeLimitExceeded:
        # A BaseException: `except Exception` below would let it escape and leave the row
        # running until the sweeper noticed, with no word of why.
        logger.warning("job %s (%s) hit its time limit", job.pk, job.kind)
        job_retry_or_fail(
            job=job,
            token=token,
            code="time_limit",
            message=f"time limit of {kind.time_limit_s:g} s exceeded",
        )
    except JobFailed as exc:
        job_fail(job_id=job.pk, token=token, code=exc.code, message=exc.message)
    except Exception as exc:
        if isinstance(exc, JobRetry):  # expected: one line, no traceback
            logger.warning("job %s (%s) will be retried: %s", job.pk, job.kind, exc)
        else:
            logger.exception("job %s (%s) raised", job.pk, job.kind)
        summary = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        job_retry_or_fail(job=job, token=token, message=summary)
    else:
        job_succeed(job_id=job.pk, token=token, result=result)
    finally:
        run.stop.set()
