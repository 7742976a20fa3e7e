"""Limits on sign-in and password-reset attempts, per account and per client address.

Counts live in the shared cache (Redis or the database table; see portal/core/cache.py), so
every web process sees the same ones. Each limit is a fixed window that starts with its first
attempt and lasts ACCOUNTS_ATTEMPT_WINDOW_MINUTES.

An attempt is counted *before* the password is checked (an atomic increment on Redis; the
database cache reads then writes), so a burst of parallel guesses cannot all pass the check
before any is counted; an attempt past
either limit is refused without checking the password at all. A successful sign-in clears its
account's count (whoever got in knows the password) but only takes back its own attempt from
its address's count: an attacker who tries many accounts from one address, and signs into one of
their own now and then, keeps every failure they made.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from portal.core.errors import ApplicationError


class TooManyAttempts(ApplicationError):
    status = 429


@dataclass(frozen=True)
class _Limit:
    scope: str
    setting: str
    message: str


LOGIN_PER_ACCOUNT = _Limit(
    "login-account",
    "ACCOUNTS_LOGIN_ATTEMPTS_PER_ACCOUNT",
    "Too many sign-in attempts for this account; try again in {minutes}.",
)
LOGIN_PER_ADDRESS = _Limit(
    "login-address",
    "ACCOUNTS_LOGIN_ATTEMPTS_PER_ADDRESS",
    "Too many sign-in attempts from your network address; try again in {minutes}.",
)
RESET_PER_ACCOUNT = _Limit(
    "reset-account",
    "ACCOUNTS_PASSWORD_RESETS_PER_ACCOUNT",
    "Too many password-reset requests for this email address; try again in {minutes}.",
)
RESET_PER_ADDRESS = _Limit(
    "reset-address",
    "ACCOUNTS_PASSWORD_RESETS_PER_ADDRESS",
    "Too many password-reset requests from your network address; try again in {minutes}.",
)


def _window_s() -> int:
    return int(settings.ACCOUNTS_ATTEMPT_WINDOW_MINUTES) * 60


def _address_key(address: str) -> str:
    # One IPv6 host usually holds a whole /64: counting single addresses there would give an
    # attacker 2**64 fresh ones.
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _key(limit: _Limit, value: str) -> str:
    digest = hashlib.sha256(value.encode()).hexdigest()[:40]
    return f"attempts:{limit.scope}:{digest}"


def _count(key: str) -> int:
    """One more attempt in this key's window; the window starts with the first one."""
    window = _window_s()
    cache.add(key, 0, window)
    cache.add(f"{key}:until", time.time() + window, window)
    try:
        return int(cache.incr(key))
    except ValueError:  # the window ended between add() and incr()
        cache.set(key, 1, window)
        return 1


def _refusal(limit: _Limit, key: str) -> TooManyAttempts:
    until = cache.get(f"{key}:until") or time.time() + _window_s()
    seconds = max(1, math.ceil(until - time.time()))
    minutes = max(1, math.ceil(seconds / 60))
    return TooManyAttempts(
        "too_many_attempts",
        limit.message.format(minutes=f"{minutes} minute{'s' if minutes != 1 else ''}"),
        extra={"retry_after_s": seconds},
    )


def _register(pairs: list[tuple[_Limit, str]]) -> None:
    # Every limit counts the attempt before any refuses it: hammering a locked account from one
    # address also uses up that address's allowance.
    counted = []
    for limit, value in pairs:
        key = _key(limit, value)
        counted.append((limit, key, _count(key)))
    for limit, key, count in counted:
        if count > int(getattr(settings, limit.setting)):
            raise _refusal(limit, key)


def _account(username: str) -> str:
    return username.strip().casefold()


def login_attempt_register(*, username: str, address: str) -> None:
    """Count a sign-in attempt; raises TooManyAttempts when the account or the address is
    over its limit (the caller must then not check the password)."""
    _register([(LOGIN_PER_ACCOUNT, _account(username)), (LOGIN_PER_ADDRESS, _address_key(address))])


def login_attempt_succeeded(*, username: str, address: str) -> None:
    account_key = _key(LOGIN_PER_ACCOUNT, _account(username))
    cache.delete_many([account_key, f"{account_key}:until"])
    with contextlib.suppress(ValueError):  # ValueError: that window already ended
        cache.decr(_key(LOGIN_PER_ADDRESS, _address_key(address)))


def password_reset_attempt_register(*, email: str, address: str) -> None:
    """Count a password-reset request, whether or not the email belongs to an account (the
    answer must not tell); raises TooManyAttempts past either limit."""
    _register([(RESET_PER_ACCOUNT, _account(email)), (RESET_PER_ADDRESS, _address_key(address))])
