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
