"""The local Stripe test server of the demo: what `make run` pays against without Stripe keys.

`manage.py runportal` starts it in its own process (`local_stripe_start`) and points the portal
and its worker at it, so a demo artist can go through onboarding (the server's stand-in for
Stripe's hosted page) and staff can pay them; the demo seeder pays its closed month against the
same server (`demo_server`). Both keep the server's state in one file under VAR_DIR, so the
accounts and transfers the database refers to are still there after a restart, and an
idempotency key sent before a restart still replays its first answer after it.

It never starts with a Stripe key configured, with STRIPE_API_BASE set (somebody's own server)
or outside DEBUG: a production portal without keys has payouts switched off, not faked. The
deploy check in `checks.py` warns if STRIPE_API_BASE is set in production anyway.
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection

from portal.payouts.models import ConnectedAccount, Payout
from stripe_server import StripeTestServer

STATE_STEM = "stripe-test-server"
# The platform's balance on a new test server, per currency, in minor units: enough for the
# demo's artists many times over (it is no one's money).
DEMO_PLATFORM_BALANCE = 10_000_000
DEMO_CURRENCIES = ("usd", "eur", "gbp")
SETTING_NAMES = ("STRIPE_SECRET_KEY", "STRIPE_API_BASE", "STRIPE_WEBHOOK_SECRET")


def _derived(label: str) -> str:
    # Stable for one VAR_DIR (SECRET_KEY is kept in var/secret_key), so the seeder and every
    # later runportal share the key: idempotency keys are scoped by API key, and must replay.
    return hmac.new(settings.SECRET_KEY.encode(), label.encode(), hashlib.sha256).hexdigest()[:24]


def credentials() -> tuple[str, str]:
    """(secret key, webhook signing secret) of this machine's local test server."""
    return (
        f"sk_test_stemvault_local_{_derived('stripe-test-server:api-key')}",
        f"whsec_stemvault_local_{_derived('stripe-test-server:webhook-secret')}",
    )


def state_path() -> Path:
    """VAR_DIR/stripe-test-server-<database>.json: one file per database, so the test suite's
    database (test.sqlite3, test_<name>) never reads or replaces the demo's."""
    name = Path(str(connection.settings_dict.get("NAME") or "default")).stem
    label = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.") or "default"
    return Path(settings.VAR_DIR) / f"{STATE_STEM}-{label}.json"


def _forget_state_of_another_database(path: Path) -> None:
    # A database made afresh (`rm var/stemvault.sqlite3`) knows none of the file's accounts,
    # and would meet its own idempotency keys (acct-create-<artist id>) answered with them.
    if path.exists() and not (ConnectedAccount.objects.exists() or Payout.objects.exists()):
        path.unlink()


def demo_server(*, port: int = 0, webhook_url: str | None = None) -> StripeTestServer:
    """The local test server with this machine's state, not started."""
    path = state_path()
    _forget_state_of_another_database(path)
    key, webhook_secret = credentials()
    return StripeTestServer(
        api_key=key,
        port=port,
        webhook_url=webhook_url,
        webhook_secret=webhook_secret,
        # In the background: a webhook delivered before the API answers would hold the caller
        # (a worker thread, possibly inside a database transaction) on the portal's own answer.
        webhook_mode="background",
        balance={currency: DEMO_PLATFORM_BALANCE for currency in DEMO_CURRENCIES},
        state_path=path,
    )


def why_not_started() -> str | None:
    """Why runportal must not start the local test server here, or None when it may."""
    if not settings.DEBUG:
        return "DEBUG is off (production): payouts stay off without Stripe keys"
    if settings.STRIPE_SECRET_KEY:
        return "STRIPE_SECRET_KEY is set: payouts go to Stripe"
    if settings.STRIPE_API_BASE:
        return "STRIPE_API_BASE is set: payouts go to that server"
    return None


@dataclass
class LocalStripe:
    """A started local test server and the settings it replaced (restored by `stop`)."""

    server: StripeTestServer
    previous: dict[str, Any] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        """The same settings for a worker in another process (rundramatiq)."""
        return {name: str(getattr(settings, name)) for name in SETTING_NAMES}

    def stop(self) -> None:
        self.server.stop()
        for name, value in self.previous.items():
            setattr(settings, name, value)


def local_stripe_start(*, webhook_url: str, port: int = 0) -> LocalStripe | None:
    """Start the local test server on 127.0.0.1:`port` (any free port if that one is taken)
    and point this process's Stripe settings at it; None (and nothing changed) when
    `why_not_started` says no. Settings are changed in place because the portal's server and
    the embedded worker are threads of this process, started next."""
    if why_not_started() is not None:
        return None
    server = demo_server(port=port, webhook_url=webhook_url)
    try:
        server.start()
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE or port == 0:
            raise
        server = demo_server(port=0, webhook_url=webhook_url)
        server.start()
    key, webhook_secret = credentials()
    local = LocalStripe(server, {name: getattr(settings, name) for name in SETTING_NAMES})
    settings.STRIPE_SECRET_KEY = key
    settings.STRIPE_API_BASE = server.base_url
    settings.STRIPE_WEBHOOK_SECRET = webhook_secret
    return local
