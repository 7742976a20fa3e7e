"""The catalogue page: signed-in people browse, filter, audition, keep and pin stems."""

from __future__ import annotations

import re

import pytest

from portal.catalogue.services.previews import previews_request
from tests.factories.audio import tone_loop
from tests.factories.stems import StemFactory

pytestmark = pytest.mark.django_db


def test_anonymous_visitors_are_sent_to_sign_in(vault, client):
    response = client.get("/catalogue/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_each_row_has_a_waveform_a_preview_player_and_a_pin_link(
    outsider, client_for, run_jobs, artist, settings
):
    from portal.stems.models import Stem

    stem = StemFactory(artist=artist, title="Bright pluck", samples=tone_loop(6.0, seed=3))
    Stem.objects.filter(pk=stem.pk).update(analysis={"waveform_peaks": [[-0.5, 0.5]] * 10})
    browser = client_for(outsider)

    first = browser.get("/catalogue/").content.decode()
    assert "Preview being prepared" in first
    previews_request(stems=[stem])
    run_jobs()
    html = browser.get("/catalogue/").content.decode()

    assert 'class="waveform"' in html
    (src,) = re.findall(r'<audio controls preload="none" src="([^"]+)"', html)
    # The preview's signed link (presigned on S3), never the stem's own file or audio URL.
    assert stem.audio.name not in src and f"/stems/{stem.pk}/" not in src
    assert f'href="/soundtracks/?pin={stem.pk}"' in html
    if not settings.AWS_STORAGE_BUCKET_NAME:
        assert "/files/" in src
        assert client_for(None).get(src.replace("&amp;", "&")).status_code == 200


def test_the_filters_are_a_get_form_and_a_wrong_value_says_what_is_known(
    vault, outsider, client_for
):
    browser = client_for(outsider)
    html = browser.get("/catalogue/?mood=calm").content.decode()
    assert "Warm pad" in html and "Deep bass" not in html
    assert '<form method="get"' in html

    refused = browser.get("/catalogue/?mood=chill")
    assert refused.status_code == 400
    text = refused.content.decode()
    assert "chill" in text and "calm" in text and "Warm pad" not in text


def test_a_person_keeps_a_favourite_and_can_pin_all_of_them(vault, outsider, client_for):
    browser = client_for(outsider)
    pad, kick = vault["pad"], vault["kick"]
    for stem in (pad, kick):
        response = browser.post(
            f"/catalogue/{stem.pk}/favourite/", {"action": "add", "next": "/catalogue/?role=drums"}
        )
        assert response.status_code == 302 and response["Location"] == "/catalogue/?role=drums"

    html = browser.get("/catalogue/?favourites=1").content.decode()
    assert "Warm pad" in html and "Kick groove" in html and "Deep bass" not in html
    assert "Use all my favourites in a soundtrack" in html
    pins = re.findall(r"pin=(\d+)", html.split("Use all my favourites")[0].rsplit("<a", 1)[1])
    assert sorted(map(int, pins)) == sorted([pad.pk, kick.pk])

    browser.post(
        f"/catalogue/{pad.pk}/favourite/", {"action": "remove", "next": "https://evil.example/"}
    )
    html = browser.get("/catalogue/?favourites=1").content.decode()
    assert "Warm pad" not in html and "Kick groove" in html


def test_the_catalogue_is_in_the_navigation(outsider, client_for):
    html = client_for(outsider).get("/").content.decode()
    assert 'href="/catalogue/"' in html


def test_each_row_links_to_the_stems_own_page(vault, outsider, client_for):
    html = client_for(outsider).get("/catalogue/").content.decode()
    for name in ("kick", "bass", "pad"):
        assert f'href="/catalogue/{vault[name].pk}/"' in html
    for name in ("in_review", "withdrawn"):
        assert f'href="/catalogue/{vault[name].pk}/"' not in html


def test_a_stems_page_shows_credits_with_roles_and_shares_licence_tags_and_tempo(
    vault, outsider, artist, other_artist, client_for
):
    from portal.stems.models import Stem

    bass = vault["bass"]
    Stem.objects.filter(pk=bass.pk).update(analysis={"waveform_peaks": [[-0.4, 0.6]] * 80})
    response = client_for(outsider).get(f"/catalogue/{bass.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Deep bass</h1>" in html
    # Every peak is drawn on the stem's own page (the list draws 50 at most).
    assert 'viewBox="0 0 80 2"' in html
    rows = re.findall(
        r"<tr><td>([^<]+)</td><td>([^<]+)</td><td class=\"num\">([^<]+)</td></tr>", html
    )
    assert rows == [
        (artist.display_name, "Contributed the stem", "70%"),
        (other_artist.display_name, "Credited collaborator", "30%"),
    ]
    assert "124 BPM" in html and "F#m" in html and "16.0 s" in html
    assert ">dark</a>" in html and ">tense</a>" in html and ">house</a>" in html
    license = bass.submission.license
    assert f"version {license.version}" in html
    assert all(use in html for use in license.permitted_uses) and license.permitted_uses
    assert f'href="/soundtracks/?pin={bass.pk}"' in html
    assert "Preview being prepared" in html  # no preview rendered yet


def test_a_stems_page_plays_its_preview(outsider, client_for, run_jobs, artist, settings):
    stem = StemFactory(artist=artist, title="Bright pluck", samples=tone_loop(6.0, seed=3))
    previews_request(stems=[stem])
    run_jobs()
    html = client_for(outsider).get(f"/catalogue/{stem.pk}/").content.decode()
    (src,) = re.findall(r'<audio controls preload="metadata" src="([^"]+)"', html)
    assert stem.audio.name not in src and f"/stems/{stem.pk}/" not in src
    if not settings.AWS_STORAGE_BUCKET_NAME:
        assert client_for(None).get(src.replace("&amp;", "&")).status_code == 200


def test_the_favourite_toggle_on_a_stems_page_comes_back_to_it(vault, outsider, client_for):
    browser = client_for(outsider)
    pad = vault["pad"]
    page = f"/catalogue/{pad.pk}/"
    assert 'aria-pressed="false"' in browser.get(page).content.decode()
    response = browser.post(f"{page}favourite/", {"action": "add", "next": page})
    assert response.status_code == 302 and response["Location"] == page
    assert 'aria-pressed="true"' in browser.get(page).content.decode()
    browser.post(f"{page}favourite/", {"action": "remove", "next": page})
    assert 'aria-pressed="false"' in browser.get(page).content.decode()


def test_a_stem_the_catalogue_does_not_show_is_the_sites_404_with_a_reason(
    vault, outsider, client_for
):
    browser = client_for(outsider)
    for name in ("in_review", "rejected", "taken_down", "withdrawn"):
        response = browser.get(f"/catalogue/{vault[name].pk}/")
        assert response.status_code == 404, name
        html = response.content.decode()
        assert "not in the catalogue" in html and "withdrawn" in html
        assert vault[name].title not in html
        assert 'href="/catalogue/"' in html  # the site's layout, with its navigation
    assert browser.get("/catalogue/999999/").status_code == 404
    assert client_for(None).get(f"/catalogue/{vault['pad'].pk}/").status_code == 302
