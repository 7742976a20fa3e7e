"""Stripe webhook events: verified and stored once on receipt, then processed by a job."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from portal.core.errors import ApplicationError, NotFound
from portal.jobs.services import job_enqueue
from portal.payouts import stripe_gateway
from portal.payouts.models import StripeEvent, StripeEventStatus
from portal.payouts.services.onboarding import connected_account_apply_event
from portal.payouts.services.transfers import payout_apply_transfer
from portal.payouts.stripe_gateway import StripeFailure


def stripe_event_receive(*, payload: bytes, signature: str) -> tuple[StripeEvent, bool]:
    """Verify, store, enqueue. Returns (event, created). A duplicate delivery is counted and
    acknowledged; it is never processed again."""
    try:
        data = stripe_gateway.webhook_event(payload, signature)
    except stripe_gateway.WebhookInvalid as exc:
        # Nothing is stored: an event that fails verification (a forgery or a replay) is not
        # one of Stripe's events to keep.
        raise ApplicationError(exc.code, str(exc), status=400) from exc
    event_id = str(data["id"])
    with transaction.atomic():
        existing = StripeEvent.objects.select_for_update().filter(event_id=event_id).first()
        if existing is not None:
            existing.deliveries += 1
            existing.save(update_fields=["deliveries"])
            return existing, False
        try:
            with transaction.atomic():
                event = StripeEvent.objects.create(
                    event_id=event_id,
                    type=str(data["type"])[:100],
                    created=int(data.get("created") or 0),
                    account=str(data.get("account") or "")[:64],
                    payload=data,
                )
        except IntegrityError:  # a concurrent delivery of the same event won the insert
            return StripeEvent.objects.get(event_id=event_id), False
        job_enqueue(
            kind="payouts.stripe_event",
            args={"event_id": event_id},
            dedupe_key=f"payouts.stripe_event:{event_id}",
        )
    return event, True


HANDLED_EVENT_TYPES = (
    "account.updated",
    "transfer.created",
    "transfer.updated",
    "transfer.reversed",
)


def stripe_event_process(*, event_id: str) -> str:
    """Act on a stored event, once. Transfer events re-read the transfer from Stripe, so the
    order in which events arrive does not matter; account.updated is ordered by `created`."""
    event = StripeEvent.objects.filter(event_id=event_id).first()
    if event is None:
        raise NotFound("no_event", f"No stored Stripe event {event_id}.")
    if event.processed_at is not None:
        return event.status
    obj = (event.payload.get("data") or {}).get("object") or {}
    outcome: str
    status = StripeEventStatus.PROCESSED
    try:
        if event.type == "account.updated":
            outcome = connected_account_apply_event(
                state=stripe_gateway.account_state(obj), event_created=event.created
            )
        elif event.type in ("transfer.created", "transfer.updated", "transfer.reversed"):
            # Re-read: the payload is a snapshot from when the event was created.
            transfer = stripe_gateway.transfer_retrieve(str(obj["id"]))
            outcome = payout_apply_transfer(transfer=transfer)
        else:
            outcome, status = "ignored: not an event type we act on", StripeEventStatus.IGNORED
    except StripeFailure as exc:
        StripeEvent.objects.filter(pk=event.pk).update(processing_error=exc.describe())
        if exc.retryable:
            raise  # the job retries with backoff
        outcome, status = f"failed: {exc.describe()}", StripeEventStatus.FAILED
    if outcome.startswith("ignored") and status == StripeEventStatus.PROCESSED:
        status = StripeEventStatus.IGNORED
    with transaction.atomic():
        locked = StripeEvent.objects.select_for_update().get(pk=event.pk)
        if locked.processed_at is None:
            locked.status = status
            locked.outcome = outcome[:300]
            locked.processed_at = timezone.now()
            if status != StripeEventStatus.FAILED:
                locked.processing_error = ""
            locked.save(update_fields=["status", "outcome", "processed_at", "processing_error"])
    return outcome
