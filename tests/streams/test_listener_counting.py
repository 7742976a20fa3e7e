"""One pair of ears, one stream at a time; a daily cap of paid seconds; no pay for a bot that
fetches without playing or for heartbeats after the idle timeout. Money is checked where it
ends up: the artists' payable accounts after the month closes, in minor units."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from portal.royalties.models import Play
from portal.royalties.services import period_close
from portal.royalties.verification import period_verify
from portal.streams.models import StreamSegment
from tests.conftest import run_queued_jobs
from tests.factories.royalties import MARCH_WINDOW_PASSED
from tests.helpers.money import artist_payable, expected_payout
from tests.streams.conftest import listen_together

pytestmark = pytest.mark.django_db
START = datetime(2024, 3, 5, 9, 0, tzinfo=UTC)
MONTH = "2024-03"


def counted_seconds(player) -> float:
    rows = StreamSegment.objects.filter(session_id=player.id, confirmed_at__isnull=False)
    return sum(r.frames for r in rows) / 48_000


def paid_ms(listener_id: str) -> int:
    return sum(Play.objects.filter(listener_id=listener_id).values_list("ms_played", flat=True))


def close(clock, pool_minor: int) -> dict[int, int]:
    """Close March; check the payout against the one computed here from the plays' manifests."""
    expected = expected_payout(pool_minor, Play.objects.select_related("mix"))
    clock.set(MARCH_WINDOW_PASSED)
    period_close(month=MONTH, pool_minor=pool_minor, currency="usd", actor=None)
    assert period_verify(month=MONTH).ok
    paid = artist_payable(MONTH)
    assert paid == expected and sum(paid.values()) == pool_minor
    return paid


def test_two_parallel_sessions_of_one_listener_earn_once_for_the_time_they_overlap(
    player, clock, artist, other_artist
):
    """Session A plays 0-20 s of wall clock, session B (same listener) 6-26 s: 14 s of overlap,
    inside the royalties' 15 s overlap tolerance for plays, so both plays used to earn (40 s).
    Only 26 s of wall clock passed: A earns its 20 s, B only its 6 s after A stopped."""
    clock.set(START)
    a, b = listen_together(
        clock,
        [(lambda: player(), 0, 20), (lambda: player(mood="tense"), 6, 20)],
    )
    assert counted_seconds(a) == 20.0
    assert counted_seconds(b) == 6.0
    assert [
        i
        for i in StreamSegment.objects.filter(session_id=b.id, confirmed_at__isnull=False)
        .order_by("index")
        .values_list("index", flat=True)
    ] == [7, 8, 9]
    assert paid_ms("listener-1") == 26_000
    # A played calm stems (alice's), B tense ones (bob's): bob is paid for B's 6 s only.
    paid = close(clock, 2_600)
    assert set(paid) == {artist.pk, other_artist.pk}
    assert Play.objects.filter(listener_id="listener-1").count() == 2


def test_two_listeners_in_parallel_both_earn(player, clock, artist, other_artist):
    clock.set(START)
    listen_together(
        clock,
        [
            (lambda: player(), 0, 20),
            (lambda: player(mood="tense", listener_id="listener-2"), 6, 20),
        ],
    )
    assert paid_ms("listener-1") == 20_000 and paid_ms("listener-2") == 20_000
    assert set(close(clock, 1_000)) == {artist.pk, other_artist.pk}


def test_the_daily_cap_stops_paying_a_listener_for_the_rest_of_the_utc_day(
    player, clock, settings, artist, other_artist
):
    settings.STREAM_DAILY_CAP_SECONDS = 10
    clock.set(START)
    first = player()
    first.listen(16)
    assert first.end(16).status_code == 200
    assert counted_seconds(first) == 10.0
    second = player()  # a new session the same day: the cap is the listener's, not the session's
    second.listen(6)
    second.end(6)
    assert counted_seconds(second) == 0.0
    clock.set(datetime(2024, 3, 6, 0, 0, 2, tzinfo=UTC))
    third = player(mood="tense")  # the next UTC day starts afresh
    third.listen(6)
    third.end(6)
    assert counted_seconds(third) == 6.0
    assert paid_ms("listener-1") == 16_000
    assert set(close(clock, 1_600)) == {artist.pk, other_artist.pk}


