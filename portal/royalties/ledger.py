"""The double-entry ledger: append-only, integer minor units, every transaction balanced.

Accounts (import the constants, never spell them):

    PLATFORM             the platform's own money; funds each period's pool (goes negative)
    POOL                 a period's artists' pool, emptied by the allocation
    ARTIST_PAYABLE       per artist: allocated and not yet sent
    TRANSFERS_IN_FLIGHT  per artist: a Stripe transfer was created, outcome not yet known
    PAID                 per artist: the transfer succeeded

Movements (kind constants below), each one `ledger_post` call with a stable reference:

    period close      PLATFORM -> POOL (pool_funding), POOL -> ARTIST_PAYABLE (allocation)
    transfer created  ARTIST_PAYABLE -> TRANSFERS_IN_FLIGHT
    transfer paid     TRANSFERS_IN_FLIGHT -> PAID
    transfer failed   TRANSFERS_IN_FLIGHT -> ARTIST_PAYABLE
    transfer reversed PAID -> ARTIST_PAYABLE

An entry's amount is signed: positive adds to the account, negative takes from it. "A -> B for
x" is [(A, artist, -x), (B, artist, +x)].

On PostgreSQL, row triggers refuse UPDATE and DELETE on both tables (migration 0002).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence

from django.db import IntegrityError, transaction
from django.db.models import Sum

from portal.accounts.models import User
from portal.core.errors import ApplicationError, Conflict
from portal.royalties.models import LedgerEntry, LedgerTransaction

PLATFORM = "platform"
POOL = "pool"
ARTIST_PAYABLE = "artist_payable"
TRANSFERS_IN_FLIGHT = "transfers_in_flight"
PAID = "paid"
ACCOUNTS = (PLATFORM, POOL, ARTIST_PAYABLE, TRANSFERS_IN_FLIGHT, PAID)
PER_ARTIST_ACCOUNTS = frozenset({ARTIST_PAYABLE, TRANSFERS_IN_FLIGHT, PAID})

KIND_POOL_FUNDING = "pool_funding"
KIND_ALLOCATION = "allocation"
KIND_TRANSFER_CREATED = "transfer_created"
KIND_TRANSFER_PAID = "transfer_paid"
KIND_TRANSFER_FAILED = "transfer_failed"
KIND_TRANSFER_REVERSED = "transfer_reversed"

_CURRENCY = re.compile(r"^[a-z]{3}$")
_KIND = re.compile(r"^[a-z][a-z0-9_.]{0,39}$")

# An artist given as the user or its id; None on the platform's own accounts.
ArtistRef = User | int | None
EntrySpec = tuple[str, ArtistRef, int]  # (account, artist, amount_minor)


def _artist_id(artist: ArtistRef) -> int | None:
    if artist is None:
        return None
    return int(artist.pk if isinstance(artist, User) else artist)


def _normalised(entries: Iterable[EntrySpec]) -> list[tuple[str, int | None, int]]:
    return sorted((account, _artist_id(artist), int(amount)) for account, artist, amount in entries)


@transaction.atomic
def ledger_post(
    *,
    kind: str,
    reference: str,
    entries: Sequence[EntrySpec],
    currency: str,
    period: str = "",
    memo: str = "",
) -> LedgerTransaction:
    """Post one balanced transaction, or return the one already posted under `reference`.

    Refused: an unbalanced set (entries must sum to zero), an unknown account, an artist missing
    on a per-artist account (or given on a platform account), a zero amount, a currency that is
    not three lowercase letters. Posting a reference again with the same entries returns the
    existing transaction (a retry after a crash is safe); with different entries it is a
    conflict, since a reference names exactly one movement of money.
    """
    normalised = _normalised(entries)
    if not _CURRENCY.match(currency or ""):
        raise ApplicationError(
            "invalid_currency", "A currency is three lowercase letters, e.g. usd."
        )
    if not _KIND.match(kind or ""):
        raise ApplicationError("invalid_kind", f"{kind!r} is not a ledger transaction kind.")
    if not reference or len(reference) > 200:
        raise ApplicationError("invalid_reference", "A reference is 1 to 200 characters.")
    if not normalised:
        raise ApplicationError("empty_transaction", "A transaction needs entries.")
    for account, artist_id, amount in normalised:
        if account not in ACCOUNTS:
            raise ApplicationError("unknown_account", f"{account!r} is not a ledger account.")
        if (account in PER_ARTIST_ACCOUNTS) != (artist_id is not None):
            raise ApplicationError(
                "artist_mismatch",
                f"The {account} account {'needs' if account in PER_ARTIST_ACCOUNTS else 'takes no'} artist.",
            )
        if amount == 0:
            raise ApplicationError("zero_entry", "A ledger entry cannot be zero.")
    if sum(amount for _, _, amount in normalised) != 0:
        raise ApplicationError(
            "unbalanced", f"The entries of {reference} do not sum to zero; nothing was posted."
        )
    existing = LedgerTransaction.objects.filter(reference=reference).first()
    if existing is None:
        try:
            with transaction.atomic():  # a savepoint: a concurrent poster may win the race
                existing = LedgerTransaction.objects.create(
                    kind=kind, period=period, reference=reference, memo=memo
                )
                LedgerEntry.objects.bulk_create(
                    [
                        LedgerEntry(
                            transaction=existing,
                            account=account,
                            artist_id=artist_id,
                            amount_minor=amount,
                            currency=currency,
                        )
                        for account, artist_id, amount in normalised
                    ]
                )
                return existing
        except IntegrityError:
            existing = LedgerTransaction.objects.filter(reference=reference).first()
            if existing is None:
                raise
    stored = _normalised(
        (e.account, e.artist_id, e.amount_minor) for e in existing.entries.order_by("pk")
    )
    currencies = set(existing.entries.values_list("currency", flat=True))
    if stored != normalised or currencies != {currency} or existing.kind != kind:
        raise Conflict(
            "reference_reused",
            f"The ledger reference {reference} was already posted with other entries.",
        )
    return existing


def balance(account: str, artist: ArtistRef = None, *, currency: str) -> int:
    """An account's balance: the sum of its entries (for one artist on per-artist accounts)."""
    entries = LedgerEntry.objects.filter(account=account, currency=currency)
    if account in PER_ARTIST_ACCOUNTS or artist is not None:
        entries = entries.filter(artist_id=_artist_id(artist))
    return int(entries.aggregate(total=Sum("amount_minor"))["total"] or 0)


