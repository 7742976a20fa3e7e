"""A stream's listening on the artist's statement: stream seconds beside soundtrack plays, by
stem and by client app, and a drill-down from a statement line to the stream's session and
segments, under pseudonyms, for the artists it paid and nobody else."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from portal.core.pseudonyms import pseudonym
from portal.mixes.models import Mix
from portal.royalties.allocation import seconds_text
from portal.royalties.models import AllocationDetail, Play
from portal.royalties.services import period_close
from portal.royalties.statements import statement_for
from portal.streams.models import StreamSegment, StreamStretch
from portal.streams.trace import stream_play_trace
from tests.factories.royalties import MARCH_WINDOW_PASSED, EarlyMixFactory, event, ingest
from tests.factories.stems import StemFactory, vault_of
from tests.helpers.money import manifest_weights

pytestmark = pytest.mark.django_db
START = datetime(2024, 3, 5, 9, 0, tzinfo=UTC)
MONTH = "2024-03"


@pytest.fixture
def vault(artist: Any, other_artist: Any) -> list[Any]:
    """Calm stems by alice, the bass co-written with bob at 30 %."""
    stems = [s for s in vault_of(artist, mood="calm") if s.role != "bass"]
    bass = StemFactory(
        artist=artist,
        role="bass",
        musical_key="A minor",
        moods=["calm"],
        credits=[(artist, 7000), (other_artist, 3000)],
    )
    return [*stems, bass]


@pytest.fixture
def month(player: Any, clock: Any, vault: list[Any], client_app: Any) -> dict[str, Any]:
    """20 s of an honest stream, and one soundtrack play of alice's drums through another app."""
    clock.set(START)
    p = player()
    assert p.end(p.listen(20)).status_code == 200
    stretch = StreamStretch.objects.get(session_id=p.id)
    drums = next(s for s in vault if s.role == "drums")
    soundtrack = EarlyMixFactory(stems=[drums], seconds=[{drums: 1.0}] * 40, client_app=client_app)
    ingest(client_app, [event(soundtrack, started_at=START - timedelta(hours=1), ms_played=40_000)])
    clock.set(MARCH_WINDOW_PASSED)
    period_close(month=MONTH, pool_minor=10_007, currency="usd", actor=None)
    mix = Mix.objects.get(pk=stretch.mix_id)
    return {
        "stretch": stretch,
        "mix": mix,
        "play": Play.objects.get(mix=mix),
        "soundtrack_play": Play.objects.get(mix=soundtrack),
        "drums": drums,
        "bass": next(s for s in vault if s.role == "bass"),
    }


def _trace_url(stem: Any, play: Any) -> str:
    return f"/royalties/statements/{MONTH}/stems/{stem.pk}/streams/{play.pk}/"


def test_the_statement_shows_stream_seconds_beside_soundtrack_plays(
    client_for: Any, artist: Any, client_app: Any, stream_app: Any, month: dict[str, Any]
) -> None:
    statement = statement_for(month=MONTH, artist=artist)
    # Independently of the allocation: alice's part of the stretch's signed manifest.
    expected = manifest_weights(month["mix"].manifest, month["play"].ms_played)[artist.pk]
    assert statement.stream_seconds == seconds_text(expected)
    assert statement.soundtrack_plays == 1
    drums = next(line for line in statement.lines if line.stem_id == month["drums"].pk)
    assert drums.soundtrack_plays == 1 and drums.stream_seconds != "0.000"
    apps = {app.app_name: app for app in statement.by_app}
    assert apps[stream_app.name].stream_seconds == seconds_text(expected)
    assert apps[stream_app.name].soundtrack_plays == 0
    assert apps[client_app.name].soundtrack_plays == 1
    assert apps[client_app.name].stream_seconds == "0.000"
    page = client_for(artist).get(f"/royalties/statements/{MONTH}/").content.decode()
    assert "Live-stream seconds" in page and f"{seconds_text(expected)} s" in page


def test_a_statement_line_leads_to_the_streams_session_and_segments(
    client_for: Any, artist: Any, month: dict[str, Any]
) -> None:
    drums, play, stretch = month["drums"], month["play"], month["stretch"]
    browser = client_for(artist)
    line = browser.get(f"/royalties/statements/{MONTH}/stems/{drums.pk}/").content.decode()
    assert _trace_url(drums, play) in line
    page = browser.get(_trace_url(drums, play)).content.decode()
    counted = StreamSegment.objects.filter(play_mix=month["mix"], confirmed_at__isnull=False)
    trace = stream_play_trace(month=MONTH, artist=artist, stem_id=drums.pk, event_id=str(play.pk))
    assert [s.index for s in trace.segments] == sorted(counted.values_list("index", flat=True))
    # The segments' figures add up to what the stretch's play paid for the stem.
    assert sum(s.stem_weight_ns for s in trace.segments) == trace.play.stem_weight_ns > 0
    assert pseudonym("S", stretch.session_id) in page
    for private in (str(stretch.session_id), play.listener_id):
        assert private not in page and private not in line
    assert len(re.findall(r"<tr><td>\d+</td><td>2</td>", page)) == len(trace.segments)


def test_only_the_artists_a_stream_paid_can_trace_it(
    client_for: Any, other_artist: Any, outsider: Any, month: dict[str, Any]
) -> None:
    drums, bass, play = month["drums"], month["bass"], month["play"]
    # Bob is credited on the bass (30 %), not on the drums.
    assert client_for(other_artist).get(_trace_url(bass, play)).status_code == 200
    assert client_for(other_artist).get(_trace_url(drums, play)).status_code == 404
    assert client_for(outsider).get(_trace_url(drums, play)).status_code == 404
    assert AllocationDetail.objects.filter(line__artist=outsider).count() == 0


def test_a_soundtrack_play_is_not_traced_as_a_stream(
    client_for: Any, artist: Any, month: dict[str, Any]
) -> None:
    url = _trace_url(month["drums"], month["soundtrack_play"])
    assert client_for(artist).get(url).status_code == 404
