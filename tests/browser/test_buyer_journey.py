"""A buyer's journey in Chromium, from the catalogue to a downloaded take: browse and audition,
a stem's own page, "use in a soundtrack", a request by mood with a hit point drawn on the
waveform, a variation, a swapped stem, the download; a credited artist sees the stem; the main
pages on a phone.

Screenshots of every step stay in the test artefacts (the `shot` fixture)."""

from __future__ import annotations

from typing import Any

import pytest

from portal.catalogue.services.previews import preview_render
from portal.mixes.models import Mix
from tests.factories.accounts import PASSWORD
from tests.factories.audio import tone_loop
from tests.factories.stems import StemFactory, vault_of

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def _sign_in(page: Any, username: str) -> None:
    page.context.clear_cookies()
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/dashboard/")


def _rendered(page: Any, run_jobs: Any) -> Mix:
    """Run the queued render (the worker's part); the soundtrack page on show then shows it."""
    run_jobs()
    # The page polls its render's status and reloads itself when it is done: wait for that
    # (a reload of our own would race it).
    page.locator(".mix-player audio").wait_for(timeout=30_000)
    page.wait_for_load_state("load")
    mix_id = page.url.rstrip("/").rsplit("/", 1)[-1]
    mix = Mix.objects.get(pk=mix_id)
    assert mix.status == "done", mix.error
    return mix


def _stem_ids(mix: Mix) -> set[int]:
    return {int(stem["id"]) for stem in mix.manifest["stems"]}


WIDEST = """() => [...document.querySelectorAll('main *')]
    .filter(el => el.getBoundingClientRect().right > window.innerWidth + 1)
    .slice(0, 3).map(el => el.tagName + '.' + el.className + ' ' + el.outerHTML.slice(0, 80))"""


def _fits_phone(page: Any, path: str) -> None:
    page.goto(path)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{path} is {width} px wide: {page.evaluate(WIDEST)}"


def test_from_the_catalogue_to_a_downloaded_take(
    page, shot, artist, other_artist, outsider, run_jobs
):
    page.set_viewport_size(DESKTOP)
    stems = vault_of(artist)  # drums, bass, harmony, texture: all calm, all at 120 BPM
    drums = stems[0]
    other_drums = StemFactory(artist=artist, title="Brushed kit", role="drums", moods=["calm"])
    duet = StemFactory(
        artist=artist,
        title="Night duet",
        role="harmony",
        moods=["calm"],
        samples=tone_loop(12.0, seed=9),
        checked=True,
        credits=[(artist, 7000), (other_artist, 3000)],
    )
    preview_render(stem_id=duet.pk)

    # The buyer browses the catalogue and auditions a stem.
    _sign_in(page, outsider.username)
    page.goto("/catalogue/")
    page.get_by_label("Mood").select_option("calm")
    page.get_by_role("button", name="Search").click()
    row = page.locator(f"[data-stem-id='{duet.pk}']")
    audio = row.locator("audio[data-catalogue-preview]")
    audio.evaluate("el => el.play()")
    page.wait_for_function(
        f"() => document.querySelector(\"[data-stem-id='{duet.pk}'] audio\").currentTime > 1",
        timeout=30_000,
    )
    shot(page, "buyer-catalogue-preview")

    # The stem's own page: its credits with their shares, the licence's uses, a preview.
    row.get_by_role("link", name="Night duet").click()
    page.wait_for_url(f"**/catalogue/{duet.pk}/")
    credits = page.locator("table.catalogue-credits-table").inner_text()
    assert other_artist.display_name in credits and "30" in credits
    assert page.locator("audio[data-catalogue-preview]").count() == 1
    shot(page, "buyer-catalogue-stem")

    # "Use in a soundtrack": the request form with the stem pinned; by mood, with a hit point.
    page.get_by_role("link", name="Use in a soundtrack").click()
    page.wait_for_url(f"**/soundtracks/?pin={duet.pk}")
    assert page.get_by_label("Pinned stems").input_value() == str(duet.pk)
    page.get_by_label("Length (seconds)").fill("20")
    page.get_by_label("Mood").select_option("calm")
    page.get_by_label("Hit points (seconds)").fill("8")
    shot(page, "buyer-request")
    page.get_by_role("button", name="Render it").click()
    page.wait_for_url("**/soundtracks/*/")
    first = _rendered(page, run_jobs)
    assert duet.pk in _stem_ids(first)

    # The hit is drawn on the waveform and listed with where it landed.
    assert page.locator("svg.waveform line.hit-mark").count() == 1
    hit = page.locator(".hit-list li").first.inner_text()
    assert "asked for 8.000 s" in hit and "lands at 8.0" in hit
    shot(page, "buyer-hit-on-waveform")

    # A variation: the same request, a new seed, its own render in the family.
    page.get_by_role("button", name="Variation: same request, new seed").click()
    page.wait_for_url("**/soundtracks/*/")
    variation = _rendered(page, run_jobs)
    assert variation.pk != first.pk
    assert variation.request["seed"] != first.request["seed"]
    assert page.locator("ul.family li").count() == 2
    shot(page, "buyer-variation")

    # Swap the drums for another kit: a new version without the one, with the other.
    used_drums = drums.pk if drums.pk in _stem_ids(variation) else other_drums.pk
    replacement = other_drums.pk if used_drums == drums.pk else drums.pk
    page.get_by_label("Swap this stem").select_option(str(used_drums))
    page.get_by_label("for stem number").fill(str(replacement))
    page.get_by_role("button", name="Render the new version").click()
    page.wait_for_url("**/soundtracks/*/")
    swapped = _rendered(page, run_jobs)
    assert used_drums not in _stem_ids(swapped) and replacement in _stem_ids(swapped)
    assert page.locator("ul.family li").count() == 3
    shot(page, "buyer-swapped")

    # The download: the take's WAV with its signed manifest.
    with page.expect_download() as download:
        page.locator(".mix-player").get_by_role("link", name="Download").click()
    path = download.value.path()
    with open(path, "rb") as handle:
        head = handle.read(12)
    assert head[:4] == b"RIFF" and head[8:12] == b"WAVE"

    # The main pages on a phone.
    page.set_viewport_size(PHONE)
    for path in ("/dashboard/", "/catalogue/", "/soundtracks/", f"/soundtracks/{swapped.pk}/"):
        _fits_phone(page, path)
    shot(page, "buyer-phone-soundtrack")

    # The artist credited on the pinned stem sees it, with their share.
    _sign_in(page, other_artist.username)
    page.goto("/stems/")
    listing = page.locator("main").inner_text()
    assert "Night duet" in listing and "30%" in listing
    page.get_by_role("link", name="Night duet").click()
    assert "credited you with 30%" in page.locator("main").inner_text()
    _fits_phone(page, "/stems/")
    shot(page, "credited-artist-phone")
