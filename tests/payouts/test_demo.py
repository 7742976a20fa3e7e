"""The demo seeder pays ada against the local Stripe test server (the state file runportal's
server reads after it) and leaves ben to onboard himself."""

from __future__ import annotations

import importlib
import io
import sys
from typing import Any

import pytest

from portal.payouts import demo, local_stripe
from portal.payouts.models import ConnectedAccount, Payout, PayoutRun, PayoutStatus
from tests.factories.accounts import UserFactory
from tests.payouts.conftest import fund, paid, payable

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _own_var_dir(settings: Any, tmp_path: Any) -> None:
    settings.VAR_DIR = tmp_path  # where the test server's state file goes


def test_the_demo_pays_ada_on_the_local_test_server_once_and_leaves_ben_to_onboard(
    settings: Any, closed_period: str
) -> None:
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_API_BASE = ""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    ada, ben = UserFactory(username="ada"), UserFactory(username="ben")
    fund(ada, 4_321)
    fund(ben, 1_234)
    out = io.StringIO()

    demo.seed(out=out)

    run = PayoutRun.objects.get()
    assert run.against_test_server is True and run.period == closed_period
    assert {p.artist.username: p.amount_minor for p in Payout.objects.all()} == {"ada": 4_321}
    assert Payout.objects.get().status == PayoutStatus.PAID
    assert paid(ada) == 4_321
    # ben has no account yet and keeps his balance, for a visitor to onboard and staff to pay.
    assert not ConnectedAccount.objects.filter(artist=ben).exists()
    assert payable(ben) == 1_234 and paid(ben) == 0
    assert ConnectedAccount.objects.get().on_test_server
    assert "local Stripe test server" in out.getvalue() and "sign in as ben" in out.getvalue()
    assert settings.STRIPE_API_BASE == ""  # the override ended with the seeding

    demo.seed(out=out)
    assert PayoutRun.objects.count() == 1 and Payout.objects.count() == 1


def test_runportal_s_test_server_has_what_the_demo_paid(settings: Any, closed_period: str) -> None:
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_API_BASE = ""
    ada = UserFactory(username="ada")
    fund(ada, 2_500)
    demo.seed(out=io.StringIO())
    account = ConnectedAccount.objects.get(artist=ada)
    payout = Payout.objects.get()

    settings.DEBUG = True  # as under `make run`
    local = local_stripe.local_stripe_start(webhook_url="http://127.0.0.1:9/stripe/webhook/")
    assert local is not None
    try:
        assert local.server.account(str(account.stripe_account_id))["payouts_enabled"] is True
        [transfer] = local.server.transfers()
        assert transfer["id"] == payout.stripe_transfer_id and transfer["amount"] == 2_500
    finally:
        local.stop()


def test_a_fresh_database_starts_a_fresh_test_server(settings: Any, closed_period: str) -> None:
    # The state file of a database since deleted holds accounts this one never made, under
    # the same idempotency keys (acct-create-<artist id>): it is not reused.
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_API_BASE = ""
    with local_stripe.demo_server() as server:
        server.set_balance("usd", 5)
    assert local_stripe.state_path().exists()
    with local_stripe.demo_server() as server:
        assert server.balance("usd") == local_stripe.DEMO_PLATFORM_BALANCE


def test_the_demo_pays_with_the_test_suite_not_importable(
    settings: Any, closed_period: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # make run installs the runtime dependencies only, and tests/ is not part of the product.
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_API_BASE = ""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    fund(UserFactory(username="ada"), 2_000)
    for name in [m for m in sys.modules if m == "tests" or m.startswith("tests.")]:
        monkeypatch.setitem(sys.modules, name, None)  # any import of tests.* now fails
    monkeypatch.delitem(sys.modules, "portal.payouts.demo")
    out = io.StringIO()

    importlib.import_module("portal.payouts.demo").seed(out=out)

    assert f"payouts: {closed_period} paid on the local Stripe test server: 1 paid" in (
        out.getvalue()
    )
    assert Payout.objects.get().status == PayoutStatus.PAID


def test_the_demo_does_not_call_stripe_when_real_keys_are_set(
    settings: Any, closed_period: str
) -> None:
    settings.STRIPE_SECRET_KEY = "sk_test_real_looking"
    settings.STRIPE_API_BASE = ""
    out = io.StringIO()

    demo.seed(out=out)

    assert not PayoutRun.objects.exists()
    assert "run_payouts" in out.getvalue()
