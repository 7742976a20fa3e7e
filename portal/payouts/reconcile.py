"""Compare our payouts and ledger with Stripe's list of transfers. Read-only (the command
flags the payouts that a `duplicate_transfer` difference names)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from portal.payouts import ledger_bridge, stripe_gateway
from portal.payouts.models import OPEN_STATUSES, Payout, PayoutStatus
from portal.payouts.stripe_gateway import TransferInfo


@dataclass(frozen=True)
class Difference:
    kind: str
    subject: str
    detail: str
    # For a duplicate_transfer: the payout paid twice and the second transfer.
    payout_id: int | None = None
    transfer: TransferInfo | None = None

    def __str__(self) -> str:
        return f"{self.kind}: {self.subject}: {self.detail}"


def payouts_reconcile(*, period: str | None = None) -> list[Difference]:
    """Every difference between Stripe's transfers, our payout rows and the ledger.

    With a period, only that period's transfer_group and payouts are compared (and the ledger
    per payout); without one, also the ledger's paid and in-flight totals per currency.
    """
    transfers = {t.id: t for t in stripe_gateway.transfer_list(transfer_group=period)}
    # Every transfer carrying a payout's key, oldest first: more than one is a double payment.
    by_key: dict[str, list[TransferInfo]] = defaultdict(list)
    for t in sorted(reversed(transfers.values()), key=lambda t: t.created):
        if t.metadata.get("idempotency_key"):
            by_key[t.metadata["idempotency_key"]].append(t)
    payouts = Payout.objects.order_by("pk")
    if period:
        payouts = payouts.filter(period=period)
    out: list[Difference] = []
    matched: set[str] = set()
    for payout in payouts.iterator():
        subject = f"payout {payout.pk} ({payout.idempotency_key})"
        with_its_key = by_key.get(payout.idempotency_key, [])
        on_stripe = ", ".join(t.id for t in with_its_key)
        if payout.status in (PayoutStatus.PAID, PayoutStatus.REVERSED):
            transfer = transfers.get(payout.stripe_transfer_id or "")
            if transfer is not None:
                # Beside the listed transfer that paid it (without that one, the recorded id
                # is what is wrong: missing_on_stripe and missing_locally below say so).
                for other in with_its_key:
                    if other.id != transfer.id:
                        matched.add(other.id)
                        out.extend(_duplicate(payout, other, subject))
            if transfer is None:
                out.append(
                    Difference(
                        "missing_on_stripe",
                        subject,
                        f"{payout.status} locally as {payout.stripe_transfer_id}, but Stripe lists no such transfer",
                    )
                )
                continue
            matched.add(transfer.id)
            out.extend(_compare(payout, transfer, subject))
            if not ledger_bridge.posting_exists(transfer.id):
                out.append(
                    Difference(
                        "ledger_missing", subject, f"no ledger posting for transfer {transfer.id}"
                    )
                )
        elif payout.status in OPEN_STATUSES:
            if with_its_key:
                matched.update(t.id for t in with_its_key)
                out.append(
                    Difference(
                        "unsettled_but_on_stripe",
                        subject,
                        f"{payout.status} locally but Stripe has transfer {on_stripe}; "
                        "run run_payouts again to settle it",
                    )
                )
            else:
                out.append(
                    Difference(
                        "unsettled",
                        subject,
                        f"{payout.status} with no transfer on Stripe (last error: "
                        f"{payout.error or 'none'}); run run_payouts again to retry it",
                    )
                )
        elif payout.status == PayoutStatus.FAILED and with_its_key:
            matched.update(t.id for t in with_its_key)
            out.append(
                Difference(
                    "failed_but_on_stripe",
                    subject,
                    f"failed locally but Stripe has transfer {on_stripe}",
                )
            )
    for transfer in transfers.values():
        if transfer.id not in matched:
            out.append(
                Difference(
                    "missing_locally",
                    f"transfer {transfer.id}",
                    f"{transfer.amount} {transfer.currency} to {transfer.destination} "
                    f"(group {transfer.transfer_group or '-'}) matches no payout",
                )
            )
    if not period:
        out.extend(_ledger_totals())
    return out


def _duplicate(payout: Payout, transfer: TransferInfo, subject: str) -> list[Difference]:
    """A second transfer carrying a paid payout's key. Once Stripe reversed it in full the
    money is back and there is nothing left to do."""
    if transfer.amount_reversed >= transfer.amount:
        return []
    return [
        Difference(
            "duplicate_transfer",
            subject,
            f"paid by {payout.stripe_transfer_id}, but Stripe also has transfer {transfer.id} "
            f"({transfer.amount} {transfer.currency} to {transfer.destination}, "
            f"{transfer.amount_reversed} reversed) carrying this payout's metadata: the artist "
            "was paid twice; reverse it on Stripe",
            payout_id=payout.pk,
            transfer=transfer,
        )
    ]


def _compare(payout: Payout, transfer: TransferInfo, subject: str) -> list[Difference]:
    out = []
    if transfer.amount != payout.amount_minor:
        out.append(
            Difference(
                "amount_mismatch",
                subject,
                f"{payout.amount_minor} locally, {transfer.amount} on Stripe ({transfer.id})",
            )
        )
    if transfer.currency != payout.currency:
        out.append(
            Difference(
                "currency_mismatch",
                subject,
                f"{payout.currency} locally, {transfer.currency} on Stripe ({transfer.id})",
            )
        )
    if transfer.destination != payout.destination:
        out.append(
            Difference(
                "destination_mismatch",
                subject,
                f"{payout.destination} locally, {transfer.destination} on Stripe ({transfer.id})",
            )
        )
    if transfer.transfer_group != payout.period:
        out.append(
            Difference(
                "transfer_group_mismatch",
                subject,
                f"period {payout.period}, transfer_group {transfer.transfer_group or '-'}",
            )
        )
    if transfer.amount_reversed > payout.amount_reversed_minor:
        out.append(
            Difference(
                "reversed_on_stripe_not_locally",
                subject,
                f"Stripe reversed {transfer.amount_reversed}, we recorded "
                f"{payout.amount_reversed_minor} ({transfer.id})",
            )
        )
    elif transfer.amount_reversed < payout.amount_reversed_minor:
        out.append(
            Difference(
                "reversal_mismatch",
                subject,
                f"we recorded {payout.amount_reversed_minor} reversed, Stripe "
                f"{transfer.amount_reversed} ({transfer.id})",
            )
        )
    return out


def _ledger_totals() -> list[Difference]:
    """The ledger's paid and in-flight totals must equal what the payout rows say."""
    paid: dict[str, int] = defaultdict(int)
    in_flight: dict[str, int] = defaultdict(int)
    for payout in Payout.objects.only(
        "status", "currency", "amount_minor", "amount_reversed_minor"
    ):
        if payout.status in (PayoutStatus.PAID, PayoutStatus.REVERSED):
            paid[payout.currency] += payout.amount_minor - payout.amount_reversed_minor
        elif payout.status in OPEN_STATUSES:
            in_flight[payout.currency] += payout.amount_minor
    out = []
    for currency in sorted(
        set(paid)
        | set(in_flight)
        | {ledger_bridge.period_currency(p) for p in ledger_bridge.closed_periods()}
    ):
        ledger_paid = ledger_bridge.account_total(ledger_bridge.PAID, currency=currency)
        ledger_in_flight = ledger_bridge.account_total(ledger_bridge.IN_FLIGHT, currency=currency)
        if ledger_paid != paid[currency]:
            out.append(
                Difference(
                    "ledger_paid_mismatch",
                    currency,
                    f"ledger paid {ledger_paid}, payouts say {paid[currency]}",
                )
            )
        if ledger_in_flight != in_flight[currency]:
            out.append(
                Difference(
                    "ledger_in_flight_mismatch",
                    currency,
                    f"ledger in flight {ledger_in_flight}, open payouts {in_flight[currency]}",
                )
            )
    return out
