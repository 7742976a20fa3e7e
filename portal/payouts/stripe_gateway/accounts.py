"""Connected accounts: create one for an artist, its hosted onboarding link, its state."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from stripe.params import AccountCreateParams, AccountLinkCreateParams, AccountListParams

from portal.payouts.stripe_gateway.client import client, value_of
from portal.payouts.stripe_gateway.errors import translated


@dataclass(frozen=True)
class AccountState:
    id: str
    payouts_enabled: bool
    details_submitted: bool
    transfers_active: bool
    requirements_due: list[str]
    disabled_reason: str
    metadata: dict[str, str] = field(default_factory=dict)
    created: int = 0  # Unix seconds, Stripe's clock


def account_state(obj: Mapping[str, Any]) -> AccountState:
    """From an Account object (API response or a webhook's data.object)."""
    requirements = value_of(obj, "requirements", {})
    due: list[str] = []
    for key in ("past_due", "currently_due"):
        for item in value_of(requirements, key, []):
            if item not in due:
                due.append(str(item))
    capabilities = value_of(obj, "capabilities", {})
    return AccountState(
        id=str(obj["id"]),
        payouts_enabled=bool(value_of(obj, "payouts_enabled", False)),
        details_submitted=bool(value_of(obj, "details_submitted", False)),
        transfers_active=value_of(capabilities, "transfers", "") == "active",
        requirements_due=due,
        disabled_reason=str(value_of(requirements, "disabled_reason", "")),
        metadata={str(k): str(v) for k, v in dict(value_of(obj, "metadata", {})).items()},
        created=int(value_of(obj, "created", 0)),
    )


def account_create(
    *, artist_id: int, email: str, country: str, idempotency_key: str
) -> AccountState:
    """A connected account with controller properties (what `type=express` used to mean):
    the platform pays fees and carries losses, Stripe collects requirements in its hosted
    onboarding, and the artist gets the Express dashboard."""
    params: AccountCreateParams = {
        "controller": {
            "fees": {"payer": "application"},
            "losses": {"payments": "application"},
            "stripe_dashboard": {"type": "express"},
            "requirement_collection": "stripe",
        },
        "capabilities": {"transfers": {"requested": True}},
        "metadata": {"artist_id": str(artist_id)},
    }
    if email:
        params["email"] = email
    if country:
        params["country"] = country.upper()
    with translated():
        account = client().v1.accounts.create(
            params=params, options={"idempotency_key": idempotency_key}
        )
    return account_state(account)


def account_link_create(*, account_id: str, return_url: str, refresh_url: str) -> str:
    """A single-use hosted onboarding URL (expires within minutes)."""
    params: AccountLinkCreateParams = {
        "account": account_id,
        "type": "account_onboarding",
        "return_url": return_url,
        "refresh_url": refresh_url,
    }
    with translated():
        link = client().v1.account_links.create(params=params)
    return str(link.url)


def account_retrieve(account_id: str) -> AccountState:
    with translated():
        account = client().v1.accounts.retrieve(account_id)
    return account_state(account)


def accounts_with_metadata(*, metadata: Mapping[str, str], created_gte: int) -> list[AccountState]:
    """Connected accounts created at or after `created_gte` (Unix seconds) whose metadata holds
    every item of `metadata`, oldest first. Stripe has no account search by metadata, so this
    lists the accounts created since then (the `created` filter keeps that short)."""
    params: AccountListParams = {"limit": 100, "created": {"gte": created_gte}}
    with translated():
        page = client().v1.accounts.list(params=params)
        found = [
            state
            for state in (account_state(item) for item in page.auto_paging_iter())
            if all(state.metadata.get(k) == v for k, v in metadata.items())
        ]
    # Lists come newest first; reversed, a stable sort keeps same-second objects oldest first.
    return sorted(reversed(found), key=lambda state: state.created)
