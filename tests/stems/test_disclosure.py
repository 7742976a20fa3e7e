"""What each viewer reads of a stem: the contribution's IP address, and provenance evidence
that points at other artists' stems."""

from __future__ import annotations

from typing import Any

import pytest

from tests.stems.conftest import encode, tone_loop, upload

IP = "203.0.113.7"  # what the `submit` fixture records as the client's address

pytestmark = pytest.mark.django_db


# --- IP addresses ------------------------------------------------------------------------------


@pytest.fixture
def contributed(artist: Any, submit: Any) -> Any:
    (stem,) = submit(artist, upload(encode(tone_loop(seed=90))), ip_address=IP)
    assert stem.receipt.body["ip_address"] == IP
    return stem


def _receipts(browser: Any, api: Any, stem: Any) -> list[Any]:
    return [
        browser.get(f"/stems/{stem.pk}/receipt/"),
        api.get(f"/api/v1/stems/{stem.pk}/receipt/"),
    ]


def test_the_artist_reads_their_own_ip_address_in_their_receipt(
    contributed: Any, artist: Any, client_for: Any, api_for: Any
) -> None:
    for response in _receipts(client_for(artist), api_for(artist), contributed):
        assert response.status_code == 200
        assert response.json()["ip_address"] == IP


def test_a_curator_never_sees_the_artists_ip_address(
    contributed: Any, curator: Any, client_for: Any, api_for: Any
) -> None:
    browser, api = client_for(curator), api_for(curator)
    for response in _receipts(browser, api, contributed):
        assert response.status_code == 200
        body = response.json()
        assert "ip_address" not in body and IP not in response.content.decode()
        assert body["audio"]["pcm_sha256"] == contributed.pcm_sha256  # the rest is there
    page = browser.get(f"/review/stems/{contributed.pk}/")
    assert page.status_code == 200 and "Contribution receipt" in page.content.decode()
    assert IP not in page.content.decode()
    dossier = api.get(f"/api/v1/review/stems/{contributed.pk}/")
    assert dossier.status_code == 200 and dossier.json()["receipt"]["submission_id"]
    assert IP not in dossier.content.decode()


def test_staff_see_the_ip_address_for_abuse_handling(
    contributed: Any, staff: Any, client_for: Any, api_for: Any
) -> None:
    browser, api = client_for(staff), api_for(staff)
    for response in _receipts(browser, api, contributed):
        assert response.json()["ip_address"] == IP
    assert IP in browser.get(f"/review/stems/{contributed.pk}/").content.decode()
    assert api.get(f"/api/v1/review/stems/{contributed.pk}/").json()["receipt"]["ip_address"] == IP


def test_another_artist_reads_no_receipt_at_all(
    contributed: Any, other_artist: Any, client_for: Any, api_for: Any
) -> None:
    browser, api = client_for(other_artist), api_for(other_artist)
    assert [r.status_code for r in _receipts(browser, api, contributed)] == [404, 404]
