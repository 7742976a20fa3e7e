"""Artists see where their stems are used: soundtracks and plays by month, counts only."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from tests.factories.mixes import MixFactory
from tests.factories.stems import StemFactory

pytestmark = pytest.mark.django_db


def _soundtrack(stems, *, app, when, status="done"):
    from portal.mixes.models import MixStem

    mix = MixFactory(
        client_app=app,
        requested_by=app.owner,
        status=status,
        created_at=when,
        request={"mood": "calm", "notes": "Secret trailer for Project X"},
    )
    for stem in stems:
        MixStem.objects.create(mix=mix, stem=stem)
    return mix


def _plays(mix, app, period: str, n: int, *, qualifies: bool = True) -> None:
    from portal.royalties.models import Play

    for i in range(n):
        Play.objects.create(
            event_id=uuid.uuid4(),
            mix=mix,
            app=app,
            listener_id=f"listener-{i}",
            started_at=datetime.fromisoformat(f"{period}-10T12:00:00+00:00"),
            ms_played=60_000,
            accounting_period=period,
            qualifies=qualifies,
            received_at=datetime.fromisoformat(f"{period}-10T12:05:00+00:00"),
        )


@pytest.fixture
def used(artist, other_artist, client_app):
    mine = StemFactory(artist=artist, title="Mine", samples=None)
    credited = StemFactory(
        artist=other_artist,
        title="Shared",
        samples=None,
        credits=[(other_artist, 7000), (artist, 3000)],
    )
    unused = StemFactory(artist=artist, title="Unused", samples=None)
    march = datetime(2026, 3, 5, tzinfo=UTC)
    april = datetime(2026, 4, 5, tzinfo=UTC)
    first = _soundtrack([mine, credited], app=client_app, when=march)
    second = _soundtrack([mine], app=client_app, when=april)
    _soundtrack([mine], app=client_app, when=april, status="failed")  # never delivered
    _plays(first, client_app, "2026-03", 3)
    _plays(first, client_app, "2026-04", 2, qualifies=False)
    _plays(second, client_app, "2026-04", 4)
    return {"mine": mine, "credited": credited, "unused": unused}


def test_usage_counts_soundtracks_and_plays_by_month(used):
    from portal.catalogue.usage import stem_usage

    usage = stem_usage(stem_ids=[used["mine"].pk, used["credited"].pk, used["unused"].pk])

    mine = usage[used["mine"].pk].as_dict()
    assert mine["soundtracks"] == 2 and mine["plays"] == 9 and mine["qualifying_plays"] == 7
    assert mine["by_month"] == [
        {"month": "2026-04", "soundtracks": 1, "plays": 6, "qualifying_plays": 4},
        {"month": "2026-03", "soundtracks": 1, "plays": 3, "qualifying_plays": 3},
    ]
    shared = usage[used["credited"].pk].as_dict()
    assert (shared["soundtracks"], shared["plays"]) == (1, 5)
    assert usage[used["unused"].pk].as_dict()["by_month"] == []


def test_an_artist_reads_their_stems_usage_without_the_clients_private_data(
    used, artist, api_for, client_app
):
    response = api_for(artist).get("/api/v1/catalogue/my-usage/")
    assert response.status_code == 200, response.content
    body = response.json()
    by_title = {row["title"]: row for row in body["stems"]}
    # Their own stems and the one they are credited on.
    assert set(by_title) == {"Mine", "Shared", "Unused"}
    assert by_title["Shared"]["plays"] == 5
    text = response.content.decode()
    for private in ("Secret trailer", client_app.name, "listener-", client_app.owner.username):
        assert private not in text


def test_the_usage_api_answers_for_ones_own_stems_only_and_not_to_apps(
    used, client_app, app_api, outsider, api_for
):
    assert app_api(client_app).get("/api/v1/catalogue/my-usage/").status_code == 403
    response = api_for(outsider).get("/api/v1/catalogue/my-usage/")
    assert response.status_code == 200
    assert response.json() == {"stems": []}  # an artist with no stems sees nobody else's


def test_the_stem_page_shows_where_it_is_used(used, artist, other_artist, client_for, client_app):
    page = client_for(artist).get(f"/stems/{used['credited'].pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Where it is used" in html
    assert "2026-03" in html
    assert "Secret trailer" not in html and client_app.name not in html
    unused = client_for(artist).get(f"/stems/{used['unused'].pk}/").content.decode()
    assert "Not in any soundtrack yet" in unused


def test_the_stem_list_says_how_much_each_stem_is_used(used, artist, client_for):
    html = client_for(artist).get("/stems/").content.decode()
    assert "Used in" in html
    assert "2 soundtracks · 9 plays" in html  # Mine
    assert "1 soundtrack · 5 plays" in html  # Shared, on which alice is credited