def test_a_bot_fetching_segments_without_heartbeats_earns_nothing(
    player, clock, artist, other_artist
):
    clock.set(START)
    bot = player(listener_id="bot")
    honest = player(mood="tense", listener_id="human")
    fetched: set[int] = set()
    for second in range(0, 30, 2):
        # The bot fetches every segment the moment it is published and never confirms one.
        for index in bot.refresh():
            if index not in fetched:
                assert bot.fetch(index).status_code == 200
                fetched.add(index)
        honest.fetch_due(second, set(range(second // 2)))
        clock.advance(timedelta(seconds=2))
        assert honest.heartbeat(second + 2).status_code == 200
    honest.end(30)
    assert len(fetched) >= 15
    bot.end()
    run_queued_jobs()
    assert counted_seconds(bot) == 0.0 and paid_ms("bot") == 0
    # The pool goes exactly as the human's play alone says (close() checks it to the unit).
    assert set(Play.objects.values_list("listener_id", flat=True)) == {"human"}
    assert sum(close(clock, 999).values()) == 999


def test_heartbeats_after_the_idle_timeout_do_not_earn(player, clock, artist, other_artist):
    clock.set(START)
    sleeper = player()
    sleeper.listen(4)  # counted: 0-4 s; segment 2 fetched one ahead
    clock.advance(timedelta(seconds=61))  # STREAM_IDLE_SECONDS is 60
    for position in (6, 30, 65):
        assert sleeper.heartbeat(position).status_code == 409
    run_queued_jobs()  # the idle timer ends the session and pays what it counted
    assert sleeper.fetch(3).status_code in (200, 404)
    assert sleeper.heartbeat(70).status_code == 409
    assert counted_seconds(sleeper) == 4.0 and paid_ms("listener-1") == 4_000
    awake = player(mood="tense", listener_id="listener-2")
    awake.listen(4)
    awake.end(4)
    assert set(close(clock, 1_001)) == {artist.pk, other_artist.pk}


def test_concurrent_heartbeats_of_two_sessions_of_one_listener_count_once(
    transactional_db, player, clock, monkeypatch
):
    """Two heartbeats, one per session, both past segment 0 at the same moment. Each, once it
    is about to count, waits (up to 2 s) for the other to get there too: without the listener's
    row lock (PostgreSQL) or SQLite's write lock taken at BEGIN both would read the listener's
    ears as free and both would count."""
    import contextlib
    import threading

    from django.db import connection

    from portal.streams.models import StreamListener, StreamSession
    from portal.streams.services import counting
    from portal.streams.services.sessions import stream_heartbeat

    clock.set(START)
    sessions = [player(), player()]
    # The listener's row exists already (they listened before): its lock, not the insert of a
    # new row, is what must serialise the two.
    app_id = StreamSession.objects.get(pk=sessions[0].id).app_id
    StreamListener.objects.create(app_id=app_id, listener_id="listener-1")
    for p in sessions:
        assert p.fetch(0).status_code == 200
    clock.advance(timedelta(seconds=2))
    both_there = threading.Barrier(2, timeout=2)
    real_count = counting._segment_count

    def count_after_the_other(*args, **kwargs):
        with contextlib.suppress(threading.BrokenBarrierError):
            both_there.wait()
        return real_count(*args, **kwargs)

    monkeypatch.setattr(counting, "_segment_count", count_after_the_other)
    errors: list[BaseException] = []

    def heartbeat(session_id: str) -> None:
        try:
            stream_heartbeat(session=StreamSession.objects.get(pk=session_id), position_s=2)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=heartbeat, args=(p.id,)) for p in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(counted_seconds(p) for p in sessions) == [0.0, 2.0]
