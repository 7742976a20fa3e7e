"""Who may do what, for every page and endpoint review adds, as each role.

Artists see only their own submissions (someone else's stem is a 404, never a 403 that would
confirm it exists); curators see the queue, the dossiers and the vault; staff see everything;
anonymous visitors are sent to log in (pages) or get a 401 in the API's error shape.
"""

from __future__ import annotations

from typing import Any

import pytest

from portal.audit.services import audit_record
from portal.stems.models import StemStatus
from tests.conftest import ROLES

pytestmark = pytest.mark.django_db

LOGIN = "login"
#        artist, other_artist, curator, staff, outsider, anonymous
WEB: list[tuple[str, str, str | None, dict[str, Any], tuple[Any, ...]]] = [
    ("GET", "/review/", None, {}, (403, 403, 200, 200, 403, LOGIN)),
    ("POST", "/review/stems/{id}/claim/", "review", {}, (403, 403, 302, 302, 403, LOGIN)),
    ("POST", "/review/stems/{id}/release/", "review", {}, (403, 403, 302, 302, 403, LOGIN)),
    ("GET", "/review/stems/{id}/", "review", {}, (403, 403, 200, 200, 403, LOGIN)),
    (
        "POST",
        "/review/stems/{id}/decide/",
        "review",
        {"decision": "approve"},
        (403, 403, 302, 302, 403, LOGIN),
    ),
    (
        "GET",
        "/review/stems/{id}/spectrogram.png",
        "review",
        {},
        (403, 403, 200, 200, 403, LOGIN),
    ),
    ("GET", "/stems/{id}/changes/", "changes", {}, (200, 404, 403, 403, 404, LOGIN)),
    (
        "POST",
        "/stems/{id}/changes/",
        "changes",
        {"title": "Fixed", "role": "drums", "bpm": "120", "bars": "4"},
        (302, 404, 403, 403, 404, LOGIN),
    ),
    ("GET", "/review/history/", None, {}, (200, 200, 200, 200, 200, LOGIN)),
    ("GET", "/audit/", None, {}, (403, 403, 403, 200, 403, LOGIN)),
    ("GET", "/notifications/", None, {}, (200, 200, 200, 200, 200, LOGIN)),
    ("GET", "/vault/", None, {}, (403, 403, 200, 200, 403, LOGIN)),
    (
        "POST",
        "/vault/{id}/takedown/",
        "vault",
        {"reason": "Rights claim"},
        (403, 403, 403, 302, 403, LOGIN),
    ),
]

API: list[tuple[str, str, str | None, dict[str, Any], tuple[int, ...]]] = [
    ("GET", "/api/v1/review/queue/", None, {}, (403, 403, 200, 200, 403, 401)),
    ("GET", "/api/v1/review/reasons/", None, {}, (403, 403, 200, 200, 403, 401)),
    ("GET", "/api/v1/review/stems/{id}/", "review", {}, (403, 403, 200, 200, 403, 401)),
    ("POST", "/api/v1/review/stems/{id}/claim/", "review", {}, (403, 403, 200, 200, 403, 401)),
    ("DELETE", "/api/v1/review/stems/{id}/claim/", "review", {}, (403, 403, 204, 204, 403, 401)),
    # A curator must claim first (409); staff may decide without a claim.
    (
        "POST",
        "/api/v1/review/stems/{id}/decision/",
        "review",
        {"decision": "approve"},
        (403, 403, 409, 201, 403, 401),
    ),
    (
        "POST",
        "/api/v1/review/stems/{id}/resubmit/",
        "changes",
        {"title": "Fixed"},
        (200, 404, 403, 403, 404, 401),
    ),
    ("GET", "/api/v1/review/decisions/", None, {}, (200, 200, 403, 200, 200, 401)),
    ("GET", "/api/v1/audit/", None, {}, (200, 200, 403, 200, 200, 401)),
    ("GET", "/api/v1/notifications/", None, {}, (200, 200, 200, 200, 200, 401)),
    ("POST", "/api/v1/notifications/read/", None, {}, (200, 200, 200, 200, 200, 401)),
    ("GET", "/api/v1/vault/", None, {}, (403, 403, 200, 200, 403, 401)),
    (
        "POST",
        "/api/v1/vault/{id}/takedown/",
        "vault",
        {"reason": "Rights claim"},
        (403, 403, 403, 201, 403, 401),
    ),
]


@pytest.fixture
def stems(artist, make_stem):  # type: ignore[no-untyped-def]
    """Fresh stems of the artist's for each request, so one request's effect (a claim, a
    decision, a takedown) never decides the next one's answer."""

    def fresh(kind: str | None) -> Any:
        status = {
            "review": StemStatus.IN_REVIEW,
            "changes": StemStatus.CHANGES_REQUESTED,
            "vault": StemStatus.APPROVED,
        }
        return make_stem(artist, status=status[kind]) if kind else None

    return fresh


def _url(template: str, stem: Any) -> str:
    return template.format(id=stem.pk) if stem is not None else template


def test_every_page_answers_each_role_as_the_table_says(any_role, artist, stems, client_for):
    role, user = any_role
    browser = client_for(user)
    wrong = []
    for method, template, kind, data, expected in WEB:
        url = _url(template, stems(kind))
        response = browser.get(url) if method == "GET" else browser.post(url, data)
        want = expected[ROLES.index(role)]
        if want == LOGIN:
            ok = response.status_code == 302 and response["Location"].startswith("/login/")
        else:
            ok = response.status_code == want
        if not ok:
            wrong.append((method, url, response.status_code, want))
    assert wrong == [], f"as {role}"


def test_every_endpoint_answers_each_role_as_the_table_says(any_role, artist, stems, api_for):
    role, user = any_role
    api = api_for(user)
    wrong = []
    for method, template, kind, data, expected in API:
        url = _url(template, stems(kind))
        response = getattr(api, method.lower())(url, data, format="json")
        want = expected[ROLES.index(role)]
        if response.status_code != want:
            wrong.append((method, url, response.status_code, want))
        elif want >= 400:
            error = response.json().get("error", {})
            if not (error.get("code") and error.get("message")):
                wrong.append((method, url, "error shape", response.json()))
    assert wrong == [], f"as {role}"


def test_an_app_credential_cannot_use_review_endpoints(curator, app_api):
    from tests.factories.clients import ClientAppFactory

    response = app_api(ClientAppFactory(owner=curator, name="Curator's app")).get(
        "/api/v1/review/queue/"
    )
    assert response.status_code == 403


def test_artists_see_only_their_own_stems_in_shared_lists(
    artist, other_artist, outsider, stems, api_for, client_for
):
    stem = stems("changes")
    audit_record(actor=artist, action="stem.submitted", subject=f"stem:{stem.pk}", stem=stem)
    assert api_for(artist).get("/api/v1/audit/").json()["count"] == 1
    for stranger in (other_artist, outsider):
        assert api_for(stranger).get("/api/v1/audit/").json()["count"] == 0
        page = client_for(stranger).get("/review/history/").content.decode()
        assert f"stem:{stem.pk}" not in page
