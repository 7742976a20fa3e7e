"""Every CSV cell a spreadsheet would evaluate is neutralised; numbers stay numbers."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from portal.core.csv_export import csv_cell, csv_response


@pytest.mark.parametrize(
    "text",
    [
        '=HYPERLINK("http://evil","x")',
        "@SUM(1)",
        "+1+cmd|' /C calc'!A0",
        "-2+3",
        "-A1",
        "\t=1+1",
        "\r=1+1",
        "\0=1",
        "=1",
    ],
)
def test_a_cell_starting_with_a_formula_trigger_gets_a_leading_quote(text: str) -> None:
    assert csv_cell(text) == "'" + text


@pytest.mark.parametrize(
    ("value", "text"),
    [(-1250, "-1250"), (Decimal("-12.50"), "-12.50"), ("-12.50", "-12.50"), ("+3", "+3"), (0, "0")],
)
def test_a_plain_number_keeps_its_sign_and_stays_a_number(value: object, text: str) -> None:
    assert csv_cell(value) == text


def test_ordinary_text_and_empty_cells_are_untouched() -> None:
    assert csv_cell("Night drums") == "Night drums"
    assert csv_cell("a=b") == "a=b"
    assert csv_cell(None) == ""


def test_the_response_quotes_every_field_and_doubles_embedded_quotes() -> None:
    response = csv_response(
        filename="x.csv",
        header=["stem", "amount_minor"],
        rows=[['=HYPERLINK("http://evil","x")', -5], ['say "hi", twice', 7]],
    )
    text = response.content.decode()
    assert response["Content-Disposition"] == 'attachment; filename="x.csv"'
    assert text.splitlines()[1] == '"\'=HYPERLINK(""http://evil"",""x"")","-5"'
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [
        ["stem", "amount_minor"],
        ['\'=HYPERLINK("http://evil","x")', "-5"],
        ['say "hi", twice', "7"],
    ]