def balances_by_artist(account: str, *, currency: str) -> dict[int, int]:
    """Every artist's non-zero balance on a per-artist account, in one GROUP BY query."""
    rows = (
        LedgerEntry.objects.filter(account=account, currency=currency, artist__isnull=False)
        .values("artist_id")
        .annotate(total=Sum("amount_minor"))
        .order_by("artist_id")
    )
    return {row["artist_id"]: int(row["total"]) for row in rows if row["total"]}


def unbalanced_transactions(*, period: str | None = None) -> list[tuple[str, str, int]]:
    """(reference, currency, sum) of every transaction whose entries do not sum to zero."""
    entries = LedgerEntry.objects.all()
    if period is not None:
        entries = entries.filter(transaction__period=period)
    rows = (
        entries.values("transaction__reference", "currency")
        .annotate(total=Sum("amount_minor"))
        .exclude(total=0)
        .order_by("transaction__reference")
    )
    return [(r["transaction__reference"], r["currency"], int(r["total"])) for r in rows]


def transaction_amounts(reference: str) -> dict[tuple[str, int | None, str], int]:
    """The summed entries of one transaction by (account, artist id, currency)."""
    totals: dict[tuple[str, int | None, str], int] = defaultdict(int)
    for entry in LedgerEntry.objects.filter(transaction__reference=reference):
        totals[(entry.account, entry.artist_id, entry.currency)] += entry.amount_minor
    return dict(totals)
