"""Iterating on a take from the soundtrack pages: pins from a catalogue link, a variation, a
version with a swap, a name and notes, and the family side by side."""

from __future__ import annotations

import re
from typing import Any

from portal.mixes.models import Mix
from tests.factories.accounts import UserFactory
from tests.factories.stems import vault_of


def _field_value(html: str, name: str) -> str:
    match = re.search(rf'<input[^>]*name="{name}"[^>]*>', html)
    assert match, name
    value = re.search(r'value="([^"]*)"', match.group(0))
    return value.group(1) if value else ""


def test_a_catalogue_link_pins_its_stems_in_the_request_form(artist: Any, client_for: Any) -> None:
    stems = vault_of(artist)
    browser = client_for(artist)
    page = browser.get(f"/soundtracks/?pin={stems[1].pk}&pin={stems[2].pk}&pin=x&pin={stems[1].pk}")
    assert page.status_code == 200
    assert _field_value(page.content.decode(), "pinned_stem_ids") == f"{stems[1].pk}, {stems[2].pk}"
    response = browser.post(
        "/soundtracks/",
        {
            "duration_s": 12,
            "mood": "calm",
            "format": "wav",
            "pinned_stem_ids": f"{stems[1].pk}, {stems[2].pk}",
            "muted_stem_ids": str(stems[0].pk),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    mix = Mix.objects.get()
    assert mix.request["pinned_stem_ids"] == [stems[1].pk, stems[2].pk]
    assert str(stems[0].pk) not in {s["id"] for s in mix.plan["stems"]}
    refused = browser.post(
        "/soundtracks/",
        {"duration_s": 12, "mood": "calm", "format": "wav", "pinned_stem_ids": "999999"},
    )
    assert refused.status_code == 200 and "cannot be pinned" in refused.content.decode()


def test_the_page_makes_variations_and_versions_and_shows_the_family_side_by_side(
    artist: Any, client_for: Any, run_jobs: Any
) -> None:
    stems = [*vault_of(artist), *vault_of(artist)]
    browser = client_for(artist)
    browser.post("/soundtracks/", {"duration_s": 12, "mood": "calm", "format": "wav", "seed": 0})
    first = Mix.objects.get()
    variation = browser.post(f"/soundtracks/{first.pk}/variation/")
    assert variation.status_code == 302
    second = Mix.objects.exclude(pk=first.pk).get()
    assert variation["Location"] == f"/soundtracks/{second.pk}/"
    assert second.parent == first and second.request["seed"] == 1

    drums = [s for s in stems if s.role == "drums"]
    old = next(d for d in drums if any(str(d.pk) == s["id"] for s in first.plan["stems"]))
    new = next(d for d in drums if d is not old)
    swapped = browser.post(
        f"/soundtracks/{first.pk}/version/",
        {"swap_from": old.pk, "swap_to": new.pk, "name": "Softer drums"},
    )
    assert swapped.status_code == 302, swapped.content.decode()[:2000]
    third = Mix.objects.get(name="Softer drums")
    assert third.request["muted_stem_ids"] == [old.pk]
    half = browser.post(f"/soundtracks/{first.pk}/version/", {"swap_from": old.pk})
    assert half.status_code == 400 and "the stem to play instead" in half.content.decode()
    nothing = browser.post(f"/soundtracks/{first.pk}/version/", {})
    assert (
        nothing.status_code == 400
        and "Say what the new version changes" in nothing.content.decode()
    )

    described = browser.post(
        f"/soundtracks/{first.pk}/describe/", {"name": "Main theme", "notes": "For the trailer"}
    )
    assert described.status_code == 302
    run_jobs()
    page = browser.get(f"/soundtracks/{third.pk}/").content.decode()
    assert "<h1>Softer drums</h1>" in page
    for mix in (first, second, third):
        assert f'src="/api/v1/mixes/{mix.pk}/audio/"' in page  # a player per take
    assert "Main theme 1" in page and "For the trailer" in page
    assert "Variation: seed 1" in page and f"Stem {old.pk} swapped for {new.pk}" in page
    assert page.count('class="card current"') == 1  # the take this page is about
    listing = browser.get("/soundtracks/").content.decode()
    assert listing.count("a version of") == 2 and "Main theme" in listing


def test_someone_elses_take_cannot_be_iterated_on_from_the_page(
    artist: Any, client_for: Any
) -> None:
    vault_of(artist)
    client_for(artist).post("/soundtracks/", {"duration_s": 12, "mood": "calm", "format": "wav"})
    first = Mix.objects.get()
    stranger = client_for(UserFactory(username="mallory"))
    for what, body in (
        ("variation", {}),
        ("version", {"length_s": 20}),
        ("describe", {"name": "x"}),
    ):
        assert stranger.post(f"/soundtracks/{first.pk}/{what}/", body).status_code == 404
    assert Mix.objects.count() == 1 and Mix.objects.get().name == ""
