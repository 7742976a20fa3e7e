"""CSV downloads that a spreadsheet opens as data, never as formulas. Every CSV the portal
serves is written here.

OWASP's "CSV Injection" page: Excel, LibreOffice and Google Sheets evaluate a cell whose first
character is `=`, `+`, `-`, `@`, tab (0x09) or carriage return (0x0D) as a formula, so a stem
title like `=HYPERLINK("http://evil","x")` becomes a live link (or worse) in the statement of
whoever opens it. Such a cell is prefixed with a single quote, which the spreadsheet shows as
text; ASVS 1.2.10 adds NUL to the list. Quoting and embedded double quotes are the csv
module's (RFC 4180: every field quoted, `"` doubled), as OWASP also asks.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from typing import Any

from django.http import HttpResponse

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\0")

# A cell that is wholly a plain number is left as it is, sign included: a negative amount such
# as -1250 or -12.50 must stay a number the spreadsheet can sum, and a sign followed only by
# digits (and a decimal or exponent part) cannot call a function, make a link or reference a
# cell: the formula grammar needs a name, a reference or an operator for that. OWASP's blanket
# rule would turn every negative figure into text; anything else starting with a trigger,
# `-1+2` or `-A1` included, is neutralised.
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")


def csv_cell(value: Any) -> str:
    """The text of one cell, neutralised if a spreadsheet would evaluate it."""
    if value is None:
        return ""
    text = str(value)
    if text.startswith(FORMULA_TRIGGERS) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def csv_response(
    *, filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> HttpResponse:
    """A CSV attachment: the header, then one line per row, every cell through `csv_cell`."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response, quoting=csv.QUOTE_ALL)
    writer.writerow([csv_cell(name) for name in header])
    for row in rows:
        writer.writerow([csv_cell(value) for value in row])
    return response
