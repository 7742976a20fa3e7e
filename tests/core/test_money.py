from __future__ import annotations

from decimal import Decimal

import pytest

from portal.core.money import amount_text, format_money, minor_unit_exponent, to_decimal


def test_minor_units_format_with_two_decimals_and_thousands():
    assert format_money(123456789, "usd") == "1,234,567.89 USD"
    assert format_money(-5, "eur") == "-0.05 EUR"


def test_zero_decimal_currencies_have_no_minor_unit():
    assert format_money(1500, "JPY") == "1,500 JPY"
    assert format_money(7, "krw") == "7 KRW"


@pytest.mark.parametrize(
    ("currency", "exponent"), [("eur", 2), ("usd", 2), ("jpy", 0), ("bhd", 3), ("kwd", 3)]
)
def test_the_minor_unit_is_the_currencys_own(currency: str, exponent: int) -> None:
    assert minor_unit_exponent(currency) == exponent


def test_three_decimal_currencies_show_three_decimals():
    assert format_money(1_500, "bhd") == "1.500 BHD"


def test_currencies_stripe_counts_in_hundredths_keep_every_digit():
    # Babel (CLDR) shows ISK without decimals, Stripe counts it in hundredths: a whole amount
    # shows as whole krónur, and a stray hundredth is shown, never rounded away.
    assert minor_unit_exponent("isk") == 2
    assert format_money(150_000, "isk") == "1,500 ISK"
    assert format_money(150_001, "isk") == "1,500.01 ISK"


def test_amounts_beyond_float_precision_stay_exact():
    huge = 2**63 + 1  # a float would round the last digits away
    assert to_decimal(huge, "usd") == Decimal(huge) / 100
    assert format_money(huge, "usd").replace(",", "") == f"{huge // 100}.{huge % 100:02d} USD"
    assert amount_text(huge, "usd") == f"{huge // 100}.{huge % 100:02d}"


def test_amount_text_is_a_plain_decimal_for_a_spreadsheet():
    assert amount_text(123456, "eur") == "1234.56"
    assert amount_text(1500, "jpy") == "1500"
    assert amount_text(5, "usd") == "0.05"
