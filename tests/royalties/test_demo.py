from __future__ import annotations

import io
from typing import Any

import pytest
from django.utils import timezone

from portal.clients import demo as clients_demo
from portal.royalties import demo
from portal.royalties.held import held_overview
from portal.royalties.models import Period, Play
from portal.royalties.periods import month_of, previous_month
from portal.royalties.verification import period_verify
from tests.factories.royalties import EarlyMixFactory, PlayedMixFactory, PlayedStemFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_app(staff: Any) -> Any:
    clients_demo.seed(out=io.StringIO())
    return clients_demo.demo_app()


def test_the_demo_closes_last_month_over_the_demo_mixes_once(
    artist: Any, other_artist: Any, staff: Any, demo_app: Any
) -> None:
    a, b = PlayedStemFactory(artist=artist), PlayedStemFactory(artist=other_artist)
    EarlyMixFactory(stems=[a, b], even_seconds=90, client_app=demo_app)
    EarlyMixFactory(stems=[b], even_seconds=45, client_app=demo_app)
    PlayedMixFactory(
        stems=[a], even_seconds=60
    )  # requested on the web, by no app: the demo's plays never touch it
    demo.seed(out=io.StringIO())
    month = previous_month(month_of(timezone.now()))
    period = Period.objects.get(month=month)
    assert period.pool_minor == demo.DEMO_POOL_MINOR
    assert period.plays_over_limit == 4
    # The looping bot is held, so the staff's held-plays page has something to show.
    assert period.plays_held == 16
    assert set(
        Play.objects.filter(held_by="threshold_hugging").values_list("listener_id", flat=True)
    ) == {"demo-loop-bot"}
    assert period_verify(month=month).ok
    # This month is open: a listener on two devices is what the rules would hold now.
    overview = held_overview(month=month_of(timezone.now()), now=timezone.now())
    assert [(g.rule, g.plays) for g in overview.groups] == [("overlap", 3)]
    plays = Play.objects.count()
    out = io.StringIO()
    demo.seed(out=out)
    assert "already closed" in out.getvalue()
    assert Play.objects.count() == plays
    assert Period.objects.count() == 1


def test_the_demo_skips_quietly_without_mixes(demo_app: Any) -> None:
    out = io.StringIO()
    demo.seed(out=out)
    assert "no finished demo mixes" in out.getvalue()
    assert not Period.objects.exists()
