"""Completion webhooks for client apps: the signature, the address guard and one HTTP attempt.

A delivery is an HTTP POST of the event's JSON to the app's webhook URL, with

    Stemvault-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>
    Stemvault-Event-Id: <the event's id, the same on every attempt>

as Stripe signs its webhooks: the receiver recomputes the HMAC over the timestamp, a dot and
the raw body bytes with the app's webhook secret, compares in constant time, and refuses a
timestamp older than a few minutes (a replay). `verify_signature` is the reference
implementation (README, "Completion webhooks").

Address guard (SSRF): a webhook URL must be https and resolve only to public addresses;
loopback, private, link-local, multicast and reserved ranges are refused, at registration and
again before each attempt (DNS may have changed). `WEBHOOKS_ALLOW_PRIVATE_ADDRESSES` (on with
DEBUG, and in tests) lets a local receiver on http://127.0.0.1 take them. Redirects are not
followed and no proxy is used, so a public URL cannot bounce a delivery inward.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

SIGNATURE_HEADER = "Stemvault-Signature"
EVENT_ID_HEADER = "Stemvault-Event-Id"
SIGNATURE_TOLERANCE_S = 300
_USER_AGENT = "Stemvault-Webhooks/1"


def webhook_body(payload: dict[str, Any]) -> bytes:
    """The bytes sent and signed: the payload's canonical JSON, the same on every attempt."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()


def _mac(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The Stemvault-Signature header for `body` signed at `timestamp`."""
    return f"t={timestamp},v1={_mac(secret, timestamp, body)}"


def verify_signature(
    secret: str,
    header: str,
    body: bytes,
    *,
    tolerance_s: int = SIGNATURE_TOLERANCE_S,
    now: float | None = None,
) -> bool:
    """Whether `header` signs `body` with `secret` within `tolerance_s` of `now`."""
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        parts.setdefault(name, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance_s:
        return False
    expected = _mac(secret, timestamp, body)
    # Several v1 values are allowed (a secret being rotated); any one matching will do.
    return any(hmac.compare_digest(expected, v) for v in parts.get("v1", []))


def _allow_private() -> bool:
    return bool(getattr(settings, "WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", False))


def url_problem(url: str) -> str | None:
    """Why `url` may not receive webhooks (None when it may): see the module docstring."""
    parts = urlsplit(url)
    allow_private = _allow_private()
    if parts.scheme != "https" and not (allow_private and parts.scheme == "http"):
        return "A webhook URL must start with https://."
    if not parts.hostname or parts.username or parts.password:
        return "A webhook URL names a host, without a user name or password."
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError):
        return f"The host {parts.hostname} cannot be resolved."
    if allow_private:
        return None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if not address.is_global or address.is_multicast:
            return (
                f"The host {parts.hostname} resolves to {address}, a private, loopback or "
                "reserved address: webhooks go to public addresses only."
            )
    return None


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 3xx is the receiver's answer, recorded as a failure, never followed


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirects())


@dataclass(frozen=True)
class Attempt:
    status_code: int | None
    error: str
    ms: int

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def post_signed(url: str, *, secret: str, event_id: str, body: bytes, timeout_s: float) -> Attempt:
    """One signed POST of `body` to `url`; a 2xx answer is a delivery, anything else is not."""
    timestamp = int(time.time())
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": _USER_AGENT,
            SIGNATURE_HEADER: sign(secret, timestamp, body),
            EVENT_ID_HEADER: event_id,
        },
    )
    started = time.monotonic()

    def elapsed() -> int:
        return round((time.monotonic() - started) * 1000)

    try:
        with _OPENER.open(request, timeout=timeout_s) as response:
            response.read(1024)
            return Attempt(status_code=response.status, error="", ms=elapsed())
    except urllib.error.HTTPError as exc:
        return Attempt(status_code=exc.code, error=f"HTTP {exc.code}", ms=elapsed())
    except TimeoutError:
        return Attempt(status_code=None, error=f"timed out after {timeout_s:g} s", ms=elapsed())
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, TimeoutError | socket.timeout):
            return Attempt(None, f"timed out after {timeout_s:g} s", elapsed())
        return Attempt(status_code=None, error=f"could not connect: {reason}", ms=elapsed())
