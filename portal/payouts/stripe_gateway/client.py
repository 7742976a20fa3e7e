"""The configured Stripe client, and what every call shares: how long an idempotency key
protects a retry, and reading fields off Stripe's objects."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import stripe
from django.conf import settings
from django.utils import timezone

from portal.payouts.stripe_gateway.errors import StripePermanent

# Seconds before a Stripe call counts as timed out (then retried with the same key).
STRIPE_TIMEOUT_S = float(getattr(settings, "STRIPE_TIMEOUT_S", 20))


@functools.lru_cache(maxsize=8)
def _client_for(api_key: str, api_base: str, timeout: float) -> stripe.StripeClient:
    if not api_key:
        raise StripePermanent(
            "not_configured", "Stripe is not configured: set STRIPE_SECRET_KEY (a test-mode key)."
        )
    if api_base:
        return stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base},
            max_network_retries=0,
            http_client=stripe.RequestsClient(timeout=timeout),
        )
    return stripe.StripeClient(
        api_key, max_network_retries=0, http_client=stripe.RequestsClient(timeout=timeout)
    )


def client() -> stripe.StripeClient:
    # Read settings at call time (tests override them); clients are cached per configuration so
    # connections are kept alive across calls.
    timeout = float(getattr(settings, "STRIPE_TIMEOUT_S", STRIPE_TIMEOUT_S))
    return _client_for(settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE, timeout)


def is_configured() -> bool:
    return bool(settings.STRIPE_SECRET_KEY)


# Stripe prunes idempotency keys once they are at least 24 hours old
# (https://docs.stripe.com/api/idempotent_requests); a retry sent later may execute again.
IDEMPOTENCY_KEY_LIFETIME = timedelta(hours=24)


def idempotency_key_may_have_expired(first_used_at: datetime) -> bool:
    """True once a key first sent at `first_used_at` is older than the safe margin
    (PAYOUTS_IDEMPOTENCY_SAFE_HOURS, under 24): a retry must not rely on it any more. The
    margin covers clock skew between us and Stripe and a retry that is itself slow."""
    hours = int(getattr(settings, "PAYOUTS_IDEMPOTENCY_SAFE_HOURS", 20))
    margin = min(timedelta(hours=hours), IDEMPOTENCY_KEY_LIFETIME)
    return timezone.now() - first_used_at >= margin


def value_of(obj: Mapping[str, Any] | None, key: str, default: Any = None) -> Any:
    """A field of a Stripe object (or of a webhook's plain JSON); a null counts as missing."""
    if obj is None:
        return default
    value = obj.get(key, default)
    return default if value is None else value
