"""Writes for payouts: onboarding, webhook events, payout runs.

The rules that keep money safe:

- Every Stripe call carries an idempotency key that was committed to our database *before*
  the call (`ConnectedAccount.create_idempotency_key`, `Payout.idempotency_key`). A retry after a
  crash or a timeout reuses it, so Stripe answers with the original object instead of a second.
- No database transaction is held open across a Stripe call.
- Each ledger posting is idempotent on its reference and balanced, and posted in the same
  transaction as the status change it accounts for: reserve (payable -> in flight) with the row,
  settle (in flight -> paid) with `paid`, release (in flight -> payable) with `failed`, and each
  reversal (paid -> payable) once per Stripe reversal id.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from portal.audit.services import audit_record
from portal.core.errors import ApplicationError, Conflict, NotFound, PermissionDenied
from portal.jobs.services import job_enqueue
from portal.payouts import ledger_bridge, stripe_gateway
from portal.payouts.models import (
    OPEN_STATUSES,
    ConnectedAccount,
    Payout,
    PayoutRun,
    PayoutRunStatus,
    PayoutStatus,
    StripeEvent,
    StripeEventStatus,
)
from portal.payouts.stripe_gateway import (
    AccountState,
    StripeFailure,
    StripePermanent,
    TransferInfo,
)

logger = logging.getLogger(__name__)

PAYOUT_THRESHOLD_MINOR = int(getattr(settings, "PAYOUT_THRESHOLD_MINOR", 1000))
# Parallel Stripe calls in a run. Stripe's test mode allows ~25 requests/s, live mode ~100.
PAYOUT_CONCURRENCY = int(getattr(settings, "PAYOUT_CONCURRENCY", 4))
PERIOD_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def payout_threshold() -> int:
    return int(getattr(settings, "PAYOUT_THRESHOLD_MINOR", PAYOUT_THRESHOLD_MINOR))


def _concurrency() -> int:
    return max(1, int(getattr(settings, "PAYOUT_CONCURRENCY", PAYOUT_CONCURRENCY)))


def period_validate(period: str) -> str:
    if not PERIOD_RE.match(period or ""):
        raise ApplicationError(
            "invalid_period", "A period is a month written YYYY-MM.", fields={"period": ["YYYY-MM"]}
        )
    return period


def _site_url(name: str) -> str:
    return f"{settings.SITE_URL}{reverse(name)}"


def _failure(exc: StripeFailure) -> ApplicationError:
    status = 503 if exc.retryable else 502
    return ApplicationError(f"stripe_{exc.code}", exc.message, status=status)


# ------------------------------------------------------------------------ onboarding
def _account_row(*, artist: Any) -> ConnectedAccount:
    if not getattr(artist, "is_artist", False):
        raise PermissionDenied("not_artist", "Only artists receive payouts.")
    with transaction.atomic():
        account, created = ConnectedAccount.objects.get_or_create(
            artist=artist,
            defaults={
                "create_idempotency_key": f"acct-create-{artist.pk}",
                "on_test_server": bool(settings.STRIPE_API_BASE),
            },
        )
        if created:
            audit_record(
                actor=artist,
                action="payouts.account_requested",
                subject=f"user:{artist.pk}",
                after={"idempotency_key": account.create_idempotency_key},
            )
    return account


def connected_account_ensure(*, artist: Any) -> ConnectedAccount:
    """The artist's connected account, created on Stripe if it is not there yet.

    The row and its idempotency key commit first; a retry after a timeout gets the same Stripe
    account back (Stripe keeps keys for 24 hours).
    """
    account = _account_row(artist=artist)
    if account.stripe_account_id:
        return account
    profile = getattr(artist, "artist_profile", None)
    email = (profile.contact_email if profile else "") or artist.email or ""
    country = profile.country if profile else ""
    try:
        state = stripe_gateway.account_create(
            artist_id=artist.pk,
            email=email,
            country=country,
            idempotency_key=account.create_idempotency_key,
        )
    except StripeFailure as exc:
        raise _failure(exc) from exc
    with transaction.atomic():
        account = ConnectedAccount.objects.select_for_update().get(pk=account.pk)
        if not account.stripe_account_id:
            account.stripe_account_id = state.id
            _apply_state(account, state)
            account.full_clean()
            account.save()
            audit_record(
                actor=artist,
                action="payouts.account_created",
                subject=f"user:{artist.pk}",
                after={"stripe_account_id": state.id},
            )
    return account


def connected_account_onboarding_link(*, artist: Any) -> str:
    """A fresh Stripe-hosted onboarding URL (Account Links are single-use and short-lived)."""
    account = connected_account_ensure(artist=artist)
    assert account.stripe_account_id
    try:
        return stripe_gateway.account_link_create(
            account_id=account.stripe_account_id,
            return_url=_site_url("payouts:onboarding_return"),
            refresh_url=_site_url("payouts:onboarding_refresh"),
        )
    except StripeFailure as exc:
        raise _failure(exc) from exc


def _apply_state(account: ConnectedAccount, state: AccountState) -> dict[str, Any]:
    before = {
        "payouts_enabled": account.payouts_enabled,
        "details_submitted": account.details_submitted,
        "requirements_due": account.requirements_due,
    }
    account.payouts_enabled = state.payouts_enabled
    account.details_submitted = state.details_submitted
    account.transfers_active = state.transfers_active
    account.requirements_due = list(state.requirements_due)
    account.disabled_reason = state.disabled_reason[:120]
    return before


def connected_account_sync(*, artist: Any) -> ConnectedAccount | None:
    """Read the account's current state from Stripe (the return view does this, so the artist
    sees the result at once even if the webhook is late). Does not move `last_event_created`:
    that is Stripe's clock, not ours."""
    account = ConnectedAccount.objects.filter(artist=artist).first()
    if account is None or not account.stripe_account_id:
        return account
    try:
        state = stripe_gateway.account_retrieve(account.stripe_account_id)
    except StripeFailure as exc:
        raise _failure(exc) from exc
    with transaction.atomic():
        account = ConnectedAccount.objects.select_for_update().get(pk=account.pk)
        before = _apply_state(account, state)
        account.full_clean()
        account.save()
        audit_record(
            actor=artist,
            action="payouts.account_synced",
            subject=f"user:{artist.pk}",
            before=before,
            after={
                "payouts_enabled": state.payouts_enabled,
                "requirements_due": state.requirements_due,
            },
        )
    return account


