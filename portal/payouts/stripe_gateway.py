"""The one module that talks to Stripe.

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

import contextlib
import functools
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import stripe
from django.conf import settings
from django.utils import timezone
from stripe.params import (
    AccountCreateParams,
    AccountLinkCreateParams,
    AccountListParams,
    TransferCreateParams,
    TransferListParams,
    TransferReversalCreateParams,
    TransferReversalListParams,
)

# Seconds before a Stripe call counts as timed out (then retried with the same key).
STRIPE_TIMEOUT_S = float(getattr(settings, "STRIPE_TIMEOUT_S", 20))

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
def _translated() -> Iterator[None]:
    """Turn stripe-python's exceptions into our two outcomes."""
    try:
        yield
    except stripe.StripeError as exc:
        raise _translate(exc) from exc


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


# --------------------------------------------------------------------------- plain results
@dataclass(frozen=True)
class AccountState:
    id: str
    payouts_enabled: bool
    details_submitted: bool
    transfers_active: bool
    requirements_due: list[str]
    disabled_reason: str
    metadata: dict[str, str] = field(default_factory=dict)
    created: int = 0  # Unix seconds, Stripe's clock


@dataclass(frozen=True)
class ReversalInfo:
    id: str
    amount: int
    currency: str
    transfer: str


@dataclass(frozen=True)
class TransferInfo:
    id: str
    amount: int
    currency: str
    destination: str
    transfer_group: str
    amount_reversed: int
    reversed: bool
    created: int
    metadata: dict[str, str]
    reversals: list[ReversalInfo]
    reversals_complete: bool  # False: the embedded list is a first page only


def _get(obj: Mapping[str, Any] | None, key: str, default: Any = None) -> Any:
    if obj is None:
        return default
    value = obj.get(key, default)
    return default if value is None else value


def account_state(obj: Mapping[str, Any]) -> AccountState:
    """From an Account object (API response or a webhook's data.object)."""
    requirements = _get(obj, "requirements", {})
    due: list[str] = []
    for key in ("past_due", "currently_due"):
        for item in _get(requirements, key, []):
            if item not in due:
                due.append(str(item))
    capabilities = _get(obj, "capabilities", {})
    return AccountState(
        id=str(obj["id"]),
        payouts_enabled=bool(_get(obj, "payouts_enabled", False)),
        details_submitted=bool(_get(obj, "details_submitted", False)),
        transfers_active=_get(capabilities, "transfers", "") == "active",
        requirements_due=due,
        disabled_reason=str(_get(requirements, "disabled_reason", "")),
        metadata={str(k): str(v) for k, v in dict(_get(obj, "metadata", {})).items()},
        created=int(_get(obj, "created", 0)),
    )


def _reversal_info(obj: Mapping[str, Any]) -> ReversalInfo:
    return ReversalInfo(
        id=str(obj["id"]),
        amount=int(obj["amount"]),
        currency=str(obj["currency"]),
        transfer=str(_get(obj, "transfer", "")),
    )


def transfer_info(obj: Mapping[str, Any]) -> TransferInfo:
    """From a Transfer object (API response or a webhook's data.object)."""
    destination = _get(obj, "destination", "")
    if isinstance(destination, Mapping):  # expanded
        destination = destination.get("id", "")
    reversals = _get(obj, "reversals", {})
    return TransferInfo(
        id=str(obj["id"]),
        amount=int(obj["amount"]),
        currency=str(obj["currency"]),
        destination=str(destination),
        transfer_group=str(_get(obj, "transfer_group", "")),
        amount_reversed=int(_get(obj, "amount_reversed", 0)),
        reversed=bool(_get(obj, "reversed", False)),
        created=int(_get(obj, "created", 0)),
        metadata={str(k): str(v) for k, v in dict(_get(obj, "metadata", {})).items()},
        reversals=[_reversal_info(r) for r in _get(reversals, "data", [])],
        reversals_complete=not bool(_get(reversals, "has_more", False)),
    )


