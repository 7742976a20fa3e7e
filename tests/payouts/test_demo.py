"""The demo seeder pays ada and ben against an in-process local Stripe test server."""

from __future__ import annotations

import importlib
import io
import sys
from typing import Any

import pytest

from portal.payouts import demo
from portal.payouts.models import ConnectedAccount, Payout, PayoutRun, PayoutStatus
from tests.factories.accounts import UserFactory
from tests.payouts.conftest import fund, paid

pytestmark = pytest.mark.django_db


def test_the_demo_pays_ada_and_ben_on_the_local_test_server_once(
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
    assert {p.artist.username: p.amount_minor for p in Payout.objects.all()} == {
        "ada": 4_321,
        "ben": 1_234,
    }
    assert set(Payout.objects.values_list("status", flat=True)) == {PayoutStatus.PAID}
    assert paid(ada) == 4_321 and paid(ben) == 1_234
    assert all(a.on_test_server for a in ConnectedAccount.objects.all())
    assert "local Stripe test server" in out.getvalue()
    assert settings.STRIPE_API_BASE == ""  # the override ended with the seeding

    demo.seed(out=out)
    assert PayoutRun.objects.count() == 1 and Payout.objects.count() == 2


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
