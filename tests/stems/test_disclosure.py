"""What each viewer reads of a stem: the contribution's IP address, and provenance evidence
that points at other artists' stems."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories.audio import encode, tone_loop
from tests.factories.contributions import upload

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


# --- Provenance evidence about other artists' stems -------------------------------------------

SECRET = "Bob's unreleased groove"


@pytest.fixture
def copied(artist: Any, other_artist: Any, submit: Any, run_jobs: Any) -> dict[str, Any]:
    """Bob's stem, still before curators, and Alice's MP3 round trip of it (rejected)."""
    from portal.accounts.models import ArtistProfile
    from portal.stems.models import Stem, StemStatus
    from tests.factories.audio import RATE, mp3_round_trip_wav
    from tests.factories.contributions import meta

    ArtistProfile.objects.update_or_create(
        user=other_artist, defaults={"display_name": "Bobby Secretname"}
    )
    sound = tone_loop(8.0, seed=91)
    (theirs,) = submit(other_artist, upload(encode(sound)), metadata=[meta(title=SECRET)])
    run_jobs()
    (mine,) = submit(artist, upload(mp3_round_trip_wav(sound, RATE), "mine.wav"))
    run_jobs()
    mine = Stem.objects.get(pk=mine.pk)
    assert mine.status == StemStatus.REJECTED
    assert Stem.objects.get(pk=theirs.pk).status == StemStatus.IN_REVIEW
    return {"mine": mine, "theirs": theirs}


def _names_their_stem(text: str, theirs: Any) -> list[str]:
    clues = {
        "title": SECRET,
        "escaped title": "Bob&#x27;s unreleased groove",
        "username": "bob",
        "display name": "Bobby Secretname",
        "link": f"/stems/{theirs.pk}/",
        "number": f"#{theirs.pk}",
        "id in evidence": "stem_id",
    }
    return [what for what, clue in clues.items() if clue in text]


def _near(checks: list[dict[str, Any]]) -> dict[str, Any]:
    return next(c for c in checks if c["check_name"] == "near_duplicate")


def test_the_artist_reads_that_it_matches_a_stem_already_submitted_without_naming_it(
    copied: dict[str, Any], artist: Any, client_for: Any, api_for: Any
) -> None:
    mine, theirs = copied["mine"], copied["theirs"]
    page = client_for(artist).get(f"/stems/{mine.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "matches a stem already submitted to the vault" in html
    assert _names_their_stem(html, theirs) == []
    api = api_for(artist)
    response = api.get(f"/api/v1/stems/{mine.pk}/")
    assert response.status_code == 200
    assert _names_their_stem(response.content.decode(), theirs) == []
    [match] = _near(response.json()["checks"])["evidence"]["matches"]
    assert match["stem"] == "a stem already submitted to the vault"
    assert match["same_artist"] is False and match["explained_share"] >= 0.8
    audit = api.get(f"/api/v1/audit/?subject=stem:{mine.pk}")
    # (Every audit entry has a stem_id: this stem's own.)
    named = _names_their_stem(audit.content.decode(), theirs)
    assert audit.status_code == 200 and named in ([], ["id in evidence"])
    assert {e["stem_id"] for e in audit.json()["results"]} == {mine.pk}


def test_curators_and_staff_read_the_full_evidence(
    copied: dict[str, Any], curator: Any, staff: Any, client_for: Any, api_for: Any
) -> None:
    mine, theirs = copied["mine"], copied["theirs"]
    for user in (curator, staff):
        detail = api_for(user).get(f"/api/v1/stems/{mine.pk}/").json()
        [match] = _near(detail["checks"])["evidence"]["matches"]
        assert match["stem_id"] == theirs.pk and match["title"] == SECRET
        dossier = api_for(user).get(f"/api/v1/review/stems/{mine.pk}/").json()
        assert theirs.pk in _near(dossier["checks"])["matched_stem_ids"]
        page = client_for(user).get(f"/review/stems/{mine.pk}/").content.decode()
        assert "Bob&#x27;s unreleased groove" in page and "Bobby Secretname" in page
        assert "stem_id" in client_for(user).get(f"/stems/{mine.pk}/").content.decode()


def test_a_match_with_a_stem_in_the_vault_may_be_named(
    copied: dict[str, Any], artist: Any, curator: Any, api_for: Any
) -> None:
    from portal.stems.models import StemStatus
    from portal.stems.services.lifecycle import stem_transition

    mine, theirs = copied["mine"], copied["theirs"]
    stem_transition(stem=theirs, to=StemStatus.APPROVED, actor=curator)
    detail = api_for(artist).get(f"/api/v1/stems/{mine.pk}/").json()
    [match] = _near(detail["checks"])["evidence"]["matches"]
    assert match["stem_id"] == theirs.pk and match["title"] == SECRET
    # Leaving the vault unnames it again.
    stem_transition(stem=theirs, to=StemStatus.WITHDRAWN, actor=curator)
    detail = api_for(artist).get(f"/api/v1/stems/{mine.pk}/").json()
    assert "stem_id" not in _near(detail["checks"])["evidence"]["matches"][0]
