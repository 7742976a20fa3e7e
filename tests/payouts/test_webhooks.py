"""The Stripe webhook: signature on the raw body, store first, process once in a job."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from portal.audit.models import AuditEntry
from portal.jobs.models import Job
from portal.payouts.models import ConnectedAccount, StripeEvent, StripeEventStatus
from portal.payouts.services import onboarding
from stripe_server import event_payload, sign_payload
from tests.payouts.conftest import WEBHOOK_SECRET

pytestmark = pytest.mark.django_db


def onboarding_event(server: Any, artist: Any) -> tuple[ConnectedAccount, dict[str, Any]]:
    account = onboarding.connected_account_ensure(artist=artist)
    server.complete_onboarding(account.stripe_account_id)
    [event] = server.events("account.updated")
    return account, event


def test_account_updated_webhook_enables_payouts_in_a_job(
    stripe_server: Any, artist: Any, deliver: Any, run_jobs: Any
) -> None:
    account, event = onboarding_event(stripe_server, artist)

    response = deliver(event)

    assert response.status_code == 200
    stored = StripeEvent.objects.get(event_id=event["id"])
    assert stored.type == "account.updated" and stored.status == StripeEventStatus.RECEIVED
    assert stored.payload == event
    account.refresh_from_db()
    assert account.payouts_enabled is False  # answered before processing

    run_jobs()

    account.refresh_from_db()
    stored.refresh_from_db()
    assert account.payouts_enabled is True and account.details_submitted is True
    assert account.requirements_due == []
    assert account.last_event_created == event["created"]
    assert stored.status == StripeEventStatus.PROCESSED and stored.processed_at is not None


@pytest.mark.parametrize("tamper", ["wrong_secret", "edited_body", "no_header"])
def test_a_bad_signature_is_refused_and_nothing_is_stored(
    stripe_server: Any, artist: Any, client: Any, tamper: str
) -> None:
    _, event = onboarding_event(stripe_server, artist)
    payload = event_payload(event)
    signature = sign_payload(payload, WEBHOOK_SECRET)
    if tamper == "wrong_secret":
        signature = sign_payload(payload, "whsec_someone_else")
    elif tamper == "edited_body":
        payload = payload.replace('"payouts_enabled": true', '"payouts_enabled": false')
    headers = {} if tamper == "no_header" else {"HTTP_STRIPE_SIGNATURE": signature}

    response = client.post(
        "/stripe/webhook/", data=payload, content_type="application/json", **headers
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_signature"
    assert StripeEvent.objects.count() == 0
    assert not Job.objects.filter(kind="payouts.stripe_event").exists()


def test_the_endpoint_needs_no_login_or_csrf_token_but_only_accepts_post(
    stripe_server: Any, client: Any
) -> None:
    assert client.get("/stripe/webhook/").status_code == 405


def test_a_duplicate_delivery_is_acknowledged_and_processed_once(
    stripe_server: Any, artist: Any, deliver: Any, run_jobs: Any
) -> None:
    _, event = onboarding_event(stripe_server, artist)

    first = deliver(event)
    second = deliver(event)
    run_jobs()
    third = deliver(event)
    run_jobs()

    assert [r.status_code for r in (first, second, third)] == [200, 200, 200]
    assert [r.json()["duplicate"] for r in (first, second, third)] == [False, True, True]
    stored = StripeEvent.objects.get(event_id=event["id"])
    assert stored.deliveries == 3
    assert Job.objects.filter(kind="payouts.stripe_event").count() == 1
    applied = AuditEntry.objects.filter(
        action="payouts.account_updated", subject=f"user:{artist.pk}"
    )
    assert applied.count() == 1


def test_out_of_order_account_updates_keep_the_newer_state(
    stripe_server: Any, stripe_clock: Any, artist: Any, deliver: Any, run_jobs: Any
) -> None:
    account = onboarding.connected_account_ensure(artist=artist)
    stripe_server.complete_onboarding(account.stripe_account_id)  # t: payouts enabled
    stripe_clock.advance(60)
    # Stripe later disables payouts again (a new requirement came due).
    stripe_server.state.accounts[account.stripe_account_id]["payouts_enabled"] = False
    stripe_server.state.accounts[account.stripe_account_id]["requirements"]["currently_due"] = [
        "individual.verification.document"
    ]
    with stripe_server.state.lock:
        stripe_server.state._emit(
            "account.updated",
            stripe_server.state.accounts[account.stripe_account_id],
            None,
            account=account.stripe_account_id,
        )
    older, newer = stripe_server.events("account.updated")
    assert newer["created"] > older["created"]

    deliver(newer)
    deliver(older)
    run_jobs()

    account.refresh_from_db()
    assert account.payouts_enabled is False
    assert account.requirements_due == ["individual.verification.document"]
    assert account.last_event_created == newer["created"]
    stale = StripeEvent.objects.get(event_id=older["id"])
    assert stale.status == StripeEventStatus.IGNORED
    assert "older than the state already applied" in stale.outcome


def test_in_order_account_updates_are_each_applied(
    stripe_server: Any, stripe_clock: Any, artist: Any, deliver: Any, run_jobs: Any
) -> None:
    account = onboarding.connected_account_ensure(artist=artist)
    stripe_server.complete_onboarding(account.stripe_account_id)
    [first] = stripe_server.events("account.updated")
    deliver(first)
    run_jobs()
    account.refresh_from_db()
    assert account.payouts_enabled is True

    stripe_clock.advance(5)
    stripe_server.state.accounts[account.stripe_account_id]["payouts_enabled"] = False
    with stripe_server.state.lock:
        stripe_server.state._emit(
            "account.updated",
            stripe_server.state.accounts[account.stripe_account_id],
            None,
            account=account.stripe_account_id,
        )
    deliver(stripe_server.events("account.updated")[-1])
    run_jobs()

    account.refresh_from_db()
    assert account.payouts_enabled is False


def test_other_event_types_are_stored_and_marked_ignored(
    stripe_server: Any, artist: Any, deliver: Any, run_jobs: Any
) -> None:
    account = onboarding.connected_account_ensure(artist=artist)
    stripe_server.complete_onboarding(account.stripe_account_id)
    [capability] = stripe_server.events("capability.updated")

    assert deliver(capability).status_code == 200
    run_jobs()

    stored = StripeEvent.objects.get(event_id=capability["id"])
    assert stored.status == StripeEventStatus.IGNORED
    assert stored.processed_at is not None
    assert json.loads(json.dumps(stored.payload))["type"] == "capability.updated"


@pytest.mark.django_db(transaction=True)
def test_the_test_server_delivers_signed_events_to_our_endpoint_over_http(
    stripe_server: Any, live_server: Any, artist: Any, run_jobs: Any
) -> None:
    stripe_server.set_webhook(f"{live_server.url}/stripe/webhook/")
    account = onboarding.connected_account_ensure(artist=artist)

    stripe_server.complete_onboarding(account.stripe_account_id)

    deliveries = stripe_server.webhook_deliveries()
    assert deliveries and all(d.status == 200 for d in deliveries)
    assert set(StripeEvent.objects.values_list("type", flat=True)) == {
        "account.updated",
        "capability.updated",
    }
    run_jobs()
    account.refresh_from_db()
    assert account.payouts_enabled is True


def test_events_signed_with_any_configured_secret_are_accepted(
    stripe_server: Any, artist: Any, deliver: Any, settings: Any
) -> None:
    # A platform endpoint and a Connect endpoint each have their own signing secret.
    settings.STRIPE_WEBHOOK_SECRET = f"whsec_platform_endpoint, {WEBHOOK_SECRET}"
    _, event = onboarding_event(stripe_server, artist)

    assert deliver(event).status_code == 200
    assert deliver(event, secret="whsec_unknown").status_code == 400
    assert StripeEvent.objects.filter(event_id=event["id"]).exists()


@pytest.mark.parametrize("age_s", [301, 3600, -301])
def test_a_correctly_signed_event_outside_the_five_minute_tolerance_is_refused(
    stripe_server: Any, artist: Any, client: Any, age_s: int
) -> None:
    # The attacker replays a genuine delivery captured earlier (or one stamped in the future):
    # the signature is valid, only its timestamp gives it away.
    account, event = onboarding_event(stripe_server, artist)
    payload = event_payload(event)
    signature = sign_payload(payload, WEBHOOK_SECRET, timestamp=int(time.time()) - age_s)

    response = client.post(
        "/stripe/webhook/",
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature,
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "timestamp_outside_tolerance"
    assert "300" in error["message"]
    assert StripeEvent.objects.count() == 0
    assert not Job.objects.filter(kind="payouts.stripe_event").exists()
    account.refresh_from_db()
    assert account.payouts_enabled is False


def test_a_replay_cannot_pass_a_fresh_timestamp_beside_the_signed_one(
    stripe_server: Any, artist: Any, client: Any
) -> None:
    _, event = onboarding_event(stripe_server, artist)
    payload = event_payload(event)
    captured = sign_payload(payload, WEBHOOK_SECRET, timestamp=int(time.time()) - 3600)

    # Stripe's parser ignores the padded " t=" item and checks the signature over the old one.
    response = client.post(
        "/stripe/webhook/",
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=f" t={int(time.time())},{captured}",
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "timestamp_outside_tolerance"
    assert StripeEvent.objects.count() == 0


def test_an_event_signed_within_the_tolerance_is_accepted(
    stripe_server: Any, artist: Any, client: Any
) -> None:
    _, event = onboarding_event(stripe_server, artist)
    payload = event_payload(event)

    response = client.post(
        "/stripe/webhook/",
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign_payload(
            payload, WEBHOOK_SECRET, timestamp=int(time.time()) - 240
        ),
    )

    assert response.status_code == 200
    assert StripeEvent.objects.filter(event_id=event["id"]).exists()
