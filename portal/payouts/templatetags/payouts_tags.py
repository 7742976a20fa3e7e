from __future__ import annotations

from django import template

from portal.core.money import format_money

register = template.Library()


@register.filter
def money(amount_minor: int | None, currency: str = "usd") -> str:
    """12345, "usd" -> "123.45 USD"."""
    if amount_minor is None:
        return ""
    return format_money(amount_minor, currency or "")


_BADGES = {
    "paid": "ok",
    "payouts_enabled": "ok",
    "done": "ok",
    "failed": "fail",
    "needs_attention": "flag",
    "requirements_due": "flag",
    "reversed": "flag",
    "in_flight": "processing",
    "pending": "processing",
    "running": "processing",
    "onboarding": "processing",
}


@register.filter
def badge(status: str) -> str:
    """A status -> the stylesheet's badge class (ok, fail, flag, processing)."""
    return _BADGES.get(str(status), "")
