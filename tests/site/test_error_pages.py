"""403 and 404 pages in the site's layout, with the reason and a way on; JSON under /api/."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.django_db


def test_a_missing_page_has_the_layout_a_reason_and_links(client_for, artist):
    response = client_for(artist).get("/no/such/page/", HTTP_REFERER="http://testserver/stems/")
    page = response.content.decode()
    assert response.status_code == 404
    assert 'class="site-header"' in page and "Log out" in page  # the site's layout, signed in
    assert "There is nothing at this address" in page
    # The resolver's list of tried patterns is never shown.
    assert "admin/" not in page.split('class="error-page"')[1]
    assert 'href="http://testserver/stems/"' in page and "Back to the previous page" in page
    assert 'href="/dashboard/"' in page


def test_a_404_raised_with_a_message_shows_it(client_for, curator):
    response = client_for(curator).get("/review/stems/987654/")
    assert response.status_code == 404
    assert "No such stem." in response.content.decode()


def test_a_back_link_never_points_off_the_site(client_for, artist):
    response = client_for(artist).get("/no/such/", HTTP_REFERER="https://evil.example/phish")
    page = response.content.decode()
    assert "evil.example" not in page and "Back to the previous page" not in page


def test_a_forbidden_page_says_who_it_is_for(client_for, artist):
    response = client_for(artist).get("/review/")
    page = response.content.decode()
    assert response.status_code == 403
    assert 'class="site-header"' in page and "Not allowed" in page
    assert "This page is for curators and staff." in page
    assert "signed in as" in page


def test_a_bare_permission_denied_gets_a_generic_reason(rf):
    from django.core.exceptions import PermissionDenied

    from portal.site.views import permission_denied

    request = rf.get("/somewhere/")
    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()
    page = permission_denied(request, PermissionDenied()).content.decode()
    assert "Your account cannot open this page." in page
    assert "Log in" in page


def test_api_paths_keep_json_errors(client_for, artist):
    missing = client_for(artist).get("/api/v1/no-such-endpoint/")
    assert missing.status_code == 404
    assert json.loads(missing.content)["error"]["code"] == "not_found"


def test_a_403_under_the_api_outside_drf_is_json(rf):
    from django.contrib.auth.models import AnonymousUser
    from django.core.exceptions import PermissionDenied

    from portal.site.views import permission_denied

    request = rf.get("/api/v1/anything/")
    request.user = AnonymousUser()
    response = permission_denied(request, PermissionDenied("Only staff."))
    assert response.status_code == 403
    assert json.loads(response.content)["error"] == {"code": "forbidden", "message": "Only staff."}
