"""Opening, reading and ending stream sessions through the client-app API."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.test import override_settings

from portal.streams.models import SessionStatus, StreamSegment, StreamSession
from tests.conftest import run_queued_jobs
from tests.factories.clients import ClientAppFactory
from tests.streams.conftest import open_stream, playlist_indexes

pytestmark = pytest.mark.django_db


def test_an_app_opens_a_stream_and_gets_its_playlist_url(api, vault):
    created = open_stream(api)
    session = StreamSession.objects.get(pk=created["id"])
    assert session.status == SessionStatus.LIVE and session.seed == 7
    assert created["controls"]["mood"] == "calm"
    assert created["playlist_url"].endswith("/live.m3u8")
    assert created["links"]["controls"].endswith(f"/api/v1/streams/{created['id']}/controls")


def test_the_first_segments_are_rendered_ahead_and_listed(api, client, vault):
    created = open_stream(api)
    run_queued_jobs()
    # Published: segment 0 (the next one half a second before it plays); rendered: that plus
    # the lead of 3, and one more of the run's batch of 2.
    assert playlist_indexes(client, created) == [0]
    rendered = StreamSegment.objects.filter(session_id=created["id"]).order_by("index")
    assert [s.index for s in rendered] == [0, 1, 2, 3, 4]
    # Each segment continues from the state stored on the one before it.
    for before, after in itertools.pairwise(rendered):
        assert after.start_frame == before.start_frame + before.frames


def test_an_unknown_mood_is_refused_with_the_known_moods(api, vault):
    response = api.post(
        "/api/v1/streams/", {"listener_id": "l", "mood": "jazzy", "intensity": 0.5}, format="json"
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_controls"
    assert "calm" in error["fields"]["mood"][0] and "tense" in error["fields"]["mood"][0]
    assert not StreamSession.objects.exists()


def test_bad_controls_get_the_house_error_shape(api, vault):
    response = api.post(
        "/api/v1/streams/", {"listener_id": "", "mood": "calm", "intensity": 3}, format="json"
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert set(error) >= {"code", "message", "fields"}
    assert "intensity" in error["fields"] and "listener_id" in error["fields"]


def test_a_personal_token_cannot_open_a_stream(api_for, developer, vault):
    response = api_for(developer).post(
        "/api/v1/streams/", {"listener_id": "l", "mood": "calm", "intensity": 0.5}, format="json"
    )
    assert response.status_code == 403
    assert not StreamSession.objects.exists()


def test_another_apps_session_is_not_found(api, app_api, other_artist, vault):
    created = open_stream(api)
    intruder = app_api(ClientAppFactory(owner=other_artist, name="Other app"))
    for path in ("", "controls", "heartbeat", "end"):
        url = f"/api/v1/streams/{created['id']}/{path}"
        response = intruder.post(url, {"position_s": 1, "intensity": 0.1}, format="json")
        assert response.status_code in (404, 405), path
    assert intruder.get(f"/api/v1/streams/{created['id']}/").status_code == 404


@override_settings(STREAM_MAX_SESSIONS_PER_APP=2)
def test_an_app_has_a_limit_of_live_sessions(api, vault):
    first = open_stream(api, listener_id="a")
    open_stream(api, listener_id="b")
    response = api.post(
        "/api/v1/streams/", {"listener_id": "c", "mood": "calm", "intensity": 0.5}, format="json"
    )
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "too_many_sessions"
    assert api.post(f"/api/v1/streams/{first['id']}/end", {}, format="json").status_code == 200
    open_stream(api, listener_id="c")


def test_an_ended_session_refuses_changes_and_its_playlist_ends(api, client, vault):
    created = open_stream(api)
    run_queued_jobs()
    ended = api.post(f"/api/v1/streams/{created['id']}/end", {}, format="json")
    assert ended.status_code == 200 and ended.json()["status"] == "ended"
    response = api.post(
        f"/api/v1/streams/{created['id']}/controls", {"intensity": 1}, format="json"
    )
    assert response.status_code == 409
    text = client.get(created["playlist_url"]).content.decode()
    assert "#EXT-X-ENDLIST" in text


def test_a_session_nobody_listens_to_goes_idle(api, clock, vault):
    created = open_stream(api)
    run_queued_jobs()
    clock.advance(timedelta(seconds=61))
    run_queued_jobs()
    session = StreamSession.objects.get(pk=created["id"])
    assert session.status == SessionStatus.IDLE
    response = api.post(
        f"/api/v1/streams/{created['id']}/heartbeat", {"position_s": 1}, format="json"
    )
    assert response.status_code == 409


def test_a_playback_url_with_a_wrong_token_is_not_found(api, client, vault):
    created = open_stream(api)
    forged = (
        created["playlist_url"].replace("/live.m3u8", "").rsplit("/", 1)[0] + "/forged/live.m3u8"
    )
    assert client.get(forged).status_code == 404
