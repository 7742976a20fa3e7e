"""Favourites: each person and each client app keeps its own list; nobody reads another's."""

from __future__ import annotations

import pytest

from tests.factories.clients import ClientAppFactory

pytestmark = pytest.mark.django_db


def _kept(api) -> list[int]:
    response = api.get("/api/v1/catalogue/favourites/")
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_an_app_keeps_and_forgets_stems(vault, client_app, app_api):
    api = app_api(client_app)
    pad, bass = vault["pad"], vault["bass"]

    assert api.put(f"/api/v1/catalogue/favourites/{pad.pk}/").status_code == 201
    assert api.put(f"/api/v1/catalogue/favourites/{pad.pk}/").status_code == 201  # once
    assert api.put(f"/api/v1/catalogue/favourites/{bass.pk}/").status_code == 201
    assert sorted(_kept(api)) == sorted([pad.pk, bass.pk])
    assert api.get(f"/api/v1/catalogue/{pad.pk}/").json()["is_favourite"] is True
    assert _titles_of(api, "?favourites=1") == {"Warm pad", "Deep bass"}

    assert api.delete(f"/api/v1/catalogue/favourites/{pad.pk}/").status_code == 204
    assert _kept(api) == [bass.pk]
    assert api.get(f"/api/v1/catalogue/{pad.pk}/").json()["is_favourite"] is False


def _titles_of(api, query: str) -> set[str]:
    return {r["title"] for r in api.get(f"/api/v1/catalogue/{query}").json()["results"]}


def test_favourites_are_kept_apart_between_apps_and_their_owner(
    vault, client_app, developer, app_api, api_for
):
    other_app = ClientAppFactory(owner=developer, name="Second game")
    first, second, owner = app_api(client_app), app_api(other_app), api_for(developer)

    first.put(f"/api/v1/catalogue/favourites/{vault['pad'].pk}/")
    second.put(f"/api/v1/catalogue/favourites/{vault['kick'].pk}/")
    owner.put(f"/api/v1/catalogue/favourites/{vault['bass'].pk}/")

    assert _kept(first) == [vault["pad"].pk]
    assert _kept(second) == [vault["kick"].pk]
    assert _kept(owner) == [vault["bass"].pk]
    # Removing through one app leaves the other lists alone.
    second.delete(f"/api/v1/catalogue/favourites/{vault['pad'].pk}/")
    assert _kept(first) == [vault["pad"].pk]
    assert first.get(f"/api/v1/catalogue/{vault['kick'].pk}/").json()["is_favourite"] is False


def test_favourites_are_kept_apart_between_people(vault, artist, outsider, api_for):
    mine, theirs = api_for(outsider), api_for(artist)
    mine.put(f"/api/v1/catalogue/favourites/{vault['pad'].pk}/")
    assert _kept(mine) == [vault["pad"].pk]
    assert _kept(theirs) == []


def test_only_catalogue_stems_can_be_kept_and_a_stem_taken_down_leaves_the_list(
    vault, client_app, app_api, staff
):
    from portal.review.services.takedowns import stem_takedown

    api = app_api(client_app)
    for name in ("in_review", "rejected", "taken_down"):
        response = api.put(f"/api/v1/catalogue/favourites/{vault[name].pk}/")
        assert response.status_code == 404, name
    api.put(f"/api/v1/catalogue/favourites/{vault['pad'].pk}/")
    stem_takedown(stem=vault["pad"], staff=staff, reason="A rights claim.")

    assert _kept(api) == []
    # The row can still be cleaned up.
    assert api.delete(f"/api/v1/catalogue/favourites/{vault['pad'].pk}/").status_code == 204


def test_anonymous_callers_have_no_favourites(vault, api_for):
    anonymous = api_for(None)
    assert anonymous.get("/api/v1/catalogue/favourites/").status_code in (401, 403)
    assert anonymous.put(f"/api/v1/catalogue/favourites/{vault['pad'].pk}/").status_code in (
        401,
        403,
    )
