"""The review, audit, soundtrack and stem pages on a 390 px phone in real Chromium: wide tables
scroll inside their own wrapper, the page itself never scrolls sideways."""

from __future__ import annotations

from typing import Any

import pytest

from portal.review.services.claims import review_claim
from portal.review.services.decisions import stem_decide
from tests.factories.mixes import MixFactory
from tests.factories.stems import StemFactory
from tests.helpers.browser import UNLABELLED

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# What sticks out, so a failure names it.
WIDEST = """() => Array.from(document.querySelectorAll('body *'))
  .filter(el => el.getBoundingClientRect().right > window.innerWidth + 1 && !el.closest('.table-scroll'))
  .map(el => el.tagName + '.' + el.className + ' ' + Math.round(el.getBoundingClientRect().right))
  .slice(0, 12)"""
PHONE = {"width": 390, "height": 844}
LONG = "A stem with a rather long title that would push a table past a phone's edge"


def _as(page: Any, client: Any, user: Any, live_server: Any) -> None:
    page.context.clear_cookies()
    client.force_login(user)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )


def _fits(page: Any, shot: Any, path: str, name: str) -> None:
    response = page.goto(path)
    assert response is not None and response.status == 200, path
    assert page.evaluate(UNLABELLED) == [], path
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], (path, width, page.evaluate(WIDEST))
    shot(page, f"phone-{name}")


def test_the_wide_tables_fit_a_phone(page, shot, live_server, client, artist, curator, staff):
    decided = StemFactory(artist=artist, in_review=True, checked=True, title=LONG, moods=["tense"])
    review_claim(stem=decided, curator=curator)
    stem_decide(stem=decided, curator=curator, decision="approve")
    waiting = StemFactory(artist=artist, in_review=True, checked=True, title=LONG + " II")
    MixFactory(requested_by=artist)
    page.set_viewport_size(PHONE)

    _as(page, client, curator, live_server)
    _fits(page, shot, "/review/", "queue")
    _fits(page, shot, f"/review/stems/{waiting.pk}/", "review-stem")
    _fits(page, shot, "/review/history/", "curator-history")
    _fits(page, shot, "/vault/", "vault")

    _as(page, client, staff, live_server)
    _fits(page, shot, "/audit/", "audit")

    _as(page, client, artist, live_server)
    _fits(page, shot, "/stems/", "stem-list")
    _fits(page, shot, f"/catalogue/{decided.pk}/", "catalogue-stem")
    _fits(page, shot, "/soundtracks/", "soundtracks")
    _fits(page, shot, "/review/history/", "artist-history")
