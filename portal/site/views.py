from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
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


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    # The API speaks one error shape everywhere, even for URLs that match no route.
    if request.path.startswith("/api/"):
        from portal.core.api import not_found_json

        return not_found_json(request, exception)
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    # Errors raised outside an API view (a middleware, a non-DRF view under /api/) still answer
    # the API's error shape there; the traceback was logged by Django before this runs.
    if request.path.startswith("/api/"):
        from portal.core.api import server_error_json

        return server_error_json(request)
    return defaults.server_error(request)
