"""A page of computed rows: paginate the cheap query, then show something made from one page."""

from __future__ import annotations

from typing import Any, TypeVar, cast

from django.core.paginator import Page

T = TypeVar("T")


def page_with_rows(page: Page[Any], rows: list[T]) -> Page[T]:
    """`page` (its number, paginator and navigation unchanged) holding `rows` in place of the
    rows it was cut from, e.g. the computed share of each play on the page."""
    # django-stubs types a Page's rows as what its Paginator paginates; the swap is ours.
    page.object_list = rows
    return cast("Page[T]", page)
