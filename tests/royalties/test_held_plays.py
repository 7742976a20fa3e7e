"""Staff's held-plays page and API: an open month shows what the rules would hold now, a closed
month what its close held; releases are staff-only, need a reason, are audited, and are
refused for a closed month."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from portal.audit.models import AuditEntry
from portal.royalties.models import Period, Play, PlayRelease
from portal.royalties.services import period_close
from tests.factories.royalties import (
    MARCH_WINDOW_PASSED,
    EarlyMixFactory,
    PlayedStemFactory,
    event,
    ingest,
)

pytestmark = pytest.mark.django_db
DAY = datetime(2024, 3, 12, 18, 0, tzinfo=UTC)
PAGE = "/royalties/held/"
API = "/api/v1/royalties/held/"


@pytest.fixture
def month(artist: Any, client_app: Any) -> dict[str, Any]:
    """March: ten people, a looping bot (15 plays) and a listener on two devices (2 plays,
    the second overlapping)."""
    mix = EarlyMixFactory(
        stems=[PlayedStemFactory(artist=artist, title="Tide")],
        even_seconds=180,
        client_app=client_app,
    )
    people = [
        event(mix, started_at=DAY + timedelta(hours=i), ms_played=100_000, listener=f"p{i}")
        for i in range(10)
    ]
    bot = [
        event(mix, started_at=DAY + timedelta(seconds=40 * i), ms_played=30_400, listener="bot")
        for i in range(15)
    ]
    devices = [
        event(mix, started_at=DAY - timedelta(hours=3), ms_played=150_000, listener="phone"),
        event(
            mix,
            started_at=DAY - timedelta(hours=3, seconds=-30),
            ms_played=150_000,
            listener="phone",
        ),
    ]
    ingest(client_app, people + bot + devices)
    return {"mix": mix, "bot": bot, "devices": devices}


def test_staff_see_what_the_rules_would_hold_in_an_open_month(
    client_for: Any, staff: Any, client_app: Any, month: dict[str, Any]
) -> None:
    page = client_for(staff).get(PAGE, {"month": "2024-03"})
    assert page.status_code == 200
    text = page.content.decode()
    assert "is open" in text
    assert "Stopping just after 30 seconds" in text and "Overlapping plays" in text
    assert client_app.name in text
    assert "Release 15" in text and "Release 1" in text
    assert not Play.objects.exclude(held_by="").exists()  # read-only: nothing is marked


def test_staff_release_a_group_with_a_reason_and_it_counts_at_the_close(
    client_for: Any, staff: Any, client_app: Any, month: dict[str, Any]
) -> None:
    browser = client_for(staff)
    response = browser.post(
        PAGE,
        {
            "month": "2024-03",
            "rule": "threshold_hugging",
            "app": client_app.pk,
            "reason": "A rhythm game's 30 s practice loop, confirmed with the studio",
        },
        follow=True,
    )
    assert "Released 15 plays" in response.content.decode()
    assert PlayRelease.objects.filter(rule="threshold_hugging").count() == 15
    entry = AuditEntry.objects.get(action="royalties.plays_released")
    assert entry.actor == staff and entry.after["plays"] == 15
    assert entry.note.startswith("A rhythm game")
    page = browser.get(PAGE, {"month": "2024-03"}).content.decode()
    assert "Release 15" not in page and "15 plays of this month released" in page
    # the release is an input of the close
    staff_clock_close = period_close(
        month="2024-03", pool_minor=100, currency="usd", actor=staff, force_reason="test"
    )
    assert staff_clock_close.plays_counted == 10 + 15 + 1
    assert staff_clock_close.plays_held == 1


def test_staff_release_one_play(
    client_for: Any, staff: Any, month: dict[str, Any], client_app: Any
) -> None:
    browser = client_for(staff)
    listing = browser.get(PAGE, {"month": "2024-03", "rule": "overlap", "app": client_app.pk})
    second = month["devices"][1]["event_id"]
    assert second in listing.content.decode()
    browser.post(PAGE, {"month": "2024-03", "play": second, "reason": "Two rooms, one family"})
    assert list(PlayRelease.objects.values_list("play_id", "rule")) == [
        (Play.objects.get(event_id=second).pk, "overlap")
    ]


def test_a_release_without_a_reason_or_of_a_counted_play_releases_nothing(
    client_for: Any, staff: Any, month: dict[str, Any], client_app: Any
) -> None:
    browser = client_for(staff)
    no_reason = browser.post(
        PAGE, {"month": "2024-03", "rule": "overlap", "app": client_app.pk}, follow=True
    )
    assert "Nothing released" in no_reason.content.decode()
    counted = month["devices"][0]["event_id"]  # the first of the two plays is kept
    refused = browser.post(
        PAGE, {"month": "2024-03", "play": counted, "reason": "why not"}, follow=True
    )
    assert "not held" in refused.content.decode()
    assert not PlayRelease.objects.exists()
    assert not AuditEntry.objects.filter(action="royalties.plays_released").exists()


def test_held_plays_of_a_closed_month_are_shown_and_cannot_be_released(
    client_for: Any, staff: Any, month: dict[str, Any], client_app: Any, clock: Any
) -> None:
    clock.set(MARCH_WINDOW_PASSED)
    period_close(month="2024-03", pool_minor=10_000, currency="usd", actor=staff)
    browser = client_for(staff)
    text = browser.get(PAGE, {"month": "2024-03"}).content.decode()
    assert "is closed" in text and "Would have drawn" in text
    assert "USD" in text and "Release 15" not in text
    refused = browser.post(
        PAGE,
        {"month": "2024-03", "rule": "threshold_hugging", "app": client_app.pk, "reason": "x"},
        follow=True,
    )
    assert "2024-03 is closed" in refused.content.decode()
    assert not PlayRelease.objects.exists()
    assert Period.objects.get().plays_held == 16


@pytest.mark.parametrize("role", ["artist", "curator", "outsider"])
def test_only_staff_see_or_release_held_plays(
    client_for: Any, api_for: Any, request: Any, role: str, month: dict[str, Any], client_app: Any
) -> None:
    user = request.getfixturevalue(role)
    assert client_for(user).get(PAGE, {"month": "2024-03"}).status_code == 403
    post = {"month": "2024-03", "rule": "overlap", "app": client_app.pk, "reason": "mine"}
    assert client_for(user).post(PAGE, post).status_code == 403
    api = api_for(user)
    assert api.get(API, {"month": "2024-03"}).status_code == 403
    assert api.post(f"{API}release/", {**post, "app_id": client_app.pk}).status_code == 403
    assert client_for(None).get(PAGE).status_code == 302
    assert not PlayRelease.objects.exists()


def test_staff_release_through_the_api(
    api_for: Any, staff: Any, month: dict[str, Any], client_app: Any
) -> None:
    api = api_for(staff)
    body = api.get(API, {"month": "2024-03"}).json()
    assert body["closed"] is False
    assert {(g["rule"], g["plays"]) for g in body["groups"]} == {
        ("threshold_hugging", 15),
        ("overlap", 1),
    }
    release = {
        "month": "2024-03",
        "reason": "Confirmed with the studio",
        "play_ids": [e["event_id"] for e in month["bot"][:3]],
    }
    assert api.post(f"{API}release/", release, format="json").json() == {
        "released": 3,
        "already": 0,
        "by_rule": {"threshold_hugging": 3},
    }
    again = api.post(f"{API}release/", release, format="json").json()
    assert (again["released"], again["already"]) == (0, 3)
    bad = api.post(f"{API}release/", {**release, "reason": ""}, format="json")
    assert bad.status_code == 400
