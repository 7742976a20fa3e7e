"""Audio URLs a client hands straight to a player (a signed link, no header needed, expiring),
and iterating on a take through GraphQL."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from rest_framework.test import APIClient

from portal.mixes.models import Mix
from tests.factories.clients import ClientAppFactory
from tests.factories.stems import vault_of
from tests.helpers.storage import fetch_link, on_s3
from tests.helpers.sync_api import LIST_URL, detail_url, download

GRAPHQL_URL = "/api/v1/graphql/"


def _done(app_api: Any, client_app: Any, run_jobs: Any) -> tuple[Any, dict[str, Any]]:
    api = app_api(client_app)
    response = api.post(LIST_URL, {"duration_s": 8, "mood": "calm"}, format="json")
    assert response.status_code == 202, response.content
    queued = api.get(detail_url(response.json()["id"])).json()
    assert queued["audio_link"] is None and queued["audio_link_expires_at"] is None
    run_jobs()
    return api, api.get(detail_url(response.json()["id"])).json()


def test_a_player_plays_the_audio_link_without_any_header_until_it_expires(
    artist: Any, app_api: Any, client_app: Any, run_jobs: Any, monkeypatch: Any
) -> None:
    vault_of(artist)
    api, body = _done(app_api, client_app, run_jobs)
    link = body["audio_link"]
    expires = datetime.fromisoformat(body["audio_link_expires_at"]).timestamp()
    assert time.time() + 60 < expires <= time.time() + 24 * 3600
    player = APIClient()  # an <audio> element: no Authorization header
    assert player.get(body["audio_url"]).status_code in (401, 403)
    status, played = fetch_link(player, link)
    assert status == 200 and played == download(api, body["audio_url"])
    status, first_bytes = fetch_link(player, link, Range="bytes=0-3")
    assert status == 206 and first_bytes == b"RIFF"
    if on_s3():
        return  # S3 checks its own presigned URLs (tests/core/test_stored_files.py)
    assert link.startswith("http://testserver/")  # absolute: a player on another origin
    tampered = link[:-3] + ("aaa" if not link.endswith("aaa") else "bbb")
    assert player.get(tampered).status_code == 404
    later = expires + 1
    monkeypatch.setattr(time, "time", lambda: later)
    assert player.get(link).status_code == 404


def _gql(api: Any, query: str, **variables: Any) -> dict[str, Any]:
    response = api.post(GRAPHQL_URL, {"query": query, "variables": variables}, format="json")
    assert response.status_code == 200, response.content
    body: dict[str, Any] = response.json()
    return body


def test_graphql_iterates_on_a_take_as_rest_does(
    artist: Any, app_api: Any, client_app: Any, run_jobs: Any, developer: Any
) -> None:
    stems = [*vault_of(artist), *vault_of(artist)]
    api, body = _done(app_api, client_app, run_jobs)
    read = _gql(
        api,
        "query($id: UUID!) { soundtrack(id: $id) { audioLink audioLinkExpiresAt familyId "
        "parentId name } }",
        id=body["id"],
    )["data"]["soundtrack"]
    assert read["audioLink"]
    assert datetime.fromisoformat(read["audioLinkExpiresAt"]).timestamp() > time.time()
    assert read["familyId"] == body["id"] and read["parentId"] is None
    variations = _gql(
        api,
        "mutation($id: UUID!) { createSoundtrackVariations(id: $id, count: 2) "
        "{ id parentId request } }",
        id=body["id"],
    )["data"]["createSoundtrackVariations"]
    assert [v["request"]["seed"] for v in variations] == [1, 2]
    mix = Mix.objects.get(pk=body["id"])
    drums = [s for s in stems if s.role == "drums"]
    old = next(d for d in drums if any(str(d.pk) == s["id"] for s in mix.plan["stems"]))
    new = next(d for d in drums if d is not old)
    version = _gql(
        api,
        "mutation($id: UUID!, $changes: SoundtrackVersionInput!) { "
        "createSoundtrackVersion(id: $id, changes: $changes) { id name changes request } }",
        id=body["id"],
        changes={"swap": {"from": old.pk, "to": new.pk}, "name": "Swapped"},
    )["data"]["createSoundtrackVersion"]
    assert version["name"] == "Swapped" and version["request"]["pinned_stem_ids"] == [new.pk]
    described = _gql(
        api,
        'mutation($id: UUID!) { describeSoundtrack(id: $id, notes: "keep") { notes } }',
        id=version["id"],
    )["data"]["describeSoundtrack"]
    assert described["notes"] == "keep"
    family = _gql(api, "query($id: UUID!) { soundtrackFamily(id: $id) { id } }", id=version["id"])[
        "data"
    ]["soundtrackFamily"]
    assert [f["id"] for f in family] == [body["id"], *(v["id"] for v in variations), version["id"]]
    refused = _gql(
        api,
        "mutation($id: UUID!) { createSoundtrackVersion(id: $id, changes: {}) { id } }",
        id=body["id"],
    )
    assert refused["errors"][0]["extensions"]["code"] == "no_changes"
    other = app_api(ClientAppFactory(owner=developer, name="Another game"))
    hidden = _gql(
        other,
        "mutation($id: UUID!) { createSoundtrackVariations(id: $id) { id } }",
        id=body["id"],
    )
    assert hidden["errors"][0]["extensions"]["code"] == "mix_not_found"
