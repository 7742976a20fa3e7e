"""Connected accounts: creation with controller properties, Account Links, return/refresh."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from portal.core.errors import ApplicationError
from portal.payouts.models import ConnectedAccount
from portal.payouts.services import onboarding

pytestmark = pytest.mark.django_db


def test_it_creates_the_connected_account_with_controller_properties(
    stripe_server: Any, artist: Any
) -> None:
    account = onboarding.connected_account_ensure(artist=artist)

    [request] = stripe_server.requests("POST", "/v1/accounts")
    assert request.params["controller"] == {
        "fees": {"payer": "application"},
        "losses": {"payments": "application"},
        "stripe_dashboard": {"type": "express"},
        "requirement_collection": "stripe",
    }
    assert "type" not in request.params
    assert request.params["capabilities"] == {"transfers": {"requested": "true"}}
    assert request.params["metadata"] == {"artist_id": str(artist.pk)}
    assert request.idempotency_key == f"acct-create-{artist.pk}"
    on_stripe = stripe_server.account(account.stripe_account_id)
    assert on_stripe["type"] == "express"
    assert on_stripe["email"] == artist.email
    assert account.payouts_enabled is False
    assert "external_account" in account.requirements_due

    again = onboarding.connected_account_ensure(artist=artist)
    assert again.stripe_account_id == account.stripe_account_id
    assert len(stripe_server.accounts()) == 1


def test_a_timed_out_account_creation_is_retried_with_the_same_key(
    stripe_server: Any, artist: Any
) -> None:
    # Stripe creates the account, but the answer arrives after our timeout.
    stripe_server.delay_next("POST", "/v1/accounts", seconds=3, after_apply=True)
    with pytest.raises(ApplicationError) as timed_out:
        onboarding.connected_account_ensure(artist=artist)
    assert timed_out.value.code == "stripe_network_error"
    assert len(stripe_server.accounts()) == 1
    assert ConnectedAccount.objects.get(artist=artist).stripe_account_id is None

    account = onboarding.connected_account_ensure(artist=artist)

    assert [a["id"] for a in stripe_server.accounts()] == [account.stripe_account_id]
    keys = {r.idempotency_key for r in stripe_server.requests("POST", "/v1/accounts")}
    assert keys == {f"acct-create-{artist.pk}"}


def test_the_setup_button_sends_the_artist_to_stripe_and_the_return_view_reads_the_result(
    stripe_server: Any, artist: Any, client_for: Any
) -> None:
    browser = client_for(artist)
    page = browser.get("/payouts/")
    assert "Set up payouts with Stripe" in page.content.decode()
    assert "Not started" in page.content.decode()

    response = browser.post("/payouts/onboarding/start/")

    assert response.status_code == 302
    link = response["Location"]
    assert link.startswith(f"{stripe_server.base_url}/connect/onboarding/acct_")
    [link_request] = stripe_server.requests("POST", "/v1/account_links")
    assert link_request.params == {
        "account": ConnectedAccount.objects.get(artist=artist).stripe_account_id,
        "type": "account_onboarding",
        "return_url": "http://portal.test/payouts/onboarding/return/",
        "refresh_url": "http://portal.test/payouts/onboarding/refresh/",
    }
    unfinished = browser.get("/payouts/").content.decode()
    assert "Onboarding started" in unfinished or "Stripe needs more information" in unfinished
    assert "A bank account or debit card to receive your money" in unfinished

    # The artist completes Stripe's hosted form, which redirects back to our return view.
    done = requests.get(link + "&complete=1", allow_redirects=False, timeout=5)
    assert done.headers["Location"] == "http://portal.test/payouts/onboarding/return/"
    # Landing on the return page (a GET) changes nothing; the page posts itself to check.
    landing = browser.get("/payouts/onboarding/return/")
    assert landing.status_code == 200 and "data-auto-submit" in landing.content.decode()
    assert ConnectedAccount.objects.get(artist=artist).payouts_enabled is False
    back = browser.post("/payouts/onboarding/return/", follow=True)

    assert ConnectedAccount.objects.get(artist=artist).payouts_enabled is True
    text = back.content.decode()
    assert "payouts are enabled" in text
    assert "Set up payouts with Stripe" not in text
    assert "A bank account or debit card" not in text


def test_the_refresh_view_makes_a_new_link_for_an_expired_one(
    stripe_server: Any, artist: Any, client_for: Any
) -> None:
    browser = client_for(artist)
    first = browser.post("/payouts/onboarding/start/")["Location"]

    landing = browser.get("/payouts/onboarding/refresh/")
    assert (
        landing.status_code == 200 and len(stripe_server.requests("POST", "/v1/account_links")) == 1
    )
    second = browser.post("/payouts/onboarding/refresh/")["Location"]

    assert second.startswith(f"{stripe_server.base_url}/connect/onboarding/")
    token = parse_qs(urlsplit(second).query)["link"]
    assert token != parse_qs(urlsplit(first).query)["link"]
    assert len(stripe_server.requests("POST", "/v1/account_links")) == 2
    assert len(stripe_server.accounts()) == 1


def test_landing_back_from_stripe_with_a_get_changes_nothing(
    stripe_server: Any, artist: Any, client_for: Any
) -> None:
    browser = client_for(artist)
    browser.post("/payouts/onboarding/start/")
    account = ConnectedAccount.objects.get(artist=artist)
    stripe_server.complete_onboarding(account.stripe_account_id)
    calls = len(stripe_server.requests())
    before = ConnectedAccount.objects.values().get(pk=account.pk)

    for url in ("/payouts/onboarding/return/", "/payouts/onboarding/refresh/"):
        page = browser.get(url)
        assert page.status_code == 200
        assert 'method="post"' in page.content.decode()

    assert len(stripe_server.requests()) == calls  # not even a read from Stripe
    assert ConnectedAccount.objects.values().get(pk=account.pk) == before


def test_a_stripe_outage_during_setup_shows_a_message_not_an_error_page(
    stripe_server: Any, artist: Any, client_for: Any
) -> None:
    stripe_server.fail_next("POST", "/v1/accounts", status=500)

    response = client_for(artist).post("/payouts/onboarding/start/", follow=True)

    assert response.status_code == 200
    assert "Stripe had an internal error" in response.content.decode()
