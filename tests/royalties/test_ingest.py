from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone

from portal.royalties.models import Play, PlayReason
from portal.royalties.services import period_close
from tests.factories.royalties import EarlyMixFactory, event

URL = "/api/v1/plays/"
PAST = datetime(2024, 3, 10, 12, 0, tzinfo=UTC)


def post(api: Any, events: list[Any]) -> Any:
    return api.post(URL, {"events": events}, format="json")


def test_an_apps_credential_stores_valid_events_and_says_how_many(
    player: Any, mix: Any, client_app: Any
) -> None:
    events = [
        event(mix, started_at=PAST + timedelta(minutes=i), ms_played=45_000) for i in range(3)
    ]
    response = post(player, events)
    assert response.status_code == 200, response.content
    assert response.json() == {"accepted": 3, "duplicates": 0, "rejected": []}
    stored = Play.objects.get(event_id=events[0]["event_id"])
    assert stored.mix_id == mix.pk
    assert stored.ms_played == 45_000
    assert stored.accounting_period == "2024-03"
    assert stored.qualifies is True
    assert stored.app == client_app


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"event_id": "not-a-uuid"}, "invalid_event_id"),
        ({"event_id": 42}, "invalid_event_id"),
        ({"mix_id": str(uuid.uuid4())}, "unknown_mix"),
        ({"mix_id": "nope"}, "unknown_mix"),
        ({"listener_id": ""}, "invalid_listener_id"),
        ({"listener_id": "x" * 129}, "invalid_listener_id"),
        ({"started_at": "yesterday"}, "invalid_started_at"),
        ({"started_at": "2024-03-10T12:00:00"}, "invalid_started_at"),
        ({"ms_played": -1}, "negative_ms_played"),
        ({"ms_played": "45000"}, "invalid_ms_played"),
        ({"ms_played": 1.5}, "invalid_ms_played"),
        ({"ms_played": 60_001}, "longer_than_mix"),
        ({"client": "c" * 65}, "invalid_client"),
    ],
)
def test_each_invalid_event_is_rejected_on_its_own_with_a_code(
    player: Any, mix: Any, change: dict[str, Any], code: str
) -> None:
    good = event(mix, started_at=PAST, ms_played=40_000)
    bad = {**event(mix, started_at=PAST, ms_played=40_000), **change}
    response = post(player, [good, bad])
    assert response.status_code == 200
    body = response.json()
    assert body["accepted"] == 1
    assert [(r["index"], r["code"]) for r in body["rejected"]] == [(1, code)]
    assert body["rejected"][0]["message"]
    assert Play.objects.count() == 1


def test_a_future_start_is_rejected_but_clock_skew_of_a_minute_is_not(
    player: Any, mix: Any
) -> None:
    now = timezone.now()
    response = post(
        player,
        [
            event(mix, started_at=now + timedelta(minutes=1), ms_played=40_000),
            event(mix, started_at=now + timedelta(minutes=10), ms_played=40_000),
        ],
    )
    body = response.json()
    assert body["accepted"] == 1
    assert [(r["index"], r["code"]) for r in body["rejected"]] == [(1, "started_at_in_future")]


def test_a_non_object_event_and_a_mix_not_yet_rendered_are_rejected(
    player: Any, stem: Any, client_app: Any
) -> None:
    queued = EarlyMixFactory(stems=[stem], even_seconds=60, status="queued", client_app=client_app)
    response = post(player, ["hello", event(queued, started_at=PAST, ms_played=40_000)])
    assert [r["code"] for r in response.json()["rejected"]] == ["invalid_event", "unknown_mix"]


def test_replays_and_overlapping_batches_never_count_twice(player: Any, mix: Any) -> None:
    first = [event(mix, started_at=PAST, ms_played=40_000) for _ in range(3)]
    assert post(player, first).json()["accepted"] == 3
    second = [*first[1:], event(mix, started_at=PAST, ms_played=40_000)]
    assert post(player, second).json() == {"accepted": 1, "duplicates": 2, "rejected": []}
    assert post(player, first).json() == {"accepted": 0, "duplicates": 3, "rejected": []}
    assert Play.objects.count() == 4


