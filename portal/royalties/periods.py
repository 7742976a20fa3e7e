"""Accounting periods are UTC calendar months, written "YYYY-MM". Pure helpers, no database."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from portal.core.errors import ApplicationError

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def parse_month(value: str) -> tuple[int, int]:
    match = _MONTH.match(value or "")
    if not match:
        raise ApplicationError(
            "invalid_period", f"A period is a month written YYYY-MM, not {value!r}."
        )
    return int(match.group(1)), int(match.group(2))


def month_of(moment: datetime) -> str:
    """The period a moment falls in, in UTC (an aware datetime; naive ones are refused)."""
    if moment.tzinfo is None:
        raise ValueError("month_of needs an aware datetime")
    utc = moment.astimezone(UTC)
    return f"{utc.year:04d}-{utc.month:02d}"


def next_month(month: str) -> str:
    year, number = parse_month(month)
    return f"{year + 1:04d}-01" if number == 12 else f"{year:04d}-{number + 1:02d}"


def previous_month(month: str) -> str:
    year, number = parse_month(month)
    return f"{year - 1:04d}-12" if number == 1 else f"{year:04d}-{number - 1:02d}"


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """[start, end) of the month in UTC."""
    year, number = parse_month(month)
    start = datetime(year, number, 1, tzinfo=UTC)
    following = next_month(month)
    end = datetime(int(following[:4]), int(following[5:]), 1, tzinfo=UTC)
    return start, end


def first_open_month(month: str, closed: set[str] | frozenset[str]) -> str:
    """`month` itself if it is open, else the earliest open month after it.

    This is where a late event is counted: an event that started in a closed month is kept in
    the next period that can still be allocated, never silently dropped and never added to a
    statement that was already paid out.
    """
    while month in closed:
        month = next_month(month)
    return month
