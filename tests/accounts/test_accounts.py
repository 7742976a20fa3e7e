from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from portal.accounts.models import ApiToken, ArtistProfile, User
from tests.factories.accounts import PASSWORD

pytestmark = pytest.mark.django_db


def test_signing_up_creates_an_artist_with_a_profile_and_logs_them_in(client):
    response = client.post(
        reverse("accounts:signup"),
        {
            "username": "nina",
            "email": "nina@example.test",
            "display_name": "Nina Simone-Ish",
            "country": "fr",
            "password1": "a-long-unusual-passphrase",
            "password2": "a-long-unusual-passphrase",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(username="nina")
    assert user.role == "artist"
    assert ArtistProfile.objects.get(user=user).country == "FR"
    assert client.get(reverse("site:dashboard")).status_code == 200


def test_signup_refuses_a_taken_username_and_says_so(client, artist):
    response = client.post(
        reverse("accounts:signup"),
        {
            "username": "alice",
            "email": "x@example.test",
            "display_name": "X",
            "password1": "a-long-unusual-passphrase",
            "password2": "a-long-unusual-passphrase",
        },
    )
    assert response.status_code == 200
    assert "That username is taken" in response.content.decode()
    assert User.objects.filter(username__iexact="alice").count() == 1


def test_log_in_and_out(client, artist):
    response = client.post(reverse("accounts:login"), {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("site:dashboard")).status_code == 200
    client.post(reverse("accounts:logout"))
    assert client.get(reverse("site:dashboard")).status_code == 302


def test_password_reset_mails_a_link_that_sets_a_new_password(client, artist):
    client.post(reverse("accounts:password_reset"), {"email": "alice@example.test"})
    assert len(mail.outbox) == 1
    link = re.search(r"http://\S+/password-reset/\S+/\S+/", mail.outbox[0].body)
    assert link, mail.outbox[0].body
    response = client.get(link.group(0), follow=True)
    form_url = response.redirect_chain[-1][0]
    response = client.post(
        form_url,
        {"new_password1": "brand-new-passphrase-9", "new_password2": "brand-new-passphrase-9"},
    )
    assert response.status_code == 302
    artist.refresh_from_db()
    assert artist.check_password("brand-new-passphrase-9")


def test_add_user_creates_each_role(db):
    out = StringIO()
    call_command("add_user", "cur", "--role", "curator", "--password", "pw-123456789", stdout=out)
    call_command("add_user", "boss", "--role", "staff", stdout=out)
    assert User.objects.get(username="cur").role == "curator"
    boss = User.objects.get(username="boss")
    assert boss.role == "staff" and boss.is_staff and not boss.has_usable_password()
    with pytest.raises(CommandError, match="already taken"):
        call_command("add_user", "cur", "--role", "artist", stdout=out)


def test_issue_token_prints_a_token_that_authenticates_and_is_stored_hashed(artist):
    out = StringIO()
    call_command("issue_token", "alice", stdout=out)
    plain = out.getvalue().strip()
    assert plain.startswith("sv_")
    stored = ApiToken.objects.get(user=artist)
    assert plain not in (stored.key_hash, stored.prefix)
    assert stored.key_hash != plain and len(stored.key_hash) == 64
    from rest_framework.test import APIClient

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
    response = api.get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json()["username"] == "alice"


def test_a_revoked_token_is_refused_with_the_error_shape(artist, api_for, client_for):
    api = api_for(artist)
    assert api.get("/api/v1/me/").status_code == 200
    token = ApiToken.objects.get(user=artist)
    browser = client_for(artist)
    browser.post(reverse("accounts:token_revoke", args=[token.pk]))
    response = api.get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"
    assert "revoked" in response.json()["error"]["message"]


def test_the_account_page_creates_a_token_and_shows_it_once(artist, client_for):
    browser = client_for(artist)
    browser.post(reverse("accounts:token_create"), {"name": "laptop", "scope": "full"})
    first = browser.get(reverse("accounts:account")).content.decode()
    shown = re.search(r'data-testid="new-token">(sv_[^<]+)<', first)
    assert shown
    second = browser.get(reverse("accounts:account")).content.decode()
    assert shown.group(1) not in second


def test_the_api_accepts_session_authentication(artist, client_for):
    response = client_for(artist).get("/api/v1/me/")
    assert response.status_code == 200 and response.json()["role"] == "artist"


def test_an_app_credential_cannot_manage_its_owners_tokens(client_app, app_api):
    api = app_api(client_app)
    assert api.get("/api/v1/me/").status_code == 200
    response = api.post("/api/v1/tokens/", {"name": "x"})
    assert response.status_code == 403
    assert "client app" in response.json()["error"]["message"]


def test_tokens_can_be_created_and_revoked_through_the_api(artist, api_for):
    api = api_for(artist)
    created = api.post("/api/v1/tokens/", {"name": "ci"}, format="json")
    assert created.status_code == 201
    new_id = created.json()["id"]
    assert api.delete(f"/api/v1/tokens/{new_id}/").status_code == 204
    assert ApiToken.objects.get(pk=new_id).revoked_at is not None
    assert api.delete("/api/v1/tokens/999999/").status_code == 404
