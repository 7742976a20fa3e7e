"""Response shapes for the Stripe test server.

Every response object is built by deep-copying Stripe's own fixture for that resource
(``fixtures3.json`` from the public ``stripe/openapi`` repository) and overriding ids,
timestamps, amounts, metadata... from the request. The fixture file is read from
``$STRIPE_FIXTURES_PATH`` or ``<repo>/../shared/stripe/fixtures3.json``; when it is absent a
small built-in shape per resource (same top-level keys) is used instead.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

JSON = dict[str, Any]

RESOURCES: tuple[str, ...] = (
    "account",
    "account_link",
    "balance",
    "capability",
    "event",
    "transfer",
    "transfer_reversal",
)

_REQUIREMENTS: JSON = {
    "alternatives": [],
    "current_deadline": None,
    "currently_due": [],
    "disabled_reason": None,
    "errors": [],
    "eventually_due": [],
    "past_due": [],
    "pending_verification": [],
}

# Minimal but faithful shapes (same top-level keys as Stripe's fixtures3.json).
FALLBACK: dict[str, JSON] = {
    "account": {
        "business_profile": {
            "mcc": None,
            "name": None,
            "product_description": None,
            "support_address": None,
            "support_email": None,
            "support_phone": None,
            "support_url": None,
            "url": None,
        },
        "business_type": None,
        "capabilities": {},
        "charges_enabled": False,
        "controller": {"type": "account"},
        "country": "US",
        "created": 1234567890,
        "default_currency": "usd",
        "details_submitted": False,
        "email": None,
        "external_accounts": {"data": [], "has_more": False, "object": "list", "url": ""},
        "future_requirements": copy.deepcopy(_REQUIREMENTS),
        "id": "acct_1PgafTB7WZ01zgkW",
        "metadata": {},
        "object": "account",
        "payouts_enabled": False,
        "requirements": {
            **copy.deepcopy(_REQUIREMENTS),
            "currently_due": ["external_account", "tos_acceptance.date", "tos_acceptance.ip"],
            "disabled_reason": "requirements.past_due",
            "eventually_due": ["external_account", "tos_acceptance.date", "tos_acceptance.ip"],
        },
        "settings": {
            "dashboard": {"display_name": None, "timezone": "Etc/UTC"},
            "payouts": {
                "debit_negative_balances": True,
                "schedule": {"delay_days": 2, "interval": "daily"},
                "statement_descriptor": None,
            },
        },
        "tos_acceptance": {"date": None, "ip": None, "user_agent": None},
        "type": "standard",
    },
    "account_link": {
        "created": 1234567890,
        "expires_at": 1234567890,
        "object": "account_link",
        "url": "",
    },
    "balance": {
        "available": [{"amount": 0, "currency": "usd", "source_types": {"card": 0}}],
        "connect_reserved": [{"amount": 0, "currency": "usd"}],
        "livemode": False,
        "object": "balance",
        "pending": [{"amount": 0, "currency": "usd", "source_types": {"card": 0}}],
    },
    "capability": {
        "account": "acct_1PgafTB7WZ01zgkW",
        "future_requirements": copy.deepcopy(_REQUIREMENTS),
        "id": "transfers",
        "object": "capability",
        "requested": True,
        "requested_at": 1234567890,
        "requirements": copy.deepcopy(_REQUIREMENTS),
        "status": "inactive",
    },
    "event": {
        "api_version": None,
        "created": 1234567890,
        "data": {"object": {}},
        "id": "evt_1Pgc76B7WZ01zgkWwyRHS12y",
        "livemode": False,
        "object": "event",
        "pending_webhooks": 0,
        "request": {"id": None, "idempotency_key": None},
        "type": "",
    },
    "transfer": {
        "amount": 0,
        "amount_reversed": 0,
        "balance_transaction": None,
        "created": 1234567890,
        "currency": "usd",
        "description": None,
        "destination": None,
        "destination_payment": None,
        "id": "tr_1Pgc7BB7WZ01zgkWVJfE40RX",
        "livemode": False,
        "metadata": {},
        "object": "transfer",
        "reversals": {"data": [], "has_more": False, "object": "list", "url": ""},
        "reversed": False,
        "source_transaction": None,
        "source_type": "card",
        "transfer_group": None,
    },
    "transfer_reversal": {
        "amount": 0,
        "balance_transaction": None,
        "created": 1234567890,
        "currency": "usd",
        "destination_payment_refund": None,
        "id": "trr_1Pgc7BB7WZ01zgkWsU61ufNC",
        "metadata": {},
        "object": "transfer_reversal",
        "source_refund": None,
        "transfer": "tr_1Pgc7BB7WZ01zgkWVJfE40RX",
    },
}


def default_fixtures_path() -> Path:
    """``$STRIPE_FIXTURES_PATH`` or ``<repo>/../shared/stripe/fixtures3.json``."""
    env = os.environ.get("STRIPE_FIXTURES_PATH")
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parents[1]
    return repo.parent / "shared" / "stripe" / "fixtures3.json"


class Fixtures:
    """Resource name -> template object; :meth:`new` hands out deep copies."""

    def __init__(self, resources: dict[str, JSON], source: str) -> None:
        self._resources = resources
        self.source = source

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None) -> Fixtures:
        explicit = path is not None or bool(os.environ.get("STRIPE_FIXTURES_PATH"))
        file = Path(path) if path is not None else default_fixtures_path()
        if not file.is_file():
            if explicit:
                raise FileNotFoundError(f"Stripe fixtures file not found: {file}")
            return cls(copy.deepcopy(FALLBACK), "builtin")
        with file.open(encoding="utf-8") as fh:
            raw = json.load(fh)
        loaded = raw.get("resources", raw) if isinstance(raw, dict) else {}
        resources: dict[str, JSON] = {}
        for name in RESOURCES:
            value = loaded.get(name)
            resources[name] = copy.deepcopy(value if isinstance(value, dict) else FALLBACK[name])
        return cls(resources, str(file))

    def new(self, name: str) -> JSON:
        return copy.deepcopy(self._resources[name])

    def keys(self, name: str) -> set[str]:
        return set(self._resources[name])
