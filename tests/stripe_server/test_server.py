"""The Stripe test server, driven through stripe-python's StripeClient over real HTTP."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast

import pytest
import requests
import stripe

from stripe_server import StripeTestServer
from stripe_server import fixtures as fixtures_module
from stripe_server.fixtures import FALLBACK, Fixtures, default_fixtures_path
from stripe_server.params import parse_pairs

API_KEY = "sk_test_123"
SECRET = "whsec_test_secret"
EXPRESS: Any = {
    "fees": {"payer": "application"},
    "losses": {"payments": "application"},
    "stripe_dashboard": {"type": "express"},
}
REPO = Path(__file__).resolve().parents[2]


class Receiver:
    """A tiny local webhook endpoint recording (headers, body) of each POST."""

    def __init__(self, status: int = 200) -> None:
        self.calls: list[tuple[dict[str, str], str]] = []
        self.status = status
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.calls.append((dict(self.headers.items()), body.decode("utf-8")))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/webhooks/stripe"

    def events(self) -> list[stripe.Event]:
        return [
            construct_event(body, headers["Stripe-Signature"], SECRET)
            for headers, body in self.calls
        ]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    yield rec
    rec.close()


@pytest.fixture
def server(receiver: Receiver) -> Iterator[StripeTestServer]:
    with StripeTestServer(api_key=API_KEY, webhook_url=receiver.url, webhook_secret=SECRET) as srv:
        yield srv


def make_client(srv: StripeTestServer, timeout: float | None = None) -> stripe.StripeClient:
    if timeout is None:
        return stripe.StripeClient(
            API_KEY, base_addresses={"api": srv.base_url}, max_network_retries=0
        )
    return stripe.StripeClient(
        API_KEY,
        base_addresses={"api": srv.base_url},
        max_network_retries=0,
        http_client=stripe.RequestsClient(timeout=timeout),
    )


@pytest.fixture
def client(server: StripeTestServer) -> stripe.StripeClient:
    return make_client(server)


def create_account(client: stripe.StripeClient, **extra: Any) -> stripe.Account:
    params: dict[str, Any] = {
        "controller": EXPRESS,
        "country": "US",
        "email": "artist@example.com",
        "capabilities": {"transfers": {"requested": True}},
        "metadata": {"artist_id": "3"},
        **extra,
    }
    return client.v1.accounts.create(params=cast(Any, params))


def onboarded(client: stripe.StripeClient, server: StripeTestServer) -> stripe.Account:
    account = create_account(client)
    server.complete_onboarding(account.id)
    return account


construct_event: Callable[[str, str, str], stripe.Event] = stripe.Webhook.construct_event
verify_header: Callable[[str, str, str], bool] = stripe.WebhookSignature.verify_header


def error_of(exc: stripe.StripeError) -> dict[str, Any]:
    body = exc.json_body
    assert isinstance(body, dict)
    return cast(dict[str, Any], body["error"])


def obj(event: stripe.Event) -> dict[str, Any]:
    return dict(event.data.object)


def prev(event: stripe.Event) -> dict[str, Any]:
    return cast(dict[str, Any], event.data.previous_attributes)


def as_json(obj: Any) -> Any:
    return json.loads(str(obj))


def transfer_params(destination: str, amount: int = 1000, **extra: Any) -> Any:
    return {"amount": amount, "currency": "usd", "destination": destination, **extra}


# --------------------------------------------------------------------------- shapes
def test_form_decoding_matches_stripe_python_encoding() -> None:
    pairs = [
        ("controller[fees][payer]", "application"),
        ("metadata[artist_id]", "3"),
        ("metadata[0]", "zero"),
        ("capabilities[transfers][requested]", "true"),
        ("expand[0]", "destination"),
        ("expand[1]", "balance_transaction"),
        ("items[0][price]", "p1"),
    ]
    assert parse_pairs(pairs) == {
        "controller": {"fees": {"payer": "application"}},
        "metadata": {"artist_id": "3", "0": "zero"},
        "capabilities": {"transfers": {"requested": "true"}},
        "expand": ["destination", "balance_transaction"],
        "items": [{"price": "p1"}],
    }


def test_fallback_shapes_have_the_fixture_top_level_keys() -> None:
    path = default_fixtures_path()
    if not path.is_file():
        pytest.skip("fixtures3.json not present")
    real = Fixtures.load(path)
    for name, shape in FALLBACK.items():
        assert set(shape) == real.keys(name), name


def test_missing_fixture_file_falls_back(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("STRIPE_FIXTURES_PATH", str(tmp_path / "nope.json"))
    with pytest.raises(FileNotFoundError):
        Fixtures.load()
    monkeypatch.delenv("STRIPE_FIXTURES_PATH")
    assert Fixtures.load(None).source in {"builtin", str(default_fixtures_path())}


def test_server_works_on_builtin_shapes_without_shared_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("STRIPE_FIXTURES_PATH", raising=False)
    monkeypatch.setattr(fixtures_module, "default_fixtures_path", lambda: tmp_path / "none.json")
    with StripeTestServer(api_key=API_KEY, balance={"usd": 500}) as srv:
        assert srv.fixtures.source == "builtin"
        client = make_client(srv)
        account = onboarded(client, srv)
        transfer = client.v1.transfers.create(params=transfer_params(account.id, 200))
        assert set(transfer.keys()) == set(FALLBACK["transfer"])
        assert set(client.v1.accounts.retrieve(account.id).keys()) == set(FALLBACK["account"])
        assert client.v1.balance.retrieve().available[0].amount == 300


def test_responses_are_supersets_of_fixture_shapes(
    server: StripeTestServer, client: stripe.StripeClient
) -> None:
    def keys(obj: stripe.StripeObject) -> set[str]:
        return set(obj.keys())

    fx = server.fixtures
    server.set_balance("usd", 10_000)
    account = onboarded(client, server)
    link = client.v1.account_links.create(
        params={"account": account.id, "type": "account_onboarding"}
    )
    transfer = client.v1.transfers.create(params=transfer_params(account.id))
    reversal = client.v1.transfers.reversals.create(transfer.id, params={"amount": 10})
    event = client.v1.events.list(params={"limit": 1}).data[0]
    checks = {
        "account": keys(client.v1.accounts.retrieve(account.id)),
        "account_link": keys(link),
        "balance": keys(client.v1.balance.retrieve()),
        "transfer": keys(client.v1.transfers.retrieve(transfer.id)),
        "transfer_reversal": keys(reversal),
        "event": keys(event),
    }
    for name, got in checks.items():
        assert got >= fx.keys(name), (name, fx.keys(name) - got)
    capability = server.events("capability.updated")[0]["data"]["object"]
    assert set(capability) >= fx.keys("capability")


# ------------------------------------------------------------------------- accounts
def test_account_create_with_controller_properties(
    server: StripeTestServer, client: stripe.StripeClient
) -> None:
    account = create_account(client)
    assert account.id.startswith("acct_")
    assert account.object == "account"
    assert account.type == "express"
    assert account.controller is not None
    assert as_json(account.controller) == {
        "fees": {"payer": "application"},
        "is_controller": True,
        "losses": {"payments": "application"},
        "requirement_collection": "stripe",
        "stripe_dashboard": {"type": "express"},
        "type": "application",
    }
    assert account.capabilities is not None
    assert as_json(account.capabilities) == {"transfers": "inactive"}
    assert account.metadata == {"artist_id": "3"}
    assert account.email == "artist@example.com"
    assert account.details_submitted is False and account.payouts_enabled is False
    assert account.requirements is not None and account.requirements.currently_due

    updated = client.v1.accounts.update(
        account.id, params={"metadata": {"artist_id": "", "tier": "gold"}}
    )
    assert updated.metadata == {"tier": "gold"}
    event = server.events("account.updated")[-1]
    # Like Stripe: added keys show up as null in previous_attributes.
    assert event["data"]["previous_attributes"] == {"metadata": {"artist_id": "3", "tier": None}}
    assert event["account"] == account.id

    other = create_account(client, email="b@example.com")
    listed = client.v1.accounts.list(params={"limit": 1})
    assert [a.id for a in listed.data] == [other.id] and listed.has_more
    assert [a.id for a in listed.auto_paging_iter()] == [other.id, account.id]

    with pytest.raises(stripe.InvalidRequestError) as unknown:
        client.v1.accounts.create(params=cast(Any, {"controller": EXPRESS, "colour": "red"}))
    assert unknown.value.code == "parameter_unknown"
    assert unknown.value.param == "colour"
    with pytest.raises(stripe.PermissionError):
        client.v1.accounts.retrieve("acct_doesnotexist")


def test_account_link_onboarding_flow_emits_signed_account_updated(
    server: StripeTestServer, client: stripe.StripeClient, receiver: Receiver
) -> None:
    account = create_account(client)
    link = client.v1.account_links.create(
        params={
            "account": account.id,
            "refresh_url": "http://portal.test/connect/refresh",
            "return_url": "http://portal.test/connect/return",
            "type": "account_onboarding",
        }
    )
    assert link.object == "account_link"
    assert link.url.startswith(f"{server.base_url}/connect/onboarding/{account.id}?")
    assert link.expires_at > link.created

    page = requests.get(link.url, timeout=5)
    assert page.status_code == 200 and "complete-onboarding" in page.text
    done = requests.get(link.url + "&complete=1", allow_redirects=False, timeout=5)
    assert done.status_code == 302
    assert done.headers["Location"] == "http://portal.test/connect/return"
    again = requests.get(link.url, allow_redirects=False, timeout=5)
    assert again.headers["Location"] == "http://portal.test/connect/refresh"

    fresh = client.v1.accounts.retrieve(account.id)
    assert fresh.details_submitted and fresh.charges_enabled and fresh.payouts_enabled
    assert fresh.requirements is not None and fresh.requirements.currently_due == []
    assert fresh.capabilities is not None and fresh.capabilities.transfers == "active"

    received = [e for e in receiver.events() if e.type == "account.updated"]
    assert len(received) == 1
    assert obj(received[0])["id"] == account.id
    assert obj(received[0])["payouts_enabled"] is True
    assert prev(received[0])["payouts_enabled"] is False
    listed = client.v1.events.list(params={"type": "account.updated"})
    assert [e.id for e in listed.data] == [received[0].id]
    assert client.v1.events.retrieve(received[0].id).type == "account.updated"


def test_control_endpoint_completes_onboarding(server: StripeTestServer) -> None:
    client = make_client(server)
    account = create_account(client)
    response = requests.post(
        f"{server.base_url}/_test/accounts/{account.id}/complete_onboarding", timeout=5
    )
    assert response.status_code == 200 and response.json()["payouts_enabled"] is True
    assert len(server.events("account.updated")) == 1


# ------------------------------------------------------------------------ transfers
def test_transfer_idempotent_replay_and_mismatch(
    server: StripeTestServer, client: stripe.StripeClient
) -> None:
    server.set_balance("usd", 100_000)
    account = onboarded(client, server)
    params = transfer_params(account.id, 1234, transfer_group="play_42", metadata={"play_id": "42"})
    first = client.v1.transfers.create(params=params, options={"idempotency_key": "pay-42"})
    second = client.v1.transfers.create(params=params, options={"idempotency_key": "pay-42"})
    assert first.id == second.id and first.id.startswith("tr_")
    assert second.last_response is not None
    assert second.last_response.headers["Idempotent-Replayed"] == "true"
    assert len(server.transfers()) == 1
    assert server.balance("usd") == 100_000 - 1234
    assert server.connected_balance(account.id) == 1234
    assert first.metadata == {"play_id": "42"} and first.transfer_group == "play_42"
    assert [r.replayed for r in server.requests("POST", "/v1/transfers")] == [False, True]

    with pytest.raises(stripe.IdempotencyError) as mismatch:
        client.v1.transfers.create(
            params=transfer_params(account.id, 999), options={"idempotency_key": "pay-42"}
        )
    assert "same parameters" in str(mismatch.value)
    with pytest.raises(stripe.IdempotencyError, match="same endpoint"):
        client.v1.accounts.create(
            params={"controller": EXPRESS}, options={"idempotency_key": "pay-42"}
        )
    assert len(server.transfers()) == 1
    events = server.events("transfer.created")
    assert len(events) == 1 and events[0]["request"]["idempotency_key"] == "pay-42"


def test_an_idempotency_key_is_forgotten_once_it_is_24_hours_old_by_the_servers_clock(
    server: StripeTestServer, client: stripe.StripeClient
) -> None:
    server.set_balance("usd", 100_000)
    account = onboarded(client, server)
    params = transfer_params(account.id, 500, transfer_group="2024-01")
    first = client.v1.transfers.create(params=params, options={"idempotency_key": "pay-1"})

    server.advance_clock(24 * 3600 - 1)
    replay = client.v1.transfers.create(params=params, options={"idempotency_key": "pay-1"})
    assert replay.id == first.id and len(server.transfers()) == 1

    server.advance_clock(1)  # 24 hours: pruned, as Stripe may do from then on
    again = client.v1.transfers.create(params=params, options={"idempotency_key": "pay-1"})
    assert again.id != first.id
    assert again.last_response is not None
    assert "Idempotent-Replayed" not in again.last_response.headers
    assert [t["id"] for t in server.transfers()] == [first.id, again.id]
    # Whole seconds of a clock that also runs for real between the calls: 24 h, plus at most
    # the second or two the test itself took.
    assert 24 * 3600 <= again.created - first.created <= 24 * 3600 + 5
    assert server.balance("usd") == 100_000 - 1_000


def test_the_clock_control_moves_created_times_and_webhook_signatures(
    server: StripeTestServer, client: stripe.StripeClient, receiver: Receiver
) -> None:
    base = server.base_url
    before = requests.get(f"{base}/_test/clock", timeout=5).json()["now"]
    moved = requests.post(f"{base}/_test/clock", json={"advance": 3600}, timeout=5).json()["now"]
    assert moved - before >= 3600
    refused = requests.post(f"{base}/_test/clock", json={"advance": -1}, timeout=5)
    assert refused.status_code == 400

    account = create_account(client)

    assert account.created >= int(before) + 3600
    server.complete_onboarding(account.id)
    headers, body = receiver.calls[-1]
    signed_at = int(headers["Stripe-Signature"].split(",")[0].removeprefix("t="))
    assert signed_at == int(server.now()) and signed_at - time.time() >= 3599
    assert verify_header(body, headers["Stripe-Signature"], SECRET)  # signed over that `t`


def test_idempotency_keys_are_scoped_per_api_key() -> None:
    with StripeTestServer(balance={"usd": 10_000}) as srv:
        one = stripe.StripeClient(
            "sk_test_one", base_addresses={"api": srv.base_url}, max_network_retries=0
        )
        two = stripe.StripeClient(
            "sk_test_two", base_addresses={"api": srv.base_url}, max_network_retries=0
        )
        account = create_account(one)
        srv.complete_onboarding(account.id)
        a = one.v1.transfers.create(
            params=transfer_params(account.id), options={"idempotency_key": "k"}
        )
        b = two.v1.transfers.create(
            params=transfer_params(account.id), options={"idempotency_key": "k"}
        )
        assert a.id != b.id and len(srv.transfers()) == 2


def test_transfer_errors(server: StripeTestServer, client: stripe.StripeClient) -> None:
    server.set_balance("usd", 500)
    pending = create_account(client)
    with pytest.raises(stripe.InvalidRequestError) as not_ready:
        client.v1.transfers.create(params=transfer_params(pending.id, 100))
    assert not_ready.value.code == "insufficient_capabilities_for_transfer"
    assert not_ready.value.param == "destination"
    assert set(error_of(not_ready.value)) >= {"type", "code", "message", "param"}

    server.complete_onboarding(pending.id)
    with pytest.raises(stripe.InvalidRequestError) as broke:
        client.v1.transfers.create(
            params=transfer_params(pending.id, 501), options={"idempotency_key": "too-much"}
        )
    assert broke.value.code == "balance_insufficient"
    assert broke.value.http_status == 400
    assert error_of(broke.value)["type"] == "invalid_request_error"
    # Like Stripe, an error raised by the endpoint is saved under the key and replayed.
    server.set_balance("usd", 10_000)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.transfers.create(
            params=transfer_params(pending.id, 501), options={"idempotency_key": "too-much"}
        )
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.transfers.create(params=cast(Any, {"currency": "usd", "destination": pending.id}))
    assert missing.value.code == "parameter_missing" and missing.value.param == "amount"
    with pytest.raises(stripe.InvalidRequestError) as nowhere:
        client.v1.transfers.create(params=transfer_params("acct_nope"))
    assert nowhere.value.code == "resource_missing"
    assert server.transfers() == []


def test_authentication_errors(server: StripeTestServer) -> None:
    bad = stripe.StripeClient(
        "sk_test_wrong", base_addresses={"api": server.base_url}, max_network_retries=0
    )
    with pytest.raises(stripe.AuthenticationError):
        bad.v1.balance.retrieve()
    raw = requests.get(f"{server.base_url}/v1/balance", timeout=5)
    assert raw.status_code == 401
    assert raw.json()["error"]["type"] == "invalid_request_error"
    assert requests.get(
        f"{server.base_url}/v1/balance", auth=(API_KEY, ""), timeout=5
    ).ok  # curl -u sk_test_...: style


# ------------------------------------------------------------------- fault injection
def test_injected_500_is_api_error_and_retry_succeeds(
    server: StripeTestServer, client: stripe.StripeClient
) -> None:
    server.set_balance("usd", 10_000)
    account = onboarded(client, server)
    server.fail_next("POST", "/v1/transfers", status=500)
    with pytest.raises(stripe.APIError) as failed:
        client.v1.transfers.create(
            params=transfer_params(account.id), options={"idempotency_key": "r1"}
        )
    assert failed.value.http_status == 500
    assert error_of(failed.value)["type"] == "api_error"
    retried = client.v1.transfers.create(
        params=transfer_params(account.id), options={"idempotency_key": "r1"}
    )
    assert retried.last_response is not None
    assert "Idempotent-Replayed" not in retried.last_response.headers
    assert len(server.transfers()) == 1
    assert [r.status for r in server.requests("POST", "/v1/transfers")] == [500, 200]

    # stripe-python's own retries (max_network_retries) recover from a 500 on their own.
    server.fail_next("POST", "/v1/transfers", status=500)
    retrying = stripe.StripeClient(
        API_KEY, base_addresses={"api": server.base_url}, max_network_retries=2
    )
    stripe_retry = retrying.v1.transfers.create(params=transfer_params(account.id, 7))
    assert stripe_retry.amount == 7 and len(server.transfers()) == 2

    # store=True: the 500 is saved under the key and replayed (Stripe's behaviour for 500s
    # raised inside an endpoint).
    server.fail_next("POST", "/v1/transfers", status=500, store=True)
    for _ in range(2):
        with pytest.raises(stripe.APIError):
            client.v1.transfers.create(
                params=transfer_params(account.id), options={"idempotency_key": "stored-500"}
            )


def test_injected_429_is_rate_limit_error(
    server: StripeTestServer, client: stripe.StripeClient
) -> None:
    server.fail_next("GET", "/v1/balance", status=429, times=2)
    for _ in range(2):
        with pytest.raises(stripe.RateLimitError) as limited:
            client.v1.balance.retrieve()
        assert limited.value.http_status == 429
        assert error_of(limited.value)["code"] == "rate_limit"
    assert client.v1.balance.retrieve().object == "balance"


def test_timeout_after_apply_then_retry_returns_original_transfer(
    server: StripeTestServer,
) -> None:
    client = make_client(server, timeout=0.5)
    server.set_balance("usd", 10_000)
    account = onboarded(client, server)
    server.delay_next("POST", "/v1/transfers", seconds=3, after_apply=True)
    params = transfer_params(account.id, 2500, metadata={"payout_id": "7"})
    with pytest.raises(stripe.APIConnectionError):
        client.v1.transfers.create(params=params, options={"idempotency_key": "payout-7"})
    assert len(server.transfers()) == 1  # it happened although the client saw a timeout
    retried = client.v1.transfers.create(params=params, options={"idempotency_key": "payout-7"})
    assert retried.id == server.transfers()[0]["id"]
    assert len(server.transfers()) == 1
    assert server.balance("usd") == 10_000 - 2500

    server.drop_next("POST", "/v1/transfers", after_apply=True)
    with pytest.raises(stripe.APIConnectionError):
        client.v1.transfers.create(params=params, options={"idempotency_key": "payout-8"})
    again = client.v1.transfers.create(params=params, options={"idempotency_key": "payout-8"})
    assert len(server.transfers()) == 2 and again.id == server.transfers()[1]["id"]

    server.drop_next("POST", "/v1/transfers")  # dropped before executing: nothing happened
    with pytest.raises(stripe.APIConnectionError):
        client.v1.transfers.create(params=params, options={"idempotency_key": "payout-9"})
    assert len(server.transfers()) == 2


def test_retry_while_first_request_in_flight_gets_409(server: StripeTestServer) -> None:
    client = make_client(server, timeout=0.3)
    server.set_balance("usd", 10_000)
    account = onboarded(client, server)
    server.delay_next("POST", "/v1/transfers", seconds=1.0)
    params = transfer_params(account.id)
    with pytest.raises(stripe.APIConnectionError):
        client.v1.transfers.create(params=params, options={"idempotency_key": "slow"})
    with pytest.raises(stripe.APIError) as busy:
        client.v1.transfers.create(params=params, options={"idempotency_key": "slow"})
    assert busy.value.http_status == 409
    assert error_of(busy.value)["code"] == "idempotency_key_in_use"
    deadline = time.monotonic() + 5
    while not server.transfers() and time.monotonic() < deadline:
        time.sleep(0.05)
    replay = client.v1.transfers.create(params=params, options={"idempotency_key": "slow"})
    assert [t["id"] for t in server.transfers()] == [replay.id]


# -------------------------------------------------------------- reversals, lists
def test_reversal_updates_transfer_balance_and_emits_event(
    server: StripeTestServer, client: stripe.StripeClient, receiver: Receiver
) -> None:
    server.set_balance("usd", 5_000)
    account = onboarded(client, server)
    transfer = client.v1.transfers.create(params=transfer_params(account.id, 3_000))
    assert server.balance("usd") == 2_000

    partial = client.v1.transfers.reversals.create(transfer.id, params={"amount": 1_000})
    assert partial.object == "transfer_reversal" and partial.transfer == transfer.id
    after = client.v1.transfers.retrieve(transfer.id)
    assert after.amount_reversed == 1_000 and after.reversed is False
    assert server.balance("usd") == 3_000

    rest = client.v1.transfers.reversals.create(transfer.id)
    assert rest.amount == 2_000
    final = client.v1.transfers.retrieve(transfer.id)
    assert final.amount_reversed == 3_000 and final.reversed is True
    assert [r.id for r in final.reversals.data] == [rest.id, partial.id]
    assert server.balance("usd") == 5_000
    assert server.connected_balance(account.id) == 0
    listed = client.v1.transfers.reversals.list(transfer.id)
    assert [r.id for r in listed.auto_paging_iter()] == [rest.id, partial.id]

    with pytest.raises(stripe.InvalidRequestError):
        client.v1.transfers.reversals.create(transfer.id, params={"amount": 1})
    reversed_events = [e for e in receiver.events() if e.type == "transfer.reversed"]
    assert len(reversed_events) == 2
    assert obj(reversed_events[-1])["reversed"] is True
    assert prev(reversed_events[-1])["amount_reversed"] == 1_000
    assert client.v1.balance.retrieve().available[0].amount == 5_000


def test_list_filters_and_auto_paging(
    server: StripeTestServer, client: stripe.StripeClient
) -> None:
    server.set_balance("usd", 100_000)
    first = onboarded(client, server)
    second = onboarded(client, server)
    made = [
        client.v1.transfers.create(
            params=transfer_params(
                first.id if i % 2 == 0 else second.id, 100 + i, transfer_group=f"g{i % 3}"
            )
        ).id
        for i in range(7)
    ]
    page = client.v1.transfers.list(params={"limit": 3})
    assert page.url == "/v1/transfers" and page.has_more is True
    assert [t.id for t in page.data] == made[::-1][:3]
    assert [t.id for t in page.auto_paging_iter()] == made[::-1]
    assert len(server.requests("GET", "/v1/transfers")) == 3  # pages of 3 + 3 + 1

    to_first = client.v1.transfers.list(params={"destination": first.id, "limit": 2})
    assert [t.id for t in to_first.auto_paging_iter()] == made[::-2]
    group = client.v1.transfers.list(params={"transfer_group": "g1"})
    assert [t.id for t in group.data] == [made[4], made[1]]
    older = client.v1.transfers.list(params={"starting_after": made[3], "limit": 10})
    assert [t.id for t in older.data] == made[:3][::-1]
    newer = client.v1.transfers.list(params={"ending_before": made[3], "limit": 2})
    assert [t.id for t in newer.data] == [made[5], made[4]] and newer.has_more
    expanded = client.v1.transfers.list(params={"limit": 1, "expand": ["data.destination"]})
    assert expanded.data[0].destination.id == first.id  # type: ignore[union-attr]
    events = client.v1.events.list(params={"type": "transfer.*", "limit": 5})
    assert [obj(e)["id"] for e in events.auto_paging_iter()] == made[::-1]


# ------------------------------------------------------------------------- webhooks
def test_webhook_signature_verifies_and_tampering_fails(
    server: StripeTestServer, client: stripe.StripeClient, receiver: Receiver
) -> None:
    server.set_balance("usd", 1_000)
    account = onboarded(client, server)
    transfer = client.v1.transfers.create(params=transfer_params(account.id, 100))
    headers, body = receiver.calls[-1]
    event = construct_event(body, headers["Stripe-Signature"], SECRET)
    assert event.type == "transfer.created" and obj(event)["id"] == transfer.id
    assert headers["Stripe-Signature"].startswith("t=") and ",v1=" in headers["Stripe-Signature"]
    assert verify_header(body, headers["Stripe-Signature"], SECRET)
    with pytest.raises(stripe.SignatureVerificationError):
        construct_event(body.replace("100", "999"), headers["Stripe-Signature"], SECRET)
    with pytest.raises(stripe.SignatureVerificationError):
        construct_event(body, headers["Stripe-Signature"], "whsec_other")
    assert all(d.ok for d in server.webhook_deliveries())


def test_duplicate_and_out_of_order_delivery(
    server: StripeTestServer, client: stripe.StripeClient, receiver: Receiver
) -> None:
    server.set_balance("usd", 10_000)
    account = onboarded(client, server)
    receiver.calls.clear()

    server.duplicate_webhooks(2)
    one = client.v1.transfers.create(params=transfer_params(account.id, 1))
    server.duplicate_webhooks(1)
    ids = [e.id for e in receiver.events()]
    assert len(ids) == 2 and ids[0] == ids[1]
    server.resend_event(ids[0])
    assert [e.id for e in receiver.events()] == [ids[0]] * 3
    assert obj(receiver.events()[0])["id"] == one.id

    receiver.calls.clear()
    server.hold_webhooks()
    two = client.v1.transfers.create(params=transfer_params(account.id, 2))
    client.v1.transfers.reversals.create(two.id)
    assert receiver.calls == []
    assert server.release_webhooks(reverse=True) == 2
    assert [e.type for e in receiver.events()] == ["transfer.reversed", "transfer.created"]


def test_background_webhooks_and_control_http_api(receiver: Receiver) -> None:
    with StripeTestServer(api_key=API_KEY, webhook_mode="background") as srv:
        base = srv.base_url
        assert requests.post(
            f"{base}/_test/webhook",
            json={"url": receiver.url, "secret": SECRET},
            timeout=5,
        ).ok
        assert (
            requests.post(
                f"{base}/_test/balance", json={"currency": "usd", "amount": 777}, timeout=5
            ).json()["available"][0]["amount"]
            == 777
        )
        client = make_client(srv)
        account = create_account(client)
        requests.post(f"{base}/_test/accounts/{account.id}/complete_onboarding", timeout=5)
        fault = requests.post(
            f"{base}/_test/faults",
            json={"kind": "error", "method": "POST", "path": "/v1/transfers", "status": 503},
            timeout=5,
        )
        assert fault.json()["status"] == 503
        with pytest.raises(stripe.APIError):
            client.v1.transfers.create(params=transfer_params(account.id, 7))
        client.v1.transfers.create(params=transfer_params(account.id, 7))
        assert srv.wait_for_webhooks(5)
        assert {e.type for e in receiver.events()} >= {"account.updated", "transfer.created"}
        log = requests.get(f"{base}/_test/requests", timeout=5).json()
        assert [(r["method"], r["path"], r["status"]) for r in log][-2:] == [
            ("POST", "/v1/transfers", 503),
            ("POST", "/v1/transfers", 200),
        ]
        state = requests.get(f"{base}/_test/state", timeout=5).json()
        assert len(state["transfers"]) == 1 and state["balance"]["available"][0]["amount"] == 770
        assert requests.post(f"{base}/_test/reset", timeout=5).ok
        assert srv.transfers() == [] and srv.requests() == []


def test_unknown_route_is_stripe_404(server: StripeTestServer) -> None:
    response = requests.get(
        f"{server.base_url}/v1/charges_nope",
        headers={"Authorization": f"Bearer {API_KEY}"},
        timeout=5,
    )
    assert response.status_code == 404
    assert response.json()["error"]["message"].startswith("Unrecognized request URL")


def test_standalone_entry_point() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "stripe_server", "--port", "0", "--balance", "usd=4200"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "listening on" in line, line
        base = line.rsplit(" ", 1)[-1].strip()
        balance = requests.get(f"{base}/v1/balance", auth=("sk_test_any", ""), timeout=5).json()
        assert balance["available"][0] == {
            "amount": 4200,
            "currency": "usd",
            "source_types": {"card": 4200},
        }
        assert json.loads(json.dumps(balance))["object"] == "balance"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
