"""A demo artist tries payouts in real Chromium against runportal's local Stripe test server:
ben (a demo login, not onboarded by the seeder) sets up payouts on the test server's labelled
onboarding page, comes back to a ready account, and staff pay him a test transfer."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest

from portal.accounts import demo as accounts_demo
from portal.accounts.models import User
from portal.payouts import local_stripe
from portal.payouts.local_stripe import LocalStripe
from portal.payouts.models import ConnectedAccount, Payout, PayoutStatus, StripeEvent
from tests.conftest import run_queued_jobs, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PERIOD = "2024-01"


def _login(page: Any, username: str) -> None:
    page.context.clear_cookies()
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(accounts_demo.DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/dashboard/")


def _fund(artist: Any, amount: int) -> None:
    """A closed month with `amount` payable to the artist, as the royalties close posts it."""
    from portal.royalties import ledger
    from portal.royalties.services import period_close

    period_close(month=PERIOD, pool_minor=0, currency="usd", actor=None)
    ledger.ledger_post(
        kind=ledger.KIND_ALLOCATION,
        reference=f"test-allocation:{artist.pk}",
        entries=[(ledger.PLATFORM, None, -amount), (ledger.ARTIST_PAYABLE, artist, amount)],
        currency="usd",
        period=PERIOD,
    )


@pytest.fixture
def local(settings: Any, live_server: Any, tmp_path: Any) -> Iterator[LocalStripe]:
    """What runportal does under `make run` without Stripe keys (DEBUG on, nothing set)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.VAR_DIR = tmp_path
    settings.SITE_URL = live_server.url
    settings.PAYOUT_CONCURRENCY = 1
    settings.STRIPE_SECRET_KEY = settings.STRIPE_API_BASE = settings.STRIPE_WEBHOOK_SECRET = ""
    settings.DEBUG = True
    started = local_stripe.local_stripe_start(webhook_url=f"{live_server.url}/stripe/webhook/")
    settings.DEBUG = False  # the rest of the suite's pages as usual
    assert started is not None
    yield started
    started.stop()


def test_a_demo_artist_onboards_and_is_paid_on_the_local_test_server(page, shot, local):
    accounts_demo.seed(out=io.StringIO())
    ben = User.objects.get(username="ben")
    _fund(ben, 2_468)

    # 1. ben's payouts page says what test mode means, and offers to set up payouts.
    _login(page, "ben")
    page.goto("/payouts/")
    notice = page.inner_text("#test-mode")
    assert "no real money" in notice.lower() and "local Stripe test server" in notice
    assert page.inner_text("#onboarding-status") == "Not started"
    shot(page, "payouts-test-mode")

    # 2. Onboarding happens on the test server, which says plainly that it is not Stripe.
    page.get_by_role("button", name="Set up payouts with Stripe").click()
    page.wait_for_url(f"{local.server.base_url}/connect/onboarding/**")
    assert "Stemvault local Stripe test server" in page.title()
    assert "This is not Stripe." in page.inner_text("#test-server-banner")
    assert "ben@demo.stemvault.local" in page.inner_text("body")
    shot(page, "test-server-onboarding")
    page.get_by_role("button", name="Complete onboarding").click()

    # 3. Back on the portal: the return page checks the account and shows it ready.
    page.wait_for_url("**/payouts/")  # through /payouts/onboarding/return/
    assert page.inner_text("#onboarding-status") == "Payouts enabled"
    assert "Your Stripe account is ready" in page.inner_text("main")
    shot(page, "onboarded")
    account = ConnectedAccount.objects.get(artist=ben)
    assert account.payouts_enabled and account.on_test_server
    assert local.server.account(str(account.stripe_account_id))["payouts_enabled"] is True

    # The test server's signed account.updated reached the portal's webhook endpoint too.
    assert local.server.wait_for_webhooks(timeout=30)
    assert any(
        d.event_type == "account.updated" and d.ok for d in local.server.webhook_deliveries()
    )
    wait_for(lambda: StripeEvent.objects.filter(type="account.updated").exists(), timeout=30)
    run_queued_jobs()
    account.refresh_from_db()
    assert account.last_event_created is not None  # applied by the event's job

    # 4. Staff pay the closed month: one test transfer to ben's account on the test server.
    _login(page, "sam")
    page.goto("/payouts/runs/")
    page.get_by_role("button", name="Run payouts").click()
    page.wait_for_url("**/payouts/runs/*/")
    run_queued_jobs()
    payout = Payout.objects.get(artist=ben)
    assert payout.status == PayoutStatus.PAID and payout.amount_minor == 2_468
    [transfer] = local.server.transfers(destination=str(account.stripe_account_id))
    assert transfer["id"] == payout.stripe_transfer_id and transfer["amount"] == 2_468

    _login(page, "ben")
    page.goto("/payouts/")
    history = page.inner_text("main")
    assert transfer["id"] in history and "no real money" in history
    shot(page, "paid-on-test-server")
