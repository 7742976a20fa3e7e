"""The one package that talks to Stripe: nothing else in the portal imports stripe-python.

One module per kind of call: accounts (connected accounts, onboarding links), transfers (and
their reversals), balance (the platform's), webhooks (verifying events); client holds the
configured client and the idempotency-key lifetime, errors the outcomes below. Callers import
from the package: `from portal.payouts import stripe_gateway`.

Every call goes through a `stripe.StripeClient` built from settings: with STRIPE_API_BASE unset
it is Stripe itself (test or live mode, by the key), in tests it is the local Stripe-compatible
server. Parameters are stripe-python's typed `*Params` TypedDicts, so mypy checks their names.

Errors are folded into two domain outcomes the callers act on:

- `StripeRetryable`: 429, 5xx, 409 (a request with the same idempotency key is still running),
  network errors and timeouts. The request may or may not have happened; the caller keeps its
  row in flight and retries later with the SAME idempotency key.
- `StripePermanent`: Stripe answered and refused (balance_insufficient, an account that cannot
  receive transfers, an invalid request, bad credentials). Nothing happened on Stripe's side,
  and Stripe stores that answer under the idempotency key, so retrying the same key is futile.

stripe-python's own retries are off (max_network_retries=0): our callers retry with their
stored keys, at a time of their choosing, and record every attempt.

A stored key protects a retry for a day only: Stripe prunes keys once they are at least 24 hours
old, after which the same request executes again. A caller about to retry a write first sent
longer ago than PAYOUTS_IDEMPOTENCY_SAFE_HOURS (`idempotency_key_may_have_expired`) looks the
object up instead (`transfers_naming`, `accounts_with_metadata`) and settles from what is there.
"""

from __future__ import annotations

from portal.payouts.stripe_gateway.accounts import (
    AccountState,
    account_create,
    account_link_create,
    account_retrieve,
    account_state,
    accounts_with_metadata,
)
from portal.payouts.stripe_gateway.balance import balance_retrieve
from portal.payouts.stripe_gateway.client import (
    IDEMPOTENCY_KEY_LIFETIME,
    STRIPE_TIMEOUT_S,
    client,
    idempotency_key_may_have_expired,
    is_configured,
)
from portal.payouts.stripe_gateway.errors import StripeFailure, StripePermanent, StripeRetryable
from portal.payouts.stripe_gateway.transfers import (
    ReversalInfo,
    TransferInfo,
    transfer_create,
    transfer_info,
    transfer_list,
    transfer_retrieve,
    transfer_reversal_create,
    transfer_reversals,
    transfers_naming,
)
from portal.payouts.stripe_gateway.webhooks import (
    WEBHOOK_TOLERANCE_S,
    WebhookInvalid,
    WebhookOutsideTolerance,
    webhook_event,
)

__all__ = [
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
