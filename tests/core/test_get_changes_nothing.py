"""A GET changes nothing: no page writes to the database when it is only viewed."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.review.models import Notification, NotificationKind

pytestmark = pytest.mark.django_db

PAGES = {
    "anonymous": ["/", "/signup/", "/login/", "/password-reset/", "/api/docs/"],
    "artist": [
        "/dashboard/",
        "/contribute/",
        "/stems/",
        "/catalogue/",
        "/soundtracks/",
        "/royalties/",
        "/payouts/",
        "/payouts/onboarding/return/",
        "/payouts/onboarding/refresh/",
        "/account/",
        "/notifications/",
    ],
    "curator": ["/dashboard/", "/review/", "/vault/", "/notifications/"],
    "staff": ["/dashboard/", "/royalties/periods/", "/payouts/runs/", "/audit/", "/review/"],
}
WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)
# The session row (a message shown and consumed) and the shared cache are not the site's state.
NOT_STATE = ("django_session", "stemvault_cache")


@pytest.mark.parametrize("role", list(PAGES))
def test_viewing_a_page_writes_nothing(role, request, client_for):
    user = None if role == "anonymous" else request.getfixturevalue(role)
    if user is not None:
        Notification.objects.create(user=user, kind=NotificationKind.APPROVED, text="Unread.")
    browser = client_for(user)
    for url in PAGES[role]:
        with CaptureQueriesContext(connection) as queries:
            response = browser.get(url)
        assert response.status_code == 200, (url, response.status_code)
        writes = [
            q["sql"]
            for q in queries.captured_queries
            if WRITE.match(q["sql"]) and not any(table in q["sql"] for table in NOT_STATE)
        ]
        assert writes == [], (url, writes)
    if user is not None:
        assert Notification.objects.filter(user=user, read_at__isnull=True).count() == 1
