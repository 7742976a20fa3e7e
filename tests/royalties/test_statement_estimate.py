"""The open month's estimate: computed by the close's own code, so closing the month with the
same pool over the same plays pays exactly what the estimate said, line by line and app by app;
labelled as an estimate until then; never showing another artist's earnings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import pytest

from portal.royalties.services import period_close
from portal.royalties.statements import statement_estimate, statement_for
from tests.factories.clients import ClientAppFactory
from tests.factories.royalties import (
    MARCH_WINDOW_PASSED,
    EarlyMixFactory,
    PlayedStemFactory,
    event,
    ingest,
)

pytestmark = pytest.mark.django_db
DAY = datetime(2024, 3, 5, 9, 0, tzinfo=UTC)
MID_MARCH = datetime(2024, 3, 20, 12, 0, tzinfo=UTC)
POOL = 12_345
ESTIMATE_URL = "/api/v1/royalties/statements/estimate/"


@pytest.fixture
def march(artist: Any, other_artist: Any, client_app: Any, clock: Any) -> dict[str, Any]:
    """March 2024 under way (the clock mid-month): plays through two apps, some too short and
    one listener over the daily limit (the close's rules decide those, so must the estimate)."""
    clock.set(MID_MARCH)
    second_app = ClientAppFactory(name="Trail runner")
    kick = PlayedStemFactory(artist=artist, title="Kick")
    pad = PlayedStemFactory(artist=artist, title="Pad")
    keys = PlayedStemFactory(artist=other_artist, title="Keys")
    first = EarlyMixFactory(
        stems=[kick, keys], seconds=[{kick: 0.6, keys: 0.4}] * 60, client_app=client_app
    )
    second = EarlyMixFactory(
        stems=[pad, kick], seconds=[{pad: 0.75, kick: 0.25}] * 45, client_app=second_app
    )
    bobs = EarlyMixFactory(stems=[keys], seconds=[{keys: 1.0}] * 60, client_app=second_app)
    ingest(
        client_app,
        [
            event(first, started_at=DAY + timedelta(minutes=i), ms_played=31_000 + 977 * i)
            for i in range(25)  # one listener, one mix, one day: over the daily limit of 20
        ]
        + [event(first, started_at=DAY, ms_played=4_000, listener="brief")],  # too short
    )
    ingest(
        second_app,
        [
            event(second, started_at=DAY + timedelta(hours=i), ms_played=45_000, listener=f"p{i}")
            for i in range(7)
        ]
        + [event(bobs, started_at=DAY, ms_played=60_000, listener="b")],
    )
    return {"first": first, "second": second, "kick": kick, "pad": pad, "apps": second_app}


def _figures(statement: Any) -> Any:
    lines = [
        (
            line.stem_id,
            line.plays,
            line.weight,
            line.amount_minor,
            line.amount,
            line.share,
            line.soundtrack_plays,
            line.stream_seconds,
        )
        for line in statement.lines
    ]
    apps = [(a.app_name, a.amount_minor, a.share, a.soundtrack_plays) for a in statement.by_app]
    return lines, apps, statement.amount_minor, statement.share_of_pool


def test_the_estimate_is_exactly_what_the_close_then_pays(
    artist: Any, other_artist: Any, clock: Any, march: dict[str, Any]
) -> None:
    estimates = {
        who.pk: statement_estimate(month="2024-03", artist=who, pool_minor=POOL, currency="usd")
        for who in (artist, other_artist)
    }
    assert estimates[artist.pk].estimate and estimates[artist.pk].amount_minor > 0
    # The daily limit held 5 of the 25 plays, as the close will.
    assert {line.stem_id: line.plays for line in estimates[artist.pk].lines}[
        march["kick"].pk
    ] == 20 + 7
    clock.set(MARCH_WINDOW_PASSED)
    period_close(month="2024-03", pool_minor=POOL, currency="usd", actor=None)
    for who in (artist, other_artist):
        closed = statement_for(month="2024-03", artist=who)
        assert not closed.estimate
        assert _figures(estimates[who.pk]) == _figures(closed)
    assert sum(e.amount_minor for e in estimates.values()) == POOL


def test_an_open_month_is_estimated_with_the_last_closed_months_pool(
    client_for: Any,
    api_for: Any,
    artist: Any,
    client_app: Any,
    clock: Any,
    march: dict[str, Any],
) -> None:
    # February closed (forced: its late window is still open) with a pool of its own.
    feb = EarlyMixFactory(
        stems=[march["kick"]], seconds=[{march["kick"]: 1.0}] * 40, client_app=client_app
    )
    ingest(client_app, [event(feb, started_at=datetime(2024, 2, 20, tzinfo=UTC), ms_played=40_000)])
    period_close(month="2024-02", pool_minor=777, currency="eur", actor=None, force_reason="test")
    estimate = statement_estimate(month="2024-03", artist=artist)
    assert (estimate.pool_minor, estimate.currency, estimate.pool_basis) == (777, "eur", "2024-02")
    same = statement_estimate(month="2024-03", artist=artist, pool_minor=777, currency="eur")
    assert _figures(estimate) == _figures(same)
    page = client_for(artist).get("/royalties/statements/2024-03/").content.decode()
    assert "Estimate" in page and 'id="estimate-notice"' in page
    assert "every figure here is an estimate" in page and "7.77 EUR" in page
    assert estimate.amount in page
    assert "Download CSV" not in page  # a statement to file exists once the month is closed

    # The API's estimate is the page's, labelled as one, in minor units with its currency.
    api = api_for(artist)
    body = api.get(ESTIMATE_URL).json()  # the current month by default
    assert body["estimate"] is True and "estimate" in body["note"].lower()
    assert body["period"] == "2024-03" and body["period_start"].startswith("2024-03-01")
    assert body["period_end"].startswith("2024-04-01")
    assert body["computed_at"].startswith("2024-03-20")
    assert (body["currency"], body["pool_minor"], body["pool_basis"]) == ("eur", 777, "2024-02")
    assert body["amount_minor"] == estimate.amount_minor > 0 and body["amount"] == estimate.amount
    assert [(x["stem_id"], x["amount_minor"]) for x in body["lines"]] == [
        (x.stem_id, x.amount_minor) for x in estimate.lines
    ]
    # Closing March with that pool pays what the API (and the page) estimated, line by line.
    clock.set(MARCH_WINDOW_PASSED)
    period_close(month="2024-03", pool_minor=777, currency="eur", actor=None)
    closed = statement_for(month="2024-03", artist=artist)
    assert closed.amount_minor == body["amount_minor"]
    assert [(x.stem_id, x.amount_minor) for x in closed.lines] == [
        (x["stem_id"], x["amount_minor"]) for x in body["lines"]
    ]
    assert sum(x.amount_minor for x in closed.by_app) == sum(
        x["amount_minor"] for x in body["by_app"]
    )
    # Closed: no estimate any more (even one cached before the close), the statement instead.
    after = api.get(f"{ESTIMATE_URL}?period=2024-03")
    assert after.status_code == 404 and after.json()["error"]["code"] == "period_closed"


def test_the_estimate_grows_as_plays_arrive(
    artist: Any, client_app: Any, march: dict[str, Any]
) -> None:
    before = statement_estimate(month="2024-03", artist=artist, pool_minor=POOL, currency="usd")
    ingest(
        client_app,
        [
            event(march["first"], started_at=DAY + timedelta(days=1, minutes=i), ms_played=60_000)
            for i in range(5)
        ],
    )
    after = statement_estimate(month="2024-03", artist=artist, pool_minor=POOL, currency="usd")
    kick = march["kick"].pk
    assert {x.stem_id: x.plays for x in after.lines}[kick] == {
        x.stem_id: x.plays for x in before.lines
    }[kick] + 5
    # 5 more minutes of which Kick is 60 %: 5 x 60 s x 0.6 = 180 s more attributed to alice.
    assert sum(x.weight for x in after.lines) - sum(x.weight for x in before.lines) == (
        5 * 60_000 * 600_000 * 10_000
    )


def test_before_any_month_has_closed_the_estimate_shows_listening_and_no_money(
    client_for: Any, artist: Any, march: dict[str, Any]
) -> None:
    estimate = statement_estimate(month="2024-03", artist=artist)
    assert estimate.currency == "" and estimate.amount == "—" and estimate.pool_basis == ""
    assert sum(int(line.share.replace(".", "").rstrip("%")) for line in estimate.lines) == 10_000
    page = client_for(artist).get("/royalties/statements/2024-03/").content.decode()
    assert "No month has closed yet" in page and "Kick" in page


def test_the_dashboard_shows_this_months_estimate_clearly_marked(
    client_for: Any, artist: Any, march: dict[str, Any]
) -> None:
    page = client_for(artist).get("/royalties/").content.decode()
    assert "This month so far" in page and "Estimated, not final" in page
    assert 'href="/royalties/statements/2024-03/"' in page


def test_an_estimate_never_shows_another_artists_stems_or_apps(
    client_for: Any, other_artist: Any, outsider: Any, march: dict[str, Any]
) -> None:
    bob = statement_estimate(month="2024-03", artist=other_artist, pool_minor=POOL, currency="usd")
    assert {line.stem_title for line in bob.lines} == {"Keys"}
    page = client_for(other_artist).get("/royalties/statements/2024-03/").content.decode()
    assert "Kick" not in page and "Pad" not in page
    nobody = client_for(outsider).get("/royalties/statements/2024-03/").content.decode()
    assert "Kick" not in nobody and "Keys" not in nobody and "Trail runner" not in nobody


def test_a_month_that_has_not_started_or_a_past_one_without_plays_has_no_estimate(
    client_for: Any, artist: Any, march: dict[str, Any]
) -> None:
    assert client_for(artist).get("/royalties/statements/2024-04/").status_code == 404
    assert client_for(artist).get("/royalties/statements/2023-11/").status_code == 404


def test_a_month_that_cannot_be_computed_does_not_take_the_earnings_page_down(
    client_for: Any, artist: Any, march: dict[str, Any]
) -> None:
    from portal.mixes.models import Mix

    broken = {"stems": [], "attribution": {"resolution_s": 5, "seconds": []}}
    Mix.objects.filter(pk=march["first"].pk).update(manifest=broken)
    response = client_for(artist).get("/royalties/")
    assert response.status_code == 200
    assert "This month so far" not in response.content.decode()
    assert client_for(artist).get("/royalties/statements/2024-03/").status_code == 400


def test_the_cached_estimate_is_computed_again_once_a_new_play_arrives(
    api_for: Any, artist: Any, client_app: Any, march: dict[str, Any]
) -> None:
    from portal.royalties import estimates

    api = api_for(artist)
    with mock.patch.object(
        estimates, "statement_estimate", wraps=estimates.statement_estimate
    ) as computed:
        first = api.get(ESTIMATE_URL).json()
        assert api.get(ESTIMATE_URL).json() == first
        assert computed.call_count == 1  # the same inputs: the cached figures
        ingest(
            client_app,
            [event(march["first"], started_at=DAY + timedelta(days=2), ms_played=60_000)],
        )
        after = api.get(ESTIMATE_URL).json()
        assert computed.call_count == 2
    kick = march["kick"].pk
    plays = {x["stem_id"]: x["plays"] for x in first["lines"]}
    assert {x["stem_id"]: x["plays"] for x in after["lines"]}[kick] == plays[kick] + 1
    # Before any month has closed there is no pool: listening, and no amount yet.
    assert after["currency"] is None and after["amount_minor"] is None


def test_an_artist_sees_only_their_own_estimate(
    api_for: Any,
    artist: Any,
    other_artist: Any,
    outsider: Any,
    curator: Any,
    staff: Any,
    march: dict[str, Any],
) -> None:
    alice = api_for(artist).get(ESTIMATE_URL).json()
    assert {x["stem_title"] for x in alice["lines"]} == {"Kick", "Pad"}
    # Cached per artist: Bob asking next gets his own figures, not Alice's.
    bob = api_for(other_artist).get(ESTIMATE_URL).json()
    assert bob["artist_id"] == other_artist.pk
    assert {x["stem_title"] for x in bob["lines"]} == {"Keys"}
    assert "Trail runner" in {a["app_name"] for a in bob["by_app"]}
    nobody = api_for(outsider).get(ESTIMATE_URL).json()
    assert nobody["lines"] == [] and nobody["by_app"] == [] and nobody["plays"] == 0

    refused = api_for(other_artist).get(f"{ESTIMATE_URL}?artist={artist.pk}")
    assert refused.status_code == 403
    assert api_for(curator).get(ESTIMATE_URL).status_code == 403
    assert api_for(None).get(ESTIMATE_URL).status_code in (401, 403)
    staff_view = api_for(staff).get(f"{ESTIMATE_URL}?artist={artist.pk}").json()
    assert staff_view["lines"] == alice["lines"]
    assert api_for(artist).get(f"{ESTIMATE_URL}?period=2024-04").status_code == 404
