"""System checks for payouts' settings."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register


@register(Tags.security, deploy=True)
def check_payouts_reach_stripe(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    # STRIPE_API_BASE is for the local Stripe test server (tests, the demo): in production it
    # would send artists' payouts to a server that moves no money, and mark them paid.
    if settings.DEBUG or not settings.STRIPE_API_BASE:
        return []
    return [
        Warning(
            f"STRIPE_API_BASE is set in production ({settings.STRIPE_API_BASE}): payouts go to "
            "that Stripe-compatible server instead of Stripe, and no real money moves.",
            hint="Unset STRIPE_API_BASE and set STRIPE_SECRET_KEY to the platform's Stripe key.",
            id="stemvault.W071",
        )
    ]
