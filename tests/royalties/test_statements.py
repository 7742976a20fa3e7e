from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from portal.royalties import ledger
from portal.royalties.drilldown import stem_line
from portal.royalties.models import AllocationLine
from portal.royalties.services import period_close, plays_ingest
from tests.factories.clients import ClientAppFactory
from tests.factories.royalties import (
    MARCH_WINDOW_PASSED,
    EarlyMixFactory,
    PlayedStemFactory,
    event,
)

pytestmark = pytest.mark.django_db
DAY = datetime(2024, 3, 5, 9, 0, tzinfo=UTC)
URL = "/api/v1/royalties/statements/"


@pytest.fixture
def closed(artist: Any, other_artist: Any, client_app: Any, clock: Any) -> dict[str, Any]:
    kick = PlayedStemFactory(artist=artist, title="Kick")
    pad = PlayedStemFactory(artist=artist, title="Pad")
    keys = PlayedStemFactory(artist=other_artist, title="Keys")
    first = EarlyMixFactory(
        stems=[kick, keys], seconds=[{kick: 0.7, keys: 0.3}] * 40, client_app=client_app
    )
    second = EarlyMixFactory(
        stems=[pad, keys],
        seconds=[{pad: 0.5, keys: 0.5}] * 20 + [{pad: 1.0}] * 20,
        client_app=client_app,
    )
    events = [
        event(
            first,
            started_at=DAY + timedelta(minutes=i),
            ms_played=30_000 + 311 * i,
            listener=f"l{i}",
        )
        for i in range(30)
    ]
    events += [
        event(second, started_at=DAY + timedelta(hours=i), ms_played=40_000) for i in range(7)
    ]
    events += [event(second, started_at=DAY, ms_played=5_000)]  # too short
    assert plays_ingest(events=events, app=client_app).accepted == 38
    clock.set(MARCH_WINDOW_PASSED)
    period_close(month="2024-03", pool_minor=10_007, currency="usd", actor=None)
    return {"month": "2024-03", "kick": kick, "pad": pad, "keys": keys, "first": first}


def test_an_artist_gets_their_own_statement_by_api(
    api_for: Any, artist: Any, closed: dict[str, Any]
) -> None:
    body = api_for(artist).get(URL, {"period": "2024-03"}).json()
    assert body["artist_id"] == artist.pk
    assert {line["stem_title"] for line in body["lines"]} == {"Kick", "Pad"}
    assert sum(line["amount_minor"] for line in body["lines"]) == body["amount_minor"]
    assert body["amount_minor"] == ledger.balance(ledger.ARTIST_PAYABLE, artist, currency="usd")
    pad = next(line for line in body["lines"] if line["stem_title"] == "Pad")
    assert pad["plays"] == 7
    assert pad["attributed_seconds"] == "210.000"  # 7 x (20 x 0.5 + 20 x 1.0) s


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("artist", 200),
        ("other_artist", 403),
        ("curator", 403),
        ("staff", 200),
        ("outsider", 403),
        ("anonymous", 401),
    ],
)
def test_who_may_read_alices_statement(
    api_for: Any, request: Any, artist: Any, closed: dict[str, Any], role: str, status: int
) -> None:
    user = None if role == "anonymous" else request.getfixturevalue(role)
    response = api_for(user).get(URL, {"period": "2024-03", "artist": artist.pk})
    assert response.status_code == status
    if status == 200:
        assert response.json()["artist_id"] == artist.pk


def test_a_curator_never_sees_earnings_not_even_their_own_statement(
    api_for: Any, client_for: Any, curator: Any, closed: dict[str, Any]
) -> None:
    assert api_for(curator).get(URL, {"period": "2024-03"}).status_code == 403
    browser = client_for(curator)
    for path in (
        "/royalties/",
        "/royalties/statements/2024-03/",
        "/royalties/statements/2024-03.csv",
    ):
        assert browser.get(path).status_code == 403


