"""The listening rules and self-play through the real close and verify: held plays are kept,
marked with their rule, never paid unless released; verify recomputes and compares every mark.
Written as the attackers of issue 13 (a farm on a sock-puppet app, a looping bot, an owner
playing their own stems) beside real listeners."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from portal.core.errors import Conflict
from portal.royalties import ledger
from portal.royalties.models import Play, PlayReason, PlayRelease
from portal.royalties.releases import play_release
from portal.royalties.services import period_close
from portal.royalties.verification import period_verify
from tests.factories.accounts import UserFactory
from tests.factories.clients import ClientAppFactory
from tests.factories.royalties import (
    MARCH_WINDOW_PASSED,
    EarlyMixFactory,
    PlayedStemFactory,
    event,
    ingest,
)

pytestmark = pytest.mark.django_db
DAY = datetime(2024, 3, 12, 18, 0, tzinfo=UTC)


def real_listening(mix: Any, app: Any, n: int = 30) -> list[dict[str, Any]]:
    """People: one play each, at scattered times, stopping all over the track."""
    return [
        event(
            mix,
            started_at=DAY + timedelta(minutes=37 * i),
            ms_played=45_000 + 3_100 * i % 70_000,
            listener=f"person-{i}",
        )
        for i in range(n)
    ]


def close(clock: Any, pool: int = 10_000) -> Any:
    clock.set(MARCH_WINDOW_PASSED)
    return period_close(month="2024-03", pool_minor=pool, currency="usd", actor=None)


def test_a_farm_on_a_sock_puppet_app_is_held_and_real_listening_takes_the_pool(
    artist: Any, outsider: Any, client_app: Any, clock: Any
) -> None:
    genuine = EarlyMixFactory(
        stems=[PlayedStemFactory(artist=artist, title="Rain")],
        even_seconds=120,
        client_app=client_app,
    )
    ingest(client_app, real_listening(genuine, client_app))
    # mallory's accomplice registers a "radio" (not credited anywhere: no self-play) whose
    # controller starts 20 accounts on mallory's mix at once, every 12 minutes, for 2 hours.
    puppet = ClientAppFactory(owner=UserFactory(username="farmer"), name="Totally real radio")
    bait = EarlyMixFactory(
        stems=[PlayedStemFactory(artist=outsider, title="Mallory's loop")],
        even_seconds=120,
        client_app=puppet,
    )
    farm = [
        event(
            bait,
            started_at=DAY + timedelta(minutes=12 * burst, seconds=account % 3),
            ms_played=119_000,
            listener=f"acct-{account}",
        )
        for burst in range(10)
        for account in range(20)
    ]
    ingest(puppet, farm)
    period = close(clock)
    assert period.plays_held == 200
    assert set(Play.objects.filter(app=puppet).values_list("reason", "held_by", "qualifies")) == {
        (PlayReason.HELD, "lockstep", False)
    }
    assert ledger.balance(ledger.ARTIST_PAYABLE, outsider, currency="usd") == 0
    assert ledger.balance(ledger.ARTIST_PAYABLE, artist, currency="usd") == 10_000
    assert Play.objects.count() == 230  # held plays are kept
    assert period_verify(month="2024-03").ok


def test_a_looping_bot_is_held_by_threshold_hugging(
    artist: Any, client_app: Any, clock: Any
) -> None:
    mix = EarlyMixFactory(
        stems=[PlayedStemFactory(artist=artist)], even_seconds=180, client_app=client_app
    )
    people = real_listening(mix, client_app, n=10)
    bot = [
        event(mix, started_at=DAY + timedelta(seconds=40 * i), ms_played=30_400, listener="bot")
        for i in range(15)
    ]
    ingest(client_app, people + bot)
    period = close(clock)
    assert period.plays_held == 15
    assert period.plays_counted == 10
    assert set(Play.objects.filter(listener_id="bot").values_list("held_by", flat=True)) == {
        "threshold_hugging"
    }
    assert period_verify(month="2024-03").ok


def test_one_listener_id_on_two_apps_is_two_listeners(
    artist: Any, developer: Any, client_app: Any, clock: Any
) -> None:
    other = ClientAppFactory(owner=developer, name="Second game")
    ours = EarlyMixFactory(
        stems=[PlayedStemFactory(artist=artist)], even_seconds=120, client_app=client_app
    )
    theirs = EarlyMixFactory(
        stems=[PlayedStemFactory(artist=artist)], even_seconds=120, client_app=other
    )
    ingest(client_app, [event(ours, started_at=DAY, ms_played=120_000, listener="user-1")])
    ingest(other, [event(theirs, started_at=DAY, ms_played=120_000, listener="user-1")])
    same_app = event(
        ours, started_at=DAY + timedelta(seconds=30), ms_played=90_000, listener="user-1"
    )
    ingest(client_app, [same_app])
    period = close(clock)
    assert period.plays_counted == 2
    assert Play.objects.get(event_id=same_app["event_id"]).held_by == "overlap"


def test_self_play_is_recomputed_at_the_close_whatever_its_row_says(
    outsider: Any, artist: Any, clock: Any
) -> None:
    # mallory plays her own stem through her own app; someone (or a bug) later flips the
    # stored mark to "counted": the close decides from the app's owner and the manifest.
    own_app = ClientAppFactory(owner=outsider, name="Mallory's player")
    mine = EarlyMixFactory(
        stems=[PlayedStemFactory(artist=outsider), PlayedStemFactory(artist=artist)],
        even_seconds=60,
        client_app=own_app,
    )
    plays = [
        event(mine, started_at=DAY + timedelta(minutes=2 * i), ms_played=60_000, listener=f"l{i}")
        for i in range(5)
    ]
    assert ingest(own_app, plays).accepted == 5
    Play.objects.update(qualifies=True, reason="")
    period = close(clock, pool=0)
    assert (period.plays_self, period.plays_counted) == (5, 0)
    assert set(Play.objects.values_list("reason", "qualifies")) == {(PlayReason.SELF_PLAY, False)}
    assert period_verify(month="2024-03").ok
    Play.objects.filter(event_id=plays[0]["event_id"]).update(qualifies=True, reason="")
    report = period_verify(month="2024-03")
    assert any("self_play" in d and plays[0]["event_id"] in d for d in report.differences)


def test_verify_finds_a_held_mark_changed_after_the_close(
    artist: Any, client_app: Any, clock: Any
) -> None:
    mix = EarlyMixFactory(
        stems=[PlayedStemFactory(artist=artist)], even_seconds=120, client_app=client_app
    )
    first = event(mix, started_at=DAY, ms_played=120_000, listener="two-devices")
    second = event(
        mix, started_at=DAY + timedelta(seconds=20), ms_played=100_000, listener="two-devices"
    )
    ingest(client_app, [first, second])
    close(clock, pool=100)
    assert period_verify(month="2024-03").ok
    Play.objects.filter(event_id=second["event_id"]).update(held_by="lockstep")
    report = period_verify(month="2024-03")
    assert not report.ok
    assert any("held by overlap" in d and "held by lockstep" in d for d in report.differences)


def test_a_released_play_counts_and_verify_reproduces_it(
    artist: Any, client_app: Any, clock: Any, staff: Any
) -> None:
    mix = EarlyMixFactory(
        stems=[PlayedStemFactory(artist=artist)], even_seconds=120, client_app=client_app
    )
    first = event(mix, started_at=DAY, ms_played=120_000, listener="dj")
    second = event(mix, started_at=DAY + timedelta(seconds=20), ms_played=100_000, listener="dj")
    ingest(client_app, [first, second])
    result = play_release(
        month="2024-03",
        actor=staff,
        reason="A DJ previewing on headphones",
        play_ids=[second["event_id"]],
    )
    assert result.released == 1
    period = close(clock, pool=1000)
    assert (period.plays_counted, period.plays_held) == (2, 0)
    assert Play.objects.get(event_id=second["event_id"]).qualifies is True
    assert PlayRelease.objects.get().rule == "overlap"
    assert period_verify(month="2024-03").ok
    with pytest.raises(Conflict) as refused:
        play_release(month="2024-03", actor=staff, reason="late", play_ids=[first["event_id"]])
    assert refused.value.code == "period_closed"


def test_an_apps_usual_volume_comes_from_earlier_months(
    artist: Any, developer: Any, client_app: Any, clock: Any, settings: Any
) -> None:
    settings.ROYALTIES_SPIKE_FLOOR = 20  # a small app: 100 plays a day before it is held
    new_app = ClientAppFactory(owner=developer, name="Launched in March")
    old_mix = EarlyMixFactory(
        stems=[PlayedStemFactory(artist=artist)], even_seconds=120, client_app=client_app
    )
    new_mix = EarlyMixFactory(
        stems=[PlayedStemFactory(artist=artist)], even_seconds=120, client_app=new_app
    )
    # February: the established app had 60 counted plays a day for two weeks.
    clock.set(datetime(2024, 3, 1, 12, tzinfo=UTC))
    february = [
        event(
            old_mix,
            started_at=datetime(2024, 2, 14, tzinfo=UTC) + timedelta(days=d, minutes=7 * i),
            ms_played=90_000,
            listener=f"feb-{d}-{i}",
        )
        for d in range(14)
        for i in range(60)
    ]
    for start in range(0, len(february), 500):
        ingest(client_app, february[start : start + 500])
    clock.set(datetime(2024, 4, 6, tzinfo=UTC))
    period_close(month="2024-02", pool_minor=0, currency="usd", actor=None)
    clock.set(datetime(2024, 4, 1, tzinfo=UTC))
    for app, mix in ((client_app, old_mix), (new_app, new_mix)):
        ingest(
            app,
            [
                event(
                    mix,
                    started_at=DAY + timedelta(seconds=61 * i),
                    ms_played=90_000,
                    listener=f"mar-{i}",
                )
                for i in range(250)
            ],
        )
    period = close(clock, pool=0)
    # 250 is under 5 x 60 for the established app, over 5 x 20 for the new one.
    assert period.plays_held == 250
    assert set(Play.objects.filter(app=new_app).values_list("held_by", flat=True)) == {
        "volume_spike"
    }
    assert not Play.objects.filter(app=client_app).exclude(held_by="").exists()
    assert period_verify(month="2024-03").ok
