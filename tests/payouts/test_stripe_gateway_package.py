"""House rule: every Stripe call sits in one place, the stripe_gateway package (one module per
kind of call), and callers reach it through the package."""

from __future__ import annotations

import ast
from pathlib import Path

from portal.payouts import stripe_gateway

PORTAL = Path(__file__).resolve().parents[2] / "portal"
GATEWAY = PORTAL / "payouts" / "stripe_gateway"


def _imports_stripe(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import) and any(
            alias.name.split(".")[0] == "stripe" for alias in node.names
        ):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "stripe":
            return True
    return False


def test_no_portal_module_outside_the_stripe_gateway_imports_stripe() -> None:
    outside = [
        str(path.relative_to(PORTAL))
        for path in sorted(PORTAL.rglob("*.py"))
        if GATEWAY not in path.parents and _imports_stripe(path)
    ]
    assert outside == []
    assert _imports_stripe(GATEWAY / "transfers.py")  # the walk does see an import of stripe


# What the single module offered its callers: the package offers the same names.
PUBLIC_NAMES = [
    "IDEMPOTENCY_KEY_LIFETIME",
    "STRIPE_TIMEOUT_S",
    "WEBHOOK_TOLERANCE_S",
    "AccountState",
    "ReversalInfo",
    "StripeFailure",
    "StripePermanent",
    "StripeRetryable",
    "TransferInfo",
    "WebhookInvalid",
    "WebhookOutsideTolerance",
    "account_create",
    "account_link_create",
    "account_retrieve",
    "account_state",
    "accounts_with_metadata",
    "balance_retrieve",
    "client",
    "idempotency_key_may_have_expired",
    "is_configured",
    "transfer_create",
    "transfer_info",
    "transfer_list",
    "transfer_retrieve",
    "transfer_reversal_create",
    "transfer_reversals",
    "transfers_naming",
    "webhook_event",
]


def test_the_package_offers_every_name_the_single_module_did() -> None:
    missing = [name for name in PUBLIC_NAMES if not hasattr(stripe_gateway, name)]
    assert missing == []
    assert sorted(stripe_gateway.__all__) == sorted(PUBLIC_NAMES)
