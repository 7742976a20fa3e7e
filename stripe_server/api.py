"""In-memory Stripe state and the /v1 endpoint handlers (no HTTP here).

Handlers take parsed params (nested dicts, string leaves, exactly as stripe-python form-encodes
them), mutate the state and return a JSON object or raise :class:`StripeError`. Every state
change records an event (``account.updated``, ``capability.updated``, ``transfer.created``,
``transfer.updated``, ``transfer.reversed``); the HTTP layer drains and delivers them.
"""

from __future__ import annotations

import copy
import fnmatch
import re
import secrets
import string
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .fixtures import Fixtures
from .params import (
    StripeError,
    check_unknown,
    get_bool,
    get_currency,
    get_dict,
    get_enum,
    get_expand,
    get_int,
    get_str,
    invalid,
    merge_metadata,
    require,
)

JSON = dict[str, Any]

API_VERSION = "2026-02-25.clover"  # stripe-python 14.4.x pins this version
ACCOUNT_LINK_TTL = 300  # Stripe account links expire after a few minutes

_ALNUM = string.ascii_letters + string.digits

ACCOUNT_CREATE = {
    "account_token",
    "business_profile",
    "business_type",
    "capabilities",
    "company",
    "controller",
    "country",
    "default_currency",
    "documents",
    "email",
    "expand",
    "external_account",
    "groups",
    "individual",
    "metadata",
    "settings",
    "tos_acceptance",
    "type",
}
ACCOUNT_UPDATE = ACCOUNT_CREATE - {"controller", "country", "type"}
ACCOUNT_LINK_CREATE = {
    "account",
    "collect",
    "collection_options",
    "expand",
    "refresh_url",
    "return_url",
    "type",
}
TRANSFER_CREATE = {
    "amount",
    "currency",
    "description",
    "destination",
    "expand",
    "metadata",
    "source_transaction",
    "source_type",
    "transfer_group",
}
TRANSFER_UPDATE = {"description", "expand", "metadata"}
REVERSAL_CREATE = {"amount", "description", "expand", "metadata", "refund_application_fee"}
REVERSAL_UPDATE = {"expand", "metadata"}
PAGINATION = {"ending_before", "expand", "limit", "starting_after"}
ACCOUNT_LIST = PAGINATION | {"created"}
TRANSFER_LIST = PAGINATION | {"created", "destination", "transfer_group"}
EVENT_LIST = PAGINATION | {"created", "delivery_success", "type", "types"}
RETRIEVE = {"expand"}

_EU = frozenset(
    {"AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE"}
    | {"IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"}
)
_COUNTRY_CURRENCY = {
    "US": "usd",
    "GB": "gbp",
    "CA": "cad",
    "AU": "aud",
    "NZ": "nzd",
    "JP": "jpy",
    "CH": "chf",
    "NO": "nok",
    "SG": "sgd",
    "HK": "hkd",
    "MX": "mxn",
    "BR": "brl",
    "IN": "inr",
}
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


Handler = Callable[..., JSON]


