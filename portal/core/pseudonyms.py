"""Stable pseudonyms for identifiers a page may refer to but must not reveal.

An artist's drill-down tells apart the listeners and stream sessions behind their earnings
without learning who listened: the app's own listener id may be an e-mail or an account
number, and a session id names a live stream's endpoints. A keyed hash (HMAC with the site's
secret, so nobody can hash a guessed id and compare) of the kind and the id, short enough to
read, long enough (48 bits) that two in one statement do not collide by chance.
"""

from __future__ import annotations

from django.utils.crypto import salted_hmac

_SALT = "stemvault.core.pseudonyms"


def pseudonym(kind: str, *parts: object) -> str:
    """`kind` plus 12 hex digits, the same for the same parts on every page: "L-3f9a0c1b2d4e"."""
    value = "\x1f".join(str(part) for part in parts)
    digest = salted_hmac(f"{_SALT}.{kind}", value, algorithm="sha256").hexdigest()
    return f"{kind}-{digest[:12]}"
