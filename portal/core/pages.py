"""Helpers for pages: domain errors spoken as HTTP, and a page of computed rows (paginate the
cheap query, then show something made from one page)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Page
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest

from portal.core.errors import ApplicationError, NotFound, PermissionDenied

T = TypeVar("T")


def page_with_rows(page: Page[Any], rows: list[T]) -> Page[T]:
    """`page` (its number, paginator and navigation unchanged) holding `rows` in place of the
    rows it was cut from, e.g. the computed share of each play on the page."""
    # django-stubs types a Page's rows as what its Paginator paginates; the swap is ours.
    page.object_list = rows
    return cast("Page[T]", page)


def pages_speak_http(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Domain errors become the matching page: 403, 404, or 400 with the message."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except PermissionDenied as exc:
            raise DjangoPermissionDenied(exc.message) from exc
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except ApplicationError as exc:
            return HttpResponseBadRequest(exc.message)

    return wrapper
