"""The Sync API as GraphQL: the same soundtracks, checks, refusals and codes as REST."""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path
from typing import Any

import pytest
from django.test import Client, override_settings
from rest_framework.settings import api_settings
from rest_framework.test import APIClient
from strawberry.printer import print_schema

from portal.mixes.graphql.schema import MAX_ALIASES
from portal.mixes.models import Mix
from portal.site.graphql import schema
from tests.factories.accounts import UserFactory
from tests.factories.clients import ClientAppFactory
from tests.factories.mixes import MixFactory
from tests.factories.stems import vault_of

GRAPHQL_URL = "/api/v1/graphql/"
LIST_URL = "/api/v1/soundtracks/"
SCHEMA_FILE = Path(__file__).parents[2] / "portal" / "site" / "schema.graphql"

REQUEST = """
mutation Request($input: SoundtrackRequestInput!) {
  requestSoundtrack(input: $input) { id status progress jobId files { kind } manifest }
}
"""
READ = """
query Read($id: UUID!) {
  soundtrack(id: $id) {
    id status progress jobId request durationS loudnessLufs truePeakDbtp audioSha256 audioUrl
    error manifest
    files { kind url contentType }
    credits { artist stemId stemTitle stemRole splitBps shareBps licenseVersion }
  }
}
"""
LIST = "query { soundtracks { id status } }"


def gql(api: Any, query: str, variables: dict[str, Any] | None = None, **extra: Any) -> Any:
    return api.post(
        GRAPHQL_URL, {"query": query, "variables": variables or {}}, format="json", **extra
    )


