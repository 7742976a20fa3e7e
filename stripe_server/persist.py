"""Keeping a server's state in a JSON file, so a local demo survives a restart.

A server started with ``state_path`` loads the file (if there is one) when it starts, holds a
lock on it until it stops (one server per file), and writes it again after every change, before answering the request that made it: a client that saw an answer finds its
object (and its ``Idempotency-Key``) after a restart. The file is replaced atomically (written
beside it, then renamed), so a process killed while writing leaves the previous state whole.

Saved: accounts, transfers, reversals, events, account links, balances, the clock's advance and
the settled idempotency keys. Not saved: faults, the request log, webhook deliveries (a restart
is a new process, as it would be after Stripe's own outage), and keys whose first request was
still running (a retry after the restart executes again, as Stripe does for a request that never
finished).
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .idempotency import IdempotencyEntry
from .store import AccountLinkRecord

if TYPE_CHECKING:
    from .server import StripeTestServer

JSON = dict[str, Any]
FORMAT = 1


class StateLock:
    """An exclusive lock on ``<state file>.lock`` for as long as one server uses the file."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.with_name(f"{path.name}.lock").open("a")
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._file.close()
            raise RuntimeError(
                f"Another Stripe test server is using {path}; stop it first (or give this one "
                "another state file)."
            ) from None

    def release(self) -> None:
        fcntl.flock(self._file, fcntl.LOCK_UN)
        self._file.close()


def snapshot(server: StripeTestServer) -> JSON:
    """Everything a restart needs, as plain JSON (call with the server's locks held)."""
    state = server.state
    return {
        "format": FORMAT,
        "clock_offset": server._clock_offset,
        "accounts": state.accounts,
        "transfers": state.transfers,
        "reversals": state.reversals,
        "events": state.events,
        "links": [asdict(link) for link in state.links.values()],
        "balance": state.balance,
        "connected_balances": state.connected_balances,
        "capability_requested_at": state._capability_requested_at,
        "idempotency": [
            {
                "scope": list(scope),
                "method": entry.method,
                "path": entry.path,
                "fingerprint": entry.fingerprint,
                "created": entry.created,
                "status": entry.status,
                "body": base64.b64encode(entry.body).decode("ascii"),
                "request_id": entry.request_id,
            }
            for scope, entry in server.idempotency.entries().items()
            if entry.status is not None
        ],
    }


def restore(server: StripeTestServer, data: JSON) -> None:
    """Replace the server's state with a snapshot's."""
    if data.get("format") != FORMAT:
        raise ValueError(f"unknown state file format {data.get('format')!r} (expected {FORMAT})")
    state = server.state
    with state.lock:
        state.reset()
        server._clock_offset = float(data["clock_offset"])
        state.accounts.update(data["accounts"])
        state.transfers.update(data["transfers"])
        state.reversals.update(data["reversals"])
        state.events.update(data["events"])
        state.links.update({link["token"]: AccountLinkRecord(**link) for link in data["links"]})
        state.balance.clear()
        state.balance.update({k: int(v) for k, v in data["balance"].items()})
        state.connected_balances.update(data["connected_balances"])
        state._capability_requested_at.update(data["capability_requested_at"])
        server.idempotency.clear()
        for item in data["idempotency"]:
            scope = tuple(item["scope"])
            assert len(scope) == 3
            server.idempotency.put(
                (scope[0], scope[1], scope[2]),
                IdempotencyEntry(
                    method=item["method"],
                    path=item["path"],
                    fingerprint=item["fingerprint"],
                    created=float(item["created"]),
                    status=int(item["status"]),
                    body=base64.b64decode(item["body"]),
                    request_id=item["request_id"],
                ),
            )


def load(path: Path) -> JSON | None:
    """The snapshot in ``path``, or None when there is no file yet."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ValueError(
            f"{path} is not a Stripe test server state file ({exc}); delete it to start afresh"
        ) from exc
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not a Stripe test server state file; delete it")
    return data


def dumps(data: JSON) -> str:
    return json.dumps(data, separators=(",", ":"))


def save(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` in one step (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)
