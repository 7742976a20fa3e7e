"""Client apps: only an approved app's credentials report plays; staff decide; suspension bites."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from portal.accounts.services import token_issue
from portal.audit.models import AuditEntry
from portal.clients.models import AppCredential, AppStatus, ClientApp
from portal.clients.services import app_decide, app_register, credential_issue
from portal.core.errors import ApplicationError
from portal.mixes.models import Mix
from tests.factories.clients import ClientAppFactory
from tests.factories.royalties import PlayedMixFactory, PlayedStemFactory


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def app_mix(client_app: Any, artist: Any, clock: Any) -> Mix:
    mix = PlayedMixFactory(stems=[PlayedStemFactory(artist=artist)], even_seconds=60)
    Mix.objects.filter(pk=mix.pk).update(client_app=client_app)
    mix.refresh_from_db()
    clock.advance(timedelta(hours=2))  # listened to an hour ago, after it was rendered
    return mix


def play(mix: Mix, **extra: Any) -> dict[str, Any]:
    from django.utils import timezone

    return {
        "event_id": str(uuid.uuid4()),
        "mix_id": str(mix.pk),
        "listener_id": "listener-1",
        "started_at": (timezone.now() - timedelta(hours=1)).isoformat(),
        "ms_played": 45_000,
        **extra,
    }


def test_an_artist_can_no_longer_mint_a_token_that_reports_plays(
    outsider: Any, api_for: Any, app_mix: Mix
) -> None:
    with pytest.raises(ApplicationError) as refused:
        token_issue(user=outsider, name="my player", scope="player")
    assert refused.value.code == "invalid_scope"
    api = api_for(outsider)  # a full personal token
    response = api.post("/api/v1/plays/", {"events": [play(app_mix)]}, format="json")
    assert response.status_code == 403
    assert "client app" in response.json()["error"]["message"]
    minted = api.post("/api/v1/tokens/", {"name": "player", "scope": "player"}, format="json")
    assert minted.status_code == 400


def test_staff_reporting_plays_with_a_personal_token_is_refused_too(
    staff: Any, api_for: Any, app_mix: Mix
) -> None:
    response = api_for(staff).post("/api/v1/plays/", {"events": [play(app_mix)]}, format="json")
    assert response.status_code == 403


def test_an_approved_apps_credential_reports_plays(
    client_app: Any, app_api: Any, app_mix: Mix
) -> None:
    response = app_api(client_app).post(
        "/api/v1/plays/", {"events": [play(app_mix)]}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["accepted"] == 1


def test_a_new_app_waits_for_staff_and_gets_no_credential_until_approved(
    developer: Any, staff: Any
) -> None:
    app = app_register(owner=developer, name="Speedrun Radio")
    assert app.status == AppStatus.PENDING
    with pytest.raises(ApplicationError) as refused:
        credential_issue(app_id=app.pk, actor=developer, name="servers")
    assert refused.value.code == "app_not_approved"
    app_decide(app_id=app.pk, actor=staff, status=AppStatus.APPROVED)
    assert credential_issue(app_id=app.pk, actor=developer, name="servers").plain.startswith("sva_")
    assert AuditEntry.objects.filter(action="clients.app_approved", actor=staff).exists()


def test_an_artist_cannot_approve_their_own_app(developer: Any, api_for: Any) -> None:
    api = api_for(developer)
    created = api.post("/api/v1/apps/", {"name": "My farm"}, format="json")
    assert created.status_code == 201
    app_id = created.json()["id"]
    response = api.post(f"/api/v1/apps/{app_id}/decision/", {"status": "approved"}, format="json")
    assert response.status_code == 403
    assert ClientApp.objects.get(pk=app_id).status == AppStatus.PENDING
    with pytest.raises(ApplicationError):
        app_decide(app_id=app_id, actor=developer, status=AppStatus.APPROVED)


def test_suspending_an_app_stops_its_credentials_at_the_next_request(
    client_app: Any, app_api: Any, app_mix: Mix, staff: Any, api_for: Any
) -> None:
    api = app_api(client_app)
    assert api.post("/api/v1/plays/", {"events": [play(app_mix)]}, format="json").status_code == 200
    suspended = api_for(staff).post(
        f"/api/v1/apps/{client_app.pk}/decision/",
        {"status": "suspended", "reason": "Invented plays from a device farm"},
        format="json",
    )
    assert suspended.status_code == 200, suspended.content
    response = api.post("/api/v1/plays/", {"events": [play(app_mix)]}, format="json")
    assert response.status_code == 401
    assert "not approved" in response.json()["error"]["message"]
    assert api.get(f"/api/v1/soundtracks/{app_mix.pk}/").status_code == 401


def test_suspending_or_rejecting_needs_a_reason_the_owner_sees(
    client_app: Any, staff: Any, developer: Any, client_for: Any
) -> None:
    with pytest.raises(ApplicationError) as refused:
        app_decide(app_id=client_app.pk, actor=staff, status=AppStatus.SUSPENDED)
    assert refused.value.code == "reason_required"
    app_decide(app_id=client_app.pk, actor=staff, status=AppStatus.SUSPENDED, reason="Spike")
    page = client_for(developer).get("/apps/")
    assert "Spike" in page.content.decode()
    # Reinstated: approved again from suspended.
    assert app_decide(app_id=client_app.pk, actor=staff, status=AppStatus.APPROVED).is_approved


def test_a_revoked_credential_is_refused(client_app: Any, developer: Any, api_for: Any) -> None:
    from rest_framework.test import APIClient

    issued = credential_issue(app_id=client_app.pk, actor=developer, name="old")
    revoke = api_for(developer).delete(
        f"/api/v1/apps/{client_app.pk}/credentials/{issued.credential.pk}/"
    )
    assert revoke.status_code == 204
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.plain}")
    assert api.get("/api/v1/soundtracks/").status_code == 401


def test_an_app_credential_cannot_act_as_its_owner_elsewhere(client_app: Any, app_api: Any) -> None:
    api = app_api(client_app)
    assert api.get("/api/v1/stems/").status_code == 403
    assert api.post("/api/v1/apps/", {"name": "Another"}, format="json").status_code == 403
    assert api.get("/api/v1/soundtracks/").status_code == 200


def test_another_owners_app_credentials_cannot_be_issued_or_revoked(
    client_app: Any, outsider: Any, api_for: Any
) -> None:
    api = api_for(outsider)
    issued = api.post(f"/api/v1/apps/{client_app.pk}/credentials/", {"name": "x"}, format="json")
    assert issued.status_code == 404
    credential = credential_issue(app_id=client_app.pk, actor=client_app.owner, name="mine")
    revoked = api.delete(f"/api/v1/apps/{client_app.pk}/credentials/{credential.credential.pk}/")
    assert revoked.status_code == 404
    assert AppCredential.objects.get(pk=credential.credential.pk).revoked_at is None


def test_an_app_sees_only_the_soundtracks_it_requested(
    client_app: Any, app_api: Any, developer: Any, artist: Any
) -> None:
    web_mix = PlayedMixFactory(stems=[PlayedStemFactory(artist=artist)], even_seconds=30)
    Mix.objects.filter(pk=web_mix.pk).update(requested_by=developer)
    other_app = ClientAppFactory(owner=developer, name="Second game")
    other_mix = PlayedMixFactory(stems=[PlayedStemFactory(artist=artist)], even_seconds=30)
    Mix.objects.filter(pk=other_mix.pk).update(requested_by=developer, client_app=other_app)
    api = app_api(client_app)
    assert api.get(f"/api/v1/soundtracks/{web_mix.pk}/").status_code == 404
    assert api.get(f"/api/v1/soundtracks/{other_mix.pk}/").status_code == 404
    assert api.get("/api/v1/soundtracks/").json()["count"] == 0


def test_the_apps_page_registers_an_app_and_shows_a_credential_once(
    developer: Any, staff: Any, client_for: Any
) -> None:
    browser = client_for(developer)
    response = browser.post("/apps/", {"name": "Lo-fi Shop", "description": "In-store radio"})
    assert response.status_code == 302
    app = ClientApp.objects.get(owner=developer, name="Lo-fi Shop")
    assert app.status == AppStatus.PENDING
    staff_browser = client_for(staff)
    assert "Lo-fi Shop" in staff_browser.get("/staff/apps/").content.decode()
    staff_browser.post(f"/staff/apps/{app.pk}/decision/", {"status": "approved"})
    app.refresh_from_db()
    assert app.is_approved
    browser.post(f"/apps/{app.pk}/credentials/", {"name": "store players"})
    first = browser.get("/apps/").content.decode()
    assert 'data-testid="new-credential">sva_' in first
    assert "sva_" not in browser.get("/apps/").content.decode().split("new-credential")[0][-5:]
    assert 'data-testid="new-credential"' not in browser.get("/apps/").content.decode()


def test_only_staff_open_the_staff_apps_page(developer: Any, client_for: Any) -> None:
    assert client_for(developer).get("/staff/apps/").status_code == 403
    assert (
        client_for(developer).post("/staff/apps/1/decision/", {"status": "approved"}).status_code
        == 403
    )


def test_the_cli_registers_approves_and_prints_a_working_credential(
    developer: Any, staff: Any
) -> None:
    from io import StringIO

    from django.core.management import call_command
    from rest_framework.test import APIClient

    out = StringIO()
    call_command(
        "add_client_app", "CLI game", "--owner", developer.username, "--approve", stdout=out
    )
    plain = out.getvalue().strip()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
    assert api.get("/api/v1/soundtracks/").status_code == 200


def test_staff_see_which_plays_each_app_had_refused_and_why(
    client_app: Any, app_api: Any, app_mix: Mix, staff: Any, client_for: Any, artist: Any
) -> None:
    from django.utils import timezone

    preview = PlayedMixFactory(stems=[PlayedStemFactory(artist=artist)], even_seconds=60)
    Mix.objects.filter(pk=preview.pk).update(kind="preview", client_app=client_app)
    month_ago = (timezone.now() - timedelta(days=40)).isoformat()
    events = [play(preview) for _ in range(3)] + [play(app_mix, started_at=month_ago)] * 1
    events.append(play(app_mix))
    result = app_api(client_app).post("/api/v1/plays/", {"events": events}, format="json").json()
    assert result["accepted"] == 1
    page = client_for(staff).get("/staff/apps/").content.decode()
    assert 'data-code="preview_mix">preview_mix: 3<' in page
    assert 'data-code="too_late">too_late: 1<' in page