def codes_of(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors") or []]


def codes(response: Any) -> list[str]:
    return codes_of(response.json())


def test_an_app_requests_a_soundtrack_through_graphql_and_reads_what_rest_reads(
    artist: Any, app_api: Any, client_app: Any, run_jobs: Any
) -> None:
    vault_of(artist)
    api = app_api(client_app)
    requested = gql(
        api, REQUEST, {"input": {"durationS": 12, "mood": "calm", "hitPoints": [4.0], "seed": 3}}
    )
    assert requested.status_code == 200, requested.content
    body = requested.json()
    assert "errors" not in body, body
    created = body["data"]["requestSoundtrack"]
    assert created["status"] == "queued" and created["progress"] == 0 and created["jobId"]
    assert created["files"] == [] and created["manifest"] is None
    mix = Mix.objects.get(pk=created["id"])
    assert mix.client_app == client_app and mix.requested_by == client_app.owner
    assert mix.request["hit_points"] == [4.0] and mix.request["seed"] == 3

    assert run_jobs() >= 1
    read = gql(api, READ, {"id": created["id"]}).json()
    assert "errors" not in read, read
    mine = read["data"]["soundtrack"]
    rest = api.get(f"{LIST_URL}{created['id']}/").json()
    assert mine["status"] == rest["status"] == "done"
    assert mine["progress"] == rest["progress"] == 100
    for graphql_name, rest_name in [
        ("id", "id"),
        ("jobId", "job_id"),
        ("request", "request"),
        ("durationS", "duration_s"),
        ("loudnessLufs", "loudness_lufs"),
        ("truePeakDbtp", "true_peak_dbtp"),
        ("audioSha256", "audio_sha256"),
        ("audioUrl", "audio_url"),
        ("error", "error"),
        ("manifest", "manifest"),
    ]:
        assert mine[graphql_name] == rest[rest_name], graphql_name
    assert mine["manifest"]["render_id"] == created["id"]

    # Every file it lists downloads with the same credential, and is the one REST serves.
    files = {f["kind"]: f for f in mine["files"]}
    assert set(files) == {"audio", "manifest", "certificate", "cue_sheet"}
    assert files["audio"]["url"] == rest["audio_url"]
    audio = api.get(files["audio"]["url"])
    assert audio.status_code == 200 and audio["Content-Type"] == files["audio"]["contentType"]
    assert b"".join(audio.streaming_content)[:4] == b"RIFF"
    assert api.get(files["manifest"]["url"]).json() == mine["manifest"]
    assert api.get(files["certificate"]["url"]).status_code == 200
    cue_sheet = api.get(files["cue_sheet"]["url"])
    assert cue_sheet.status_code == 200

    # The credits are the cue sheet's, row for row.
    rows = list(csv.DictReader(io.StringIO(cue_sheet.content.decode())))
    assert mine["credits"] and len(mine["credits"]) == len(rows)
    for credit, row in zip(mine["credits"], rows, strict=True):
        assert credit["artist"] == row["artist"] and credit["stemTitle"] == row["stem"]
        assert credit["stemId"] == row["stem_id"] and credit["stemRole"] == row["stem_role"]
        assert f"{credit['shareBps'] / 100:.2f}" == row["share_percent"]
        assert f"{credit['splitBps'] / 100:.2f}" == row["split_percent"]
    assert sum(c["shareBps"] for c in mine["credits"]) == 10000

    listing = gql(api, LIST).json()["data"]["soundtracks"]
    assert listing == [{"id": created["id"], "status": "done"}]


def test_another_clients_soundtrack_is_not_found_with_the_rest_code(
    artist: Any, other_artist: Any, app_api: Any, api_for: Any, client_app: Any
) -> None:
    mine = MixFactory(kind="soundtrack", requested_by=client_app.owner, client_app=client_app)
    theirs = MixFactory(kind="soundtrack", requested_by=other_artist)
    other_app = ClientAppFactory(owner=UserFactory(username="rival-studio"), name="Rival game")
    callers = {
        "another app": app_api(other_app),
        "another person": api_for(artist),
    }
    for name, api in callers.items():
        for mix in (mine, theirs):
            rest = api.get(f"{LIST_URL}{mix.pk}/")
            assert rest.status_code == 404, name
            answer = gql(api, READ, {"id": str(mix.pk)})
            assert answer.status_code == 200
            assert answer.json()["data"] == {"soundtrack": None}, name
            assert codes(answer) == [rest.json()["error"]["code"]] == ["mix_not_found"], name
            assert answer.json()["errors"][0]["extensions"]["status"] == 404
        assert gql(api, LIST).json()["data"]["soundtracks"] == [], name
    # The app itself sees its own, and so does its owner's personal token, as through REST.
    for api in (app_api(client_app), api_for(client_app.owner)):
        assert gql(api, LIST).json()["data"]["soundtracks"] == [
            {"id": str(mine.pk), "status": mine.status}
        ]
        assert gql(api, READ, {"id": str(mine.pk)}).json()["data"]["soundtrack"]["id"] == str(
            mine.pk
        )


@pytest.mark.parametrize(
    ("headers", "expected"),
    [({}, "not_authenticated"), ({"HTTP_AUTHORIZATION": "Bearer nope"}, "authentication_failed")],
)
def test_an_unauthenticated_request_is_refused_as_rest_refuses_it(
    db: None, headers: dict[str, str], expected: str
) -> None:
    api = APIClient()
    rest = api.post(LIST_URL, {"duration_s": 10, "mood": "calm"}, format="json", **headers)
    answer = gql(api, REQUEST, {"input": {"durationS": 10, "mood": "calm"}}, **headers)
    assert answer.status_code == rest.status_code == 401
    assert answer["WWW-Authenticate"] == rest["WWW-Authenticate"] == "Bearer"
    assert codes(answer) == [rest.json()["error"]["code"]] == [expected]
    assert answer.json()["data"] is None
    assert not Mix.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"duration_s": 3, "mood": "calm"}, "duration_s"),
        ({"duration_s": 700, "mood": "calm"}, "duration_s"),
        ({"duration_s": 20, "mood": "sleepy-ish"}, "mood"),
        ({"duration_s": 20, "mood": "calm", "hit_points": [12, 4]}, "hit_points"),
        ({"duration_s": 20, "mood": "calm", "loudness_lufs": -5}, "loudness_lufs"),
        ({"duration_s": 20, "mood": "calm", "format": "ogg"}, "format"),
        ({"duration_s": 20, "mood": "calm", "key": "H dorian"}, "key"),
        ({"duration_s": 20, "mood": "calm", "bpm": 200}, None),
    ],
)
def test_an_invalid_request_gets_the_rest_error_code(
    artist: Any, api_for: Any, payload: dict[str, Any], field: str | None
) -> None:
    vault_of(artist, bpm=120)
    api = api_for(artist)
    rest = api.post(LIST_URL, payload, format="json")
    assert rest.status_code in (400, 422)
    camel = {
        "".join(w.title() if i else w for i, w in enumerate(k.split("_"))): v
        for k, v in payload.items()
    }
    answer = gql(api, REQUEST, {"input": camel})
    assert answer.json()["data"] == {"requestSoundtrack": None}
    error = rest.json()["error"]
    assert codes(answer) == [error["code"]]
    extensions = answer.json()["errors"][0]["extensions"]
    assert extensions["status"] == rest.status_code
    assert answer.json()["errors"][0]["message"] == error["message"]
    if field is not None:
        graphql_field = next(k for k in camel if k.lower() == field.replace("_", ""))
        assert extensions["fields"][graphql_field] == error["fields"][field]
    assert not Mix.objects.exists()


