"""runportal's local Stripe test server: started only for a local demo without Stripe keys,
pointing this process's Stripe settings (and a worker's environment) at itself."""

from __future__ import annotations

import socket
from typing import Any

import pytest
import requests
from django.core.checks import run_checks
from django.db import connection

from portal.payouts import local_stripe

pytestmark = pytest.mark.django_db

WEBHOOK = "http://127.0.0.1:9/stripe/webhook/"


@pytest.fixture(autouse=True)
def _demo_settings(settings: Any, tmp_path: Any) -> None:
    settings.VAR_DIR = tmp_path
    settings.DEBUG = True
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_API_BASE = ""
    settings.STRIPE_WEBHOOK_SECRET = ""


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("STRIPE_SECRET_KEY", "sk_test_a_real_account", "STRIPE_SECRET_KEY is set"),
        ("STRIPE_SECRET_KEY", "sk_live_a_real_account", "STRIPE_SECRET_KEY is set"),
        ("STRIPE_API_BASE", "http://127.0.0.1:12111", "STRIPE_API_BASE is set"),
        ("DEBUG", False, "DEBUG is off"),
    ],
)
def test_not_started_with_stripe_configured_or_in_production(
    settings: Any, name: str, value: Any, reason: str
) -> None:
    setattr(settings, name, value)
    before = {n: getattr(settings, n) for n in local_stripe.SETTING_NAMES}

    assert local_stripe.local_stripe_start(webhook_url=WEBHOOK) is None

    assert reason in (local_stripe.why_not_started() or "")
    assert {n: getattr(settings, n) for n in local_stripe.SETTING_NAMES} == before
    assert not local_stripe.state_path().exists()


def test_started_it_points_the_settings_at_itself_and_gives_them_back(settings: Any) -> None:
    local = local_stripe.local_stripe_start(webhook_url=WEBHOOK)
    assert local is not None
    try:
        key, webhook_secret = local_stripe.credentials()
        assert key == settings.STRIPE_SECRET_KEY and key.startswith("sk_test_")
        assert local.server.base_url == settings.STRIPE_API_BASE
        assert settings.STRIPE_WEBHOOK_SECRET == webhook_secret == local.server.webhook_secret
        assert local.server.webhooks.url == WEBHOOK
        # A worker in another process gets the same three settings.
        assert local.env == {
            "STRIPE_SECRET_KEY": key,
            "STRIPE_API_BASE": local.server.base_url,
            "STRIPE_WEBHOOK_SECRET": webhook_secret,
        }
        # It answers over HTTP with that key only.
        balance = requests.get(
            f"{local.server.base_url}/v1/balance",
            headers={"Authorization": f"Bearer {key}"},
            timeout=5,
        )
        assert balance.status_code == 200
        other = requests.get(
            f"{local.server.base_url}/v1/balance",
            headers={"Authorization": "Bearer sk_test_somebody_else"},
            timeout=5,
        )
        assert other.status_code == 401
    finally:
        local.stop()
    assert settings.STRIPE_SECRET_KEY == "" and settings.STRIPE_API_BASE == ""
    assert local_stripe.state_path().exists()


def test_the_key_is_the_same_for_every_start_on_one_machine() -> None:
    # Idempotency keys are scoped by API key: a key sent before a restart must still replay.
    assert local_stripe.credentials() == local_stripe.credentials()


def test_each_database_has_its_own_state_file(monkeypatch: pytest.MonkeyPatch) -> None:
    # The suite's database (test.sqlite3, test_<name>) must never read or replace the demo's.
    monkeypatch.setitem(connection.settings_dict, "NAME", "/repo/var/stemvault.sqlite3")
    assert local_stripe.state_path().name == "stripe-test-server-stemvault.json"
    monkeypatch.setitem(connection.settings_dict, "NAME", "/repo/var/test.sqlite3")
    assert local_stripe.state_path().name == "stripe-test-server-test.json"
    monkeypatch.setitem(connection.settings_dict, "NAME", "test_stemvault_ci")
    assert local_stripe.state_path().name == "stripe-test-server-test_stemvault_ci.json"


def test_a_taken_port_falls_back_to_a_free_one() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        local = local_stripe.local_stripe_start(webhook_url=WEBHOOK, port=port)
        assert local is not None
        try:
            assert local.server.port not in (0, port)
        finally:
            local.stop()


def test_the_deploy_check_warns_about_a_stripe_api_base_in_production(settings: Any) -> None:
    def ids() -> set[str]:
        return {m.id for m in run_checks(include_deployment_checks=True) if m.id}

    settings.DEBUG = False
    assert "stemvault.W071" not in ids()
    settings.STRIPE_API_BASE = "http://127.0.0.1:12111"
    assert "stemvault.W071" in ids()
    settings.DEBUG = True  # the demo: expected
    assert "stemvault.W071" not in ids()
