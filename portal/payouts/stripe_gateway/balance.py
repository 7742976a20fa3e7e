"""The platform's own Stripe balance, which transfers draw on."""

from __future__ import annotations

from portal.payouts.stripe_gateway.client import client
from portal.payouts.stripe_gateway.errors import translated


def balance_retrieve(currency: str) -> int:
    """The platform's available balance in `currency` (minor units)."""
    with translated():
        balance = client().v1.balance.retrieve()
    return sum(int(item.amount) for item in balance.available if item.currency == currency.lower())
