"""Writes for completion webhooks: an app's webhook URL and secret, an event to deliver, and
one delivery attempt (the "clients.webhook" job, portal.clients.tasks, retries with backoff).

An event is one `WebhookDelivery` row, unique by event id, and one job: enqueued in the
transaction of the change it announces, so an event is announced only if the change commits,
and sent after the commit by the job, on the default queue. A render never waits for a
receiver: it only inserts the row.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from portal.accounts.models import User
from portal.audit.services import audit_record
from portal.clients import webhooks
from portal.clients.models import ClientApp, DeliveryStatus, WebhookDelivery
from portal.core.errors import ApplicationError, NotFound
from portal.jobs.services import job_enqueue

WEBHOOK_JOB_KIND = "clients.webhook"
SECRET_PREFIX = "whsec_"


def webhook_timeout_s() -> float:
    return float(getattr(settings, "WEBHOOK_TIMEOUT_S", 5.0))


@transaction.atomic
def app_webhook_set(
    *, app_id: int, actor: User, url: str, rotate_secret: bool = False
) -> ClientApp:
    """Set (or with an empty `url`, remove) an app's webhook URL; the first URL gets a secret,
    and `rotate_secret` issues a new one (the old one stops signing at once)."""
    app = ClientApp.objects.select_for_update().filter(pk=app_id, owner=actor).first()
    if app is None:
        raise NotFound("app_not_found", "No such app of yours.")
    url = url.strip()
    if url and (problem := webhooks.url_problem(url)):
        raise ApplicationError(
            "webhook_url_refused", problem, fields={"webhook_url": [problem]}, status=400
        )
    before = {"webhook_url": app.webhook_url}
    app.webhook_url = url
    if url and (rotate_secret or not app.webhook_secret):
        app.webhook_secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    app.full_clean()
    app.save(update_fields=["webhook_url", "webhook_secret"])
    audit_record(
        actor=actor,
        action="clients.webhook_set",
        subject=f"client_app:{app.pk}",
        before=before,
        after={"webhook_url": url, "secret_rotated": bool(url and rotate_secret)},
    )
    return app


def webhook_event_enqueue(
    *, app: ClientApp, event_type: str, event_id: str, data: dict[str, Any]
) -> WebhookDelivery | None:
    """Queue `event_type` for `app`'s webhook (None when it has none). Idempotent by
    `event_id`: the same event enqueued again returns the first delivery."""
    if not app.webhook_url or not app.webhook_secret:
        return None
    existing = WebhookDelivery.objects.filter(event_id=event_id).first()
    if existing is not None:
        return existing
    payload = {
        "id": event_id,
        "type": event_type,
        "created": int(timezone.now().timestamp()),
        "app_id": app.pk,
        "data": data,
    }
    try:
        with transaction.atomic():
            delivery = WebhookDelivery.objects.create(
                app=app, event_id=event_id, event_type=event_type, payload=payload
            )
    except IntegrityError:  # the same event, enqueued at the same moment elsewhere
        return WebhookDelivery.objects.get(event_id=event_id)
    delivery.job = job_enqueue(
        kind=WEBHOOK_JOB_KIND,
        args={"delivery_id": delivery.pk},
        dedupe_key=f"{WEBHOOK_JOB_KIND}:{event_id}",
    )
    delivery.save(update_fields=["job"])
    return delivery


class DeliveryRefused(Exception):
    """The delivery cannot be attempted (no URL any more, or an address the guard refuses):
    recorded on the row as failed, not retried."""


def webhook_attempt(*, delivery_id: int) -> webhooks.Attempt | None:
    """One attempt at a pending delivery, recorded on its row (None: nothing to do). The
    caller retries an attempt that did not deliver (see portal.clients.tasks)."""
    delivery = WebhookDelivery.objects.select_related("app").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        return None  # delivered already (a duplicated job), or given up
    app = delivery.app
    url = app.webhook_url
    problem = webhooks.url_problem(url) if url else "The app has no webhook URL any more."
    if problem:
        _record(delivery, url=url, attempt=webhooks.Attempt(None, problem, 0), final=True)
        raise DeliveryRefused(problem)
    # No transaction or row lock is held while the receiver answers: a slow one ties up only
    # this job's thread.
    attempt = webhooks.post_signed(
        url,
        secret=app.webhook_secret,
        event_id=delivery.event_id,
        body=webhooks.webhook_body(delivery.payload),
        timeout_s=webhook_timeout_s(),
    )
    _record(delivery, url=url, attempt=attempt, final=attempt.delivered)
    return attempt


def webhook_give_up(*, delivery_id: int, message: str) -> None:
    """Attempts exhausted: the delivery is failed (its log says why each attempt failed)."""
    WebhookDelivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.FAILED, last_error=message
    )


@transaction.atomic
def _record(delivery: WebhookDelivery, *, url: str, attempt: webhooks.Attempt, final: bool) -> None:
    locked = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
    now = timezone.now()
    locked.attempts += 1
    locked.last_status_code = attempt.status_code
    locked.last_error = attempt.error
    locked.attempt_log = [
        *locked.attempt_log,
        {
            "at": now.isoformat(),
            "url": url,
            "status_code": attempt.status_code,
            "error": attempt.error,
            "ms": attempt.ms,
        },
    ]
    if attempt.delivered:
        locked.status, locked.delivered_at = DeliveryStatus.DELIVERED, now
    elif final:
        locked.status = DeliveryStatus.FAILED
    locked.save()
