from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from portal.audit.models import AuditEntry
from portal.core.errors import ApplicationError, Conflict
from portal.royalties import ledger
from portal.royalties.models import AllocationLine, Period, Play, PlayReason
from portal.royalties.services import period_close
from tests.factories.royalties import (
    MARCH_WINDOW_PASSED,
    EarlyMixFactory,
    PlayedStemFactory,
    event,
)
from tests.factories.royalties import ingest as report

pytestmark = pytest.mark.django_db
DAY = datetime(2024, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def two_artist_mix(artist: Any, other_artist: Any, client_app: Any) -> tuple[Any, Any, Any]:
    """60 s: alice's drums at 75 % of every second, bob's bass at 25 %; requested by the app."""
    drums = PlayedStemFactory(artist=artist, title="Drums")
    bass = PlayedStemFactory(artist=other_artist, title="Bass")
    mix = EarlyMixFactory(
        stems=[drums, bass], seconds=[{drums: 0.75, bass: 0.25}] * 60, client_app=client_app
    )
    return mix, drums, bass


@pytest.fixture
def ingest(client_app: Any) -> Any:
    return lambda events: report(client_app, events)


@pytest.fixture
def window_passed(clock: Any) -> Any:
    """March's late window has passed: it closes without being forced."""
    clock.set(MARCH_WINDOW_PASSED)
    return clock


def test_closing_a_month_pays_the_whole_pool_by_attributed_listening(
    two_artist_mix: tuple[Any, Any, Any],
    artist: Any,
    other_artist: Any,
    staff: Any,
    ingest: Any,
    clock: Any,
) -> None:
    mix, drums, bass = two_artist_mix
    ingest([event(mix, started_at=DAY + timedelta(hours=i), ms_played=60_000) for i in range(4)])
    ingest([event(mix, started_at=DAY, ms_played=10_000)])  # too short: not counted
    clock.set(MARCH_WINDOW_PASSED)
    period = period_close(month="2024-03", pool_minor=1001, currency="usd", actor=staff)
    assert period.plays_counted == 4
    assert period.plays_too_short == 1
    # 750.75 / 250.25: floors 750 + 250, the last cent to the larger remainder (a tie: .75 vs
    # .25 is no tie, alice's .75 wins).
    assert ledger.balance(ledger.ARTIST_PAYABLE, artist, currency="usd") == 751
    assert ledger.balance(ledger.ARTIST_PAYABLE, other_artist, currency="usd") == 250
    assert ledger.balance(ledger.POOL, currency="usd") == 0
    assert ledger.balance(ledger.PLATFORM, currency="usd") == -1001
    assert ledger.unbalanced_transactions() == []
    lines = {(line.artist_id, line.stem_id): line for line in AllocationLine.objects.all()}
    assert lines[(artist.pk, drums.pk)].amount_minor == 751
    assert lines[(artist.pk, drums.pk)].plays == 4
    assert lines[(artist.pk, drums.pk)].attributed_ms == 4 * 45_000
    assert lines[(other_artist.pk, bass.pk)].attributed_ms == 4 * 15_000
    assert AuditEntry.objects.filter(
        action="royalties.period_closed", subject="period:2024-03"
    ).exists()


def test_a_stems_share_is_split_among_its_credited_artists(
    artist: Any, other_artist: Any, client_app: Any, ingest: Any, clock: Any
) -> None:
    duet = PlayedStemFactory(artist=artist, credits=[(artist, 7000), (other_artist, 3000)])
    mix = EarlyMixFactory(stems=[duet], seconds=[{duet: 1.0}] * 40, client_app=client_app)
    ingest([event(mix, started_at=DAY, ms_played=40_000)])
    clock.set(MARCH_WINDOW_PASSED)
    period_close(month="2024-03", pool_minor=999, currency="usd", actor=None)
    amounts = ledger.balances_by_artist(ledger.ARTIST_PAYABLE, currency="usd")
    assert amounts == {artist.pk: 699, other_artist.pk: 300}  # 699.3 / 299.7 -> the .7 wins


def test_closing_a_period_twice_is_refused(
    two_artist_mix: tuple[Any, Any, Any], ingest: Any, clock: Any
) -> None:
    mix, _, _ = two_artist_mix
    ingest([event(mix, started_at=DAY, ms_played=60_000)])
    clock.set(MARCH_WINDOW_PASSED)
    period_close(month="2024-03", pool_minor=500, currency="usd", actor=None)
    with pytest.raises(Conflict) as refused:
        period_close(month="2024-03", pool_minor=500, currency="usd", actor=None)
    assert refused.value.code == "period_closed"
    with pytest.raises(CommandError, match="period_closed"):
        call_command("close_period", "2024-03", "--pool-minor", "500", "--currency", "usd")
    assert Period.objects.count() == 1
    assert ledger.balance(ledger.PLATFORM, currency="usd") == -500


def test_the_close_command_closes_a_month(
    two_artist_mix: tuple[Any, Any, Any], capsys: Any, ingest: Any, clock: Any
) -> None:
    mix, _, _ = two_artist_mix
    ingest([event(mix, started_at=DAY, ms_played=60_000)])
    clock.set(MARCH_WINDOW_PASSED)
    call_command("close_period", "2024-03", "--pool-minor", "50000", "--currency", "USD")
    period = Period.objects.get(month="2024-03")
    assert (period.pool_minor, period.currency) == (50000, "usd")
    assert "2024-03 closed" in capsys.readouterr().out


def test_a_month_that_has_not_ended_cannot_be_closed() -> None:
    now = datetime.now(UTC)
    with pytest.raises(ApplicationError) as refused:
        period_close(
            month=f"{now.year:04d}-{now.month:02d}", pool_minor=0, currency="usd", actor=None
        )
    assert refused.value.code == "period_not_over"


def test_a_positive_pool_without_listening_is_refused_and_nothing_is_posted(
    window_passed: Any,
) -> None:
    with pytest.raises(ApplicationError) as refused:
        period_close(month="2024-03", pool_minor=100, currency="usd", actor=None)
    assert refused.value.code == "nothing_to_allocate"
    assert not Period.objects.exists()
    assert ledger.balance(ledger.PLATFORM, currency="usd") == 0


@override_settings(ROYALTIES_MAX_PLAYS_PER_LISTENER_PER_MIX_PER_DAY=3)
def test_plays_over_the_daily_limit_are_kept_marked_and_not_paid(
    two_artist_mix: tuple[Any, Any, Any], ingest: Any, clock: Any
) -> None:
    mix, _, _ = two_artist_mix
    repeat = [event(mix, started_at=DAY + timedelta(minutes=i), ms_played=60_000) for i in range(5)]
    next_day = event(mix, started_at=DAY + timedelta(days=1), ms_played=60_000)
    other_listener = event(mix, started_at=DAY, ms_played=60_000, listener="listener-2")
    # Arrival order must not matter: the latest two of the five go over, not the last to arrive.
    ingest([*reversed(repeat), next_day, other_listener])
    clock.set(MARCH_WINDOW_PASSED)
    period = period_close(month="2024-03", pool_minor=700, currency="usd", actor=None)
    assert period.plays_over_limit == 2
    assert period.plays_counted == 5
    assert period.plays_held == 0  # the daily limit is a cap, counted apart from the rules
    over = set(
        Play.objects.filter(
            reason=PlayReason.OVER_DAILY_LIMIT, qualifies=False, held_by="daily_cap"
        ).values_list("event_id", flat=True)
    )
    assert {str(e) for e in over} == {repeat[3]["event_id"], repeat[4]["event_id"]}
    assert Play.objects.count() == 7  # kept


@override_settings(ROYALTIES_MAX_PLAYS_PER_LISTENER_PER_MIX_PER_DAY=2)
def test_a_late_play_counts_next_month_within_the_same_days_allowance(
    two_artist_mix: tuple[Any, Any, Any], ingest: Any, clock: Any, staff: Any
) -> None:
    mix, _, _ = two_artist_mix
    ingest([event(mix, started_at=DAY + timedelta(minutes=i), ms_played=60_000) for i in range(2)])
    period_close(month="2024-03", pool_minor=100, currency="usd", actor=staff, force_reason="Audit")
    # Arrives after March closed (forced, within its late window): accounted in April, and
    # over that day's allowance of 2.
    late = event(mix, started_at=DAY - timedelta(hours=1), ms_played=60_000)
    fresh = event(mix, started_at=datetime(2024, 4, 1, tzinfo=UTC), ms_played=60_000)
    ingest([late, fresh])
    assert Play.objects.get(event_id=late["event_id"]).accounting_period == "2024-04"
    clock.set(datetime(2024, 6, 6, tzinfo=UTC))
    april = period_close(month="2024-04", pool_minor=100, currency="usd", actor=None)
    assert april.plays_over_limit == 1
    assert april.plays_counted == 1
    assert Play.objects.get(event_id=late["event_id"]).reason == PlayReason.OVER_DAILY_LIMIT


def test_a_staff_member_closes_a_month_from_the_periods_page(
    client_for: Any, staff: Any, two_artist_mix: tuple[Any, Any, Any], ingest: Any
) -> None:
    mix, _, _ = two_artist_mix
    ingest([event(mix, started_at=DAY, ms_played=60_000)])
    browser = client_for(staff)
    page = browser.get("/royalties/periods/")
    assert page.status_code == 200
    assert b'name="pool_minor"' in page.content
    assert b'name="force_reason"' in page.content
    # March's late window is still open (April 1st): the page says until when, and refuses.
    assert b"2024-05-06 00:00 UTC" in page.content
    early = browser.post(
        "/royalties/periods/", {"month": "2024-03", "pool_minor": "5000", "currency": "usd"}
    )
    assert early.status_code == 200
    assert b"late window" in early.content
    assert not Period.objects.exists()
    response = browser.post(
        "/royalties/periods/",
        {
            "month": "2024-03",
            "pool_minor": "5000",
            "currency": "usd",
            "force_reason": "Label audit needs March now",
        },
    )
    assert response.status_code == 302
    assert Period.objects.get(month="2024-03").closed_by == staff
    entry = AuditEntry.objects.get(action="royalties.period_closed", subject="period:2024-03")
    assert entry.note == "Label audit needs March now"
    again = browser.post(
        "/royalties/periods/", {"month": "2024-03", "pool_minor": "5000", "currency": "usd"}
    )
    assert again.status_code == 200
    assert b"already closed" in again.content
    listing = browser.get("/royalties/periods/")
    assert b"2024-03" in listing.content and b"50.00 USD" in listing.content


@pytest.mark.parametrize("role", ["artist", "curator", "outsider"])
def test_only_staff_reach_the_periods_page(client_for: Any, request: Any, role: str) -> None:
    user = request.getfixturevalue(role)
    assert client_for(user).get("/royalties/periods/").status_code == 403
    assert client_for(None).get("/royalties/periods/").status_code == 302  # to the login page