class StripeState:
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
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = [
            ("POST", re.compile(r"/v1/accounts"), self.create_account),
            ("GET", re.compile(r"/v1/accounts"), self.list_accounts),
            ("GET", re.compile(r"/v1/accounts/(?P<account>[^/]+)"), self.retrieve_account),
            ("POST", re.compile(r"/v1/accounts/(?P<account>[^/]+)"), self.update_account),
            ("POST", re.compile(r"/v1/account_links"), self.create_account_link),
            ("GET", re.compile(r"/v1/balance"), self.retrieve_balance),
            ("POST", re.compile(r"/v1/transfers"), self.create_transfer),
            ("GET", re.compile(r"/v1/transfers"), self.list_transfers),
            ("GET", re.compile(r"/v1/transfers/(?P<transfer>[^/]+)"), self.retrieve_transfer),
            ("POST", re.compile(r"/v1/transfers/(?P<transfer>[^/]+)"), self.update_transfer),
            ("POST", re.compile(r"/v1/transfers/(?P<id>[^/]+)/reversals"), self.create_reversal),
            ("GET", re.compile(r"/v1/transfers/(?P<id>[^/]+)/reversals"), self.list_reversals),
            (
                "GET",
                re.compile(r"/v1/transfers/(?P<transfer>[^/]+)/reversals/(?P<id>[^/]+)"),
                self.retrieve_reversal,
            ),
            (
                "POST",
                re.compile(r"/v1/transfers/(?P<transfer>[^/]+)/reversals/(?P<id>[^/]+)"),
                self.update_reversal,
            ),
            ("GET", re.compile(r"/v1/events"), self.list_events),
            ("GET", re.compile(r"/v1/events/(?P<id>[^/]+)"), self.retrieve_event),
        ]
        self.reset()

    # ------------------------------------------------------------------ state
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

    def set_balance(self, currency: str, amount: int) -> None:
        with self.lock:
            self.balance[currency.lower()] = int(amount)

    # ---------------------------------------------------------------- routing
    def is_known_path(self, method: str, path: str) -> bool:
        return any(m == method and rx.fullmatch(path) for m, rx, _ in self._routes)

    def handle(self, method: str, path: str, params: JSON, ctx: RequestContext) -> JSON:
        for route_method, regex, handler in self._routes:
            match = regex.fullmatch(path)
            if route_method == method and match:
                if ctx.stripe_account and handler != self.retrieve_balance:
                    raise invalid(
                        "This Stripe test server supports the Stripe-Account header only on "
                        "GET /v1/balance.",
                        None,
                    )
                with self.lock:
                    return handler(ctx, params, **match.groupdict())
        raise StripeError(
            404,
            f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs "
            "or we can help at https://support.stripe.com/.",
            stored=False,
        )

    # ---------------------------------------------------------------- helpers
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

    # --------------------------------------------------------------- accounts
    @staticmethod
    def _controller(params: JSON) -> tuple[JSON, str]:
        legacy = get_enum(params, "type", ["custom", "express", "standard"], "type")
        if legacy and "controller" in params:
            raise invalid(
                "You cannot specify both `type` and `controller`. Use `controller` properties "
                "to configure the account.",
                "type",
            )
        if legacy == "standard":
            return {
                "fees": {"payer": "account"},
                "is_controller": True,
                "losses": {"payments": "stripe"},
                "requirement_collection": "stripe",
                "stripe_dashboard": {"type": "full"},
                "type": "application",
            }, "standard"
        if legacy == "express":
            return {
                "fees": {"payer": "application_express"},
                "is_controller": True,
                "losses": {"payments": "application"},
                "requirement_collection": "stripe",
                "stripe_dashboard": {"type": "express"},
                "type": "application",
            }, "express"
        if legacy == "custom":
            return {
                "fees": {"payer": "application_custom"},
                "is_controller": True,
                "losses": {"payments": "application"},
                "requirement_collection": "application",
                "stripe_dashboard": {"type": "none"},
                "type": "application",
            }, "custom"
        if "controller" not in params:
            raise invalid(
                "You must provide either `type` or `controller` properties when creating an "
                "account.",
                "controller",
                "parameter_missing",
            )
        ctrl = get_dict(params, "controller")
        check_unknown(
            ctrl, {"fees", "losses", "requirement_collection", "stripe_dashboard"}, "controller"
        )
        fees = get_dict(ctrl, "fees")
        check_unknown(fees, {"payer"}, "controller[fees]")
        losses = get_dict(ctrl, "losses")
        check_unknown(losses, {"payments"}, "controller[losses]")
        dash = get_dict(ctrl, "stripe_dashboard")
        check_unknown(dash, {"type"}, "controller[stripe_dashboard]")
        payer = get_enum(fees, "payer", ["account", "application"], "controller[fees][payer]")
        payments = get_enum(
            losses, "payments", ["application", "stripe"], "controller[losses][payments]"
        )
        collection = get_enum(
            ctrl,
            "requirement_collection",
            ["application", "stripe"],
            "controller[requirement_collection]",
        )
        dashboard = get_enum(
            dash, "type", ["express", "full", "none"], "controller[stripe_dashboard][type]"
        )
        controller: JSON = {
            "fees": {"payer": payer or "account"},
            "is_controller": True,
            "losses": {"payments": payments or "stripe"},
            "requirement_collection": collection or "stripe",
            "stripe_dashboard": {"type": dashboard or "full"},
            "type": "application",
        }
        shape = (
            controller["fees"]["payer"],
            controller["losses"]["payments"],
            controller["requirement_collection"],
            controller["stripe_dashboard"]["type"],
        )
        account_type = {
            ("account", "stripe", "stripe", "full"): "standard",
            ("application", "application", "stripe", "express"): "express",
            ("application", "application", "application", "none"): "custom",
        }.get(shape, "none")
        return controller, account_type

    def _apply_capabilities(self, acct: JSON, params: JSON) -> None:
        caps = get_dict(params, "capabilities")
        requested_at = self._capability_requested_at.setdefault(acct["id"], {})
        onboarded = bool(acct.get("details_submitted"))
        for name, spec in caps.items():
            if not isinstance(spec, dict):
                raise invalid("Invalid hash", f"capabilities[{name}]", "parameter_invalid_hash")
            check_unknown(spec, {"requested"}, f"capabilities[{name}]")
            if get_bool(spec.get("requested", "false"), f"capabilities[{name}][requested]"):
                if name not in acct["capabilities"]:
                    acct["capabilities"][name] = "active" if onboarded else "inactive"
                    requested_at[name] = self.now()
            else:
                acct["capabilities"].pop(name, None)
                requested_at.pop(name, None)

    def _apply_account_fields(self, acct: JSON, params: JSON) -> None:
        if "email" in params:
            acct["email"] = get_str(params, "email") or None
        if "business_type" in params:
            acct["business_type"] = (
                get_enum(
                    params,
                    "business_type",
                    ["company", "government_entity", "individual", "non_profit"],
                    "business_type",
                )
                or None
            )
        if "default_currency" in params:
            acct["default_currency"] = get_currency(params, "default_currency")
        for nested in ("business_profile", "settings", "tos_acceptance"):
            if nested in params:
                if not isinstance(acct.get(nested), dict):
                    acct[nested] = {}
                deep_merge(acct[nested], get_dict(params, nested))
        acct["metadata"] = merge_metadata(acct.get("metadata") or {}, params)

    def create_account(self, ctx: RequestContext, params: JSON) -> JSON:
        check_unknown(params, ACCOUNT_CREATE)
        controller, account_type = self._controller(params)
        country = (get_str(params, "country") or "US").upper()
        if not re.fullmatch(r"[A-Z]{2}", country):
            raise invalid(f"Country '{country}' is unknown.", "country")
        acct = self.fixtures.new("account")
        acct_id = new_id("acct", 16)
        acct.update(
            id=acct_id,
            object="account",
            business_type=None,
            capabilities={},
            charges_enabled=False,
            controller=controller,
            country=country,
            created=self.now(),
            default_currency=_COUNTRY_CURRENCY.get(country, "eur" if country in _EU else "usd"),
            details_submitted=False,
            email=None,
            metadata={},
            payouts_enabled=False,
            type=account_type,
        )
        if isinstance(acct.get("external_accounts"), dict):
            acct["external_accounts"].update(
                data=[], has_more=False, url=f"/v1/accounts/{acct_id}/external_accounts"
            )
        self._apply_account_fields(acct, params)
        self._apply_capabilities(acct, params)
        if not acct["capabilities"] and controller["stripe_dashboard"]["type"] == "full":
            self._apply_capabilities(
                acct,
                {
                    "capabilities": {
                        "card_payments": {"requested": "true"},
                        "transfers": {"requested": "true"},
                    }
                },
            )
        self.accounts[acct_id] = acct
        self.connected_balances[acct_id] = {}
        return self._out(acct, params)

    def retrieve_account(self, ctx: RequestContext, params: JSON, account: str) -> JSON:
        check_unknown(params, RETRIEVE)
        return self._out(self._get_account(account), params)

    def update_account(self, ctx: RequestContext, params: JSON, account: str) -> JSON:
        acct = self._get_account(account)
        check_unknown(params, ACCOUNT_UPDATE)
        before = copy.deepcopy(acct)
        work = copy.deepcopy(acct)  # validate everything before mutating the stored object
        self._apply_account_fields(work, params)
        self._apply_capabilities(work, params)
        acct.clear()
        acct.update(work)
        previous = diff(before, acct)
        if previous:
            self._emit("account.updated", acct, ctx, previous=previous, account=acct["id"])
        return self._out(acct, params)

    def list_accounts(self, ctx: RequestContext, params: JSON) -> JSON:
        check_unknown(params, ACCOUNT_LIST)
        keep = self._created_filter(params)
        items = [a for a in reversed(self.accounts.values()) if keep(a)]
        return self._paginate(items, params, "/v1/accounts", "account")

    def complete_onboarding(self, account: str, ctx: RequestContext | None = None) -> JSON:
        """What the hosted onboarding flow does once the user submitted everything."""
        with self.lock:
            acct = self._get_account(account)
            before = copy.deepcopy(acct)
            now = self.now()
            acct["details_submitted"] = True
            acct["charges_enabled"] = True
            acct["payouts_enabled"] = True
            for key in ("requirements", "future_requirements"):
                if isinstance(acct.get(key), dict):
                    acct[key].update(
                        currently_due=[],
                        eventually_due=[],
                        past_due=[],
                        pending_verification=[],
                        errors=[],
                        alternatives=[],
                        current_deadline=None,
                        disabled_reason=None,
                    )
            if isinstance(acct.get("tos_acceptance"), dict) and not acct["tos_acceptance"].get(
                "date"
            ):
                acct["tos_acceptance"].update(date=now, ip="127.0.0.1")
            changed_caps = [
                name for name, status in acct["capabilities"].items() if status != "active"
            ]
            for name in changed_caps:
                acct["capabilities"][name] = "active"
            previous = diff(before, acct)
            if previous:
                self._emit("account.updated", acct, ctx, previous=previous, account=account)
            for name in changed_caps:
                cap = self.fixtures.new("capability")
                cap.update(
                    account=account,
                    id=name,
                    object="capability",
                    requested=True,
                    requested_at=self._capability_requested_at.get(account, {}).get(name, now),
                    status="active",
                )
                for key in ("requirements", "future_requirements"):
                    if isinstance(cap.get(key), dict):
                        cap[key].update(
                            currently_due=[], eventually_due=[], past_due=[], disabled_reason=None
                        )
                self._emit(
                    "capability.updated", cap, ctx, previous={"status": "inactive"}, account=account
                )
            return copy.deepcopy(acct)

    # ----------------------------------------------------------- account links
    def create_account_link(self, ctx: RequestContext, params: JSON) -> JSON:
        check_unknown(params, ACCOUNT_LINK_CREATE)
        account = str(require(params, "account"))
        link_type = get_enum(params, "type", ["account_onboarding", "account_update"], "type")
        if link_type is None:
            require(params, "type")
        urls: dict[str, str | None] = {}
        for name in ("refresh_url", "return_url"):
            url = get_str(params, name)
            if url is not None and not re.match(r"^https?://[^\s/]+", url):
                raise invalid("Not a valid URL", name, "url_invalid")
            urls[name] = url
        if account not in self.accounts:
            raise invalid(f"No such account: '{account}'", "account", "resource_missing")
        token = secrets.token_urlsafe(12)
        now = self.now()
        record = AccountLinkRecord(
            token=token,
            account=account,
            type=str(link_type),
            refresh_url=urls["refresh_url"],
            return_url=urls["return_url"],
            expires_at=now + ACCOUNT_LINK_TTL,
        )
        self.links[token] = record
        link = self.fixtures.new("account_link")
        link.update(
            object="account_link",
            created=now,
            expires_at=record.expires_at,
            url=f"{ctx.base_url}/connect/onboarding/{account}?link={token}",
        )
        return self._out(link, params)

    # ---------------------------------------------------------------- balance
    def balance_object(self, account: str | None = None) -> JSON:
        with self.lock:
            amounts = self.balance if account is None else self.connected_balances.get(account, {})
            currencies = sorted(amounts) or ["usd"]
            bal = self.fixtures.new("balance")
            bal.update(
                object="balance",
                livemode=False,
                available=[
                    {
                        "amount": amounts.get(c, 0),
                        "currency": c,
                        "source_types": {"card": amounts.get(c, 0)},
                    }
                    for c in currencies
                ],
                pending=[
                    {"amount": 0, "currency": c, "source_types": {"card": 0}} for c in currencies
                ],
            )
            if "connect_reserved" in bal:
                bal["connect_reserved"] = [{"amount": 0, "currency": c} for c in currencies]
            return bal

    def retrieve_balance(self, ctx: RequestContext, params: JSON) -> JSON:
        check_unknown(params, RETRIEVE)
        if ctx.stripe_account:
            self._get_account(ctx.stripe_account)
        return self._out(self.balance_object(ctx.stripe_account), params)

    # -------------------------------------------------------------- transfers
    def create_transfer(self, ctx: RequestContext, params: JSON) -> JSON:
        check_unknown(params, TRANSFER_CREATE)
        amount = get_int(params, "amount", required=True, minimum=1)
        currency = get_currency(params, "currency", required=True)
        destination = str(require(params, "destination"))
        description = get_str(params, "description")
        transfer_group = get_str(params, "transfer_group")
        source_type = get_enum(
            params, "source_type", ["bank_account", "card", "fpx"], "source_type"
        )
        source_transaction = get_str(params, "source_transaction")
        metadata = merge_metadata({}, params)
        assert amount is not None and currency is not None
        dest = self.accounts.get(destination)
        if dest is None:
            raise StripeError(
                400,
                f"No such destination: '{destination}'",
                code="resource_missing",
                param="destination",
            )
        if source_transaction:
            raise StripeError(
                400,
                f"No such charge: '{source_transaction}'",
                code="resource_missing",
                param="source_transaction",
            )
        if dest["capabilities"].get("transfers") != "active":
            raise StripeError(
                400,
                "Your destination account needs to have at least one of the following "
                "capabilities enabled: transfers, crypto_transfers, legacy_payments",
                code="insufficient_capabilities_for_transfer",
                param="destination",
            )
        if self.balance.get(currency, 0) < amount:
            raise StripeError(
                400,
                "You have insufficient available funds in your Stripe account. Try adding funds "
                "directly to your available balance by creating Charges using the "
                "4000000000000077 test card. See: https://stripe.com/docs/testing#available-balance",
                code="balance_insufficient",
            )
        tr = self.fixtures.new("transfer")
        tr_id = new_id("tr")
        tr.update(
            id=tr_id,
            object="transfer",
            amount=amount,
            amount_reversed=0,
            balance_transaction=new_id("txn"),
            created=self.now(),
            currency=currency,
            description=description,
            destination=destination,
            destination_payment=new_id("py", 14),
            livemode=False,
            metadata=metadata,
            reversed=False,
            source_transaction=None,
            source_type=source_type or "card",
            transfer_group=transfer_group,
        )
        reversals = tr["reversals"] if isinstance(tr.get("reversals"), dict) else {}
        reversals.update(
            object="list", data=[], has_more=False, url=f"/v1/transfers/{tr_id}/reversals"
        )
        if "total_count" in reversals:
            reversals["total_count"] = 0
        tr["reversals"] = reversals
        self.transfers[tr_id] = tr
        self.balance[currency] = self.balance.get(currency, 0) - amount
        dest_balance = self.connected_balances.setdefault(destination, {})
        dest_balance[currency] = dest_balance.get(currency, 0) + amount
        self._emit("transfer.created", tr, ctx)
        return self._out(tr, params)

    def retrieve_transfer(self, ctx: RequestContext, params: JSON, transfer: str) -> JSON:
        check_unknown(params, RETRIEVE)
        return self._out(self._get_transfer(transfer), params)

    def update_transfer(self, ctx: RequestContext, params: JSON, transfer: str) -> JSON:
        tr = self._get_transfer(transfer)
        check_unknown(params, TRANSFER_UPDATE)
        before = copy.deepcopy(tr)
        metadata = merge_metadata(tr.get("metadata") or {}, params)
        if "description" in params:
            tr["description"] = get_str(params, "description") or None
        tr["metadata"] = metadata
        previous = diff(before, tr)
        if previous:
            self._emit("transfer.updated", tr, ctx, previous=previous)
        return self._out(tr, params)

    def list_transfers(self, ctx: RequestContext, params: JSON) -> JSON:
        check_unknown(params, TRANSFER_LIST)
        keep = self._created_filter(params)
        destination = get_str(params, "destination")
        group = get_str(params, "transfer_group")
        items = [
            t
            for t in reversed(self.transfers.values())
            if keep(t)
            and (destination is None or t["destination"] == destination)
            and (group is None or t["transfer_group"] == group)
        ]
        return self._paginate(items, params, "/v1/transfers", "transfer")

    # -------------------------------------------------------------- reversals
    def create_reversal(self, ctx: RequestContext, params: JSON, id: str) -> JSON:
        tr = self._get_transfer(id)
        check_unknown(params, REVERSAL_CREATE)
        remaining = int(tr["amount"]) - int(tr["amount_reversed"])
        amount = get_int(params, "amount", minimum=1)
        metadata = merge_metadata({}, params)
        if "refund_application_fee" in params:
            get_bool(params["refund_application_fee"], "refund_application_fee")
        if remaining <= 0:
            raise StripeError(
                400, f"Transfer {id} has already been fully reversed.", param="amount"
            )
        if amount is None:
            amount = remaining
        if amount > remaining:
            raise StripeError(
                400,
                f"Reversal amount ({amount}) is greater than the amount remaining on the "
                f"transfer ({remaining}).",
                param="amount",
            )
        rev = self.fixtures.new("transfer_reversal")
        rev.update(
            id=new_id("trr"),
            object="transfer_reversal",
            amount=amount,
            balance_transaction=new_id("txn"),
            created=self.now(),
            currency=tr["currency"],
            destination_payment_refund=new_id("pyr", 24),
            metadata=metadata,
            source_refund=None,
            transfer=id,
        )
        self.reversals[rev["id"]] = rev
        before = copy.deepcopy(tr)
        tr["amount_reversed"] = int(tr["amount_reversed"]) + amount
        tr["reversed"] = tr["amount_reversed"] >= tr["amount"]
        embedded = [r for r in reversed(self.reversals.values()) if r["transfer"] == id]
        tr["reversals"]["data"] = copy.deepcopy(embedded[:10])
        tr["reversals"]["has_more"] = len(embedded) > 10
        if "total_count" in tr["reversals"]:
            tr["reversals"]["total_count"] = len(embedded)
        currency = tr["currency"]
        self.balance[currency] = self.balance.get(currency, 0) + amount
        dest_balance = self.connected_balances.setdefault(tr["destination"], {})
        dest_balance[currency] = dest_balance.get(currency, 0) - amount
        self._emit("transfer.reversed", tr, ctx, previous=diff(before, tr))
        return self._out(rev, params)

    def list_reversals(self, ctx: RequestContext, params: JSON, id: str) -> JSON:
        self._get_transfer(id)
        check_unknown(params, PAGINATION)
        items = [r for r in reversed(self.reversals.values()) if r["transfer"] == id]
        return self._paginate(items, params, f"/v1/transfers/{id}/reversals", "transfer_reversal")

    def _get_reversal(self, transfer: str, id: str) -> JSON:
        self._get_transfer(transfer, "transfer")
        rev = self.reversals.get(id)
        if rev is None or rev["transfer"] != transfer:
            raise StripeError(
                404, f"No such transfer reversal: '{id}'", code="resource_missing", param="id"
            )
        return rev

    def retrieve_reversal(self, ctx: RequestContext, params: JSON, transfer: str, id: str) -> JSON:
        check_unknown(params, RETRIEVE)
        return self._out(self._get_reversal(transfer, id), params)

    def update_reversal(self, ctx: RequestContext, params: JSON, transfer: str, id: str) -> JSON:
        rev = self._get_reversal(transfer, id)
        check_unknown(params, REVERSAL_UPDATE)
        rev["metadata"] = merge_metadata(rev.get("metadata") or {}, params)
        return self._out(rev, params)

    # ----------------------------------------------------------------- events
    def list_events(self, ctx: RequestContext, params: JSON) -> JSON:
        check_unknown(params, EVENT_LIST)
        keep = self._created_filter(params)
        pattern = get_str(params, "type")
        types = params.get("types")
        if types is not None and not isinstance(types, list):
            types = [types]
        if pattern and types:
            raise invalid("You may only specify one of these parameters: type, types.", "types")
        items = [
            e
            for e in reversed(self.events.values())
            if keep(e)
            and (pattern is None or fnmatch.fnmatchcase(e["type"], pattern))
            and (not types or e["type"] in types)
        ]
        return self._paginate(items, params, "/v1/events", "event")

    def retrieve_event(self, ctx: RequestContext, params: JSON, id: str) -> JSON:
        check_unknown(params, RETRIEVE)
        event = self.events.get(id)
        if event is None:
            raise StripeError(404, f"No such event: '{id}'", code="resource_missing", param="id")
        return self._out(event, params)
