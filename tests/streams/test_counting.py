"""Counting a stream's listening: delivered by the server and confirmed by the player, once.

Written mostly as the attacker: a client app that invents heartbeats, replays fetches, fetches
ahead of real time or steers another app's session earns nothing by it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from portal.mixes.models import Mix, RenderKind, RenderStatus
from portal.royalties.models import Play
from portal.streams.models import StreamSegment, StreamStretch
from tests.factories.clients import ClientAppFactory

pytestmark = pytest.mark.django_db
START = datetime(2024, 3, 5, 9, 0, tzinfo=UTC)


def counted(player) -> list[int]:
    return list(
        StreamSegment.objects.filter(session_id=player.id, confirmed_at__isnull=False)
        .order_by("index")
        .values_list("index", flat=True)
    )


def test_an_honest_player_is_counted_and_paid_as_one_play_per_stretch(player, clock):
    clock.set(START)
    p = player()
    position = p.listen(20)
    assert counted(p) == list(range(10))
    response = p.api.post(f"/api/v1/streams/{p.id}/end", {"position_s": position}, format="json")
    assert response.status_code == 200
    stretch = StreamStretch.objects.get(session_id=p.id)
    mix = Mix.objects.get(pk=stretch.mix_id)
    assert mix.kind == RenderKind.STREAM and mix.status == RenderStatus.DONE
    assert mix.duration_ms == 20_000 and len(mix.manifest["attribution"]["seconds"]) == 20
    assert [s["index"] for s in mix.manifest["stream"]["segments"]] == list(range(10))
    play = Play.objects.get(mix=mix)
    assert play.ms_played == 20_000 and play.qualifies
    assert play.started_at == START and play.listener_id == "listener-1"
    # Every counted segment leads to the play's mix, and back to its session.
    assert set(StreamSegment.objects.filter(play_mix=mix).values_list("index", flat=True)) == set(
        range(10)
    )


def test_ending_twice_or_settling_again_pays_nothing_more(player, clock):
    clock.set(START)
    p = player()
    p.listen(10)
    p.api.post(f"/api/v1/streams/{p.id}/end", {"position_s": 10}, format="json")
    again = p.api.post(f"/api/v1/streams/{p.id}/end", {"position_s": 10}, format="json")
    assert again.status_code == 409
    assert Play.objects.count() == 1


def test_heartbeats_for_segments_never_fetched_count_nothing(player, clock):
    clock.set(START)
    p = player()
    for second in range(2, 31, 2):
        clock.advance(timedelta(seconds=2))
        p.refresh()
        assert p.heartbeat(second).status_code == 200
    assert counted(p) == []
    p.api.post(f"/api/v1/streams/{p.id}/end", {}, format="json")
    assert not Play.objects.exists()


def test_replayed_fetches_count_once(player, clock):
    clock.set(START)
    p = player()
    for _ in range(5):
        assert p.fetch(0).status_code == 200
    clock.advance(timedelta(seconds=2))
    p.heartbeat(2)
    p.api.post(f"/api/v1/streams/{p.id}/end", {}, format="json")
    assert counted(p) == [0]
    assert Play.objects.get().ms_played == 2000


def test_fetching_ahead_of_real_time_is_refused_and_uncounted(player, clock):
    clock.set(START)
    p = player()
    # Published now: segment 0 only; the ones rendered ahead of it stay shut until
    # STREAM_PUBLISH_AHEAD_S (0.5 s) before their play time.
    assert p.fetch(0).status_code == 200
    for index in (1, 2, 3, 4, 50):
        assert p.fetch(index).status_code == 404
    clock.advance(timedelta(seconds=1.4))
    assert p.fetch(1).status_code == 404
    clock.advance(timedelta(seconds=0.1))
    assert p.fetch(1).status_code == 200
    assert p.fetch(2).status_code == 404
    assert StreamSegment.objects.filter(session_id=p.id, fetched_at__isnull=False).count() == 2


def test_a_heartbeat_claiming_more_than_the_elapsed_time_is_capped(player, clock):
    clock.set(START)
    p = player()
    p.fetch(0), p.fetch(1)
    # Both delivered at once, one second in: nobody has heard 4 s of audio yet.
    clock.advance(timedelta(seconds=1))
    p.heartbeat(3600)
    assert counted(p) == []
    clock.advance(timedelta(seconds=1))
    p.heartbeat(3600)
    assert counted(p) == [0]


def test_a_session_that_stops_fetching_stops_counting(player, clock):
    clock.set(START)
    p = player()
    p.listen(10)  # fetched segments 0-4, each as it is published
    # The player keeps sending heartbeats but fetches nothing more.
    for second in range(12, 41, 2):
        clock.advance(timedelta(seconds=2))
        p.refresh()
        p.heartbeat(second)
    assert counted(p) == list(range(5))


def test_a_confirmation_must_come_after_the_fetch(player, clock):
    clock.set(START)
    p = player()
    clock.advance(timedelta(seconds=10))
    p.refresh()
    p.heartbeat(10)  # claims 10 s before having anything
    assert p.fetch(3).status_code == 200
    assert counted(p) == []


def test_another_app_cannot_confirm_or_end_a_session(player, clock, app_api, other_artist):
    clock.set(START)
    p = player()
    p.listen(6)
    intruder = app_api(ClientAppFactory(owner=other_artist, name="Intruder"))
    url = f"/api/v1/streams/{p.id}"
    assert intruder.post(f"{url}/heartbeat", {"position_s": 60}, format="json").status_code == 404
    assert intruder.post(f"{url}/end", {}, format="json").status_code == 404
    assert counted(p) == [0, 1, 2]


def test_a_backdated_client_clock_changes_nothing(player, clock):
    """The server dates every delivery and confirmation: a field a client adds is ignored."""
    clock.set(START)
    p = player()
    p.listen(4)
    p.api.post(
        f"/api/v1/streams/{p.id}/heartbeat",
        {"position_s": 4, "at": "2020-01-01T00:00:00Z", "started_at": "2020-01-01T00:00:00Z"},
        format="json",
    )
    p.api.post(f"/api/v1/streams/{p.id}/end", {}, format="json")
    assert Play.objects.get().started_at == START
