"""The in-memory objects of one fake Stripe platform account, and what every resource shares.

:class:`Store` holds the objects, the lock and the clock; it records events, expands and
paginates responses and looks objects up. The resources (``resources/``) add the /v1 endpoint
handlers on top of it and :class:`~stripe_server.api.StripeState` routes requests to them.
"""

from __future__ import annotations

import copy
import secrets
import string
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .fixtures import Fixtures
from .params import StripeError, check_unknown, get_expand, get_int, get_str, invalid

JSON = dict[str, Any]

API_VERSION = "2026-02-25.clover"  # stripe-python 14.4.x pins this version

_ALNUM = string.ascii_letters + string.digits
PAGINATION = {"ending_before", "expand", "limit", "starting_after"}
RETRIEVE = {"expand"}

_EXPANDABLE = {"destination": "account", "transfer": "transfer"}


def new_id(prefix: str, length: int = 24) -> str:
    return f"{prefix}_{''.join(secrets.choice(_ALNUM) for _ in range(length))}"


def diff(before: Any, after: Any) -> JSON:
    """Stripe's ``previous_attributes``: old values of what changed (nested dicts recursed)."""
    out: JSON = {}
    if not isinstance(before, dict) or not isinstance(after, dict):
        return out
    for key in set(before) | set(after):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict) and old.get("object") != "list":
            out[key] = diff(old, new)
        else:
            out[key] = copy.deepcopy(old)
    return out


def deep_merge(target: JSON, updates: Mapping[str, Any]) -> None:
    """Merge form params into an object; ``""`` unsets a field like on Stripe."""
    for key, value in updates.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            deep_merge(target[key], value)
        else:
            target[key] = None if value == "" else copy.deepcopy(value)


@dataclass(frozen=True)
class RequestContext:
    request_id: str | None = None
    idempotency_key: str | None = None
    base_url: str = ""
    stripe_account: str | None = None


@dataclass
class AccountLinkRecord:
    token: str
    account: str
    type: str
    refresh_url: str | None
    return_url: str | None
    expires_at: int
    visited: bool = False
    completed: bool = False


