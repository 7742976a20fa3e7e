"""What a failed Stripe call means to its caller: retry with the same key, or stop."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import stripe

# Error codes that mean "this destination cannot receive a transfer now".
_NOT_PAYABLE_CODES = frozenset(
    {
        "insufficient_capabilities_for_transfer",
        "account_invalid",
        "transfers_not_allowed",
        "account_closed",
        "payouts_not_allowed",
    }
)


class StripeFailure(Exception):
    """A Stripe call that did not succeed. `code` is ours (see the subclasses' docs)."""

    retryable: bool = False

    def __init__(
        self,
        code: str,
        message: str,
        *,
        http_status: int | None = None,
        stripe_code: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = http_status
        self.stripe_code = stripe_code
        self.request_id = request_id

    def describe(self) -> str:
        parts = [f"{self.code}: {self.message}"]
        if self.http_status:
            parts.append(
                f"(HTTP {self.http_status}{f', {self.request_id}' if self.request_id else ''})"
            )
        return " ".join(parts)


class StripeRetryable(StripeFailure):
    """codes: rate_limited, stripe_unavailable, request_in_progress, network_error,
    idempotency_conflict (needs a person: see the message)."""

    retryable = True


class StripePermanent(StripeFailure):
    """codes: balance_insufficient, account_not_payable, invalid_request, authentication."""


def _translate(exc: stripe.StripeError) -> StripeFailure:
    status = exc.http_status
    stripe_code = exc.code
    message = exc.user_message or str(exc)
    kw: dict[str, Any] = {
        "http_status": status,
        "stripe_code": stripe_code,
        "request_id": exc.request_id,
    }
    if isinstance(exc, stripe.APIConnectionError):
        return StripeRetryable(
            "network_error",
            f"Stripe could not be reached or did not answer in time: {message}",
            **kw,
        )
    if isinstance(exc, stripe.RateLimitError):
        return StripeRetryable("rate_limited", "Stripe is rate limiting us; retry later.", **kw)
    if isinstance(exc, stripe.IdempotencyError):
        # The key was first used with other parameters. Our keys are derived from immutable rows,
        # so this needs a person to look; never treat it as "nothing happened".
        return StripeRetryable("idempotency_conflict", message, **kw)
    if status is None or status >= 500:
        return StripeRetryable(
            "stripe_unavailable", f"Stripe had an internal error: {message}", **kw
        )
    if status == 409:
        return StripeRetryable("request_in_progress", message, **kw)
    if stripe_code == "balance_insufficient":
        return StripePermanent(
            "balance_insufficient",
            "The platform's Stripe balance is too low for this transfer. Add funds, then run "
            "the payouts again.",
            **kw,
        )
    if stripe_code in _NOT_PAYABLE_CODES or isinstance(exc, stripe.PermissionError):
        return StripePermanent(
            "account_not_payable",
            f"The artist's Stripe account cannot receive transfers yet: {message}",
            **kw,
        )
    if isinstance(exc, stripe.AuthenticationError):
        return StripePermanent("authentication", f"Stripe refused our API key: {message}", **kw)
    return StripePermanent("invalid_request", message, **kw)


@contextlib.contextmanager
def translated() -> Iterator[None]:
    """Turn stripe-python's exceptions into our two outcomes."""
    try:
        yield
    except stripe.StripeError as exc:
        raise _translate(exc) from exc
