"""The catalogue in real Chromium: a signed-in buyer filters the vault, a row's preview plays
straight from its signed link (the page's Content-Security-Policy allows it), the row links to
the request form with the stem pinned, and the page fits a 390 px phone."""

from __future__ import annotations

from typing import Any

import pytest

from portal.catalogue.services.previews import preview_render
from tests.factories.accounts import PASSWORD
from tests.factories.audio import tone_loop
from tests.factories.stems import StemFactory
from tests.helpers.browser import UNLABELLED

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def _sign_in(page: Any, username: str) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/dashboard/")


def test_a_buyer_filters_the_catalogue_and_a_rows_preview_plays(
    page, shot, artist, other_artist, outsider
):
    calm = StemFactory(
        artist=artist,
        title="Calm pluck",
        moods=["calm"],
        samples=tone_loop(12.0, seed=5),
        checked=True,  # with the analysis provenance stores: its waveform peaks
    )
    StemFactory(artist=other_artist, title="Tense drums", moods=["tense"], samples=None)
    preview_render(stem_id=calm.pk)  # as the preview job does once the catalogue asks

    _sign_in(page, outsider.username)
    page.set_viewport_size(PHONE)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Catalogue").click()
    page.wait_for_url("**/catalogue/")
    assert page.evaluate(UNLABELLED) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, "catalogue")

    page.get_by_label("Mood").select_option("calm")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**/catalogue/?*mood=calm*")
    rows = page.locator("[data-stem-id]")
    assert rows.count() == 1
    assert rows.first.get_attribute("data-stem-id") == str(calm.pk)
    assert rows.first.locator("svg.waveform").count() == 1

    audio = rows.first.locator("audio[data-catalogue-preview]")
    assert audio.get_attribute("preload") == "none"
    audio.evaluate("el => el.play()")
    page.wait_for_function(
        "() => document.querySelector('audio[data-catalogue-preview]').currentTime > 1",
        timeout=30_000,
    )
    assert audio.evaluate("el => el.error === null && el.duration > 11 && el.duration < 13")
    shot(page, "catalogue-preview-playing")

    rows.first.get_by_role("link", name="Use in a soundtrack").click()
    page.wait_for_url(f"**/soundtracks/?pin={calm.pk}")
