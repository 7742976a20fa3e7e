"""Payout tests talk to the local Stripe-compatible server over HTTP (stripe_server).

The product code is unchanged: only settings point it at the server (STRIPE_API_BASE).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from stripe_server import StripeTestServer, event_payload, sign_payload

API_KEY = "sk_test_payouts_suite"
WEBHOOK_SECRET = "whsec_payouts_suite"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    # The role fixtures hash a password each; PBKDF2 costs most of these tests' time otherwise.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


class Clock:
    """The test server's clock, so a test can order Stripe events in time."""

    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def stripe_clock() -> Clock:
    return Clock()


class Clocks:
    """Our clock (django.utils.timezone.now, what the portal reads) and the Stripe test
    server's, moved forward together: a day passing for both sides of the wire."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, stripe_clock: Clock) -> None:
        from django.utils import timezone

        self._monkeypatch = monkeypatch
        self._stripe_clock = stripe_clock
        self._real_now = timezone.now
        self._offset = timedelta(0)

    def advance(self, seconds: float) -> None:
        from django.utils import timezone

        self._stripe_clock.advance(seconds)
        self._offset += timedelta(seconds=seconds)
        offset, real_now = self._offset, self._real_now
        self._monkeypatch.setattr(timezone, "now", lambda: real_now() + offset)


@pytest.fixture
def clocks(monkeypatch: pytest.MonkeyPatch, stripe_clock: Clock) -> Clocks:
    return Clocks(monkeypatch, stripe_clock)


@pytest.fixture
def stripe_server(settings: Any, stripe_clock: Clock) -> Iterator[StripeTestServer]:
    with StripeTestServer(
        api_key=API_KEY,
        webhook_url=None,
        webhook_secret=WEBHOOK_SECRET,
        balance={"usd": 0},
        clock=stripe_clock,
    ) as server:
        settings.STRIPE_SECRET_KEY = API_KEY
        settings.STRIPE_API_BASE = server.base_url
        settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
        settings.STRIPE_TIMEOUT_S = 1.0
        settings.PAYOUT_CONCURRENCY = 1  # threads would not see the test's open transaction
        settings.PAYOUT_THRESHOLD_MINOR = 1000
        settings.SITE_URL = "http://portal.test"
        yield server


def post_event(client: Any, event: dict[str, Any], secret: str = WEBHOOK_SECRET) -> Any:
    """Deliver one event to our endpoint exactly as Stripe does: raw JSON body, signed."""
    payload = event_payload(event)
    return client.post(
        "/stripe/webhook/",
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign_payload(payload, secret),
    )


@pytest.fixture
def deliver(client: Any) -> Callable[..., Any]:
    def send(event: dict[str, Any], secret: str = WEBHOOK_SECRET) -> Any:
        return post_event(client, event, secret)

    return send


# --- Ledger and account helpers (through the royalties ledger and our services) -------------
PERIOD = "2024-01"


@pytest.fixture
def closed_period(db: None) -> str:
    from portal.royalties.services import period_close

    period_close(month=PERIOD, pool_minor=0, currency="usd", actor=None)
    return PERIOD


@pytest.fixture
def payable_artist(stripe_server: StripeTestServer, closed_period: str) -> Any:
    """`payable_artist(user, amount)`: onboard the user on Stripe and give them `amount` payable,
    on a platform whose Stripe balance can pay every artist of the test."""
    stripe_server.set_balance("usd", 1_000_000)

    def make(user: Any, amount: int) -> Any:
        onboard(stripe_server, user)
        fund(user, amount)
        return user

    return make


def fund(artist: Any, amount: int, *, reference: str = "", currency: str = "usd") -> None:
    """Give an artist a payable balance: a balanced posting from the platform."""
    from portal.royalties import ledger

    ledger.ledger_post(
        kind=ledger.KIND_ALLOCATION,
        reference=f"test-allocation:{artist.pk}:{reference or amount}",
        entries=[(ledger.PLATFORM, None, -amount), (ledger.ARTIST_PAYABLE, artist, amount)],
        currency=currency,
        period=PERIOD,
    )


def _balance(account: str, artist: Any) -> int:
    from portal.royalties import ledger

    return ledger.balance(account, artist, currency="usd")


def payable(artist: Any) -> int:
    return _balance("artist_payable", artist)


def in_flight(artist: Any) -> int:
    return _balance("transfers_in_flight", artist)


def paid(artist: Any) -> int:
    return _balance("paid", artist)


def ledger_balanced() -> bool:
    """Every transaction sums to zero, and so does the whole ledger, per currency."""
    from django.db.models import Sum

    from portal.royalties import ledger
    from portal.royalties.models import LedgerEntry

    totals = LedgerEntry.objects.values("currency").annotate(total=Sum("amount_minor"))
    return not ledger.unbalanced_transactions() and all(row["total"] == 0 for row in totals)


def onboard(server: StripeTestServer, artist: Any) -> Any:
    """Create the artist's connected account, finish Stripe's onboarding, read the result."""
    from portal.payouts.services import onboarding

    account = onboarding.connected_account_ensure(artist=artist)
    server.complete_onboarding(str(account.stripe_account_id))
    return onboarding.connected_account_sync(artist=artist)
