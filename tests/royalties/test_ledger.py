from __future__ import annotations

from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction

from portal.core.errors import ApplicationError, Conflict
from portal.royalties import ledger
from portal.royalties.models import LedgerEntry, LedgerTransaction

pytestmark = pytest.mark.django_db


def fund(reference: str = "t:1", amount: int = 1000) -> LedgerTransaction:
    return ledger.ledger_post(
        kind=ledger.KIND_POOL_FUNDING,
        reference=reference,
        entries=[(ledger.PLATFORM, None, -amount), (ledger.POOL, None, amount)],
        currency="usd",
        period="2024-03",
    )


def test_an_unbalanced_transaction_is_refused_and_leaves_no_trace(artist: Any) -> None:
    with pytest.raises(ApplicationError) as refused:
        ledger.ledger_post(
            kind=ledger.KIND_ALLOCATION,
            reference="t:unbalanced",
            entries=[(ledger.POOL, None, -100), (ledger.ARTIST_PAYABLE, artist, 99)],
            currency="usd",
        )
    assert refused.value.code == "unbalanced"
    assert not LedgerTransaction.objects.exists()
    assert not LedgerEntry.objects.exists()


@pytest.mark.parametrize(
    ("entries", "code"),
    [
        ([("nowhere", None, -1), (ledger.POOL, None, 1)], "unknown_account"),
        ([(ledger.POOL, None, -1), (ledger.ARTIST_PAYABLE, None, 1)], "artist_mismatch"),
        ([(ledger.POOL, None, 0), (ledger.PLATFORM, None, 0)], "zero_entry"),
        ([], "empty_transaction"),
    ],
)
def test_malformed_entries_are_refused(entries: list[Any], code: str) -> None:
    with pytest.raises(ApplicationError) as refused:
        ledger.ledger_post(kind="allocation", reference="t:x", entries=entries, currency="usd")
    assert refused.value.code == code


def test_posting_the_same_reference_again_returns_the_first_transaction() -> None:
    first = fund()
    again = fund()
    assert again.pk == first.pk
    assert LedgerEntry.objects.count() == 2
    assert ledger.balance(ledger.POOL, currency="usd") == 1000


def test_a_reference_reused_for_other_entries_is_a_conflict() -> None:
    fund()
    with pytest.raises(Conflict) as refused:
        fund(amount=999)
    assert refused.value.code == "reference_reused"


def test_balances_are_sums_of_entries_per_artist_and_currency(
    artist: Any, other_artist: Any
) -> None:
    fund(amount=1000)
    ledger.ledger_post(
        kind=ledger.KIND_ALLOCATION,
        reference="t:alloc",
        entries=[
            (ledger.POOL, None, -1000),
            (ledger.ARTIST_PAYABLE, artist, 600),
            (ledger.ARTIST_PAYABLE, other_artist.pk, 400),
        ],
        currency="usd",
    )
    # The movements the payouts domain posts: reserve, fail back, reserve again, pay.
    moves = [
        ("t:reserve", ledger.ARTIST_PAYABLE, ledger.TRANSFERS_IN_FLIGHT, 600),
        ("t:fail", ledger.TRANSFERS_IN_FLIGHT, ledger.ARTIST_PAYABLE, 600),
        ("t:reserve2", ledger.ARTIST_PAYABLE, ledger.TRANSFERS_IN_FLIGHT, 600),
        ("t:paid", ledger.TRANSFERS_IN_FLIGHT, ledger.PAID, 600),
    ]
    for reference, source, target, amount in moves:
        ledger.ledger_post(
            kind="transfer",
            reference=reference,
            entries=[(source, artist, -amount), (target, artist, amount)],
            currency="usd",
        )
    assert ledger.balance(ledger.ARTIST_PAYABLE, artist, currency="usd") == 0
    assert ledger.balance(ledger.TRANSFERS_IN_FLIGHT, artist, currency="usd") == 0
    assert ledger.balance(ledger.PAID, artist, currency="usd") == 600
    assert ledger.balance(ledger.ARTIST_PAYABLE, other_artist, currency="usd") == 400
    assert ledger.balance(ledger.ARTIST_PAYABLE, other_artist, currency="eur") == 0
    assert ledger.balances_by_artist(ledger.ARTIST_PAYABLE, currency="usd") == {
        other_artist.pk: 400
    }
    assert ledger.unbalanced_transactions() == []


def test_the_database_refuses_to_edit_or_delete_ledger_rows_on_postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the append-only triggers are PostgreSQL's")
    fund()
    for statement in (
        "UPDATE royalties_ledgerentry SET amount_minor = amount_minor + 1",
        "DELETE FROM royalties_ledgerentry",
        "UPDATE royalties_ledgertransaction SET memo = 'edited'",
        "DELETE FROM royalties_ledgertransaction",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement)
    assert ledger.balance(ledger.POOL, currency="usd") == 1000
