from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from portal.royalties import ledger
from portal.royalties.models import AllocationLine, LedgerEntry, LedgerTransaction, Play
from portal.royalties.services import period_close, plays_ingest
from portal.royalties.verification import period_verify
from tests.factories.royalties import (
    MARCH_WINDOW_PASSED,
    EarlyMixFactory,
    PlayedStemFactory,
    event,
)

pytestmark = pytest.mark.django_db
DAY = datetime(2024, 3, 5, 9, 0, tzinfo=UTC)


@pytest.fixture
def closed(artist: Any, other_artist: Any, client_app: Any, clock: Any) -> str:
    a = PlayedStemFactory(artist=artist, title="Kick")
    b = PlayedStemFactory(artist=other_artist, title="Keys")
    shared = PlayedStemFactory(artist=artist, credits=[(artist, 5000), (other_artist, 5000)])
    first = EarlyMixFactory(
        stems=[a, b], seconds=[{a: 0.6, b: 0.4}] * 30 + [{b: 1.0}] * 30, client_app=client_app
    )
    second = EarlyMixFactory(
        stems=[a, shared],
        seconds=[{a: 0.333333, shared: 0.666667}] * 45,
        duration_ms=44_500,
        client_app=client_app,
    )
    events = [
        event(
            first,
            started_at=DAY + timedelta(minutes=i),
            ms_played=31_000 + 997 * i,
            listener=f"l{i % 4}",
        )
        for i in range(25)
    ]
    events += [
        event(second, started_at=DAY + timedelta(hours=i), ms_played=44_500 - 13 * i)
        for i in range(12)
    ]
    result = plays_ingest(events=events, app=client_app)
    assert result.accepted == 37
    clock.set(MARCH_WINDOW_PASSED)
    period_close(month="2024-03", pool_minor=12_345, currency="usd", actor=None)
    return "2024-03"


def test_a_closed_period_verifies(closed: str, capsys: Any) -> None:
    report = period_verify(month=closed)
    assert report.ok, report.differences
    call_command("verify_period", closed)
    assert "every cent accounted for" in capsys.readouterr().out


def _raw_insert_entry(reference: str, account: str, artist_id: int | None, amount: int) -> None:
    txn = LedgerTransaction.objects.get(reference=reference)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO royalties_ledgerentry (transaction_id, account, artist_id, amount_minor, currency)"
            " VALUES (%s, %s, %s, %s, %s)",
            [txn.pk, account, artist_id, amount, "usd"],
        )


def test_one_extra_cent_in_the_ledger_fails_verification(closed: str, artist: Any) -> None:
    _raw_insert_entry(f"period:{closed}:allocation", ledger.ARTIST_PAYABLE, artist.pk, 1)
    report = period_verify(month=closed)
    assert not report.ok
    assert any("allocation" in d for d in report.differences)
    assert any("balances" in d for d in report.differences)
    with pytest.raises(CommandError, match="difference"):
        call_command("verify_period", closed)


def test_a_cent_moved_between_statement_lines_fails_verification(closed: str) -> None:
    lines = list(AllocationLine.objects.filter(period__month=closed).order_by("pk")[:2])
    AllocationLine.objects.filter(pk=lines[0].pk).update(amount_minor=lines[0].amount_minor + 1)
    AllocationLine.objects.filter(pk=lines[1].pk).update(amount_minor=lines[1].amount_minor - 1)
    report = period_verify(month=closed)
    assert len([d for d in report.differences if d.startswith("statement line")]) == 2


def test_a_play_edited_after_the_close_fails_verification(closed: str) -> None:
    play = Play.objects.filter(accounting_period=closed, qualifies=True).order_by("pk").first()
    assert play is not None
    Play.objects.filter(pk=play.pk).update(ms_played=play.ms_played - 1)
    assert not period_verify(month=closed).ok


def test_an_extra_allocation_posted_for_the_month_fails_verification(
    closed: str, artist: Any
) -> None:
    ledger.ledger_post(
        kind=ledger.KIND_ALLOCATION,
        reference="sneaky",
        entries=[(ledger.PLATFORM, None, -1), (ledger.ARTIST_PAYABLE, artist, 1)],
        currency="usd",
        period=closed,
    )
    report = period_verify(month=closed)
    assert any("every allocation posted" in d for d in report.differences)
    assert LedgerEntry.objects.filter(transaction__reference="sneaky").count() == 2


def test_verifying_an_open_month_is_an_error() -> None:
    with pytest.raises(CommandError, match="period_not_closed"):
        call_command("verify_period", "2024-02")