def test_graphql_counts_on_the_rest_throttle(artist: Any, api_for: Any, monkeypatch: Any) -> None:
    from rest_framework.throttling import UserRateThrottle

    monkeypatch.setattr(
        UserRateThrottle, "THROTTLE_RATES", {**api_settings.DEFAULT_THROTTLE_RATES, "user": "3/min"}
    )
    api = api_for(artist)
    assert api.get(LIST_URL).status_code == 200
    assert api.get(LIST_URL).status_code == 200
    assert gql(api, LIST).status_code == 200  # the third request of the minute, either API
    refused = gql(api, LIST)
    assert refused.status_code == 429
    assert codes(refused) == ["throttled"]
    assert int(refused["Retry-After"]) > 0
    assert refused.json()["errors"][0]["extensions"]["retryAfter"] == int(refused["Retry-After"])
    assert api.get(LIST_URL).json()["error"]["code"] == "throttled"


def test_a_session_request_keeps_csrf_and_a_token_request_needs_none(
    artist: Any, api_for: Any
) -> None:
    vault_of(artist)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(artist)
    variables = {"input": {"durationS": 10, "mood": "calm"}}
    rest = browser.post(LIST_URL, {"duration_s": 10, "mood": "calm"}, "application/json")
    refused = browser.post(
        GRAPHQL_URL, {"query": REQUEST, "variables": variables}, "application/json"
    )
    assert refused.status_code == rest.status_code == 403
    assert codes(refused) == [rest.json()["error"]["code"]] == ["permission_denied"]
    assert "CSRF" in refused.json()["errors"][0]["message"]
    assert not Mix.objects.exists()
    # A GET only reads (strawberry runs no mutation over GET), so it needs no token.
    assert browser.get(GRAPHQL_URL, {"query": LIST}).json() == {"data": {"soundtracks": []}}
    over_get = browser.get(
        GRAPHQL_URL,
        {"query": 'mutation { requestSoundtrack(input: {durationS: 10, mood: "calm"}) { id } }'},
    )
    assert over_get.status_code == 400 and b"mutations are not allowed" in over_get.content.lower()
    assert not Mix.objects.exists()

    token = api_for(artist)._credentials["HTTP_AUTHORIZATION"]
    api = Client(enforce_csrf_checks=True)
    accepted = api.post(
        GRAPHQL_URL,
        {"query": REQUEST, "variables": variables},
        "application/json",
        HTTP_AUTHORIZATION=token,
    )
    assert "errors" not in accepted.json(), accepted.json()
    assert Mix.objects.get().requested_by == artist


