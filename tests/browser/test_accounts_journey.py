from __future__ import annotations

import pytest

from portal.accounts.models import ApiToken, User

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_newcomer_signs_up_and_creates_an_api_token(page, shot):
    page.goto("/")
    assert "human-made" in page.inner_text("h1")
    shot(page, "home")
    page.get_by_role("link", name="Join as an artist").first.click()
    page.get_by_label("Username").fill("nadia")
    page.get_by_label("Email").fill("nadia@example.test")
    page.get_by_label("Display name").fill("Nadia Brass")
    page.get_by_label("Country").fill("MA")
    page.get_by_label("Password", exact=True).fill("a-long-unusual-passphrase")
    page.get_by_label("Password confirmation").fill("a-long-unusual-passphrase")
    shot(page, "signup-filled")
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url("**/dashboard/")
    assert "Hello, Nadia Brass" in page.inner_text("h1")
    shot(page, "dashboard")
    assert User.objects.get(username="nadia").role == "artist"

    page.get_by_role("link", name="Nadia Brass").click()
    page.get_by_label("Token name").fill("my player")
    page.get_by_role("button", name="Create token").click()
    token = page.get_by_test_id("new-token").inner_text()
    assert token.startswith("sv_")
    assert ApiToken.objects.filter(user__username="nadia", name="my player").exists()
    shot(page, "token-created")
    page.get_by_role("button", name="Revoke token my player").click()
    assert "revoked" in page.inner_text("table")
    assert ApiToken.objects.get(name="my player").revoked_at is not None
