"""One payout to one artist: the Stripe transfer and the ledger postings that account for it."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from portal.audit.services import audit_record
from portal.payouts import ledger_bridge, stripe_gateway
from portal.payouts.models import OPEN_STATUSES, Payout, PayoutStatus
from portal.payouts.stripe_gateway import StripeFailure, StripePermanent, TransferInfo

logger = logging.getLogger(__name__)


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
            if payout.stripe_transfer_id and payout.stripe_transfer_id != transfer.id:
                # Settled by another transfer: this one pays the artist a second time.
                return payout_flag_duplicate(payout_id=payout.pk, transfer=transfer)
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


def payout_flag_duplicate(*, payout_id: int, transfer: TransferInfo) -> Payout:
    """Stripe has `transfer`, carrying this payout's metadata, besides the transfer that paid
    it: the artist got the money twice. Flag the payout for staff (the runs page lists it) with
    an audit entry, once per transfer. Nothing is posted: our ledger records the one payment we
    meant; the other is Stripe's to reverse, and its reversal is not ours to post either."""
    with transaction.atomic():
        payout = Payout.objects.select_for_update().get(pk=payout_id)
        if transfer.id == payout.stripe_transfer_id or transfer.id in payout.duplicate_transfer_ids:
            return payout
        payout.duplicate_transfer_ids = [*payout.duplicate_transfer_ids, transfer.id]
        payout.flagged_at = payout.flagged_at or timezone.now()
        _save(payout, "duplicate_transfer_ids", "flagged_at")
        note = (
            f"paid by {payout.stripe_transfer_id}, but Stripe also has transfer {transfer.id} "
            f"({transfer.amount} {transfer.currency} to {transfer.destination}) carrying this "
            "payout's metadata: reverse it on Stripe"
        )
        _payout_audit(payout, "payouts.payout_duplicate_transfer", payout.status, note=note)
        logger.error("payout %s paid twice: %s", payout.pk, note)
    return payout


def _transfers_already_made(payout: Payout) -> list[TransferInfo]:
    """The transfers Stripe already has for this payout (oldest first): in its transfer group,
    to its destination, carrying its id and key in their metadata (what `payout_send` sends).
    Amount and currency are checked by `payout_settle`."""
    return stripe_gateway.transfers_naming(
        transfer_group=payout.period,
        destination=payout.destination,
        metadata={"payout_id": str(payout.pk), "idempotency_key": payout.idempotency_key},
    )


def payout_send(*, payout_id: int) -> Payout:
    """Call Stripe for one open payout with its stored key. Safe to repeat at any time.

    A retry more than PAYOUTS_IDEMPOTENCY_SAFE_HOURS after the payout was created looks Stripe
    up first: Stripe forgets keys after 24 hours, so a transfer applied by an attempt whose
    reply was lost would not be replayed but made again. What is found is settled exactly as
    the reply would have been; only when nothing is found is the transfer sent (again).
    """
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
    # `created_at` precedes the first attempt, so the age test errs towards looking up; the
    # first attempt itself (attempts == 1) has nothing to find.
    if payout.attempts > 1 and stripe_gateway.idempotency_key_may_have_expired(payout.created_at):
        try:
            found = _transfers_already_made(payout)
        except StripeFailure as exc:
            # Cannot tell whether Stripe has it: sending blind could pay twice, so wait.
            return _stay_in_flight(payout, exc)
        if found:
            # The first that matches pays it; a mismatch leaves it in flight with the reason
            # (never re-sent: a transfer naming it exists); any other is a second payment.
            for transfer in found:
                payout = payout_settle(payout_id=payout.pk, transfer=transfer)
            if payout.status == PayoutStatus.PAID:
                for transfer in found:
                    payout = payout_flag_duplicate(payout_id=payout.pk, transfer=transfer)
            return payout
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
        return _stay_in_flight(payout, exc)
    return payout_settle(payout_id=payout.pk, transfer=transfer)


def _stay_in_flight(payout: Payout, exc: StripeFailure) -> Payout:
    Payout.objects.filter(pk=payout.pk, status=PayoutStatus.IN_FLIGHT).update(
        error_code=exc.code, error=exc.describe(), updated_at=timezone.now()
    )
    payout.refresh_from_db()
    return payout


def payout_apply_transfer(*, transfer: TransferInfo) -> str:
    """Bring our payout in line with a transfer's current state on Stripe (from a webhook):
    settle an in-flight payout whose response we never got, post each reversal once, and flag
    a paid payout that this transfer would pay a second time."""
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
    if payout.stripe_transfer_id and payout.stripe_transfer_id != transfer.id:
        # Found by its metadata, but paid by another transfer. Never post this one's reversals
        # to the payout: undoing the duplicate would hand the artist the amount again.
        payout_flag_duplicate(payout_id=payout.pk, transfer=transfer)
        return (
            f"flagged: payout {payout.pk} was paid by {payout.stripe_transfer_id}; Stripe has "
            f"a second transfer {transfer.id} carrying its metadata"
        )
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
