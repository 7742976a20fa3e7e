"""How payouts post to, and read from, the royalties ledger (portal.royalties.ledger).

This module does not keep any money itself: it names the four movements a payout makes and
turns each into one balanced, idempotent `ledger_post`. Keeping them here means the sign
convention and the references live in one place.

    reserve   artist_payable      -> transfers_in_flight   (with the payout row)
    settle    transfers_in_flight -> paid                  (reference: the Stripe transfer id)
    release   transfers_in_flight -> artist_payable        (Stripe refused the transfer)
    reverse   paid                -> artist_payable        (reference: the Stripe reversal id)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from portal.core.errors import ApplicationError
from portal.royalties import ledger
from portal.royalties.models import Period

if TYPE_CHECKING:
    from portal.payouts.models import Payout

PAYABLE = ledger.ARTIST_PAYABLE
IN_FLIGHT = ledger.TRANSFERS_IN_FLIGHT
PAID = ledger.PAID


def _move(
    payout: Payout, *, kind: str, reference: str, source: str, target: str, amount: int, memo: str
) -> None:
    # "source -> target for amount" for the payout's artist. The ledger refuses it if it does
    # not balance, and returns the existing transaction if `reference` was already posted.
    ledger.ledger_post(
        kind=kind,
        reference=reference,
        entries=[(source, payout.artist_id, -amount), (target, payout.artist_id, amount)],
        currency=payout.currency,
        period=payout.period,
        memo=memo,
    )


def reserve(payout: Payout) -> None:
    _move(
        payout,
        kind=ledger.KIND_TRANSFER_CREATED,
        reference=f"{payout.idempotency_key}:reserve",
        source=PAYABLE,
        target=IN_FLIGHT,
        amount=payout.amount_minor,
        memo=f"payout {payout.idempotency_key} created",
    )


def settle(payout: Payout, *, transfer_id: str) -> None:
    _move(
        payout,
        kind=ledger.KIND_TRANSFER_PAID,
        reference=transfer_id,
        source=IN_FLIGHT,
        target=PAID,
        amount=payout.amount_minor,
        memo=f"payout {payout.idempotency_key} paid by Stripe transfer {transfer_id}",
    )


def release(payout: Payout) -> None:
    _move(
        payout,
        kind=ledger.KIND_TRANSFER_FAILED,
        reference=f"{payout.idempotency_key}:release",
        source=IN_FLIGHT,
        target=PAYABLE,
        amount=payout.amount_minor,
        memo=f"payout {payout.idempotency_key} failed: {payout.error_code}",
    )


def reverse(payout: Payout, *, reversal_id: str, amount_minor: int) -> None:
    _move(
        payout,
        kind=ledger.KIND_TRANSFER_REVERSED,
        reference=reversal_id,
        source=PAID,
        target=PAYABLE,
        amount=amount_minor,
        memo=f"Stripe reversal {reversal_id} of {payout.stripe_transfer_id}",
    )


def payable_balances(*, currency: str) -> dict[int, int]:
    """{artist id: payable balance} for every artist with a non-zero balance (one query)."""
    return ledger.balances_by_artist(PAYABLE, currency=currency)


def payable_balance(artist_id: int, *, currency: str) -> int:
    return ledger.balance(PAYABLE, artist_id, currency=currency)


def account_total(account: str, *, currency: str) -> int:
    """A per-artist account summed over all artists."""
    return sum(ledger.balances_by_artist(account, currency=currency).values())


def posting_exists(reference: str) -> bool:
    return bool(ledger.transaction_amounts(reference))


def is_balanced() -> bool:
    return not ledger.unbalanced_transactions()


def closed_periods() -> list[str]:
    """Closed months, newest first (a Period row exists only once its month is closed)."""
    return list(Period.objects.order_by("-month").values_list("month", flat=True))


def require_closed(period: str) -> None:
    if not Period.objects.filter(month=period).exists():
        raise ApplicationError(
            "period_open", f"{period} is not closed yet: close it before paying it out."
        )


def period_currency(period: str) -> str:
    currency = Period.objects.filter(month=period).values_list("currency", flat=True).first()
    return currency or "usd"
