"""One payout to one artist: the Stripe transfer and the ledger postings that account for it."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from portal.audit.services import audit_record
from portal.payouts import ledger_bridge, stripe_gateway
from portal.payouts.models import OPEN_STATUSES, Payout, PayoutStatus
from portal.payouts.stripe_gateway import StripeFailure, StripePermanent, TransferInfo


def _payout_metadata(payout: Payout) -> dict[str, str]:
    # Deterministic: a retry must send exactly the same parameters as the first attempt,
    # or Stripe refuses the idempotency key.
    return {
        "payout_id": str(payout.pk),
        "artist_id": str(payout.artist_id),
        "period": payout.period,
        "idempotency_key": payout.idempotency_key,
    }


def _payout_audit(payout: Payout, action: str, before: str, note: str = "") -> None:
    audit_record(
        actor=None,
        action=action,
        subject=f"payout:{payout.pk}",
        before={"status": before},
        after={
            "status": payout.status,
            "amount_minor": payout.amount_minor,
            "currency": payout.currency,
            "stripe_transfer_id": payout.stripe_transfer_id,
        },
        note=note,
    )


def _save(payout: Payout, *fields: str) -> None:
    # Field validation here; uniqueness and the check constraints are enforced by the database
    # on this very UPDATE (querying them first would double the queries of a 10k-artist run).
    # The foreign keys are not re-checked either: the row is locked and they never change.
    payout.full_clean(exclude=["run", "artist"], validate_unique=False, validate_constraints=False)
    payout.save(update_fields=[*fields, "updated_at"])


def payout_settle(*, payout_id: int, transfer: TransferInfo) -> Payout:
    """Stripe has the transfer: record it and move the amount from in flight to paid."""
    with transaction.atomic():
        payout = Payout.objects.select_for_update().get(pk=payout_id)
        if payout.status not in OPEN_STATUSES:
            return payout  # already settled (by the run or by a webhook)
        if (transfer.amount, transfer.currency, transfer.destination) != (
            payout.amount_minor,
            payout.currency,
            payout.destination,
        ):
            # Never settle on a transfer that is not the one we asked for; reconcile shows it.
            payout.error_code = "transfer_mismatch"
            payout.error = (
                f"Stripe transfer {transfer.id} ({transfer.amount} {transfer.currency} to "
                f"{transfer.destination}) does not match this payout."
            )
            payout.save(update_fields=["error_code", "error", "updated_at"])
            return payout
        before = payout.status
        payout.status = PayoutStatus.PAID
        payout.stripe_transfer_id = transfer.id
        payout.error_code = ""
        payout.error = ""
        _save(payout, "status", "stripe_transfer_id", "error_code", "error")
        ledger_bridge.settle(payout, transfer_id=transfer.id)
        _payout_audit(payout, "payouts.payout_paid", before)
    return payout


def payout_release(*, payout_id: int, failure: StripeFailure) -> Payout:
    """Stripe refused the transfer: mark it failed and return the amount to payable."""
    with transaction.atomic():
        payout = Payout.objects.select_for_update().get(pk=payout_id)
        if payout.status not in OPEN_STATUSES:
            return payout
        before = payout.status
        payout.status = PayoutStatus.FAILED
        payout.error_code = failure.code
        payout.error = failure.describe()
        _save(payout, "status", "error_code", "error")
        ledger_bridge.release(payout)
        _payout_audit(payout, "payouts.payout_failed", before, note=failure.describe())
    return payout


def payout_send(*, payout_id: int) -> Payout:
    """Call Stripe for one open payout with its stored key. Safe to repeat at any time."""
    # Claim it with a conditional UPDATE: a payout settled meanwhile (by another run or a
    # webhook) matches no row and is left alone.
    claimed = Payout.objects.filter(pk=payout_id, status__in=OPEN_STATUSES).update(
        status=PayoutStatus.IN_FLIGHT, attempts=F("attempts") + 1, updated_at=timezone.now()
    )
    payout = Payout.objects.get(pk=payout_id)
    if not claimed:
        return payout
    # Committed: from here on a crash leaves an in-flight row that the next run retries with
    # the same key.
    try:
        transfer = stripe_gateway.transfer_create(
            amount_minor=payout.amount_minor,
            currency=payout.currency,
            destination=payout.destination,
            transfer_group=payout.period,
            metadata=_payout_metadata(payout),
            idempotency_key=payout.idempotency_key,
        )
    except StripePermanent as exc:
        return payout_release(payout_id=payout.pk, failure=exc)
    except StripeFailure as exc:
        # Unknown outcome (timeout, 5xx, 429): stay in flight; a rerun retries the same key.
        Payout.objects.filter(pk=payout.pk, status=PayoutStatus.IN_FLIGHT).update(
            error_code=exc.code, error=exc.describe(), updated_at=timezone.now()
        )
        payout.refresh_from_db()
        return payout
    return payout_settle(payout_id=payout.pk, transfer=transfer)


def payout_apply_transfer(*, transfer: TransferInfo) -> str:
    """Bring our payout in line with a transfer's current state on Stripe (from a webhook):
    settle an in-flight payout whose response we never got, and post each reversal once."""
    payout = Payout.objects.filter(stripe_transfer_id=transfer.id).first()
    if payout is None:
        payout_pk = transfer.metadata.get("payout_id", "")
        key = transfer.metadata.get("idempotency_key", "")
        payout = (
            Payout.objects.filter(pk=int(payout_pk), idempotency_key=key).first()
            if payout_pk.isdigit()
            else None
        )
    if payout is None:
        return "ignored: not one of our payouts"
    outcome = []
    if payout.status in OPEN_STATUSES:
        payout = payout_settle(payout_id=payout.pk, transfer=transfer)
        outcome.append(f"payout {payout.pk} {payout.status}")
    if payout.status == PayoutStatus.FAILED:
        # Stripe refused it once, yet a transfer exists: a person must look (reconcile shows it).
        return f"ignored: payout {payout.pk} is failed but Stripe has transfer {transfer.id}"
    if transfer.amount_reversed > payout.amount_reversed_minor:
        reversals = stripe_gateway.transfer_reversals(transfer)
        payout = payout_apply_reversals(payout_id=payout.pk, transfer=transfer, reversals=reversals)
        outcome.append(f"reversed {payout.amount_reversed_minor}")
    return "applied: " + (", ".join(outcome) or "nothing new")


def payout_apply_reversals(
    *, payout_id: int, transfer: TransferInfo, reversals: Iterable[stripe_gateway.ReversalInfo]
) -> Payout:
    with transaction.atomic():
        payout = Payout.objects.select_for_update().get(pk=payout_id)
        if payout.status not in (PayoutStatus.PAID, PayoutStatus.REVERSED):
            return payout
        before = payout.status
        for reversal in reversals:
            # Idempotent on the reversal id: a duplicate event posts nothing.
            ledger_bridge.reverse(payout, reversal_id=reversal.id, amount_minor=reversal.amount)
        payout.amount_reversed_minor = max(payout.amount_reversed_minor, transfer.amount_reversed)
        if transfer.reversed or payout.amount_reversed_minor >= payout.amount_minor:
            payout.status = PayoutStatus.REVERSED
        _save(payout, "status", "amount_reversed_minor")
        _payout_audit(
            payout, "payouts.payout_reversed", before, note=f"{transfer.amount_reversed} reversed"
        )
    return payout
