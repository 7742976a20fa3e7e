from __future__ import annotations

from django import template

register = template.Library()

# ISO 4217 currencies Stripe treats as having no minor unit.
ZERO_DECIMAL = frozenset(
    [
        "bif",
        "clp",
        "djf",
        "gnf",
        "jpy",
        "kmf",
        "krw",
        "mga",
        "pyg",
        "rwf",
        "ugx",
        "vnd",
        "vuv",
        "xaf",
        "xof",
        "xpf",
    ]
)


@register.filter
def money(amount_minor: int | None, currency: str = "usd") -> str:
    """12345, "usd" -> "123.45 USD" (integer arithmetic: no float ever touches money)."""
    if amount_minor is None:
        return ""
    code = (currency or "").lower()
    amount = int(amount_minor)
    if code in ZERO_DECIMAL:
        return f"{amount:,} {code.upper()}"
    sign = "-" if amount < 0 else ""
    whole, cents = divmod(abs(amount), 100)
    return f"{sign}{whole:,}.{cents:02d} {code.upper()}"


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
