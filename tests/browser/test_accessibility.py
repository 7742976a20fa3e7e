"""Every page's controls are labelled, named and reachable by keyboard, in real Chromium."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers.browser import UNLABELLED

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAGES = {
    None: ["/", "/signup/", "/login/", "/password-reset/"],
    "artist": [
        "/dashboard/",
        "/contribute/",
        "/stems/",
        "/catalogue/",
        "/soundtracks/",
        "/royalties/",
        "/payouts/",
        "/account/",
        "/notifications/",
        "/listen/",
    ],
    "curator": ["/dashboard/", "/review/", "/vault/", "/soundtracks/"],
    "staff": [
        "/dashboard/",
        "/royalties/periods/",
        "/payouts/runs/",
        "/audit/",
        "/review/",
        "/vault/",
    ],
}

FOCUSABLE = """
() => Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea, button, a[href]'))
    .filter(el => el.tabIndex < 0 && !el.disabled).map(el => el.outerHTML.slice(0, 120))
"""


def _login(page: Any, client_cookie: Any, live_server: Any) -> None:
    page.context.add_cookies(
        [{"name": "sessionid", "value": client_cookie, "url": live_server.url}]
    )


@pytest.mark.parametrize("role", list(PAGES))
def test_every_control_is_labelled_and_reachable(role, page, live_server, request, client):
    if role is not None:
        from portal.stems.services.licenses import license_template_publish

        license_template_publish(version=1, title="License", terms="Terms.")
        user = request.getfixturevalue(role)
        client.force_login(user)
        _login(page, client.cookies["sessionid"].value, live_server)
    for path in PAGES[role]:
        response = page.goto(path)
        assert response is not None and response.status == 200, path
        assert page.evaluate(UNLABELLED) == [], path
        assert page.evaluate(FOCUSABLE) == [], path
        # The first stop in tab order is the skip link: keyboard users can jump past the nav.
        first = page.evaluate(
            "document.querySelector('a[href], button, input:not([type=hidden]), select, textarea')"
            ".className"
        )
        assert first == "skip-link", path