def test_a_repeated_event_within_one_batch_is_a_duplicate(player: Any, mix: Any) -> None:
    one = event(mix, started_at=PAST, ms_played=40_000)
    assert post(player, [one, dict(one), dict(one)]).json() == {
        "accepted": 1,
        "duplicates": 2,
        "rejected": [],
    }


def test_a_play_qualifies_at_30_seconds_or_the_whole_of_a_shorter_mix(
    player: Any, stem: Any, client_app: Any
) -> None:
    long_mix = EarlyMixFactory(stems=[stem], even_seconds=120, client_app=client_app)
    short_mix = EarlyMixFactory(stems=[stem], even_seconds=20, client_app=client_app)
    events = [
        event(long_mix, started_at=PAST, ms_played=29_999),
        event(long_mix, started_at=PAST, ms_played=30_000),
        event(short_mix, started_at=PAST, ms_played=19_999),
        event(short_mix, started_at=PAST, ms_played=20_000),
    ]
    assert post(player, events).json()["accepted"] == 4
    flags = [
        (p.qualifies, p.reason) for p in (Play.objects.get(event_id=e["event_id"]) for e in events)
    ]
    assert flags == [
        (False, PlayReason.TOO_SHORT),
        (True, ""),
        (False, PlayReason.TOO_SHORT),
        (True, ""),
    ]


def test_events_for_a_closed_month_count_in_the_next_open_one(
    player: Any, mix: Any, staff: Any
) -> None:
    # Only a close forced before the late window leaves March's plays still to arrive.
    period_close(month="2024-03", pool_minor=0, currency="usd", actor=staff, force_reason="Audit")
    late = event(mix, started_at=PAST, ms_played=40_000)
    on_time = event(mix, started_at=datetime(2024, 4, 1, tzinfo=UTC), ms_played=40_000)
    assert post(player, [late, on_time]).json()["accepted"] == 2
    assert Play.objects.get(event_id=late["event_id"]).accounting_period == "2024-04"
    assert Play.objects.get(event_id=on_time["event_id"]).accounting_period == "2024-04"


def test_a_batch_of_more_than_500_events_is_refused_whole(player: Any, mix: Any) -> None:
    events = [event(mix, started_at=PAST, ms_played=40_000) for _ in range(501)]
    response = post(player, events)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "too_many_events"
    assert Play.objects.count() == 0


def test_a_body_without_events_is_a_400(player: Any) -> None:
    response = player.post(URL, {"plays": []}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_a_full_token_of_an_artist_cannot_report_plays(api_for: Any, artist: Any, mix: Any) -> None:
    response = post(api_for(artist), [event(mix, started_at=PAST, ms_played=40_000)])
    assert response.status_code == 403
    assert Play.objects.count() == 0


def test_not_even_staff_report_plays_with_a_personal_token(
    api_for: Any, staff: Any, mix: Any
) -> None:
    # Replaying a log once went through staff's own token; plays are money, so only an
    # approved app's credential reports them now, and staff have no way around it.
    response = post(api_for(staff), [event(mix, started_at=PAST, ms_played=40_000)])
    assert response.status_code == 403
    assert "client app" in response.json()["error"]["message"]
    assert not Play.objects.exists()


def test_anonymous_clients_cannot_report_plays(api_for: Any, mix: Any) -> None:
    response = post(api_for(None), [event(mix, started_at=PAST, ms_played=40_000)])
    assert response.status_code in (401, 403)


@override_settings(ROYALTIES_PLAYS_THROTTLE_RATE="2/min")
def test_the_plays_endpoint_has_its_own_throttle(player: Any, mix: Any) -> None:
    codes = [
        post(player, [event(mix, started_at=PAST, ms_played=40_000)]).status_code for _ in range(3)
    ]
    assert codes == [200, 200, 429]