def test_staff_must_say_whose_statement(api_for: Any, staff: Any, closed: dict[str, Any]) -> None:
    response = api_for(staff).get(URL, {"period": "2024-03"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "artist_required"


def test_a_month_not_closed_has_no_statement(
    api_for: Any, artist: Any, closed: dict[str, Any]
) -> None:
    response = api_for(artist).get(URL, {"period": "2024-04"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "period_not_closed"


def test_an_app_credential_cannot_read_its_owners_statement(
    app_api: Any, artist: Any, closed: dict[str, Any]
) -> None:
    # An app acts as its owner only where apps may act (soundtracks, plays): a leaked app
    # credential must not read the owner's earnings.
    own_app = ClientAppFactory(owner=artist, name="Alice's player")
    assert app_api(own_app).get(URL, {"period": "2024-03"}).status_code == 403


def test_the_csv_lines_sum_to_each_artists_allocation(
    client_for: Any, artist: Any, other_artist: Any, staff: Any, closed: dict[str, Any]
) -> None:
    total = 0
    for user, query in ((artist, ""), (staff, f"?artist={other_artist.pk}")):
        response = client_for(user).get(f"/royalties/statements/2024-03.csv{query}")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(response.content.decode())))
        subject = artist if user == artist else other_artist
        assert {int(r["artist_id"]) for r in rows} == {subject.pk}
        amount = sum(int(r["amount_minor"]) for r in rows)
        assert amount == ledger.balance(ledger.ARTIST_PAYABLE, subject, currency="usd")
        total += amount
    assert total == 10_007


def test_another_artist_cannot_download_alices_csv(
    client_for: Any, artist: Any, other_artist: Any, closed: dict[str, Any]
) -> None:
    assert (
        client_for(other_artist)
        .get(f"/royalties/statements/2024-03.csv?artist={artist.pk}")
        .status_code
        == 403
    )


def test_the_statement_page_links_each_line_to_the_plays_behind_it(
    client_for: Any, artist: Any, closed: dict[str, Any]
) -> None:
    browser = client_for(artist)
    page = browser.get("/royalties/statements/2024-03/").content.decode()
    kick = closed["kick"]
    link = f"/royalties/statements/2024-03/stems/{kick.pk}/"
    assert link in page
    detail = browser.get(link).content.decode()
    assert str(closed["first"].pk) in detail
    assert len(re.findall(r"<td><code>[0-9a-f-]{36}</code></td>", detail)) == 30


def test_the_plays_behind_a_line_add_up_to_its_attributed_listening(
    artist: Any, closed: dict[str, Any]
) -> None:
    for stem in (closed["kick"], closed["pad"]):
        line = AllocationLine.objects.get(period__month="2024-03", artist=artist, stem=stem)
        detail = stem_line(month="2024-03", artist=artist, stem_id=stem.pk, per_page=1000)
        plays = detail.plays.object_list
        assert len(plays) == line.plays
        assert sum(p.artist_weight for p in plays) == int(line.weight)


def test_a_stem_line_of_someone_else_is_not_found(
    client_for: Any, other_artist: Any, closed: dict[str, Any]
) -> None:
    kick = closed["kick"]
    assert (
        client_for(other_artist).get(f"/royalties/statements/2024-03/stems/{kick.pk}/").status_code
        == 404
    )


def test_the_dashboard_draws_earnings_by_period_by_stem_and_by_app(
    client_for: Any, artist: Any, client_app: Any, closed: dict[str, Any]
) -> None:
    page = client_for(artist).get("/royalties/").content.decode()
    assert page.count("<svg") == 3
    amount = ledger.balance(ledger.ARTIST_PAYABLE, artist, currency="usd")
    assert f"2024-03: {amount // 100}.{amount % 100:02d} USD" in page
    # One app reported every play: it carries the whole amount.
    assert f"{client_app.name[:14]}: {amount // 100}.{amount % 100:02d} USD" in page
    assert "Kick:" in page and "Pad:" in page
    assert "Keys" not in page  # the other artist's stem


def test_an_artist_with_no_earnings_sees_an_empty_state(
    client_for: Any, outsider: Any, closed: dict[str, Any]
) -> None:
    page = client_for(outsider).get("/royalties/").content.decode()
    assert "No earnings yet" in page
    assert "<svg" not in page


def test_staff_land_on_the_periods_page(client_for: Any, staff: Any) -> None:
    response = client_for(staff).get("/royalties/")
    assert response.status_code == 302
    assert response["Location"] == "/royalties/periods/"


def test_the_csv_neutralises_titles_and_names_a_spreadsheet_would_evaluate(
    client_for: Any, artist: Any, client_app: Any, clock: Any
) -> None:
    from portal.accounts.models import ArtistProfile

    ArtistProfile.objects.update_or_create(user=artist, defaults={"display_name": "-2+3"})
    link = PlayedStemFactory(artist=artist, title='=HYPERLINK("http://evil","x")')
    total = PlayedStemFactory(artist=artist, title="@SUM(1)")
    mix = EarlyMixFactory(
        stems=[link, total], seconds=[{link: 0.5, total: 0.5}] * 40, client_app=client_app
    )
    events = [
        event(mix, started_at=DAY + timedelta(minutes=i), ms_played=40_000, listener=f"l{i}")
        for i in range(3)
    ]
    assert plays_ingest(events=events, app=client_app).accepted == 3
    clock.set(MARCH_WINDOW_PASSED)
    period_close(month="2024-03", pool_minor=999, currency="usd", actor=None)
    response = client_for(artist).get("/royalties/statements/2024-03.csv")
    text = response.content.decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["stem"] for r in rows} == {'\'=HYPERLINK("http://evil","x")', "'@SUM(1)"}
    assert {r["artist"] for r in rows} == {"'-2+3"}
    # The title's own quotes are doubled inside a quoted field, so the cell cannot break out.
    assert '"\'=HYPERLINK(""http://evil"",""x"")"' in text
    # Amounts stay numbers that add up.
    assert sum(int(r["amount_minor"]) for r in rows) == ledger.balance(
        ledger.ARTIST_PAYABLE, artist, currency="usd"
    )


def test_a_statement_counts_the_held_plays_of_the_artists_mixes_by_rule(
    api_for: Any, client_for: Any, artist: Any, other_artist: Any, clock: Any
) -> None:
    from tests.factories.accounts import UserFactory
    from tests.factories.clients import ClientAppFactory
    from tests.factories.royalties import ingest

    app = ClientAppFactory(owner=UserFactory(username="studio"), name="Beat game")
    alices = PlayedStemFactory(artist=artist, title="Alice loop")
    bobs = PlayedStemFactory(artist=other_artist, title="Bob loop")
    shared = EarlyMixFactory(
        stems=[alices, bobs], seconds=[{alices: 0.5, bobs: 0.5}] * 120, client_app=app
    )
    bob_only = EarlyMixFactory(stems=[bobs], seconds=[{bobs: 1.0}] * 120, client_app=app)
    people = [
        event(shared, started_at=DAY + timedelta(hours=i), ms_played=90_000, listener=f"p{i}")
        for i in range(5)
    ]
    bot = [
        event(
            shared,
            started_at=DAY + timedelta(seconds=40 * i),
            ms_played=30_200,
            listener="loop-bot-77",
        )
        for i in range(12)
    ]
    bobs_bot = [
        event(bob_only, started_at=DAY + timedelta(seconds=40 * i), ms_played=30_200, listener="b")
        for i in range(11)
    ]
    ingest(app, people + bot + bobs_bot)
    clock.set(MARCH_WINDOW_PASSED)
    period_close(month="2024-03", pool_minor=1000, currency="usd", actor=None)

    body = api_for(artist).get(URL, {"period": "2024-03"}).json()
    assert body["held_plays"] == 12  # not bob's 11 on a mix without alice's stems
    assert {h["rule"]: h["plays"] for h in body["held"]}["threshold_hugging"] == 12
    assert body["lines"][0]["held"]["threshold_hugging"] == 12
    page = client_for(artist).get("/royalties/statements/2024-03/").content.decode()
    assert "Held plays" in page and "Stopping just after 30 seconds</a>: 12" in page
    assert "/how-plays-count/" in page
    csv_text = client_for(artist).get("/royalties/statements/2024-03.csv").content.decode()
    rows = list(csv.DictReader(io.StringIO(csv_text)))
    assert [(r["stem"], r["held_threshold_hugging"], r["held_overlap"]) for r in rows] == [
        ("Alice loop", "12", "0")
    ]
    for shown in (page, csv_text, str(body)):
        assert "loop-bot-77" not in shown and "Bob loop" not in shown
    bob = api_for(other_artist).get(URL, {"period": "2024-03"}).json()
    assert bob["held_plays"] == 23
