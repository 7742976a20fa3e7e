from __future__ import annotations

import io
from typing import Any

import pytest
from django.utils import timezone

from portal.royalties import demo
from portal.royalties.models import Period, Play
from portal.royalties.periods import month_of, previous_month
from portal.royalties.verification import period_verify
from tests.royalties.factories import even_mix, make_stem

pytestmark = pytest.mark.django_db


def test_the_demo_closes_last_month_over_the_demo_mixes_once(
    artist: Any, other_artist: Any, staff: Any
) -> None:
    a, b = make_stem(artist), make_stem(other_artist)
    even_mix([a, b], 90)
    even_mix([b], 45)
    demo.seed(out=io.StringIO())
    month = previous_month(month_of(timezone.now()))
    period = Period.objects.get(month=month)
    assert period.pool_minor == demo.DEMO_POOL_MINOR
    assert period.plays_over_limit == 4
    assert period_verify(month=month).ok
    plays = Play.objects.count()
    out = io.StringIO()
    demo.seed(out=out)
    assert "already closed" in out.getvalue()
    assert Play.objects.count() == plays
    assert Period.objects.count() == 1


def test_the_demo_skips_quietly_without_mixes() -> None:
    out = io.StringIO()
    demo.seed(out=out)
    assert "no finished demo mixes" in out.getvalue()
    assert not Period.objects.exists()
