from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import Resolver404
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import defaults
from django.views.decorators.cache import never_cache

from portal.site.health import health_report
from portal.site.selectors import dashboard_for


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "site/home.html")


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "site/dashboard.html", dashboard_for(user=request.user))


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    healthy, report = health_report()
    return JsonResponse(
        {"status": "ok" if healthy else "degraded", "checks": report},
        status=200 if healthy else 503,
    )


# What an error page says when the exception carries no message meant for people.
GENERIC_REASONS = {
    403: "Your account cannot open this page.",
    404: "There is nothing at this address: the link may be old, or the item was removed.",
}


def _reason(exception: Exception | None, status: int) -> str:
    """The exception's own message when it is one written for people (our views raise
    Http404("No such stem.") or PermissionDenied(service message)); a generic one otherwise:
    the resolver's 404 carries the URL patterns tried, and a bare exception says nothing."""
    args = getattr(exception, "args", ()) or ()
    message = args[0] if args else None
    if isinstance(exception, Resolver404) or not isinstance(message, str):
        return GENERIC_REASONS[status]
    message = message.strip()
    if not message or len(message) > 300 or "Traceback" in message:
        return GENERIC_REASONS[status]
    return message


def _back_url(request: HttpRequest) -> str | None:
    """Where the visitor came from, when that is this site (never an outside address)."""
    referer = request.headers.get("referer", "")
    if referer and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return referer
    return None


def _error_page(request: HttpRequest, exception: Exception | None, status: int) -> HttpResponse:
    return render(
        request,
        f"{status}.html",
        {"reason": _reason(exception, status), "back_url": _back_url(request)},
        status=status,
    )


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    # The API speaks one error shape everywhere, even for URLs that match no route.
    if request.path.startswith("/api/"):
        from portal.core.api import not_found_json

        return not_found_json(request, exception)
    return _error_page(request, exception, 404)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.startswith("/api/"):
        from portal.core.api import json_error

        return json_error(request, "forbidden", _reason(exception, 403), 403)
    return _error_page(request, exception, 403)


def server_error(request: HttpRequest) -> HttpResponse:
    # Errors raised outside an API view (a middleware, a non-DRF view under /api/) still answer
    # the API's error shape there; the traceback was logged by Django before this runs.
    if request.path.startswith("/api/"):
        from portal.core.api import server_error_json

        return server_error_json(request)
    return defaults.server_error(request)
