"""A server with a state file keeps its objects and idempotency keys across a restart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from stripe_server import StripeTestServer

API_KEY = "sk_test_persist"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
# What the portal sends (controller properties of an Express-like account), form-encoded.
ACCOUNT = {
    "country": "US",
    "email": "ada@example.org",
    "controller[fees][payer]": "application",
    "controller[losses][payments]": "application",
    "controller[stripe_dashboard][type]": "express",
    "capabilities[transfers][requested]": "true",
}


def _post(server: StripeTestServer, path: str, data: dict[str, Any], key: str = "") -> Any:
    headers = AUTH | ({"Idempotency-Key": key} if key else {})
    return requests.post(f"{server.base_url}{path}", data=data, headers=headers, timeout=5)


def _onboarded_account_and_transfer(server: StripeTestServer) -> tuple[str, Any]:
    account = _post(
        server,
        "/v1/accounts",
        ACCOUNT,
        key="acct-create-1",
    ).json()["id"]
    server.complete_onboarding(account)
    transfer = _post(
        server,
        "/v1/transfers",
        {"amount": "1234", "currency": "usd", "destination": account},
        key="payout-2024-01-1-1",
    )
    assert transfer.status_code == 200, transfer.text
    return account, transfer.json()


def test_objects_balances_and_keys_survive_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "stripe.json"
    with StripeTestServer(API_KEY, balance={"usd": 10_000}, state_path=state) as first:
        account, transfer = _onboarded_account_and_transfer(first)
        events_before = len(first.events())

    with StripeTestServer(API_KEY, balance={"usd": 99}, state_path=state) as second:
        assert second.account(account)["payouts_enabled"] is True
        assert [t["id"] for t in second.transfers()] == [transfer["id"]]
        # The file's balance, not the one given for a new file.
        assert second.balance("usd") == 10_000 - 1234
        assert len(second.events()) == events_before
        # A retry after the restart replays the first answer instead of paying again.
        again = _post(
            second,
            "/v1/transfers",
            {"amount": "1234", "currency": "usd", "destination": account},
            key="payout-2024-01-1-1",
        )
        assert again.headers.get("Idempotent-Replayed") == "true"
        assert again.json()["id"] == transfer["id"]
        assert len(second.transfers()) == 1 and second.balance("usd") == 10_000 - 1234


def test_a_server_without_a_state_file_starts_empty_each_time(tmp_path: Path) -> None:
    with StripeTestServer(API_KEY, balance={"usd": 10_000}) as first:
        _onboarded_account_and_transfer(first)
    with StripeTestServer(API_KEY) as second:
        assert second.accounts() == [] and second.transfers() == []
    assert list(tmp_path.iterdir()) == []


def test_a_link_used_before_a_restart_stays_used(tmp_path: Path) -> None:
    state = tmp_path / "stripe.json"
    with StripeTestServer(API_KEY, state_path=state) as first:
        account = _post(first, "/v1/accounts", ACCOUNT).json()["id"]
        link = _post(
            first,
            "/v1/account_links",
            {
                "account": account,
                "type": "account_onboarding",
                "return_url": "http://portal.test/return/",
                "refresh_url": "http://portal.test/refresh/",
            },
        ).json()["url"]
        assert requests.get(link, timeout=5).status_code == 200  # the form: visited
        first_base = first.base_url
    with StripeTestServer(API_KEY, state_path=state) as second:
        second_visit = requests.get(
            link.replace(first_base, second.base_url), timeout=5, allow_redirects=False
        )
        assert second_visit.status_code == 302
        assert second_visit.headers["Location"] == "http://portal.test/refresh/"


def test_two_servers_cannot_share_a_state_file(tmp_path: Path) -> None:
    state = tmp_path / "stripe.json"
    with (
        StripeTestServer(API_KEY, state_path=state),
        pytest.raises(RuntimeError, match="Another Stripe test server is using"),
    ):
        StripeTestServer(API_KEY, state_path=state).start()
    # Released on stop: the next one starts.
    with StripeTestServer(API_KEY, state_path=state) as later:
        assert later.port > 0


def test_an_unreadable_state_file_is_refused_with_what_to_do(tmp_path: Path) -> None:
    state = tmp_path / "stripe.json"
    state.write_text("{not json")
    server = StripeTestServer(API_KEY, state_path=state)
    with pytest.raises(ValueError, match="delete it"):
        server.start()
    assert state.read_text() == "{not json"  # left for the person to look at
    state.unlink()
    with StripeTestServer(API_KEY, state_path=state) as fresh:  # the failed start let go
        assert fresh.accounts() == []