@transaction.atomic
def connected_account_apply_event(*, state: AccountState, event_created: int) -> str:
    """Apply an account.updated payload unless a newer event was already applied."""
    account = (
        ConnectedAccount.objects.select_for_update().filter(stripe_account_id=state.id).first()
    )
    if account is None:
        return "ignored: not one of our connected accounts"
    if account.last_event_created is not None and event_created < account.last_event_created:
        return "ignored: older than the state already applied"
    before = _apply_state(account, state)
    account.last_event_created = event_created
    account.full_clean()
    account.save()
    audit_record(
        actor=None,
        action="payouts.account_updated",
        subject=f"user:{account.artist_id}",
        before=before,
        after={
            "payouts_enabled": state.payouts_enabled,
            "requirements_due": state.requirements_due,
        },
    )
    return "applied"


# --------------------------------------------------------------------------- webhooks
def stripe_event_receive(*, payload: bytes, signature: str) -> tuple[StripeEvent, bool]:
    """Verify, store, enqueue. Returns (event, created). A duplicate delivery is counted and
    acknowledged; it is never processed again."""
    try:
        data = stripe_gateway.webhook_event(payload, signature)
    except stripe_gateway.WebhookInvalid as exc:
        raise ApplicationError("invalid_signature", str(exc), status=400) from exc
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


# --------------------------------------------------------------------------- payouts
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


# ------------------------------------------------------------------------------- runs
@transaction.atomic
def payout_run_create(
    *,
    period: str,
    started_by: Any = None,
    currency: str | None = None,
    against_test_server: bool | None = None,
) -> PayoutRun:
    period_validate(period)
    if against_test_server is None:
        # Anything but Stripe itself (the local test server) is labelled as such on the pages.
        against_test_server = bool(settings.STRIPE_API_BASE)
    ledger_bridge.require_closed(period)
    run = PayoutRun(
        period=period,
        currency=(currency or ledger_bridge.period_currency(period)).lower(),
        started_by=started_by if getattr(started_by, "pk", None) else None,
        against_test_server=against_test_server,
    )
    run.full_clean()
    run.save()
    audit_record(
        actor=started_by,
        action="payouts.run_started",
        subject=f"payout_run:{run.pk}",
        after={"period": period, "currency": run.currency},
    )
    return run


def payout_run_request(*, period: str, user: Any) -> PayoutRun:
    """The staff button: create a run and do it in a job."""
    if not getattr(user, "is_platform_staff", False):
        raise PermissionDenied("not_staff", "Only staff start payout runs.")
    period_validate(period)
    busy = PayoutRun.objects.filter(period=period, status=PayoutRunStatus.RUNNING).first()
    if busy is not None and busy.created_at > timezone.now() - timedelta(minutes=30):
        raise Conflict("run_in_progress", f"A payout run for {period} is already running.")
    with transaction.atomic():
        run = payout_run_create(period=period, started_by=user)
        job_enqueue(
            kind="payouts.run",
            args={"run_id": run.pk},
            owner=user,
            dedupe_key=f"payouts.run:{run.pk}",
        )
    return run


def _create_payout(
    *, run: PayoutRun, account: ConnectedAccount, amount: int, sequence: int
) -> Payout:
    """Reserve the amount and create the payout row, in the caller's transaction."""
    assert account.stripe_account_id
    payout = Payout(
        run=run,
        artist_id=account.artist_id,
        period=run.period,
        sequence=sequence,
        amount_minor=amount,
        currency=run.currency,
        destination=account.stripe_account_id,
        idempotency_key=f"payout-{run.period}-{account.artist_id}-{sequence}",
    )
    # Uniqueness (one live payout per artist and period, the key) is the database's job on
    # this insert, where it is race-free; the run and the locked account's artist exist.
    payout.full_clean(exclude=["run", "artist"], validate_unique=False, validate_constraints=False)
    payout.save()
    ledger_bridge.reserve(payout)
    return payout


