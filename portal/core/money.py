"""Formatting money held in integer minor units. No float ever touches an amount."""

from __future__ import annotations

# ISO 4217 currencies Stripe treats as having no minor unit.
ZERO_DECIMAL_CURRENCIES = frozenset(
    {
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
    }
)


def format_money(amount_minor: int, currency: str) -> str:
    """12345, "usd" -> "123.45 USD"; zero-decimal currencies as they are."""
    code = currency.lower()
    amount = int(amount_minor)
    if code in ZERO_DECIMAL_CURRENCIES:
        return f"{amount:,} {code.upper()}"
    sign = "-" if amount < 0 else ""
    whole, cents = divmod(abs(amount), 100)
    return f"{sign}{whole:,}.{cents:02d} {code.upper()}"
