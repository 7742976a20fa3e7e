"""Payout runs: a period's payable balances become payouts, sent in parallel and accounted for."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from portal.audit.services import audit_record
from portal.core.errors import ApplicationError, Conflict, PermissionDenied
from portal.jobs.services import job_enqueue
from portal.payouts import ledger_bridge
from portal.payouts.models import (
    OPEN_STATUSES,
    ConnectedAccount,
    Payout,
    PayoutRun,
    PayoutRunStatus,
    PayoutStatus,
)
from portal.payouts.services.transfers import payout_send

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