class Store:
    """All objects of one fake Stripe platform account. Guard mutations with ``lock``."""

    def __init__(
        self,
        fixtures: Fixtures,
        *,
        initial_balance: Mapping[str, int] | None = None,
        clock: Callable[[], float] = time.time,
        webhook_endpoints: Callable[[], int] = lambda: 0,
        api_version: str = API_VERSION,
    ) -> None:
        self.fixtures = fixtures
        self.lock = threading.RLock()
        self.api_version = api_version
        self._clock = clock
        self._webhook_endpoints = webhook_endpoints
        self._initial_balance = dict(initial_balance or {"usd": 0})
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.accounts: dict[str, JSON] = {}
            self.transfers: dict[str, JSON] = {}
            self.reversals: dict[str, JSON] = {}
            self.events: dict[str, JSON] = {}
            self.links: dict[str, AccountLinkRecord] = {}
            self.balance: dict[str, int] = dict(self._initial_balance)
            self.connected_balances: dict[str, dict[str, int]] = {}
            self._capability_requested_at: dict[str, dict[str, int]] = {}
            self._new_events: list[JSON] = []

    def now(self) -> int:
        return int(self._clock())

    def drain_events(self) -> list[JSON]:
        with self.lock:
            events, self._new_events = self._new_events, []
            return events

    def _emit(
        self,
        type_: str,
        obj: JSON,
        ctx: RequestContext | None,
        *,
        previous: JSON | None = None,
        account: str | None = None,
    ) -> JSON:
        event = self.fixtures.new("event")
        event.update(
            id=new_id("evt"),
            api_version=self.api_version,
            created=self.now(),
            data={"object": copy.deepcopy(obj)},
            livemode=False,
            object="event",
            pending_webhooks=self._webhook_endpoints(),
            request={
                "id": ctx.request_id if ctx else None,
                "idempotency_key": ctx.idempotency_key if ctx else None,
            },
            type=type_,
        )
        if previous:
            event["data"]["previous_attributes"] = previous
        if account:
            event["account"] = account  # Connect events carry the connected account id
        self.events[event["id"]] = event
        self._new_events.append(event)
        return event

    def _out(self, obj: JSON, params: Mapping[str, Any]) -> JSON:
        result = copy.deepcopy(obj)
        for path in get_expand(params):
            self._expand(result, path.split("."), path)
        return result

    def _expand(self, obj: Any, parts: list[str], full: str) -> None:
        head, rest = parts[0], parts[1:]
        if isinstance(obj, dict) and obj.get("object") == "list" and head == "data" and rest:
            for item in obj["data"]:
                self._expand(item, rest, full)
            return
        if not isinstance(obj, dict) or head not in obj:
            raise invalid(f"This property cannot be expanded ({full}).", "expand")
        value = obj[head]
        if rest:
            self._expand(value, rest, full)
            return
        kind = _EXPANDABLE.get(head)
        if kind is None:
            raise invalid(f"This property cannot be expanded ({full}).", "expand")
        store = self.accounts if kind == "account" else self.transfers
        if isinstance(value, str) and value in store:
            obj[head] = copy.deepcopy(store[value])

    def _paginate(self, items: list[JSON], params: Mapping[str, Any], url: str, noun: str) -> JSON:
        """``items`` newest first, like every Stripe list."""
        limit = get_int(params, "limit", minimum=1, maximum=100) or 10
        after = get_str(params, "starting_after")
        before = get_str(params, "ending_before")
        if after and before:
            raise invalid(
                "You may only specify one of these parameters: ending_before, starting_after.",
                "ending_before",
            )
        ids = [item["id"] for item in items]
        if after:
            if after not in ids:
                raise invalid(f"No such {noun}: '{after}'", "starting_after", "resource_missing")
            start = ids.index(after) + 1
            page = items[start : start + limit]
            has_more = len(items) > start + limit
        elif before:
            if before not in ids:
                raise invalid(f"No such {noun}: '{before}'", "ending_before", "resource_missing")
            end = ids.index(before)
            page = items[max(0, end - limit) : end]
            has_more = end - limit > 0
        else:
            page = items[:limit]
            has_more = len(items) > limit
        result = {"object": "list", "data": copy.deepcopy(page), "has_more": has_more, "url": url}
        return self._out(result, params)

    @staticmethod
    def _created_filter(params: Mapping[str, Any]) -> Callable[[JSON], bool]:
        created = params.get("created")
        if created is None or created == "":
            return lambda _obj: True
        if isinstance(created, str):
            exact = get_int(params, "created")
            return lambda obj: obj["created"] == exact
        if not isinstance(created, dict):
            raise invalid("Invalid hash", "created", "parameter_invalid_hash")
        check_unknown(created, {"gt", "gte", "lt", "lte"}, "created")
        bounds = {op: get_int(created, op) for op in created}

        def check(obj: JSON) -> bool:
            value = int(obj["created"])
            return all(
                bound is None
                or (op == "gt" and value > bound)
                or (op == "gte" and value >= bound)
                or (op == "lt" and value < bound)
                or (op == "lte" and value <= bound)
                for op, bound in bounds.items()
            )

        return check

    def _get_account(self, account: str) -> JSON:
        acct = self.accounts.get(account)
        if acct is None:
            # What Stripe answers for an unknown (or not connected) account id.
            raise StripeError(
                403,
                f"The provided key does not have access to account '{account}' (or that "
                "account does not exist). Application access may have been revoked.",
                code="account_invalid",
            )
        return acct

    def _get_transfer(self, transfer: str, param: str = "id") -> JSON:
        tr = self.transfers.get(transfer)
        if tr is None:
            raise StripeError(
                404, f"No such transfer: '{transfer}'", code="resource_missing", param=param
            )
        return tr
