"""Stripe's webhook events: verify the signature and the signing time of a delivery."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import stripe
from django.conf import settings
from django.utils import timezone

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
