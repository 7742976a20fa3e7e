"""Every API error, 500s and unknown or impossible ids included, answers the documented shape."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client, RequestFactory, override_settings
from django.urls import URLPattern, URLResolver, get_resolver

from portal.accounts.apis import MeApi

pytestmark = pytest.mark.django_db

METHODS = ("get", "post", "put", "patch", "delete")
ID = re.compile(r"<(int|uuid):\w+>")
# Out of range for any database integer, at the edge of a signed 64-bit one, zero, and values
# the route's converter refuses (negative, not a number, not a UUID).
BAD_IDS = {
    "int": ["99999999999999999999", str(2**63), str(2**63 - 1), "-1", "abc"],
    "uuid": ["00000000-0000-0000-0000-000000000000", "not-a-uuid", "99999999999999999999"],
}


def _routes(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern), pattern


def _routes_with_ids() -> list[tuple[str, list[str]]]:
    found = []
    for route, pattern in _routes(get_resolver().url_patterns):
        if not ID.search(route) or route.startswith("admin/"):
            continue
        view_class = getattr(pattern.callback, "cls", None)
        if view_class is not None:
            methods = [m for m in METHODS if hasattr(view_class, m)]
        else:
            methods = ["get", "post"]
        found.append((route, methods))
    return found


ROUTES = _routes_with_ids()


def test_the_route_list_covers_the_api_and_the_pages():
    api = {route for route, _ in ROUTES if route.startswith("api/")}
    pages = {route for route, _ in ROUTES if not route.startswith("api/")}
    assert "api/v1/stems/<int:stem_id>/" in api and "api/v1/mixes/<uuid:mix_id>/audio/" in api
    assert "stems/<int:pk>/" in pages and len(api) >= 10


def _error_shape(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}, body
    assert {"code", "message"} <= set(body["error"]) <= {"code", "message", "fields"}
    return body["error"]


@pytest.mark.parametrize(("route", "methods"), ROUTES, ids=[route for route, _ in ROUTES])
def test_an_unknown_or_impossible_id_is_a_404_never_a_500(
    route, methods, artist, staff, api_for, client_for
):
    kind = ID.search(route).group(1)  # type: ignore[union-attr]
    api = route.startswith("api/")
    callers = [api_for(user) if api else client_for(user) for user in (artist, staff)]
    for caller in callers:
        caller.raise_request_exception = False
    for method, bad in [(method, bad) for method in methods for bad in BAD_IDS[kind]]:
        url = "/" + ID.sub(bad, route)
        statuses = []
        for caller in callers:
            if api:
                response = getattr(caller, method)(url, {}, format="json")
                # 400 where the body is validated before the lookup (an empty one here).
                assert response.status_code in (400, 403, 404), (method, url, response.content)
                _error_shape(response)
            else:
                response = getattr(caller, method)(url)
                if response.get("Content-Type", "").startswith("application/json"):
                    # A page's own JSON endpoint (the /listen/ player's, on the session
                    # cookie): it answers like the API, 400 where it validates the body first.
                    assert response.status_code in (400, 403, 404, 405), (method, url, response)
                    _error_shape(response)
                else:
                    # Pages: a redirect (to the login or the owner's page), 403, 404 or 405.
                    assert response.status_code in (302, 403, 404, 405), (method, url, response)
            statuses.append(response.status_code)
        if api:
            # Someone is allowed past the permission check, so the id itself was handled.
            assert set(statuses) != {403}, (method, url, statuses)


def test_an_unhandled_exception_in_an_api_view_answers_500_in_the_error_shape_and_is_logged(
    artist, api_for, monkeypatch, caplog
):
    def explode(self: Any, request: Any) -> Any:
        raise RuntimeError("the disk caught fire")

    monkeypatch.setattr(MeApi, "get", explode)
    api = api_for(artist)
    api.raise_request_exception = False
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = api.get("/api/v1/me/")
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    error = _error_shape(response)
    assert error["code"] == "server_error"
    assert "the disk caught fire" not in response.content.decode()  # no internals leak out
    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.levelno == logging.ERROR and "/api/v1/me/" in record.getMessage()
    assert record.exc_info and isinstance(record.exc_info[1], RuntimeError)


def test_an_exception_outside_drf_under_api_answers_500_in_the_error_shape(monkeypatch):
    from portal.core import api
    from portal.site import views

    def explode(request: Any, exception: Any = None) -> Any:
        raise RuntimeError("the 404 handler broke")

    # The 404 handler is a plain Django view: a crash in it reaches handler500.
    monkeypatch.setattr(api, "not_found_json", explode)
    client = Client(raise_request_exception=False)
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 500
    assert _error_shape(response)["code"] == "server_error"
    # Pages keep Django's own HTML error page.
    page = views.server_error(RequestFactory().get("/stems/"))
    assert page.status_code == 500 and "text/html" in page["Content-Type"]


def test_an_out_of_range_id_in_a_request_body_is_bad_input(artist, api_for):
    api = api_for(artist)
    api.raise_request_exception = False
    response = api.post("/api/v1/notifications/read/", {"ids": [10**20]}, format="json")
    assert response.status_code == 400
    assert set(_error_shape(response)["fields"]) == {"ids"}


@override_settings(DEBUG=False)
def test_an_unknown_api_route_at_any_depth_answers_404_json(client):
    for url in ("/api/", "/api/v2/stems/", "/api/v1/stems/1/nothing/", "/api/v1/mixes/x/"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert _error_shape(response)["code"] == "not_found"
