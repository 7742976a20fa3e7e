"""Payout runs against the Stripe test server: each eligible artist is paid exactly once."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import CommandError, call_command

from portal.payouts import stripe_gateway
from portal.payouts.models import ConnectedAccount, Payout, PayoutRunStatus, PayoutStatus
from portal.payouts.services import onboarding, runs, transfers
from tests.payouts.conftest import (
    PERIOD,
    fund,
    in_flight,
    ledger_balanced,
    onboard,
    paid,
    payable,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_artists(artist: Any, other_artist: Any, payable_artist: Any) -> Any:
    payable_artist(artist, 2_500)
    payable_artist(other_artist, 1_500)
    return artist, other_artist


def test_a_run_pays_each_eligible_artist_once_with_the_period_as_transfer_group(
    stripe_server: Any, two_artists: Any
) -> None:
    artist, other = two_artists

    run = runs.payout_run(period=PERIOD)

    assert run.status == PayoutRunStatus.DONE
    sent = stripe_server.transfers()
    assert sorted(t["amount"] for t in sent) == [1_500, 2_500]
    assert {t["transfer_group"] for t in sent} == {PERIOD}
    for user, amount in ((artist, 2_500), (other, 1_500)):
        payout = Payout.objects.get(artist=user)
        assert payout.status == PayoutStatus.PAID and payout.amount_minor == amount
        on_stripe = stripe_server.transfer(payout.stripe_transfer_id)
        assert (
            on_stripe["destination"] == ConnectedAccount.objects.get(artist=user).stripe_account_id
        )
        assert on_stripe["metadata"]["payout_id"] == str(payout.pk)
        requests_with_key = [
            r
            for r in stripe_server.requests("POST", "/v1/transfers")
            if r.idempotency_key == payout.idempotency_key
        ]
        assert len(requests_with_key) == 1
        assert payout.idempotency_key == f"payout-{PERIOD}-{user.pk}-1"
        assert payable(user) == 0 and in_flight(user) == 0 and paid(user) == amount
    assert ledger_balanced()


def test_a_balance_below_the_threshold_carries_forward(
    stripe_server: Any, artist: Any, payable_artist: Any
) -> None:
    payable_artist(artist, 999)

    runs.payout_run(period=PERIOD)

    assert stripe_server.transfers() == []
    assert not Payout.objects.exists()
    assert payable(artist) == 999

    fund(artist, 1, reference="late-cent")
    runs.payout_run(period=PERIOD)
    assert [t["amount"] for t in stripe_server.transfers()] == [1_000]
    assert payable(artist) == 0 and paid(artist) == 1_000


def test_an_artist_without_enabled_payouts_is_not_paid(
    stripe_server: Any, artist: Any, closed_period: str
) -> None:
    stripe_server.set_balance("usd", 1_000_000)
    onboarding.connected_account_ensure(artist=artist)  # onboarding not finished
    fund(artist, 5_000)

    runs.payout_run(period=PERIOD)

    assert stripe_server.transfers() == []
    assert payable(artist) == 5_000


def test_a_rerun_pays_nobody_twice(stripe_server: Any, two_artists: Any) -> None:
    runs.payout_run(period=PERIOD)
    second = runs.payout_run(period=PERIOD)

    assert len(stripe_server.transfers()) == 2
    assert second.summary["created"] == 0 and second.summary["paid"] == 2
    assert Payout.objects.count() == 2
    assert ledger_balanced()


def test_an_injected_500_leaves_the_payout_in_flight_and_a_rerun_pays_it_once(
    stripe_server: Any, artist: Any, payable_artist: Any
) -> None:
    payable_artist(artist, 2_000)
    stripe_server.fail_next("POST", "/v1/transfers", status=500)

    run = runs.payout_run(period=PERIOD)

    payout = Payout.objects.get()
    assert run.status == PayoutRunStatus.NEEDS_ATTENTION
    assert payout.status == PayoutStatus.IN_FLIGHT and payout.error_code == "stripe_unavailable"
    assert stripe_server.transfers() == []
    assert payable(artist) == 0 and in_flight(artist) == 2_000
    assert ledger_balanced()

    runs.payout_run(period=PERIOD)

    payout.refresh_from_db()
    assert payout.status == PayoutStatus.PAID and payout.attempts == 2
    assert len(stripe_server.transfers()) == 1
    keys = [r.idempotency_key for r in stripe_server.requests("POST", "/v1/transfers")]
    assert keys == [payout.idempotency_key, payout.idempotency_key]
    assert in_flight(artist) == 0 and paid(artist) == 2_000
    assert ledger_balanced()


def test_a_rate_limit_is_retried_on_the_next_run(
    stripe_server: Any, artist: Any, payable_artist: Any
) -> None:
    payable_artist(artist, 2_000)
    stripe_server.rate_limit_next("POST", "/v1/transfers")

    runs.payout_run(period=PERIOD)
    assert Payout.objects.get().error_code == "rate_limited"
    runs.payout_run(period=PERIOD)

    assert Payout.objects.get().status == PayoutStatus.PAID
    assert len(stripe_server.transfers()) == 1


def test_a_timeout_after_stripe_applied_the_transfer_then_a_rerun_leaves_exactly_one(
    stripe_server: Any, artist: Any, payable_artist: Any
) -> None:
    payable_artist(artist, 3_000)
    stripe_server.delay_next("POST", "/v1/transfers", seconds=3, after_apply=True)

    runs.payout_run(period=PERIOD)

    payout = Payout.objects.get()
    assert payout.status == PayoutStatus.IN_FLIGHT and payout.error_code == "network_error"
    [made] = stripe_server.transfers()  # it happened, we just never heard
    assert ledger_balanced()

    runs.payout_run(period=PERIOD)

    payout.refresh_from_db()
    assert payout.status == PayoutStatus.PAID and payout.stripe_transfer_id == made["id"]
    assert [t["id"] for t in stripe_server.transfers()] == [made["id"]]
    assert stripe_server.requests("POST", "/v1/transfers")[-1].replayed is True
    assert paid(artist) == 3_000 and in_flight(artist) == 0
    assert ledger_balanced()


def test_a_lost_response_is_settled_by_the_transfer_created_webhook(
    stripe_server: Any, artist: Any, deliver: Any, run_jobs: Any, payable_artist: Any
) -> None:
    payable_artist(artist, 3_000)
    stripe_server.delay_next("POST", "/v1/transfers", seconds=3, after_apply=True)
    runs.payout_run(period=PERIOD)
    [event] = stripe_server.events("transfer.created")

    deliver(event)
    run_jobs()

    payout = Payout.objects.get()
    assert payout.status == PayoutStatus.PAID
    assert payout.stripe_transfer_id == event["data"]["object"]["id"]
    assert paid(artist) == 3_000
    runs.payout_run(period=PERIOD)  # and a rerun does not pay again
    assert len(stripe_server.transfers()) == 1
    assert ledger_balanced()


def test_balance_insufficient_fails_the_payout_and_returns_the_money_to_payable(
    stripe_server: Any, artist: Any, closed_period: str
) -> None:
    stripe_server.set_balance("usd", 100)
    onboard(stripe_server, artist)
    fund(artist, 2_000)

    run = runs.payout_run(period=PERIOD)

    payout = Payout.objects.get()
    assert run.status == PayoutRunStatus.NEEDS_ATTENTION
    assert payout.status == PayoutStatus.FAILED
    assert payout.error_code == "balance_insufficient"
    assert "balance is too low" in payout.error
    assert payable(artist) == 2_000 and in_flight(artist) == 0 and paid(artist) == 0
    assert ledger_balanced()

    # Once the platform is funded, the next run makes a new payout with a new key.
    stripe_server.set_balance("usd", 1_000_000)
    runs.payout_run(period=PERIOD)
    retry = Payout.objects.get(status=PayoutStatus.PAID)
    assert retry.sequence == 2 and retry.idempotency_key.endswith("-2")
    assert paid(artist) == 2_000 and payable(artist) == 0
    assert len(stripe_server.transfers()) == 1
    assert ledger_balanced()


def test_an_account_that_cannot_receive_transfers_fails_with_a_clear_message(
    stripe_server: Any, artist: Any, closed_period: str
) -> None:
    stripe_server.set_balance("usd", 1_000_000)
    account = onboarding.connected_account_ensure(artist=artist)
    # Our copy says enabled (e.g. a stale state), Stripe says the account cannot take transfers.
    ConnectedAccount.objects.filter(pk=account.pk).update(payouts_enabled=True)
    fund(artist, 2_000)

    runs.payout_run(period=PERIOD)

    payout = Payout.objects.get()
    assert payout.status == PayoutStatus.FAILED
    assert payout.error_code == "account_not_payable"
    assert "cannot receive transfers" in payout.error
    assert payable(artist) == 2_000
    assert ledger_balanced()


@pytest.mark.parametrize("crash", ["before_stripe", "after_stripe"])
@pytest.mark.parametrize("at", [0, 1, 2])
def test_a_run_interrupted_at_any_transfer_then_rerun_pays_each_artist_exactly_once(
    stripe_server: Any, closed_period: str, monkeypatch: pytest.MonkeyPatch, crash: str, at: int
) -> None:
    from tests.factories.accounts import UserFactory

    stripe_server.set_balance("usd", 1_000_000)
    artists = [UserFactory(username=f"artist{i}") for i in range(3)]
    for i, user in enumerate(artists):
        onboard(stripe_server, user)
        fund(user, 1_000 + i)
    calls = {"n": 0}
    target = (
        (stripe_gateway, "transfer_create")
        if crash == "before_stripe"
        else (transfers, "payout_settle")
    )
    original = getattr(*target)

    def dies_at_call(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == at + 1:
            raise KeyboardInterrupt("the process died here")
        return original(*args, **kwargs)

    monkeypatch.setattr(*target, dies_at_call)
    with pytest.raises(KeyboardInterrupt):
        runs.payout_run(period=PERIOD)
    assert ledger_balanced()
    monkeypatch.setattr(*target, original)

    runs.payout_run(period=PERIOD)

    for i, user in enumerate(artists):
        destination = ConnectedAccount.objects.get(artist=user).stripe_account_id
        assert [t["amount"] for t in stripe_server.transfers(destination=destination)] == [
            1_000 + i
        ]
        assert Payout.objects.get(artist=user).status == PayoutStatus.PAID
        assert payable(user) == 0 and paid(user) == 1_000 + i
    assert ledger_balanced()


def test_a_reversal_webhook_returns_the_amount_to_payable_once(
    stripe_server: Any, artist: Any, deliver: Any, run_jobs: Any, payable_artist: Any
) -> None:
    payable_artist(artist, 2_500)
    runs.payout_run(period=PERIOD)
    payout = Payout.objects.get()

    stripe_gateway.transfer_reversal_create(
        transfer_id=str(payout.stripe_transfer_id), amount_minor=500, idempotency_key="rev-part"
    )
    [partial] = stripe_server.events("transfer.reversed")
    deliver(partial)
    deliver(partial)  # duplicate delivery
    run_jobs()

    payout.refresh_from_db()
    assert payout.status == PayoutStatus.PAID and payout.amount_reversed_minor == 500
    assert payable(artist) == 500 and paid(artist) == 2_000

    stripe_gateway.transfer_reversal_create(
        transfer_id=str(payout.stripe_transfer_id), idempotency_key="rev-rest"
    )
    full = stripe_server.events("transfer.reversed")[-1]
    deliver(full)
    deliver(partial)  # an old event arriving late changes nothing
    run_jobs()

    payout.refresh_from_db()
    assert payout.status == PayoutStatus.REVERSED and payout.amount_reversed_minor == 2_500
    assert payable(artist) == 2_500 and paid(artist) == 0
    assert ledger_balanced()


def test_reconcile_is_clean_after_a_run_and_reports_every_injected_difference(
    stripe_server: Any, two_artists: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    runs.payout_run(period=PERIOD)

    call_command("reconcile_payouts", period=PERIOD)
    call_command("reconcile_payouts")
    assert "agree" in capsys.readouterr().out

    artist, _ = two_artists
    payout = Payout.objects.get(artist=artist)
    # A transfer made outside Stemvault, and a reversal we never heard about.
    stray = stripe_gateway.transfer_create(
        amount_minor=123,
        currency="usd",
        destination=payout.destination,
        transfer_group=PERIOD,
        metadata={},
        idempotency_key="made-by-hand",
    )
    stripe_gateway.transfer_reversal_create(
        transfer_id=str(payout.stripe_transfer_id), amount_minor=100, idempotency_key="rev-silent"
    )

    with pytest.raises(CommandError):
        call_command("reconcile_payouts", period=PERIOD)
    out = capsys.readouterr().out
    assert f"missing_locally: transfer {stray.id}" in out
    assert f"reversed_on_stripe_not_locally: payout {payout.pk}" in out
    assert len(out.strip().splitlines()) == 2


def test_reconcile_reports_a_payout_missing_on_stripe_and_amount_mismatches(
    stripe_server: Any, two_artists: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    runs.payout_run(period=PERIOD)
    artist, other = two_artists
    Payout.objects.filter(artist=artist).update(stripe_transfer_id="tr_nowhere")
    Payout.objects.filter(artist=other).update(amount_minor=1_499)

    with pytest.raises(CommandError):
        call_command("reconcile_payouts")

    out = capsys.readouterr().out
    assert "missing_on_stripe" in out and "tr_nowhere" in out
    assert "amount_mismatch" in out
    assert "missing_locally" in out  # the real transfer of the first artist is now unmatched
    assert "ledger_paid_mismatch" in out  # 1_499 vs the 1_500 the ledger paid


def test_run_payouts_command_reports_and_fails_when_payouts_need_attention(
    stripe_server: Any, artist: Any, closed_period: str, capsys: pytest.CaptureFixture[str]
) -> None:
    stripe_server.set_balance("usd", 0)
    onboard(stripe_server, artist)
    fund(artist, 2_000)

    with pytest.raises(CommandError):
        call_command("run_payouts", PERIOD)
    assert "balance_insufficient" in capsys.readouterr().out

    stripe_server.set_balance("usd", 10_000)
    call_command("run_payouts", PERIOD)
    assert "1 paid" in capsys.readouterr().out


def test_run_payouts_refuses_a_malformed_or_open_period(stripe_server: Any) -> None:
    with pytest.raises(CommandError):
        call_command("run_payouts", "2024-13")
    with pytest.raises(CommandError):
        call_command("run_payouts", "2099-01")
