from __future__ import annotations

from decimal import Decimal

import pytest

from portal.audit.models import AuditEntry
from portal.core.errors import Conflict, NotFound
from portal.review.models import Decision
from portal.review.services.claims import review_claim
from portal.review.services.decisions import review_round, stem_decide
from portal.review.services.resubmission import stem_resubmit
from portal.stems.models import StemStatus
from portal.stems.signals import stem_entered_review

pytestmark = pytest.mark.django_db


@pytest.fixture
def changes_requested(artist, curator, make_stem):
    stem = make_stem(artist, title="Wonky loop", bpm=100.0, musical_key="C")
    review_claim(stem=stem, curator=curator)
    stem_decide(stem=stem, curator=curator, decision="request_changes", note="The key is Am.")
    stem.refresh_from_db()
    return stem


def test_the_artist_edits_metadata_and_the_stem_returns_to_review_in_a_new_round(
    artist, curator, changes_requested, client_for, django_capture_on_commit_callbacks
):
    stem = changes_requested
    browser = client_for(artist)
    page = browser.get(f"/stems/{stem.pk}/changes/").content.decode()
    assert "The key is Am." in page
    assert 'value="Wonky loop"' in page

    received: list[int] = []

    def listener(sender, stem, **kwargs):  # type: ignore[no-untyped-def]
        received.append(stem.pk)

    stem_entered_review.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = browser.post(
                f"/stems/{stem.pk}/changes/",
                {
                    "title": "Straight loop",
                    "role": "drums",
                    "bpm": "100",
                    "bars": "4",
                    "musical_key": "Am",
                    "moods": "Calm, dark",
                    "genres": "ambient",
                    "description": "Now in A minor.",
                },
            )
    finally:
        stem_entered_review.disconnect(listener)
    assert response.status_code == 302
    stem.refresh_from_db()
    assert stem.status == StemStatus.IN_REVIEW
    assert (stem.title, stem.musical_key, stem.moods) == ("Straight loop", "Am", ["calm", "dark"])
    assert received == [stem.pk]  # the preview renderer hears about it
    assert review_round(stem) == 2

    entry = AuditEntry.objects.get(action="stem.resubmitted")
    assert entry.actor == artist
    assert entry.before["title"] == "Wonky loop" and entry.before["status"] == "changes_requested"
    assert entry.after["title"] == "Straight loop" and entry.after["status"] == "in_review"

    # Round 2 gets its own decision.
    review_claim(stem=stem, curator=curator)
    second = stem_decide(stem=stem, curator=curator, decision="approve")
    assert second.round == 2
    assert list(
        Decision.objects.filter(stem=stem).order_by("round").values_list("round", "decision")
    ) == [
        (1, "request_changes"),
        (2, "approve"),
    ]


def test_the_api_resubmits_too(artist, changes_requested, api_for):
    response = api_for(artist).post(
        f"/api/v1/review/stems/{changes_requested.pk}/resubmit/",
        {"musical_key": "Am", "bpm": "101.5"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json() == {"id": changes_requested.pk, "status": "in_review", "round": 2}
    changes_requested.refresh_from_db()
    assert changes_requested.bpm == Decimal("101.50")


def test_only_the_stems_own_artist_can_resubmit(
    other_artist, changes_requested, client_for, api_for
):
    assert (
        client_for(other_artist).get(f"/stems/{changes_requested.pk}/changes/").status_code == 404
    )
    response = api_for(other_artist).post(
        f"/api/v1/review/stems/{changes_requested.pk}/resubmit/", {"title": "Mine"}, format="json"
    )
    assert response.status_code == 404
    with pytest.raises(NotFound):
        stem_resubmit(stem=changes_requested, artist=other_artist, title="Mine")
    changes_requested.refresh_from_db()
    assert changes_requested.title == "Wonky loop"


def test_a_stem_without_changes_requested_cannot_be_resubmitted(artist, make_stem, client_for):
    stem = make_stem(artist, status=StemStatus.IN_REVIEW)
    with pytest.raises(Conflict):
        stem_resubmit(stem=stem, artist=artist, title="Again")
    page = client_for(artist).post(
        f"/stems/{stem.pk}/changes/", {"title": "Again", "role": "drums"}
    )
    assert page.status_code == 200
    assert "nothing to change" in page.content.decode()
    stem.refresh_from_db()
    assert stem.title != "Again"


def test_invalid_metadata_is_refused_with_the_field_named(artist, changes_requested, api_for):
    response = api_for(artist).post(
        f"/api/v1/review/stems/{changes_requested.pk}/resubmit/",
        {"musical_key": "H#minor-ish"},
        format="json",
    )
    assert response.status_code == 400
    assert "musical_key" in response.json()["error"]["fields"]
    changes_requested.refresh_from_db()
    assert changes_requested.status == StemStatus.CHANGES_REQUESTED
