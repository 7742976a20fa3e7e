"""Background work for client apps: the "clients.webhook" job kind (one delivery attempt per
run; a failed attempt is retried by the job system with exponential backoff)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from portal.clients import webhook_services
from portal.jobs.registry import JobFailed, JobRetry, Progress, job_kind

# 1 + 7 retries at 1, 2, 4 ... 64 s (portal.jobs.services.backoff_seconds): about two minutes
# of a receiver being down before the delivery is failed.
WEBHOOK_MAX_ATTEMPTS = int(getattr(settings, "WEBHOOK_MAX_ATTEMPTS", 8))


class WebhookNotDelivered(JobRetry):
    """The receiver did not answer 2xx: raised so that the job is retried with backoff."""


def on_webhook_given_up(*, job_id: int, message: str, delivery_id: int, **_: Any) -> None:
    webhook_services.webhook_give_up(delivery_id=delivery_id, message=message)


@job_kind(
    webhook_services.WEBHOOK_JOB_KIND,
    max_attempts=WEBHOOK_MAX_ATTEMPTS,
    # Above the HTTP timeout, which bounds the attempt; the rest is two small writes.
    time_limit_s=60,
    on_give_up=on_webhook_given_up,
)
def webhook_job(*, job_id: int, progress: Progress, delivery_id: int) -> dict[str, Any]:
    try:
        attempt = webhook_services.webhook_attempt(delivery_id=delivery_id)
    except webhook_services.DeliveryRefused as exc:
        raise JobFailed("webhook_refused", str(exc)) from exc
    if attempt is None:
        return {"delivery_id": delivery_id, "skipped": True}
    if not attempt.delivered:
        raise WebhookNotDelivered(attempt.error or f"HTTP {attempt.status_code}")
    return {"delivery_id": delivery_id, "status_code": attempt.status_code}
