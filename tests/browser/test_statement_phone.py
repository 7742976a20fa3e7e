"""The earnings pages on a 390 px phone in real Chromium: the dashboard with this month's
estimate, a closed month's statement, its drill-down and the open month's estimate all fit
the screen (wide tables scroll inside their own wrapper, never the page)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from portal.royalties.periods import month_bounds, month_of, previous_month
from portal.royalties.services import period_close
from tests.factories.accounts import PASSWORD
from tests.factories.royalties import EarlyMixFactory, PlayedStemFactory, event, ingest
from tests.helpers.browser import UNLABELLED

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def test_the_statement_pages_fit_a_phone(page, shot, artist, other_artist, client_app):
    now = timezone.now()
    last, this = previous_month(month_of(now)), month_of(now)
    kick = PlayedStemFactory(artist=artist, title="Kick with a rather long title for a phone")
    keys = PlayedStemFactory(artist=other_artist, title="Keys")
    mix = EarlyMixFactory(
        stems=[kick, keys], seconds=[{kick: 0.7, keys: 0.3}] * 60, client_app=client_app
    )
    # Last month's plays, a week before its end (inside the late window), then closed early.
    _, end = month_bounds(last)
    ingest(
        client_app,
        [
            event(
                mix,
                started_at=end - timedelta(days=2, minutes=i),
                ms_played=45_000 + 97 * i,
                listener=f"fan{i}",
            )
            for i in range(6)
        ],
    )
    period_close(month=last, pool_minor=98_765, currency="eur", actor=None, force_reason="test")
    ingest(client_app, [event(mix, started_at=now - timedelta(minutes=5), ms_played=50_000)])

    page.set_viewport_size(PHONE)
    page.goto("/login/")
    page.get_by_label("Username").fill(artist.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/dashboard/")
    for path, name, text in (
        ("/royalties/", "earnings", "This month so far"),
        (f"/royalties/statements/{last}/", "statement", "What these numbers mean"),
        (f"/royalties/statements/{last}/stems/{kick.pk}/", "statement-stem", "Listener"),
        (f"/royalties/statements/{this}/", "estimate", "every figure here is an estimate"),
    ):
        response = page.goto(path)
        assert response is not None and response.status == 200, path
        main = page.inner_text("main")
        assert text in main, path
        assert "minor units" not in main and "Keys" not in main
        assert page.evaluate(UNLABELLED) == [], path
        # Nothing wider than the phone: no sideways scrolling of the page.
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], path
        shot(page, f"phone-{name}")
