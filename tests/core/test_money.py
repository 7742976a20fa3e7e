from __future__ import annotations

from portal.core.money import format_money


def test_minor_units_format_with_two_decimals_and_thousands():
    assert format_money(123456789, "usd") == "1,234,567.89 USD"
    assert format_money(-5, "eur") == "-0.05 EUR"


def test_zero_decimal_currencies_have_no_minor_unit():
    assert format_money(1500, "JPY") == "1,500 JPY"
