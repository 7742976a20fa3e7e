"""Reads for payouts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from portal.accounts.models import User
from portal.core.errors import PermissionDenied
from portal.payouts import ledger_bridge, stripe_gateway
from portal.payouts.models import ConnectedAccount, Payout, PayoutRun

# Stripe's requirement names, in words an artist understands. Matched by prefix, first wins.
_REQUIREMENT_WORDS: list[tuple[str, str]] = [
    ("external_account", "A bank account or debit card to receive your money"),
    ("tos_acceptance", "Accept Stripe's terms of service"),
    ("individual.verification", "A photo of an identity document"),
    ("individual.id_number", "Your tax identification number"),
    ("individual.ssn_last_4", "The last four digits of your Social Security number"),
    ("individual.dob", "Your date of birth"),
    ("individual.address", "Your home address"),
    ("individual.first_name", "Your legal name"),
    ("individual.last_name", "Your legal name"),
    ("individual.email", "Your email address"),
    ("individual.phone", "Your phone number"),
    ("business_profile.url", "A website or a description of what you sell"),
    ("business_profile.product_description", "A website or a description of what you sell"),
    ("business_profile.mcc", "The kind of business you run"),
    ("business_profile.support_phone", "A phone number where listeners can reach you"),
    ("business_type", "Whether you are paid as an individual or a company"),
    ("company", "Details about your company"),
    ("representative", "Details about your company's representative"),
]


def requirement_words(requirements: list[str]) -> list[str]:
    """Plain-language list, without duplicates (dob.day/month/year are one thing to do)."""
    out: list[str] = []
    for code in requirements:
        words = next(
            (text for prefix, text in _REQUIREMENT_WORDS if code.startswith(prefix)),
            code.replace("_", " ").replace(".", ": ").capitalize(),
        )
        if words not in out:
            out.append(words)
    return out


@dataclass(frozen=True)
class OnboardingStatus:
    code: str  # not_started | onboarding | requirements_due | payouts_enabled
    label: str
    requirements: list[str]
    account: ConnectedAccount | None


def onboarding_status(*, artist: Any) -> OnboardingStatus:
    account = ConnectedAccount.objects.filter(artist=artist).first()
    if account is None or not account.stripe_account_id:
        return OnboardingStatus("not_started", "Not started", [], account)
    words = requirement_words(list(account.requirements_due or []))
    if account.payouts_enabled:
        code, label = (
            ("requirements_due", "Payouts enabled, more information due soon")
            if words
            else ("payouts_enabled", "Payouts enabled")
        )
    elif account.details_submitted:
        code, label = "requirements_due", "Stripe needs more information"
    else:
        code, label = "onboarding", "Onboarding started, not finished"
    return OnboardingStatus(code, label, words, account)


def payouts_visible_to(*, user: Any) -> QuerySet[Payout]:
    """Artists see their own payouts, staff see all; nobody else sees any."""
    base = Payout.objects.select_related("artist", "run").order_by("-created_at", "-pk")
    if getattr(user, "is_platform_staff", False):
        return base
    if getattr(user, "is_artist", False):
        return base.filter(artist=user)
    raise PermissionDenied("forbidden", "Payouts are visible to their artist and to staff only.")


def flagged_payouts() -> QuerySet[Payout]:
    """Payouts that Stripe paid more than once (newest flag first), for staff to undo."""
    return (
        Payout.objects.filter(flagged_at__isnull=False)
        .select_related("artist")
        .order_by("-flagged_at", "-pk")
    )


def payout_runs() -> QuerySet[PayoutRun]:
    return PayoutRun.objects.select_related("started_by").order_by("-created_at", "-pk")


def payable_balance(*, artist: User, currency: str) -> int:
    return ledger_bridge.payable_balance(artist.pk, currency=currency)


def platform_balance(*, currency: str = "usd") -> int | None:
    """The platform's available Stripe balance, or None when Stripe cannot tell us now."""
    if not stripe_gateway.is_configured():
        return None
    try:
        return stripe_gateway.balance_retrieve(currency)
    except stripe_gateway.StripeFailure:
        return None


def closed_periods() -> list[str]:
    return ledger_bridge.closed_periods()
