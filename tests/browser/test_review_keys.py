"""The review page by keyboard in real Chromium: c claims, a approves (Enter records), r
rejects, n opens the next stem, ? lists the keys; a letter typed into a field is only text."""

from __future__ import annotations

from typing import Any

import pytest

from portal.review.models import Decision
from tests.factories.stems import StemFactory
from tests.helpers.browser import UNLABELLED

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _sign_in(page: Any, client: Any, user: Any, live_server: Any) -> None:
    client.force_login(user)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )


def _checked(page: Any, value: str) -> bool:
    return bool(page.is_checked(f"input[name=decision][value={value}]"))


def test_claim_and_approve_by_keyboard(page, shot, live_server, client, artist, curator):
    first = StemFactory(artist=artist, in_review=True, checked=True, title="First by keys")
    second = StemFactory(artist=artist, in_review=True, checked=True, title="Second by keys")
    _sign_in(page, client, curator, live_server)

    page.goto(f"/review/stems/{first.pk}/")
    assert page.evaluate(UNLABELLED) == []
    # ? shows the list of keys, and again hides it.
    page.keyboard.press("?")
    assert page.locator("#shortcuts").get_attribute("open") is not None
    assert page.get_by_text("Open the next stem in the queue").is_visible()
    shot(page, "shortcuts")
    page.keyboard.press("?")
    assert page.locator("#shortcuts").get_attribute("open") is None

    # A key with a modifier is the browser's, not ours.
    page.keyboard.press("Alt+n")
    assert page.url.endswith(f"/review/stems/{first.pk}/")
    # n: the next stem in the queue.
    page.keyboard.press("n")
    page.wait_for_url(f"**/review/stems/{second.pk}/")
    page.goto(f"/review/stems/{first.pk}/")

    # c: claim it; the page comes back with the decision form.
    page.keyboard.press("c")
    page.wait_for_selector("#decision-form")
    assert "You hold this stem" in page.inner_text("main")

    # r: reject chosen, the reason in focus; letters typed in the note stay text.
    page.keyboard.press("r")
    assert _checked(page, "reject")
    assert page.evaluate("document.activeElement.name") == "reason_template"
    page.get_by_label("Note to the artist").click()
    page.keyboard.type("a rather nice loop")
    assert _checked(page, "reject") and not _checked(page, "approve")
    assert page.get_by_label("Note to the artist").input_value() == "a rather nice loop"
    page.get_by_label("Note to the artist").fill("")
    shot(page, "typing-is-text")

    # Out of the field, a chooses approve and moves to the button; Enter records it.
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("a")
    assert _checked(page, "approve") and not _checked(page, "reject")
    assert page.evaluate("document.activeElement.id") == "decision-submit"
    page.keyboard.press("Enter")
    page.wait_for_url("**/review/")
    shot(page, "approved")
    assert Decision.objects.filter(stem=first, decision="approve").count() == 1
    assert not Decision.objects.filter(stem=second).exists()
