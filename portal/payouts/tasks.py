"""Job kinds for payouts: process a stored Stripe event; do a payout run."""

from __future__ import annotations

from typing import Any

from portal.jobs.registry import JobFailed, Progress, job_kind
from portal.payouts.models import PayoutRun, PayoutRunStatus
from portal.payouts.services import runs, webhooks


@job_kind("payouts.stripe_event", max_attempts=8, time_limit_s=120)
def stripe_event_job(*, job_id: int, progress: Progress, event_id: str) -> dict[str, Any]:
    # Idempotent: an event already processed returns its recorded status; a retryable Stripe
    # failure raises and the job row retries with backoff.
    outcome = webhooks.stripe_event_process(event_id=event_id)
    return {"event_id": event_id, "outcome": outcome}


@job_kind("payouts.run", max_attempts=3, time_limit_s=3600)
def payout_run_job(*, job_id: int, progress: Progress, run_id: int) -> dict[str, Any]:
    run = PayoutRun.objects.filter(pk=run_id).first()
    if run is None:
        raise JobFailed("no_run", f"Payout run {run_id} does not exist.")
    if run.status != PayoutRunStatus.RUNNING:
        return {"run_id": run_id, "status": run.status}  # a redelivery after it finished
    # A rerun of the same run after a crash is safe: open payouts are retried with their keys.
    run = runs.payout_run_execute(run_id=run_id)
    return {"run_id": run_id, "status": run.status, **run.summary}