def payout_run_prepare(*, run: PayoutRun, chunk: int = 500) -> int:
    """Create a payout (and its reservation) for every eligible artist without one this period.

    Eligible: a payable balance at or above the threshold and a connected account with payouts
    enabled. Balances are re-read under a lock on the artists' account rows, so two runs (or a
    run and a reversal) cannot reserve the same money twice.
    """
    threshold = payout_threshold()
    candidates = sorted(
        artist_id
        for artist_id, amount in ledger_bridge.payable_balances(currency=run.currency).items()
        if amount >= threshold
    )
    created = 0
    for start in range(0, len(candidates), chunk):
        ids = candidates[start : start + chunk]
        with transaction.atomic():
            accounts = (
                ConnectedAccount.objects.select_for_update()
                .filter(artist_id__in=ids, payouts_enabled=True, stripe_account_id__isnull=False)
                .order_by("artist_id")
            )
            earlier: dict[int, tuple[bool, int]] = {}  # artist -> (has a live payout, last seq)
            for artist_id, status, sequence in Payout.objects.filter(
                period=run.period, artist_id__in=ids
            ).values_list("artist_id", "status", "sequence"):
                live, last = earlier.get(artist_id, (False, 0))
                earlier[artist_id] = (live or status != PayoutStatus.FAILED, max(last, sequence))
            # Re-read under the locks: the list above may be stale by now. One GROUP BY costs
            # less than a query per artist.
            balances = ledger_bridge.payable_balances(currency=run.currency)
            for account in accounts:
                live, last = earlier.get(account.artist_id, (False, 0))
                if live:
                    continue  # paid, or being paid, for this period already
                amount = balances.get(account.artist_id, 0)
                if amount >= threshold:
                    _create_payout(run=run, account=account, amount=amount, sequence=last + 1)
                    created += 1
    return created


def _send_all(payout_ids: list[int]) -> None:
    workers = min(_concurrency(), len(payout_ids))
    if workers <= 1:
        for payout_id in payout_ids:
            payout_send(payout_id=payout_id)
        return

    def send_slice(ids: list[int]) -> None:
        try:
            for payout_id in ids:
                payout_send(payout_id=payout_id)
        finally:
            connection.close()  # this thread's own connection; the thread ends next

    # Each worker takes every n-th payout; the order within a slice stays ascending.
    slices = [payout_ids[i::workers] for i in range(workers)]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="payout") as pool:
        for _ in pool.map(send_slice, slices):
            pass


def payout_run_execute(*, run_id: int) -> PayoutRun:
    """Do a run. Safe to interrupt anywhere and to run again:

    1. retry every open (pending or in-flight) payout with its stored key - Stripe answers a
       key it has seen with the original transfer, so nobody is paid twice;
    2. create payouts for the payable balances that remain;
    3. send them.
    """
    run = PayoutRun.objects.get(pk=run_id)
    open_before = list(
        Payout.objects.filter(status__in=OPEN_STATUSES).order_by("pk").values_list("pk", flat=True)
    )
    _send_all(open_before)
    payout_run_prepare(run=run)
    new_ids = list(
        Payout.objects.filter(run=run, status__in=OPEN_STATUSES)
        .exclude(pk__in=open_before)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    _send_all(new_ids)
    return payout_run_finish(run_id=run.pk, retried=len(open_before))


@transaction.atomic
def payout_run_finish(*, run_id: int, retried: int = 0) -> PayoutRun:
    run = PayoutRun.objects.select_for_update().get(pk=run_id)
    period_payouts = Payout.objects.filter(period=run.period)
    counts = {status: period_payouts.filter(status=status).count() for status in PayoutStatus}
    summary = {
        "created": Payout.objects.filter(run=run).count(),
        "retried": retried,
        **{str(k): v for k, v in counts.items()},
    }
    needs_attention = counts[PayoutStatus.IN_FLIGHT] + counts[PayoutStatus.PENDING] > 0 or (
        Payout.objects.filter(run=run, status=PayoutStatus.FAILED).exists()
    )
    run.status = PayoutRunStatus.NEEDS_ATTENTION if needs_attention else PayoutRunStatus.DONE
    run.summary = summary
    run.finished_at = timezone.now()
    run.save()
    audit_record(
        actor=None,
        action="payouts.run_finished",
        subject=f"payout_run:{run.pk}",
        after={"status": run.status, **summary},
    )
    return run


def payout_run(
    *,
    period: str,
    started_by: Any = None,
    currency: str | None = None,
    against_test_server: bool | None = None,
) -> PayoutRun:
    """Create and execute a run in this process (the management command, the demo)."""
    run = payout_run_create(
        period=period,
        started_by=started_by,
        currency=currency,
        against_test_server=against_test_server,
    )
    return payout_run_execute(run_id=run.pk)