def test_a_page_larger_than_rests_is_refused(artist: Any, api_for: Any) -> None:
    answer = gql(api_for(artist), "{ soundtracks(limit: 201) { id } }").json()
    assert answer["data"] is None and codes_of(answer) == ["invalid"]
    assert "1 to 200" in answer["errors"][0]["extensions"]["fields"]["limit"][0]


def test_too_many_aliases_are_refused_before_anything_runs(artist: Any, api_for: Any) -> None:
    query = "{ " + " ".join(f"a{i}: soundtracks {{ id }}" for i in range(MAX_ALIASES + 1)) + " }"
    answer = gql(api_for(artist), query)
    assert answer.json()["data"] is None
    assert codes(answer) == ["invalid_query"]
    assert (
        gql(api_for(artist), "{ soundtracks { nope } }").json()["errors"][0]["extensions"]["code"]
        == "invalid_query"
    )


def test_graphiql_is_served_under_debug_only(artist: Any, client_for: Any) -> None:
    browser = client_for(artist)
    with override_settings(DEBUG=False):
        production = browser.get(GRAPHQL_URL, HTTP_ACCEPT="text/html")
    assert b"graphiql" not in production.content.lower()
    assert production.status_code == 404
    with override_settings(DEBUG=True):
        debug = browser.get(GRAPHQL_URL, HTTP_ACCEPT="text/html")
    assert debug.status_code == 200 and b"graphiql" in debug.content.lower()
    assert "https://unpkg.com" in debug["Content-Security-Policy"]


def test_the_checked_in_schema_is_the_one_served() -> None:
    printed = print_schema(schema)
    assert SCHEMA_FILE.read_text(encoding="utf-8") == printed, (
        f"{SCHEMA_FILE.relative_to(SCHEMA_FILE.parents[2])} is not the schema the code serves: "
        "run `make graphql-schema` (python manage.py export_schema "
        "portal.site.graphql:schema --path portal/site/schema.graphql) "
        "and commit it"
    )


def test_an_unexpected_failure_answers_server_error_and_is_logged_as_rests(
    artist: Any, api_for: Any, monkeypatch: Any, caplog: Any
) -> None:
    from portal.mixes import services

    def broken(**kwargs: Any) -> Mix:
        raise RuntimeError("the secret database password is hunter2")

    monkeypatch.setattr(services, "soundtrack_request", broken)
    api = api_for(artist)
    api.raise_request_exception = False
    with caplog.at_level(logging.ERROR, logger="django.request"):
        answer = gql(api, REQUEST, {"input": {"durationS": 10, "mood": "calm"}})
    error = answer.json()["errors"][0]
    assert error["extensions"] == {"code": "server_error", "status": 500}
    assert "hunter2" not in answer.content.decode()
    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.levelno == logging.ERROR and GRAPHQL_URL in record.getMessage()
    assert record.exc_info and isinstance(record.exc_info[1], RuntimeError)


def test_a_render_quota_refusal_carries_rests_code_and_retry_after(
    artist: Any, api_for: Any, settings: Any, clock: Any
) -> None:
    from datetime import UTC, datetime

    settings.MIXES_RENDER_SECONDS_PER_DAY_PER_ACCOUNT = 30
    clock.set(datetime(2026, 12, 2, 23, 50, tzinfo=UTC))
    vault_of(artist)
    api = api_for(artist)
    accepted = gql(api, REQUEST, {"input": {"durationS": 20, "mood": "calm"}})
    assert "errors" not in accepted.json(), accepted.json()
    rest = api.post(LIST_URL, {"duration_s": 15, "mood": "calm"}, format="json")
    refused = gql(api, REQUEST, {"input": {"durationS": 15, "mood": "calm"}})
    assert rest.status_code == 429
    [error] = refused.json()["errors"]
    assert error["message"] == rest.json()["error"]["message"]
    assert error["extensions"] == {"code": "render_quota", "status": 429, "retryAfter": 600}
    assert refused["Retry-After"] == rest["Retry-After"] == "600"
    assert Mix.objects.count() == 1
