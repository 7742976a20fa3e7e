"""Sign-in and password-reset attempts are limited per account and per client address."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from tests.factories.accounts import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

ACCOUNT_REFUSAL = "Too many sign-in attempts for this account; try again in 15 minutes."
ADDRESS_REFUSAL = "Too many sign-in attempts from your network address; try again in 15 minutes."


def sign_in(username: str, password: str, *, address: str = "203.0.113.7", **headers: Any) -> Any:
    # A fresh client per attempt, as a script would: no cookie ties the attempts together.
    return Client(REMOTE_ADDR=address, **headers).post(
        reverse("accounts:login"), {"username": username, "password": password}
    )


def signed_in(response: Any) -> bool:
    return response.status_code == 302 and "_auth_user_id" in response.client.session


def test_after_five_wrong_passwords_even_the_right_one_is_refused_with_a_clear_message(artist):
    for _ in range(5):
        response = sign_in("alice", "wrong-guess")
        assert response.status_code == 200 and "enter a correct username" in response.text
    response = sign_in("alice", PASSWORD)
    assert response.status_code == 429
    assert ACCOUNT_REFUSAL in response.text
    assert 0 < int(response["Retry-After"]) <= 15 * 60
    assert not signed_in(response)


def test_the_account_limit_holds_whatever_address_the_guesses_come_from(artist):
    for n in range(5):
        sign_in("alice", "wrong-guess", address=f"198.51.100.{n}")
    response = sign_in("ALICE", PASSWORD, address="192.0.2.200")  # usernames count folded
    assert response.status_code == 429 and ACCOUNT_REFUSAL in response.text


def test_a_successful_sign_in_clears_the_accounts_count(artist):
    for _ in range(4):
        sign_in("alice", "wrong-guess")
    assert signed_in(sign_in("alice", PASSWORD))
    for _ in range(4):
        sign_in("alice", "wrong-guess")
    assert signed_in(sign_in("alice", PASSWORD))


def test_an_attacker_spraying_many_accounts_is_stopped_at_the_address_limit_even_after_signing_into_their_own(
    settings, outsider
):
    settings.ACCOUNTS_LOGIN_ATTEMPTS_PER_ADDRESS = 6
    victims = [UserFactory(username=f"victim{n}") for n in range(3)]
    attempts = 0
    for victim in victims:
        for _ in range(2):
            response = sign_in(victim.username, "Summer2026!")
            assert response.status_code == 200
            attempts += 1
        if attempts < 6:
            # Their own account, to reset the address's count if a success did: it must not.
            assert signed_in(sign_in("mallory", PASSWORD))
    assert attempts == 6
    for username in ("victim0", "mallory"):
        response = sign_in(username, PASSWORD)
        assert response.status_code == 429 and ADDRESS_REFUSAL in response.text
    # Someone else, at another address, signs in as usual.
    assert signed_in(sign_in("victim0", PASSWORD, address="192.0.2.50"))


def test_an_invented_x_forwarded_for_does_not_buy_a_fresh_address(settings, artist):
    settings.ACCOUNTS_LOGIN_ATTEMPTS_PER_ADDRESS = 3
    for n in range(3):
        sign_in(f"nobody{n}", "guess", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}")
    response = sign_in("alice", PASSWORD, HTTP_X_FORWARDED_FOR="10.9.9.9")
    assert response.status_code == 429 and ADDRESS_REFUSAL in response.text


def test_behind_a_trusted_proxy_the_address_it_reports_is_counted(settings, artist):
    settings.TRUSTED_PROXIES = 1
    settings.ACCOUNTS_LOGIN_ATTEMPTS_PER_ADDRESS = 3
    proxy = "10.0.0.1"
    for n in range(3):
        # The client wrote the first entry itself; our proxy appended the address it saw.
        sign_in(
            f"nobody{n}", "guess", address=proxy, HTTP_X_FORWARDED_FOR=f"1.2.3.{n}, 198.51.100.9"
        )
    assert (
        sign_in("alice", PASSWORD, address=proxy, HTTP_X_FORWARDED_FOR="198.51.100.9").status_code
        == 429
    )
    other = sign_in("alice", PASSWORD, address=proxy, HTTP_X_FORWARDED_FOR="198.51.100.10")
    assert signed_in(other)


def test_one_ipv6_network_counts_as_one_address(settings, artist):
    settings.ACCOUNTS_LOGIN_ATTEMPTS_PER_ADDRESS = 3
    for n in range(3):
        sign_in(f"nobody{n}", "guess", address=f"2001:db8:1:2::{n + 1:x}")
    response = sign_in("alice", PASSWORD, address="2001:db8:1:2:ffff::1")
    assert response.status_code == 429 and ADDRESS_REFUSAL in response.text


def test_the_admin_sign_in_page_has_the_same_limits(staff):
    for _ in range(5):
        Client().post("/admin/login/", {"username": "sam", "password": "wrong-guess"})
    response = Client().post("/admin/login/", {"username": "sam", "password": PASSWORD})
    assert ACCOUNT_REFUSAL in response.text
    assert "_auth_user_id" not in response.client.session


def reset(email: str, *, address: str = "203.0.113.7") -> Any:
    return Client(REMOTE_ADDR=address).post(reverse("accounts:password_reset"), {"email": email})


def test_password_resets_are_limited_per_email_without_telling_whether_it_has_an_account(artist):
    assert [reset("alice@example.test").status_code for _ in range(3)] == [302, 302, 302]
    response = reset("Alice@Example.test", address="192.0.2.9")
    assert response.status_code == 429
    assert (
        "Too many password-reset requests for this email address; try again in 15 minutes."
        in response.text
    )
    assert len(mail.outbox) == 3
    # An address with no account is refused the same way, so the refusal tells nothing.
    for _ in range(3):
        reset("nobody@example.test", address="192.0.2.10")
    assert reset("nobody@example.test", address="192.0.2.11").status_code == 429


def test_password_resets_are_limited_per_address(settings, artist):
    settings.ACCOUNTS_PASSWORD_RESETS_PER_ADDRESS = 4
    for n in range(4):
        assert reset(f"someone{n}@example.test").status_code == 302
    response = reset("alice@example.test")
    assert response.status_code == 429
    assert "Too many password-reset requests from your network address" in response.text
    assert mail.outbox == []