# ------------------------------------------------------------------------------- calls
def account_create(
    *, artist_id: int, email: str, country: str, idempotency_key: str
) -> AccountState:
    """A connected account with controller properties (what `type=express` used to mean):
    the platform pays fees and carries losses, Stripe collects requirements in its hosted
    onboarding, and the artist gets the Express dashboard."""
    params: AccountCreateParams = {
        "controller": {
            "fees": {"payer": "application"},
            "losses": {"payments": "application"},
            "stripe_dashboard": {"type": "express"},
            "requirement_collection": "stripe",
        },
        "capabilities": {"transfers": {"requested": True}},
        "metadata": {"artist_id": str(artist_id)},
    }
    if email:
        params["email"] = email
    if country:
        params["country"] = country.upper()
    with _translated():
        account = client().v1.accounts.create(
            params=params, options={"idempotency_key": idempotency_key}
        )
    return account_state(account)


def account_link_create(*, account_id: str, return_url: str, refresh_url: str) -> str:
    """A single-use hosted onboarding URL (expires within minutes)."""
    params: AccountLinkCreateParams = {
        "account": account_id,
        "type": "account_onboarding",
        "return_url": return_url,
        "refresh_url": refresh_url,
    }
    with _translated():
        link = client().v1.account_links.create(params=params)
    return str(link.url)


def account_retrieve(account_id: str) -> AccountState:
    with _translated():
        account = client().v1.accounts.retrieve(account_id)
    return account_state(account)


def accounts_with_metadata(*, metadata: Mapping[str, str], created_gte: int) -> list[AccountState]:
    """Connected accounts created at or after `created_gte` (Unix seconds) whose metadata holds
    every item of `metadata`, oldest first. Stripe has no account search by metadata, so this
    lists the accounts created since then (the `created` filter keeps that short)."""
    params: AccountListParams = {"limit": 100, "created": {"gte": created_gte}}
    with _translated():
        page = client().v1.accounts.list(params=params)
        found = [
            state
            for state in (account_state(item) for item in page.auto_paging_iter())
            if all(state.metadata.get(k) == v for k, v in metadata.items())
        ]
    # Lists come newest first; reversed, a stable sort keeps same-second objects oldest first.
    return sorted(reversed(found), key=lambda state: state.created)


def transfer_create(
    *,
    amount_minor: int,
    currency: str,
    destination: str,
    transfer_group: str,
    metadata: dict[str, str],
    idempotency_key: str,
) -> TransferInfo:
    params: TransferCreateParams = {
        "amount": amount_minor,
        "currency": currency,
        "destination": destination,
        "transfer_group": transfer_group,
        "metadata": metadata,
    }
    with _translated():
        transfer = client().v1.transfers.create(
            params=params, options={"idempotency_key": idempotency_key}
        )
    return transfer_info(transfer)


def transfer_retrieve(transfer_id: str) -> TransferInfo:
    with _translated():
        transfer = client().v1.transfers.retrieve(transfer_id)
    return transfer_info(transfer)


def transfer_list(
    *, transfer_group: str | None = None, destination: str | None = None
) -> Iterator[TransferInfo]:
    """Every transfer (newest first), following Stripe's pagination."""
    params: TransferListParams = {"limit": 100}
    if transfer_group:
        params["transfer_group"] = transfer_group
    if destination:
        params["destination"] = destination
    with _translated():
        page = client().v1.transfers.list(params=params)
        # Later pages are fetched lazily, inside this block, so their errors translate too.
        for item in page.auto_paging_iter():
            yield transfer_info(item)


def transfers_naming(
    *, transfer_group: str, destination: str, metadata: Mapping[str, str]
) -> list[TransferInfo]:
    """The transfers in `transfer_group` to `destination` whose metadata holds every item of
    `metadata`, oldest first: what Stripe already has for one of our writes."""
    found = [
        transfer
        for transfer in transfer_list(transfer_group=transfer_group, destination=destination)
        if all(transfer.metadata.get(k) == v for k, v in metadata.items())
    ]
    return sorted(reversed(found), key=lambda transfer: transfer.created)


def transfer_reversals(transfer: TransferInfo) -> list[ReversalInfo]:
    """All reversals of a transfer (the embedded list on a transfer holds only the first page)."""
    if transfer.reversals_complete:
        return list(transfer.reversals)
    params: TransferReversalListParams = {"limit": 100}
    with _translated():
        page = client().v1.transfers.reversals.list(transfer.id, params=params)
        return [_reversal_info(item) for item in page.auto_paging_iter()]


