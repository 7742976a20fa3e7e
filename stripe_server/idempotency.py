"""``Idempotency-Key`` semantics: a retry with the same key replays the first request's result.

Results are kept per (API key, ``Stripe-Account``, key). A key reused on another endpoint or with
other parameters is an ``idempotency_error``; a key whose first request is still running answers
409 ``idempotency_key_in_use``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from .params import StripeError

# Stripe: "keys are eligible to be removed from the system automatically after they're at least
# 24 hours old". This server forgets a key once it is 24 hours old by its own clock (the worst
# case a client must survive), so a retry after that executes again.
IDEMPOTENCY_TTL = 24 * 3600

Scope = tuple[str, str, str]  # (API key, Stripe-Account, Idempotency-Key)


@dataclass
class IdempotencyEntry:
    method: str
    path: str
    fingerprint: str
    created: float
    status: int | None = None  # None while the first request is still executing
    body: bytes = b""
    request_id: str = ""


class IdempotencyKeys:
    """The saved results, guarded by the server's lock and aged by the server's clock."""

    def __init__(self, *, lock: threading.RLock, clock: Callable[[], float]) -> None:
        self._lock = lock
        self._clock = clock
        self._entries: dict[Scope, IdempotencyEntry] = {}

    def claim(
        self, scope: Scope, method: str, path: str, fingerprint: str
    ) -> tuple[IdempotencyEntry, bool]:
        """The entry for ``scope`` and whether it is new (this request runs) or an earlier
        request's (replay it, or answer its conflict)."""
        with self._lock:
            now = self._clock()
            existing = self._entries.get(scope)
            if existing is not None and now - existing.created >= IDEMPOTENCY_TTL:
                existing = None  # pruned: this request runs as if the key were new
            if existing is not None:
                return existing, False
            entry = IdempotencyEntry(method, path, fingerprint, now)
            self._entries[scope] = entry
            return entry, True

    def save_injected(
        self,
        scope: Scope,
        method: str,
        path: str,
        fingerprint: str,
        *,
        status: int,
        body: bytes,
        request_id: str,
    ) -> None:
        """Save an injected error as this key's result (``fail_next(store=True)``), unless the
        key already has one."""
        with self._lock:
            self._entries.setdefault(
                scope,
                IdempotencyEntry(
                    method, path, fingerprint, self._clock(), status, body, request_id
                ),
            )

    def settle(
        self,
        scope: Scope,
        entry: IdempotencyEntry,
        *,
        stored: bool,
        status: int,
        body: bytes,
        request_id: str,
    ) -> None:
        """Save the result of the request that claimed ``entry``, or forget the key when the
        result is one Stripe does not save (so a retry runs again)."""
        with self._lock:
            if stored:
                entry.status, entry.body, entry.request_id = status, body, request_id
            else:
                self._entries.pop(scope, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def entries(self) -> dict[Scope, IdempotencyEntry]:
        """A copy of the saved keys (persist.py writes them to the state file)."""
        with self._lock:
            return dict(self._entries)

    def put(self, scope: Scope, entry: IdempotencyEntry) -> None:
        """Restore a saved key (from the state file)."""
        with self._lock:
            self._entries[scope] = entry


def conflict(
    entry: IdempotencyEntry, method: str, path: str, fingerprint: str, key: str
) -> StripeError | None:
    """Why a request reusing ``key`` may not replay ``entry`` (None: it replays)."""
    if (entry.method, entry.path) != (method, path):
        return StripeError(
            400,
            "Keys for idempotent requests can only be used for the same endpoint they were "
            f"first used for ('{entry.method} {entry.path}' vs '{method} {path}'). Try using a "
            f"key other than '{key}' if you meant to execute a different request.",
            type="idempotency_error",
            stored=False,
        )
    if entry.fingerprint != fingerprint:
        return StripeError(
            400,
            "Keys for idempotent requests can only be used with the same parameters they "
            f"were first used with. Try using a key other than '{key}' if you meant to "
            "execute a different request.",
            type="idempotency_error",
            stored=False,
        )
    if entry.status is None:
        return StripeError(
            409,
            "There is currently another in-progress request using this Idempotent Key "
            "(that probably means you submitted twice, and the other request is still going "
            f"through): '{key}'. Please try again later.",
            code="idempotency_key_in_use",
            stored=False,
        )
    return None
