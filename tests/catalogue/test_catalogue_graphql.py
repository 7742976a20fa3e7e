"""The catalogue through GraphQL: the same stems, filters, refusals, favourites, permissions and
throttle as the REST catalogue, from the same selectors and services."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.settings import api_settings

from tests.factories.clients import ClientAppFactory, app_credential

pytestmark = pytest.mark.django_db

GRAPHQL_URL = "/api/v1/graphql/"
LIST = """
query List($filter: CatalogueFilter, $page: Int! = 1, $pageSize: Int! = 50) {
  catalogue(filter: $filter, page: $page, pageSize: $pageSize) {
    count page pageSize numPages
    results {
      id title kind role bpm bars key moods genres durationS
      artist { username displayName }
      credits { username displayName shareBps share role }
      license { version title permittedUses }
      waveformPeaks preview { url } previewStatus isFavourite
      useInSoundtrack { field requestApi requestForm example }
      description createdAt
    }
  }
}
"""
DETAIL = """
query Detail($id: Int!) {
  catalogueStem(id: $id) {
    id title waveformPeaks description createdAt isFavourite
    credits { username shareBps share role }
    license { version title permittedUses }
  }
}
"""
ADD = "mutation Add($id: Int!) { addFavourite(stemId: $id) { stemId createdAt } }"
REMOVE = "mutation Remove($id: Int!) { removeFavourite(stemId: $id) }"


def gql(api: Any, query: str, variables: dict[str, Any] | None = None) -> Any:
    return api.post(GRAPHQL_URL, {"query": query, "variables": variables or {}}, format="json")


def _camel(card: dict[str, Any]) -> dict[str, Any]:
    """A REST card's fields under GraphQL's names, as a list query asks for them."""

    def camel(name: str) -> str:
        head, *rest = name.split("_")
        return head + "".join(word.title() for word in rest)

    def convert(value: Any) -> Any:
        if isinstance(value, dict):
            return {camel(k): convert(v) for k, v in value.items()}
        if isinstance(value, list):
            return [convert(v) for v in value]
        return value

    out = convert(card)
    out["useInSoundtrack"]["example"] = card["use_in_soundtrack"]["example"]  # JSON, as is
    return out


@pytest.mark.parametrize(
    ("rest_query", "graphql_filter"),
    [
        ("", None),
        ("?mood=DARK&role=bass", {"mood": "DARK", "role": "bass"}),
        ("?key=Gbm", {"key": "Gbm"}),
        ("?bpm_min=80&bpm_max=100", {"bpmMin": 80, "bpmMax": 100}),
        ("?length_max=20", {"lengthMax": 20.0}),
        ("?q=evolving&kind=stem", {"q": "evolving", "kind": "stem"}),
        ("?genre=ambient", {"genre": "ambient"}),
    ],
)
def test_an_app_lists_what_rest_lists_card_for_card(
    vault, client_app, app_api, rest_query, graphql_filter
):
    api = app_api(client_app)
    rest = api.get(f"/api/v1/catalogue/{rest_query}").json()
    answer = gql(api, LIST, {"filter": graphql_filter}).json()
    assert "errors" not in answer, answer
    page = answer["data"]["catalogue"]
    assert page["count"] == rest["count"] and page["count"] > 0
    assert page["page"] == 1 and page["numPages"] == 1 and page["pageSize"] == 50
    expected = [_camel(card) for card in rest["results"]]
    for card in expected:
        card.update(description=None, createdAt=None)
        card["license"]["permittedUses"] = None  # the detail's only, as in REST
        card["preview"] = None  # no preview rendered in this vault
    assert page["results"] == expected


@pytest.mark.parametrize(
    ("rest_query", "graphql_filter", "field"),
    [
        ("?mood=chill", {"mood": "chill"}, "mood"),
        ("?genre=polka", {"genre": "polka"}, "genre"),
        ("?role=kazoo", {"role": "kazoo"}, "role"),
        ("?key=H", {"key": "H"}, "key"),
        ("?bpm_min=-4", {"bpmMin": -4}, "bpm_min"),
    ],
)
def test_a_wrong_filter_is_refused_with_rests_code_message_and_known_values(
    vault, client_app, app_api, rest_query, graphql_filter, field
):
    api = app_api(client_app)
    rest = api.get(f"/api/v1/catalogue/{rest_query}")
    assert rest.status_code == 400
    error = rest.json()["error"]
    answer = gql(api, LIST, {"filter": graphql_filter}).json()
    assert answer["data"] is None
    (refusal,) = answer["errors"]
    assert refusal["message"] == error["message"]
    assert refusal["extensions"]["code"] == error["code"]
    assert refusal["extensions"]["status"] == 400
    graphql_field = next(iter(graphql_filter))
    assert refusal["extensions"]["fields"][graphql_field] == error["fields"][field]
    if field == "mood":  # the known moods, as REST lists them
        assert "calm" in refusal["message"] and "dark" in refusal["message"]


def test_it_pages_as_rest_does_and_refuses_a_page_too_large(vault, client_app, app_api):
    api = app_api(client_app)
    first = gql(api, LIST, {"pageSize": 2}).json()["data"]["catalogue"]
    second = gql(api, LIST, {"pageSize": 2, "page": 2}).json()["data"]["catalogue"]
    assert (first["count"], first["numPages"], len(first["results"])) == (3, 2, 2)
    assert len(second["results"]) == 1
    rest = api.get("/api/v1/catalogue/?page_size=2").json()["results"]
    rest += api.get("/api/v1/catalogue/?page_size=2&page=2").json()["results"]
    assert [r["id"] for r in first["results"] + second["results"]] == [r["id"] for r in rest]

    past = gql(api, LIST, {"pageSize": 2, "page": 3}).json()
    rest_past = api.get("/api/v1/catalogue/?page_size=2&page=3")
    assert past["data"] is None and rest_past.status_code == 404
    assert past["errors"][0]["extensions"]["code"] == rest_past.json()["error"]["code"]
    too_large = gql(api, LIST, {"pageSize": 201}).json()
    assert too_large["data"] is None
    assert too_large["errors"][0]["extensions"]["code"] == "invalid"
    assert "1 to 200" in too_large["errors"][0]["message"]


def test_a_stems_detail_is_rests_and_a_hidden_stem_is_not_found(vault, client_app, app_api, artist):
    from portal.stems.models import Stem

    bass = vault["bass"]
    peaks = [[-0.01 * i, 0.01 * i] for i in range(1, 81)]  # more than a list's 50 slices
    Stem.objects.filter(pk=bass.pk).update(analysis={"waveform_peaks": peaks})
    api = app_api(client_app)
    rest = api.get(f"/api/v1/catalogue/{bass.pk}/").json()
    stem = gql(api, DETAIL, {"id": bass.pk}).json()["data"]["catalogueStem"]
    assert stem["waveformPeaks"] == rest["waveform_peaks"] == peaks
    assert stem["description"] == rest["description"]
    assert stem["license"]["permittedUses"] == rest["license"]["permitted_uses"]
    assert stem["license"]["permittedUses"]  # the standard uses of the licence
    assert [(c["username"], c["shareBps"], c["role"]) for c in stem["credits"]] == [
        (c["username"], c["share_bps"], c["role"]) for c in rest["credits"]
    ]
    assert stem["credits"][0]["role"] == "contributor"
    assert stem["credits"][0]["username"] == artist.username
    assert stem["credits"][1]["role"] == "collaborator"

    for name in ("in_review", "rejected", "taken_down", "withdrawn"):
        answer = gql(api, DETAIL, {"id": vault[name].pk}).json()
        assert answer["data"] == {"catalogueStem": None}, name
        assert answer["errors"][0]["extensions"]["code"] == "stem_not_found", name
        assert answer["errors"][0]["extensions"]["status"] == 404


def test_favourites_added_and_removed_through_graphql_are_rests(
    vault, client_app, app_api, api_for
):
    api = app_api(client_app)
    pad = vault["pad"]
    added = gql(api, ADD, {"id": pad.pk}).json()
    assert "errors" not in added, added
    assert added["data"]["addFavourite"]["stemId"] == pad.pk
    again = gql(api, ADD, {"id": pad.pk}).json()["data"]["addFavourite"]
    assert again == added["data"]["addFavourite"]  # kept once
    listed = api.get("/api/v1/catalogue/favourites/").json()["results"]
    assert [r["id"] for r in listed] == [pad.pk]
    only = gql(api, LIST, {"filter": {"favourites": True}}).json()["data"]["catalogue"]
    assert [(r["id"], r["isFavourite"]) for r in only["results"]] == [(pad.pk, True)]
    # The app's list is the app's: its owner's personal list stays empty.
    owner = api_for(client_app.owner)
    assert (
        gql(owner, LIST, {"filter": {"favourites": True}}).json()["data"]["catalogue"]["count"] == 0
    )

    assert gql(api, REMOVE, {"id": pad.pk}).json()["data"] == {"removeFavourite": True}
    assert gql(api, REMOVE, {"id": pad.pk}).json()["data"] == {"removeFavourite": False}
    assert api.get("/api/v1/catalogue/favourites/").json()["results"] == []

    hidden = gql(api, ADD, {"id": vault["in_review"].pk}).json()
    assert hidden["data"] is None
    assert hidden["errors"][0]["extensions"]["code"] == "stem_not_found"
    assert api.get("/api/v1/catalogue/favourites/").json()["results"] == []


def test_callers_rest_refuses_are_refused_and_the_throttle_is_shared(
    vault, api_for, developer, monkeypatch
):
    from rest_framework.throttling import UserRateThrottle

    anonymous = api_for(None)
    rest = anonymous.get("/api/v1/catalogue/")
    answer = gql(anonymous, LIST)
    assert answer.status_code == rest.status_code == 401
    assert answer.json()["errors"][0]["extensions"]["code"] == rest.json()["error"]["code"]
    # An app suspended after its credential was issued: refused as REST refuses it.
    from portal.clients.models import AppStatus, ClientApp

    suspended = ClientAppFactory(owner=developer, name="Soon suspended")
    plain = app_credential(suspended)
    ClientApp.objects.filter(pk=suspended.pk).update(status=AppStatus.SUSPENDED)
    refused = api_for(None)
    refused.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
    assert refused.get("/api/v1/catalogue/").status_code == 401
    assert gql(refused, LIST).status_code == refused.get("/api/v1/catalogue/").status_code
    assert gql(refused, ADD, {"id": vault["pad"].pk}).status_code in (401, 403)

    monkeypatch.setattr(
        UserRateThrottle, "THROTTLE_RATES", {**api_settings.DEFAULT_THROTTLE_RATES, "user": "2/min"}
    )
    api = api_for(developer)
    assert api.get("/api/v1/catalogue/").status_code == 200
    assert gql(api, LIST).status_code == 200
    throttled = gql(api, LIST)
    assert throttled.status_code == 429
    assert throttled.json()["errors"][0]["extensions"]["code"] == "throttled"
    assert api.get("/api/v1/catalogue/").status_code == 429
