"""The site's own player (/listen/): streams on the first-party house app, opened and steered by
the signed-in user through the session cookie, never reaching another user's session."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from portal.clients.house import (
    HOUSE_APP_NAME,
    HOUSE_OWNER_USERNAME,
    house_app,
    house_app_ensure,
    house_listener_id,
)
from portal.clients.models import AppStatus, ClientApp
from portal.clients.services import app_decide
from portal.streams.models import StreamSegment, StreamSession
from tests.conftest import run_queued_jobs

pytestmark = pytest.mark.django_db

START = "/listen/streams/"


def _json(response: Any) -> dict[str, Any]:
    return dict(json.loads(response.content))


def _start(browser: Client, **body: Any) -> Any:
    return browser.post(
        START,
        json.dumps({"mood": "calm", "intensity": 0.5, **body}),
        content_type="application/json",
    )


def _path(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def test_the_house_app_is_made_once_approved_and_owned_by_an_account_nobody_signs_in_as():
    first = house_app_ensure()
    again = house_app_ensure()
    assert first.pk == again.pk == house_app().pk  # type: ignore[union-attr]
    assert ClientApp.objects.filter(name=HOUSE_APP_NAME).count() == 1
    assert first.status == AppStatus.APPROVED and first.name == HOUSE_APP_NAME
    owner = first.owner
    assert owner.username == HOUSE_OWNER_USERNAME
    assert not owner.is_active and not owner.is_staff and not owner.has_usable_password()
    assert not first.credentials.exists()  # the page needs none: it is the signed-in user's


def test_a_signed_in_user_opens_a_stream_on_the_house_app_as_their_own_listener(
    client_for, outsider, vault
):
    response = _start(client_for(outsider))
    assert response.status_code == 201, response.content
    body = _json(response)
    session = StreamSession.objects.get(pk=body["id"])
    assert session.app == house_app()
    assert session.listener_id == house_listener_id(outsider) == f"user:{outsider.pk}"
    assert session.controls["mood"] == "calm"
    # The body's links lead to the page's endpoints, which take the session cookie.
    assert _path(body["links"]["controls"]) == f"/listen/streams/{session.pk}/controls"
    assert body["counted_s"] == 0


def test_the_listener_id_cannot_be_chosen_by_the_page(client_for, outsider, artist, vault):
    response = _start(client_for(outsider), listener_id=house_listener_id(artist))
    assert response.status_code == 201
    assert StreamSession.objects.get().listener_id == house_listener_id(outsider)


def test_another_users_session_is_not_found(client_for, outsider, artist, vault):
    opened = _json(_start(client_for(outsider)))
    other = client_for(artist)
    for name in ("controls", "feedback", "heartbeat", "end"):
        response = other.post(
            _path(opened["links"][name]),
            json.dumps({"mood": "tense", "event": "skip", "position_s": 1}),
            content_type="application/json",
        )
        assert response.status_code == 404, name
        assert _json(response)["error"]["code"] == "not_found"
    assert other.get(_path(opened["links"]["detail"])).status_code == 404
    session = StreamSession.objects.get(pk=opened["id"])
    assert session.controls["mood"] == "calm" and session.is_live


def test_an_app_credential_does_not_reach_house_sessions(
    client_for, outsider, vault, app_api, client_app
):
    opened = _json(_start(client_for(outsider)))
    response = app_api(client_app).post(
        f"/api/v1/streams/{opened['id']}/controls", {"mood": "tense"}, format="json"
    )
    assert response.status_code == 404


def test_the_page_endpoints_need_a_signed_in_user_and_the_csrf_token(outsider, vault):
    assert _start(Client()).status_code == 403
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(outsider)
    refused = _start(strict)
    assert refused.status_code == 403 and "CSRF" in refused.content.decode()
    assert not StreamSession.objects.exists()
    page = strict.get("/listen/")
    token = page.context["csrf_token"]
    accepted = strict.post(
        START,
        json.dumps({"mood": "calm", "intensity": 0.5}),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=str(token),
    )
    assert accepted.status_code == 201


def test_a_suspended_house_app_opens_no_streams(client_for, outsider, staff, vault):
    app = house_app_ensure()
    app_decide(app_id=app.pk, actor=staff, status=AppStatus.SUSPENDED, reason="Abuse seen.")
    response = _start(client_for(outsider))
    assert response.status_code == 409
    assert _json(response)["error"]["code"] == "house_app_unavailable"
    assert not StreamSession.objects.exists()
    assert house_app().status == AppStatus.SUSPENDED  # type: ignore[union-attr]


def test_heartbeats_answer_the_seconds_the_server_counted(client_for, outsider, vault, clock):
    browser = client_for(outsider)
    opened = _json(_start(browser))
    run_queued_jobs()
    base = _path(opened["playlist_url"]).rsplit("/", 1)[0]
    position = 0.0
    answers = []
    for _ in range(4):
        browser.get(base + "/live.m3u8")
        run_queued_jobs()
        for index in range(int(position // 2) + 2):
            browser.get(f"{base}/seg/{index}.m4s")
        clock.advance(timedelta(seconds=2))
        position += 2
        # A position a little into the next segment: only whole confirmed segments count.
        beat = browser.post(
            _path(opened["links"]["heartbeat"]),
            json.dumps({"position_s": position + 0.5}),
            content_type="application/json",
        )
        assert beat.status_code == 200, beat.content
        answers.append(_json(beat)["counted_s"])
    confirmed = StreamSegment.objects.filter(session_id=opened["id"], confirmed_at__isnull=False)
    frames = sum(s.frames for s in confirmed)
    assert answers == [2.0, 4.0, 6.0, 8.0]
    assert answers[-1] == round(frames / 48_000, 3)
    detail = _json(browser.get(_path(opened["links"]["detail"])))
    # The position is capped by the wall time since the origin (8 s of test clock).
    assert detail["counted_s"] == 8.0 and detail["confirmed_s"] == 8.0


def test_the_listen_page_lets_media_come_from_blob_urls_and_nothing_else_loosens(
    client_for, outsider, vault
):
    browser = client_for(outsider)
    page = browser.get("/listen/")
    assert page.status_code == 200
    policy = _directives(page["Content-Security-Policy"])
    # The storage's origin (S3 in production) stays allowed, as on every page.
    media_origins = list(getattr(settings, "CSP_MEDIA_ORIGINS", []))
    assert policy["media-src"].split() == ["'self'", "blob:", *media_origins]
    assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
    assert "unsafe" not in page["Content-Security-Policy"]
    # Elsewhere the site's policy keeps media to its own origins, and every other directive of
    # this page is the site's own.
    other = _directives(browser.get("/dashboard/")["Content-Security-Policy"])
    assert other["media-src"].split() == ["'self'", *media_origins]
    assert {k: v for k, v in policy.items() if k != "media-src"} == {
        k: v for k, v in other.items() if k != "media-src"
    }


def _directives(header: str) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in header.split(";") if part.strip())


def test_the_navigation_links_to_the_player_and_the_page_needs_sign_in(client_for, outsider):
    dashboard = client_for(outsider).get("/dashboard/").content.decode()
    assert 'href="/listen/"' in dashboard
    anonymous = Client().get("/listen/")
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]


def test_an_artist_listening_on_the_site_never_hears_and_so_never_pays_their_own_stems(
    client_for, artist, other_artist, vault, app_api, client_app
):
    own = {str(s.pk) for s in vault if s.artist_id == artist.pk}
    opened = _json(_start(client_for(artist)))
    run_queued_jobs()
    heard = StreamSegment.objects.filter(session_id=opened["id"]).values_list("stems", flat=True)
    assert heard and all(stems for stems in heard)
    assert not own & {str(s) for stems in heard for s in stems}
    # Only on the house app: another app's listener "user:<pk>" is that app's own pseudonym.
    other = app_api(client_app).post(
        "/api/v1/streams/",
        {"listener_id": house_listener_id(artist), "mood": "calm", "intensity": 0.5, "seed": 7},
        format="json",
    )
    assert other.status_code == 201
    run_queued_jobs()
    elsewhere = StreamSegment.objects.filter(session_id=other.json()["id"])
    assert own & {str(s) for stems in elsewhere.values_list("stems", flat=True) for s in stems}
