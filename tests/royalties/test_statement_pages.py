"""What an artist reads on a closed month's statement: money in its currency, plays explained,
shares that add up to 100 %, earnings by stem and by client app, and a drill-down to the plays
that shows apps and listener pseudonyms but never another artist's earnings or a listener's id."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from portal.core.money import format_money
from portal.royalties.drilldown import counted_play
from portal.royalties.models import AllocationLine
from portal.royalties.services import period_close
from portal.royalties.statements import statement_for
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
PAGE = "/royalties/statements/2024-03/"


@pytest.fixture
def closed(artist: Any, other_artist: Any, client_app: Any, clock: Any) -> dict[str, Any]:
    """Alice's Kick only in a mix of app one, her Pad only in a mix of "Trail runner"; bob's Keys
    in both, and alone in a mix of a third app alice has nothing to do with."""
    trail = ClientAppFactory(name="Trail runner")
    secret = ClientAppFactory(name="Bobs secret app")
    kick = PlayedStemFactory(artist=artist, title="Kick")
    pad = PlayedStemFactory(artist=artist, title="Pad")
    keys = PlayedStemFactory(artist=other_artist, title="Keys")
    first = EarlyMixFactory(
        stems=[kick, keys], seconds=[{kick: 0.7, keys: 0.3}] * 40, client_app=client_app
    )
    second = EarlyMixFactory(
        stems=[pad, keys], seconds=[{pad: 0.5, keys: 0.5}] * 40, client_app=trail
    )
    bobs = EarlyMixFactory(stems=[keys], seconds=[{keys: 1.0}] * 40, client_app=secret)
    ingest(
        client_app,
        [
            event(
                first,
                started_at=DAY + timedelta(minutes=i),
                ms_played=30_000 + 313 * i,
                listener=f"alice.fan{i}@example.com",
            )
            for i in range(11)
        ]
        + [event(first, started_at=DAY, ms_played=3_000, listener="too-short@example.com")],
    )
    ingest(
        trail,
        [
            event(second, started_at=DAY + timedelta(hours=i), ms_played=40_000, listener=f"t{i}")
            for i in range(3)
        ],
    )
    ingest(
        secret,
        [event(bobs, started_at=DAY, ms_played=40_000, listener="bob-only-listener")],
    )
    clock.set(MARCH_WINDOW_PASSED)
    period_close(month="2024-03", pool_minor=10_007, currency="usd", actor=None)
    return {
        "kick": kick,
        "pad": pad,
        "keys": keys,
        "first": first,
        "second": second,
        "bobs": bobs,
        "trail": trail,
        "secret": secret,
    }


def _cells(page: str, section: str, column: int) -> list[str]:
    """The `column`-th cell of each body row of the table after `id="<section>"`."""
    table = page.split(f'id="{section}"', 1)[1].split("</tbody>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>", 1)[1], flags=re.S)
    return [re.findall(r"<td>(.*?)</td>", row, flags=re.S)[column] for row in rows]


def test_money_is_shown_in_the_currency_never_in_minor_units(
    client_for: Any, artist: Any, closed: dict[str, Any]
) -> None:
    page = client_for(artist).get(PAGE).content.decode()
    total = sum(
        AllocationLine.objects.filter(period__month="2024-03", artist=artist).values_list(
            "amount_minor", flat=True
        )
    )
    assert f"{total // 100}.{total % 100:02d} USD" in page
    assert "artists' pool 100.07 USD" in page
    assert "minor units" not in page


def test_plays_and_qualifying_plays_are_explained_on_the_page(
    client_for: Any, artist: Any, closed: dict[str, Any]
) -> None:
    page = client_for(artist).get(PAGE).content.decode()
    assert "What these numbers mean" in page
    assert "A qualifying play" in page and "at least 30 s" in page
    assert "Live-stream seconds" in page


def test_the_shares_shown_add_up_to_exactly_100_percent(
    client_for: Any, artist: Any, closed: dict[str, Any]
) -> None:
    page = client_for(artist).get(PAGE).content.decode()
    for section, column in (("by-stem", 5), ("by-app", 4)):
        shares = _cells(page, section, column)
        assert len(shares) == 2
        assert sum(int(s.rstrip("%").replace(".", "")) for s in shares) == 10_000


def test_earnings_by_client_app_follow_the_apps_and_add_up(
    artist: Any, closed: dict[str, Any], client_app: Any
) -> None:
    statement = statement_for(month="2024-03", artist=artist)
    lines = {line.stem_id: line for line in statement.lines}
    apps = {app.app_name: app for app in statement.by_app}
    # Kick sounded only through the first app, Pad only through Trail runner.
    assert apps[client_app.name].amount_minor == lines[closed["kick"].pk].amount_minor
    assert apps["Trail runner"].amount_minor == lines[closed["pad"].pk].amount_minor
    assert (
        apps[client_app.name].soundtrack_plays == 11 and apps["Trail runner"].soundtrack_plays == 3
    )
    assert sum(a.amount_minor for a in apps.values()) == statement.amount_minor
    assert apps["Trail runner"].amount == format_money(apps["Trail runner"].amount_minor, "usd")


def test_a_yen_statement_shows_whole_yen(
    client_for: Any, artist: Any, client_app: Any, clock: Any
) -> None:
    stem = PlayedStemFactory(artist=artist, title="Koto")
    mix = EarlyMixFactory(stems=[stem], seconds=[{stem: 1.0}] * 40, client_app=client_app)
    ingest(client_app, [event(mix, started_at=DAY, ms_played=40_000)])
    clock.set(MARCH_WINDOW_PASSED)
    period_close(month="2024-03", pool_minor=123_456, currency="jpy", actor=None)
    page = client_for(artist).get(PAGE).content.decode()
    assert "123,456 JPY" in page and ".00 JPY" not in page


def test_another_artists_stems_apps_and_plays_never_appear_in_my_statement(
    client_for: Any, artist: Any, closed: dict[str, Any]
) -> None:
    browser = client_for(artist)
    shown = [browser.get(PAGE).content.decode()]
    for stem in (closed["kick"], closed["pad"]):
        shown.append(browser.get(f"{PAGE}stems/{stem.pk}/").content.decode())
    shown.append(browser.get("/royalties/statements/2024-03.csv").content.decode())
    for text in shown:
        assert "Keys" not in text and "Bobs secret app" not in text
        assert str(closed["bobs"].pk) not in text and "bob-only-listener" not in text


def test_another_artists_drill_down_is_not_found(
    client_for: Any, artist: Any, other_artist: Any, closed: dict[str, Any]
) -> None:
    keys = closed["keys"]
    assert client_for(artist).get(f"{PAGE}stems/{keys.pk}/").status_code == 404
    assert client_for(other_artist).get(f"{PAGE}stems/{closed['kick'].pk}/").status_code == 404
    assert client_for(artist).get(f"{PAGE}?artist={other_artist.pk}").status_code == 403


def test_a_play_is_reachable_only_through_the_line_it_earned(
    artist: Any, other_artist: Any, closed: dict[str, Any]
) -> None:
    from portal.core.errors import NotFound
    from portal.royalties.models import Play

    kick, pad = closed["kick"].pk, closed["pad"].pk
    of_first = Play.objects.filter(mix=closed["first"], qualifies=True).first()
    short = Play.objects.get(mix=closed["first"], qualifies=False)
    bobs = Play.objects.get(mix=closed["bobs"])
    assert of_first is not None
    assert counted_play(month="2024-03", artist=artist, stem_id=kick, event_id=str(of_first.pk))
    for who, stem, play in (
        (artist, pad, of_first),  # a play of Kick's mix under Pad's line
        (artist, kick, short),  # too short: it earned nothing
        (artist, kick, bobs),  # another artist's mix
        (other_artist, kick, of_first),  # bob has no Kick line
    ):
        with pytest.raises(NotFound):
            counted_play(month="2024-03", artist=who, stem_id=stem, event_id=str(play.pk))


def test_the_drill_down_names_apps_and_listener_pseudonyms_never_listener_ids(
    client_for: Any, artist: Any, client_app: Any, closed: dict[str, Any]
) -> None:
    page = client_for(artist).get(f"{PAGE}stems/{closed['kick'].pk}/").content.decode()
    assert "@example.com" not in page and "alice.fan" not in page
    listeners = set(re.findall(r"<code>(L-[0-9a-f]{12})</code>", page))
    assert len(listeners) == 11  # eleven listeners, told apart without being named
    assert client_app.name in page and "Soundtrack" in page


def test_the_csv_gives_amounts_in_the_currency_and_shares_that_add_up(
    client_for: Any, artist: Any, closed: dict[str, Any]
) -> None:
    text = client_for(artist).get("/royalties/statements/2024-03.csv").content.decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 2
    for row in rows:
        minor = int(row["amount_minor"])
        assert row["amount"] == f"{minor // 100}.{minor % 100:02d}"
        assert int(row["soundtrack_plays"]) > 0 and row["stream_seconds"] == "0.000"
    assert sum(int(r["share"].rstrip("%").replace(".", "")) for r in rows) == 10_000
