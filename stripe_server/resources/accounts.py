"""Connected accounts (``/v1/accounts``), their hosted onboarding, and account links."""

from __future__ import annotations

import copy
import re
import secrets

from ..params import (
    check_unknown,
    get_bool,
    get_currency,
    get_dict,
    get_enum,
    get_str,
    invalid,
    merge_metadata,
    require,
)
from ..store import (
    JSON,
    PAGINATION,
    RETRIEVE,
    AccountLinkRecord,
    RequestContext,
    Store,
    deep_merge,
    diff,
    new_id,
)

ACCOUNT_LINK_TTL = 300  # Stripe account links expire after a few minutes

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
ACCOUNT_LIST = PAGINATION | {"created"}

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


class Accounts(Store):
    """Create, retrieve, update and list connected accounts; finish their hosted onboarding."""

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