def transfer_reversal_create(
    *, transfer_id: str, amount_minor: int | None = None, idempotency_key: str
) -> ReversalInfo:
    params: TransferReversalCreateParams = {}
    if amount_minor is not None:
        params["amount"] = amount_minor
    with _translated():
        reversal = client().v1.transfers.reversals.create(
            transfer_id, params=params, options={"idempotency_key": idempotency_key}
        )
    return _reversal_info(reversal)


def balance_retrieve(currency: str) -> int:
    """The platform's available balance in `currency` (minor units)."""
    with _translated():
        balance = client().v1.balance.retrieve()
    return sum(int(item.amount) for item in balance.available if item.currency == currency.lower())


# ----------------------------------------------------------------------------- webhooks
# stripe-python leaves this function unannotated; this is its documented signature.
_verify_header: Callable[[str, str, str], bool] = stripe.WebhookSignature.verify_header


# Stripe's tolerance between an event's signing time (`t=`) and now, in seconds; stripe-python
# uses the same default.
WEBHOOK_TOLERANCE_S: int = stripe.Webhook.DEFAULT_TOLERANCE


class WebhookInvalid(Exception):
    code = "invalid_signature"


class WebhookOutsideTolerance(WebhookInvalid):
    """Correctly signed, but signed too long ago (a replay) or in the future."""

    code = "timestamp_outside_tolerance"


def _signed_at(signature: str) -> int:
    # Exactly the `t` stripe-python verified the signature over (its first `t=` item, parsed
    # its way): reading another one, say a padded " t=" before it, would let a replay through.
    items = [item.split("=", 2) for item in signature.split(",")]
    return int(next(item[1] for item in items if item[0] == "t"))


def webhook_event(payload: bytes, signature: str) -> dict[str, Any]:
    """Verify Stripe's signature on the raw body and return the event as plain JSON.

    STRIPE_WEBHOOK_SECRET may list several secrets separated by commas: Stripe signs events of
    connected accounts (account.updated) through a Connect endpoint with its own secret, and a
    secret being rolled is valid alongside its successor. Refuses everything when no secret is
    configured: an unverifiable event is indistinguishable from a forged one.

    A valid signature whose timestamp is more than WEBHOOK_TOLERANCE_S away from our clock, in
    either direction, is refused too: Stripe signs each delivery attempt afresh, so an old `t`
    means someone is replaying a captured delivery. (stripe-python only refuses old ones.)
    """
    secrets = [item.strip() for item in settings.STRIPE_WEBHOOK_SECRET.split(",") if item.strip()]
    if not secrets:
        raise WebhookInvalid("STRIPE_WEBHOOK_SECRET is not set; events cannot be verified.")
    if not signature:
        raise WebhookInvalid("Missing Stripe-Signature header.")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WebhookInvalid("The body is not UTF-8.") from exc
    last_error: Exception | None = None
    for secret in secrets:
        try:
            _verify_header(text, signature, secret)
            break
        except stripe.SignatureVerificationError as exc:
            last_error = exc
    else:
        raise WebhookInvalid(f"Invalid signature: {last_error}")
    signed_at = _signed_at(signature)  # parsed by the verification above, so well formed
    drift = int(timezone.now().timestamp()) - signed_at
    if abs(drift) > WEBHOOK_TOLERANCE_S:
        raise WebhookOutsideTolerance(
            f"The Stripe-Signature timestamp t={signed_at} is {abs(drift)} s "
            f"{'old' if drift > 0 else 'in the future'}; events are accepted only within "
            f"{WEBHOOK_TOLERANCE_S} s of now. Stripe signs every delivery afresh, so this is a "
            "replayed delivery or this server's clock is wrong."
        )
    try:
        event = json.loads(text)
    except ValueError as exc:
        raise WebhookInvalid("The body is not JSON.") from exc
    if not isinstance(event, dict) or not event.get("id") or not event.get("type"):
        raise WebhookInvalid("Not a Stripe event.")
    return event
