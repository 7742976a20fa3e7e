"""A paid payout that meets a second Stripe transfer carrying its metadata is flagged at once.

The fault is the one this guards against: the same payout sent twice (a retry after Stripe
forgot the key, before the look-up existed, or someone re-sending it by hand). The second
transfer is real money out; it must reach a person, and must never move our ledger.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import CommandError, call_command

from portal.audit.models import AuditEntry
from portal.payouts import stripe_gateway
from portal.payouts.models import Payout, PayoutStatus, StripeEvent
from portal.payouts.services import runs
from portal.payouts.stripe_gateway import TransferInfo
from tests.payouts.conftest import PERIOD, ledger_balanced, paid, payable

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid_payout(artist: Any, payable_artist: Any) -> Payout:
    payable_artist(artist, 2_500)
    runs.payout_run(period=PERIOD)
    payout = Payout.objects.get()
    assert payout.status == PayoutStatus.PAID
    return payout


def send_again(payout: Payout, *, key: str = "sent-again-after-the-key-expired") -> TransferInfo:
    """The same payout sent a second time, under a key Stripe does not know any more."""
    return stripe_gateway.transfer_create(
        amount_minor=payout.amount_minor,
        currency=payout.currency,
        destination=payout.destination,
        transfer_group=payout.period,
        metadata={
            "payout_id": str(payout.pk),
            "artist_id": str(payout.artist_id),
            "period": payout.period,
            "idempotency_key": payout.idempotency_key,
        },
        idempotency_key=key,
    )


def test_a_second_transfer_for_a_paid_payout_is_flagged_from_its_webhook(
    stripe_server: Any,
    paid_payout: Payout,
    artist: Any,
    staff: Any,
    deliver: Any,
    run_jobs: Any,
    client_for: Any,
) -> None:
    first = paid_payout.stripe_transfer_id
    second = send_again(paid_payout)
    [event] = [
        e
        for e in stripe_server.events("transfer.created")
        if e["data"]["object"]["id"] == second.id
    ]

    assert deliver(event).status_code == 200
    run_jobs()

    paid_payout.refresh_from_db()
    assert paid_payout.status == PayoutStatus.PAID and paid_payout.stripe_transfer_id == first
    assert paid_payout.duplicate_transfer_ids == [second.id]
    assert paid_payout.flagged_at is not None
    stored = StripeEvent.objects.get(event_id=event["id"])
    assert stored.outcome.startswith("flagged") and second.id in stored.outcome
    [audit] = AuditEntry.objects.filter(
        action="payouts.payout_duplicate_transfer", subject=f"payout:{paid_payout.pk}"
    )
    assert second.id in audit.note
    # The ledger knows one payment, which is what we asked for; the second is Stripe's to undo.
    assert paid(artist) == 2_500 and payable(artist) == 0 and ledger_balanced()

    page = client_for(staff).get("/payouts/runs/").content.decode()
    assert "paid twice" in page and second.id in page and first in page
    detail = client_for(staff).get(f"/payouts/runs/{paid_payout.run_id}/").content.decode()
    assert second.id in detail

    deliver(event)  # a duplicate delivery flags nothing twice
    stripe_server.resend_event(event["id"])
    run_jobs()
    assert AuditEntry.objects.filter(action="payouts.payout_duplicate_transfer").count() == 1


def test_reversing_the_second_transfer_posts_nothing_to_the_paid_payout(
    stripe_server: Any, paid_payout: Payout, artist: Any, deliver: Any, run_jobs: Any
) -> None:
    second = send_again(paid_payout)
    stripe_gateway.transfer_reversal_create(transfer_id=second.id, idempotency_key="undo-second")
    for event in stripe_server.events():
        if event["type"].startswith("transfer.") and event["data"]["object"]["id"] == second.id:
            deliver(event)
    run_jobs()

    paid_payout.refresh_from_db()
    # Not reversed, and not a cent back to payable: the reversal undid the duplicate, not us.
    assert paid_payout.status == PayoutStatus.PAID and paid_payout.amount_reversed_minor == 0
    assert paid_payout.duplicate_transfer_ids == [second.id]
    assert payable(artist) == 0 and paid(artist) == 2_500 and ledger_balanced()
    # Undone on Stripe, so reconcile agrees again (raises on any difference).
    call_command("reconcile_payouts", period=PERIOD)


def test_reconcile_reports_and_flags_a_second_transfer_for_a_paid_payout(
    stripe_server: Any, paid_payout: Payout, capsys: pytest.CaptureFixture[str]
) -> None:
    second = send_again(paid_payout)  # no webhook arrives: reconcile is the backstop

    with pytest.raises(CommandError):
        call_command("reconcile_payouts", period=PERIOD)

    out = capsys.readouterr().out
    assert f"duplicate_transfer: payout {paid_payout.pk}" in out and second.id in out
    assert "missing_locally" not in out  # it is known: it is this payout's second transfer
    paid_payout.refresh_from_db()
    assert paid_payout.duplicate_transfer_ids == [second.id] and paid_payout.flagged_at
    assert paid_payout.status == PayoutStatus.PAID

    with pytest.raises(CommandError):
        call_command("reconcile_payouts")  # still a difference, flagged only once
    assert AuditEntry.objects.filter(action="payouts.payout_duplicate_transfer").count() == 1
