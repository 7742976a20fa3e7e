"""Retries after Stripe forgot the idempotency key (keys are pruned once 24 hours old).

The fault in each test is Stripe applying a write and the reply never reaching us (the test
server executes the request, then drops the connection), followed by a retry a day later: the
key no longer protects the retry, so our code must find what Stripe already has.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command

from portal.audit.models import AuditEntry
from portal.core.errors import ApplicationError
from portal.payouts import stripe_gateway
from portal.payouts.models import ConnectedAccount, Payout, PayoutStatus
from portal.payouts.services import onboarding, runs
from tests.payouts.conftest import (
    PERIOD,
    in_flight,
    ledger_balanced,
    paid,
    payable,
)

pytestmark = pytest.mark.django_db

HOUR = 3600


@pytest.fixture
def funded_artist(artist: Any, payable_artist: Any) -> Any:
    payable_artist(artist, 3_000)
    return artist


def lost_reply_run(stripe_server: Any, *, applied: bool) -> Payout:
    """A run whose transfer request dies on the wire, after (or before) Stripe applied it."""
    stripe_server.drop_next("POST", "/v1/transfers", after_apply=applied)
    runs.payout_run(period=PERIOD)
    payout = Payout.objects.get()
    assert payout.status == PayoutStatus.IN_FLIGHT and payout.error_code == "network_error"
    assert len(stripe_server.transfers()) == (1 if applied else 0)
    stripe_server.clear_requests()
    return payout


def test_a_transfer_whose_reply_was_lost_is_found_on_stripe_when_retried_after_24_hours(
    stripe_server: Any, funded_artist: Any, clocks: Any
) -> None:
    payout = lost_reply_run(stripe_server, applied=True)
    [made] = stripe_server.transfers()

    clocks.advance(25 * HOUR)  # Stripe has forgotten the key by now
    runs.payout_run(period=PERIOD)

    assert [t["id"] for t in stripe_server.transfers()] == [made["id"]]
    assert stripe_server.requests("POST", "/v1/transfers") == []  # looked up, not re-sent
    [lookup] = stripe_server.requests("GET", "/v1/transfers")
    assert lookup.params["transfer_group"] == PERIOD
    assert lookup.params["destination"] == payout.destination
    payout.refresh_from_db()
    assert payout.status == PayoutStatus.PAID and payout.stripe_transfer_id == made["id"]
    assert payable(funded_artist) == 0 and in_flight(funded_artist) == 0
    assert paid(funded_artist) == 3_000
    assert ledger_balanced()
    assert AuditEntry.objects.filter(
        action="payouts.payout_paid", subject=f"payout:{payout.pk}"
    ).exists()
    call_command("reconcile_payouts")  # Stripe and Stemvault agree (raises otherwise)


def test_a_transfer_that_never_reached_stripe_is_sent_once_when_retried_after_24_hours(
    stripe_server: Any, funded_artist: Any, clocks: Any
) -> None:
    payout = lost_reply_run(stripe_server, applied=False)

    clocks.advance(25 * HOUR)
    runs.payout_run(period=PERIOD)

    [made] = stripe_server.transfers()
    assert [r.idempotency_key for r in stripe_server.requests("POST", "/v1/transfers")] == [
        payout.idempotency_key
    ]
    payout.refresh_from_db()
    assert payout.status == PayoutStatus.PAID and payout.stripe_transfer_id == made["id"]
    assert paid(funded_artist) == 3_000 and ledger_balanced()


def test_a_retry_within_24_hours_relies_on_the_idempotency_key(
    stripe_server: Any, funded_artist: Any, clocks: Any
) -> None:
    payout = lost_reply_run(stripe_server, applied=True)
    [made] = stripe_server.transfers()

    clocks.advance(2 * HOUR)
    runs.payout_run(period=PERIOD)

    [retry] = stripe_server.requests("POST", "/v1/transfers")
    assert retry.replayed is True and retry.idempotency_key == payout.idempotency_key
    assert stripe_server.requests("GET", "/v1/transfers") == []
    assert [t["id"] for t in stripe_server.transfers()] == [made["id"]]
    payout.refresh_from_db()
    assert payout.stripe_transfer_id == made["id"] and paid(funded_artist) == 3_000


def test_past_the_safe_margin_but_within_24_hours_stripe_is_looked_up_first(
    stripe_server: Any, funded_artist: Any, clocks: Any, settings: Any
) -> None:
    settings.PAYOUTS_IDEMPOTENCY_SAFE_HOURS = 20
    payout = lost_reply_run(stripe_server, applied=True)
    [made] = stripe_server.transfers()

    clocks.advance(21 * HOUR)
    runs.payout_run(period=PERIOD)

    assert stripe_server.requests("POST", "/v1/transfers") == []
    payout.refresh_from_db()
    assert payout.stripe_transfer_id == made["id"] and len(stripe_server.transfers()) == 1


def test_the_look_up_never_settles_on_a_transfer_that_does_not_name_the_payout(
    stripe_server: Any, funded_artist: Any, clocks: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # The attacker: a transfer of the same amount to the same account in the same group, made
    # outside Stemvault without our metadata. It must not count as this payout's.
    payout = lost_reply_run(stripe_server, applied=False)
    stranger = stripe_gateway.transfer_create(
        amount_minor=payout.amount_minor,
        currency=payout.currency,
        destination=payout.destination,
        transfer_group=PERIOD,
        metadata={"payout_id": str(payout.pk)},  # names it, but without its key
        idempotency_key="made-by-hand",
    )

    clocks.advance(25 * HOUR)
    runs.payout_run(period=PERIOD)

    payout.refresh_from_db()
    assert payout.status == PayoutStatus.PAID and payout.stripe_transfer_id != stranger.id
    assert len(stripe_server.transfers()) == 2  # ours (sent now) and the stranger's
    assert paid(funded_artist) == 3_000 and ledger_balanced()


def test_a_transfer_naming_the_payout_with_another_amount_is_neither_settled_nor_resent(
    stripe_server: Any, funded_artist: Any, clocks: Any
) -> None:
    payout = lost_reply_run(stripe_server, applied=False)
    forged = stripe_gateway.transfer_create(
        amount_minor=1,
        currency=payout.currency,
        destination=payout.destination,
        transfer_group=PERIOD,
        metadata={"payout_id": str(payout.pk), "idempotency_key": payout.idempotency_key},
        idempotency_key="forged",
    )
    stripe_server.clear_requests()

    clocks.advance(25 * HOUR)
    runs.payout_run(period=PERIOD)

    payout.refresh_from_db()
    assert payout.status == PayoutStatus.IN_FLIGHT and payout.error_code == "transfer_mismatch"
    assert forged.id in payout.error
    assert stripe_server.requests("POST", "/v1/transfers") == []  # never a blind second send
    assert in_flight(funded_artist) == 3_000 and paid(funded_artist) == 0
    assert ledger_balanced()


# ------------------------------------------------------------------ connected accounts
def test_an_account_whose_creation_reply_was_lost_is_found_on_stripe_after_24_hours(
    stripe_server: Any, artist: Any, other_artist: Any, clocks: Any
) -> None:
    onboarding.connected_account_ensure(artist=other_artist)  # another artist's account
    stripe_server.drop_next("POST", "/v1/accounts", after_apply=True)
    with pytest.raises(ApplicationError) as lost:
        onboarding.connected_account_ensure(artist=artist)
    assert lost.value.code == "stripe_network_error"
    [made] = [a for a in stripe_server.accounts() if a["metadata"] == {"artist_id": str(artist.pk)}]
    assert ConnectedAccount.objects.get(artist=artist).stripe_account_id is None
    stripe_server.clear_requests()

    clocks.advance(25 * HOUR)
    account = onboarding.connected_account_ensure(artist=artist)

    assert account.stripe_account_id == made["id"]
    assert len(stripe_server.accounts()) == 2  # no second account for the artist
    assert stripe_server.requests("POST", "/v1/accounts") == []
    assert stripe_server.requests("GET", "/v1/accounts")
    assert "external_account" in account.requirements_due  # the state, as a reply gives it
    assert AuditEntry.objects.filter(
        action="payouts.account_created", subject=f"user:{artist.pk}"
    ).exists()


def test_an_account_never_created_is_created_once_when_retried_after_24_hours(
    stripe_server: Any, artist: Any, other_artist: Any, clocks: Any
) -> None:
    theirs = onboarding.connected_account_ensure(artist=other_artist)
    stripe_server.drop_next("POST", "/v1/accounts", after_apply=False)
    with pytest.raises(ApplicationError):
        onboarding.connected_account_ensure(artist=artist)
    assert len(stripe_server.accounts()) == 1

    clocks.advance(25 * HOUR)
    account = onboarding.connected_account_ensure(artist=artist)

    # Not the other artist's account, which is the only one Stripe listed.
    assert account.stripe_account_id not in (None, theirs.stripe_account_id)
    assert len(stripe_server.accounts()) == 2
    assert stripe_server.account(str(account.stripe_account_id))["metadata"] == {
        "artist_id": str(artist.pk)
    }
