"""The catalogue API: who may browse it, what it shows, how it filters and pages."""

from __future__ import annotations

import pytest

from tests.factories.clients import ClientAppFactory, app_credential

pytestmark = pytest.mark.django_db

HIDDEN = ("in_review", "rejected", "taken_down", "withdrawn")


def _titles(api, query: str = "") -> set[str]:
    response = api.get(f"/api/v1/catalogue/{query}")
    assert response.status_code == 200, response.content
    return {item["title"] for item in response.json()["results"]}


def test_a_client_app_browses_only_approved_stems(vault, client_app, app_api):
    api = app_api(client_app)

    assert _titles(api) == {"Kick groove", "Deep bass", "Warm pad"}
    for name in HIDDEN:
        response = api.get(f"/api/v1/catalogue/{vault[name].pk}/")
        assert response.status_code == 404, name
        assert response.json()["error"]["code"] == "stem_not_found"


def test_a_stem_taken_down_leaves_the_catalogue_at_once(vault, client_app, app_api, staff):
    from portal.review.services.takedowns import stem_takedown

    api = app_api(client_app)
    assert api.get(f"/api/v1/catalogue/{vault['pad'].pk}/").status_code == 200

    stem_takedown(stem=vault["pad"], staff=staff, reason="A rights claim.")

    assert api.get(f"/api/v1/catalogue/{vault['pad'].pk}/").status_code == 404
    assert "Warm pad" not in _titles(api)


def test_signed_in_people_browse_with_a_token_or_a_session(vault, outsider, api_for, client_for):
    assert _titles(api_for(outsider)) == {"Kick groove", "Deep bass", "Warm pad"}
    browser = client_for(outsider)
    response = browser.get("/api/v1/catalogue/")
    assert response.status_code == 200
    assert response.json()["count"] == 3


def test_anonymous_callers_and_unapproved_apps_are_refused(vault, api_for, developer):
    from rest_framework.test import APIClient

    anonymous = api_for(None)
    for url in ("/api/v1/catalogue/", f"/api/v1/catalogue/{vault['pad'].pk}/"):
        assert anonymous.get(url).status_code in (401, 403)
    pending = ClientAppFactory(owner=developer, name="Pending game", approved=False)
    approved = ClientAppFactory(owner=developer, name="Soon pending")
    plain = app_credential(approved)
    from portal.clients.models import AppStatus, ClientApp

    ClientApp.objects.filter(pk=approved.pk).update(status=AppStatus.SUSPENDED)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
    assert api.get("/api/v1/catalogue/").status_code == 401
    assert pending.status == AppStatus.PENDING


def test_the_detail_has_credits_with_shares_waveform_preview_state_and_how_to_pin(
    vault, client_app, app_api, artist, other_artist
):
    from portal.stems.models import Stem

    bass = vault["bass"]
    peaks = [[-0.1 * i, 0.1 * i] for i in range(1, 9)]
    Stem.objects.filter(pk=bass.pk).update(analysis={"waveform_peaks": peaks})

    body = app_api(client_app).get(f"/api/v1/catalogue/{bass.pk}/").json()

    assert [(c["username"], c["share_bps"], c["share"]) for c in body["credits"]] == [
        (artist.username, 7000, "70%"),
        (other_artist.username, 3000, "30%"),
    ]
    assert body["waveform_peaks"] == peaks
    assert body["key"] == "F#m" and body["bpm"] == 124.0 and body["duration_s"] == 16.0
    assert body["license"]["version"] == 1
    # No preview stored yet: the row says so (its job was queued when it entered the vault).
    assert body["preview"] is None and body["preview_status"] == "preparing"
    pin = body["use_in_soundtrack"]
    assert pin["field"] == "pinned_stem_ids"
    assert pin["example"] == {"pinned_stem_ids": [bass.pk]}
    assert pin["request_form"] == f"/soundtracks/?pin={bass.pk}"
    assert pin["request_api"] == "/api/v1/soundtracks/"
    # The original file is never offered: nothing in the answer points at the stem's audio.
    assert bass.audio.name not in str(body)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?mood=dark", {"Kick groove", "Deep bass"}),  # tags compared as the planner does
        ("?mood=DARK&role=bass", {"Deep bass"}),
        ("?genre=ambient", {"Warm pad"}),
        ("?role=drums", {"Kick groove"}),
        ("?kind=stem", {"Warm pad"}),
        ("?key=Gbm", {"Deep bass"}),  # F#m and Gbm are one key
        ("?key=C%20major", {"Warm pad"}),
        ("?bpm_min=100", {"Deep bass"}),
        ("?bpm_min=80&bpm_max=100", {"Kick groove"}),
        ("?length_min=30", {"Warm pad"}),
        ("?length_max=20", {"Kick groove", "Deep bass"}),
        ("?q=evolving", {"Warm pad"}),
        ("?q=groove", {"Kick groove"}),
        ("?mood=calm&genre=house", set()),
    ],
)
def test_it_filters_by_mood_genre_role_kind_key_tempo_length_and_text(
    vault, client_app, app_api, query, expected
):
    assert _titles(app_api(client_app), query) == expected


def test_it_finds_stems_by_their_artists_name(vault, client_app, app_api, other_artist):
    name = other_artist.display_name
    assert _titles(app_api(client_app), f"?q={name}") == {"Warm pad"}


@pytest.mark.parametrize(
    ("query", "code", "named"),
    [
        ("?mood=chill", "unknown_mood", ["calm", "dark", "tense", "uplifting"]),
        ("?genre=polka", "unknown_genre", ["ambient", "house", "techno"]),
        ("?role=kazoo", "unknown_role", ["drums", "bass", "fx"]),
        ("?kind=album", "unknown_kind", ["loop", "one-shot"]),
        ("?key=H", "unknown_key", ["F#m"]),
        ("?moood=dark", "unknown_filter", ["mood", "genre", "bpm_min", "length_max"]),
        ("?bpm_min=fast", "invalid", ["bpm_min"]),
    ],
)
def test_an_unknown_filter_value_is_a_400_naming_the_known_ones(
    vault, client_app, app_api, query, code, named
):
    response = app_api(client_app).get(f"/api/v1/catalogue/{query}")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == code
    for word in named:
        assert word in error["message"], (word, error["message"])


def test_a_genre_no_approved_stem_carries_is_unknown(vault, client_app, app_api):
    # "drone" is tagged only on a stem in review: not part of the vault's vocabulary.
    from portal.stems.models import Stem

    Stem.objects.filter(pk=vault["in_review"].pk).update(genres=["drone"])
    response = app_api(client_app).get("/api/v1/catalogue/?genre=drone")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unknown_genre"


def test_it_pages_with_the_api_pagination(vault, client_app, app_api):
    api = app_api(client_app)
    first = api.get("/api/v1/catalogue/?page_size=2").json()
    second = api.get("/api/v1/catalogue/?page_size=2&page=2").json()

    assert first["count"] == 3 and len(first["results"]) == 2 and first["next"]
    assert len(second["results"]) == 1 and second["next"] is None
    seen = [r["id"] for r in first["results"] + second["results"]]
    assert sorted(seen) == sorted(vault[n].pk for n in ("kick", "bass", "pad"))
    # Newest first.
    assert seen == sorted(seen, reverse=True)
    assert "mood" in first["filters"]
