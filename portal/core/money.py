"""Money held in integer minor units, shown in its currency. No float ever touches an amount.

The minor unit is Stripe's (payouts move `amount_minor` to Stripe as it is): no minor unit for
Stripe's zero-decimal currencies, otherwise the currency's ISO 4217 digits from CLDR (Babel) and
never fewer than two, as Stripe counts every other currency in hundredths (ISK, HUF: "two
decimals, the last two zero"). Amounts become exact `Decimal`s and Babel lays them out.
"""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_currency, get_currency_precision

# The currencies Stripe treats as having no minor unit (stripe.com/docs/currencies#zero-decimal).
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
# The site speaks English; the amount keeps its ISO code ("1,234.56 EUR") so that no symbol is
# ambiguous ($ for USD, CAD or AUD) on a statement that may be read anywhere.
LOCALE = "en_US"
PATTERN = "#,##0.00 ¤¤"


def minor_unit_exponent(currency: str) -> int:
    """How many decimal places one minor unit of `currency` is: usd 2, jpy 0, bhd 3."""
    code = currency.lower()
    if code in ZERO_DECIMAL_CURRENCIES:
        return 0
    return max(2, get_currency_precision(code.upper()))


def to_decimal(amount_minor: int, currency: str) -> Decimal:
    """The exact amount in the currency's main unit: 12345 usd -> Decimal("123.45")."""
    return Decimal(int(amount_minor)).scaleb(-minor_unit_exponent(currency))


def amount_text(amount_minor: int, currency: str) -> str:
    """The amount as a plain decimal for a CSV cell: 12345 usd -> "123.45", 1500 jpy -> "1500"."""
    return f"{to_decimal(amount_minor, currency):f}"


def format_money(amount_minor: int, currency: str) -> str:
    """12345, "usd" -> "123.45 USD"; 1500, "jpy" -> "1,500 JPY"; 1500, "bhd" -> "1.500 BHD".

    Shown with the currency's own digits, and never rounded: a digit Stripe's minor unit has
    beyond them (an ISK amount that is not whole krónur) is kept rather than hidden."""
    return str(
        format_currency(
            to_decimal(amount_minor, currency),
            currency.upper(),
            format=PATTERN,
            locale=LOCALE,
            decimal_quantization=False,
        )
    )
