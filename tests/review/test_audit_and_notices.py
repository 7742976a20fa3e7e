from __future__ import annotations

import pytest

from portal.audit.services import audit_record
from portal.review.models import Notification
from portal.review.services.claims import review_claim
from portal.review.services.decisions import stem_decide
from tests.factories.review import ReasonTemplateFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def decided(artist, other_artist, curator, staff, make_stem):
    mine = make_stem(artist, title="Alice's loop")
    theirs = make_stem(other_artist, title="Bob's loop")
    for stem in (mine, theirs):
        review_claim(stem=stem, curator=curator)
    stem_decide(
        stem=mine,
        curator=curator,
        decision="reject",
        reason_template=ReasonTemplateFactory(),
        note="Clipping at the downbeat.",
    )
    stem_decide(stem=theirs, curator=curator, decision="approve")
    audit_record(actor=staff, action="period.closed", subject="period:2026-10")
    return {"mine": mine, "theirs": theirs}


def _actions(response) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.content
    return [(e["action"], e["subject"]) for e in response.json()["results"]]


def test_staff_see_every_audit_entry_and_can_filter(decided, staff, api_for):
    api = api_for(staff)
    entries = _actions(api.get("/api/v1/audit/"))
    assert ("period.closed", "period:2026-10") in entries
    assert ("review.rejected", f"stem:{decided['mine'].pk}") in entries
    assert ("review.approved", f"stem:{decided['theirs'].pk}") in entries
    mine = _actions(api.get(f"/api/v1/audit/?subject=stem:{decided['mine'].pk}"))
    assert mine and all(subject == f"stem:{decided['mine'].pk}" for _, subject in mine)
    claims = _actions(api.get("/api/v1/audit/?action=review.claimed"))
    assert len(claims) == 2 and {a for a, _ in claims} == {"review.claimed"}


def test_an_artist_sees_only_entries_about_their_own_stems(decided, artist, api_for):
    entries = _actions(api_for(artist).get("/api/v1/audit/"))
    assert entries
    assert {subject for _, subject in entries} == {f"stem:{decided['mine'].pk}"}


def test_a_curator_cannot_read_the_audit_log(decided, curator, api_for, client_for):
    response = api_for(curator).get("/api/v1/audit/")
    assert response.status_code == 403
    assert set(response.json()["error"]) >= {"code", "message"}
    assert client_for(curator).get("/audit/").status_code == 403


def test_the_audit_page_lists_and_filters_entries_for_staff(decided, staff, client_for):
    page = client_for(staff).get("/audit/?action=review.").content.decode()
    # The rows (the filter's select lists every action, so look at the entries' action names).
    assert 'action-name">review.rejected' in page and 'action-name">review.approved' in page
    assert 'action-name">period.closed' not in page


def test_the_artists_history_shows_outcomes_reasons_and_notes(decided, artist, client_for):
    page = client_for(artist).get("/review/history/").content.decode()
    assert "Alice&#x27;s loop" in page
    assert "Quality below the vault&#x27;s bar" in page
    assert "Clipping at the downbeat." in page
    assert "Bob&#x27;s loop" not in page


def test_notices_are_listed_then_marked_read(decided, artist, other_artist, client_for):
    browser = client_for(artist)
    assert Notification.objects.filter(user=artist, read_at__isnull=True).count() == 1
    queue_page = browser.get("/review/history/").content.decode()
    assert 'aria-label="1 unread"' in queue_page
    page = browser.get("/notifications/").content.decode()
    assert "Clipping at the downbeat." in page and "New" in page
    assert "Bob" not in page
    # Viewing changes nothing; the page's form (sent by its script at once) marks them read.
    assert Notification.objects.filter(user=artist, read_at__isnull=True).count() == 1
    [notice] = Notification.objects.filter(user=artist)
    assert f'name="ids" value="{notice.pk}"' in page and "data-auto-submit" in page
    response = browser.post(
        "/notifications/read/", {"ids": [notice.pk]}, HTTP_X_REQUESTED_WITH="fetch"
    )
    assert response.status_code == 204
    assert Notification.objects.filter(user=artist, read_at__isnull=True).count() == 0
    assert 'aria-label="1 unread"' not in browser.get("/notifications/").content.decode()
    # Someone else's notice is untouched.
    assert Notification.objects.filter(user=other_artist, read_at__isnull=True).count() == 1


def test_viewing_the_notices_page_marks_nothing_read(decided, artist, client_for):
    browser = client_for(artist)
    for _ in range(2):
        assert browser.get("/notifications/").status_code == 200
    assert Notification.objects.filter(user=artist, read_at__isnull=True).count() == 1
    assert browser.get("/notifications/read/").status_code == 405


def test_marking_read_takes_only_the_notices_the_page_showed(
    decided, artist, other_artist, client_for
):
    browser = client_for(artist)
    [shown] = Notification.objects.filter(user=artist)
    newer = Notification.objects.create(user=artist, kind=shown.kind, text="Arrived since.")
    theirs = Notification.objects.get(user=other_artist)
    response = browser.post("/notifications/read/", {"ids": [shown.pk, theirs.pk, "x", "9" * 30]})
    assert response.status_code == 302 and response["Location"] == "/notifications/"
    shown.refresh_from_db(), newer.refresh_from_db(), theirs.refresh_from_db()
    assert shown.read_at is not None
    assert newer.read_at is None and theirs.read_at is None


def test_the_notifications_api_lists_and_marks_read(decided, other_artist, api_for):
    api = api_for(other_artist)
    [notice] = api.get("/api/v1/notifications/").json()["results"]
    assert notice["kind"] == "approved" and notice["read_at"] is None
    response = api.post("/api/v1/notifications/read/", {"ids": [notice["id"]]}, format="json")
    assert response.json() == {"marked": 1, "unread": 0}
    assert api.get("/api/v1/notifications/").json()["results"][0]["read_at"] is not None


def test_an_artist_reads_decisions_on_their_stems_without_the_internal_justification(
    decided, artist, api_for
):
    [decision] = api_for(artist).get("/api/v1/review/decisions/").json()["results"]
    assert decision["decision"] == "reject"
    assert decision["note"] == "Clipping at the downbeat."
    assert decision["reason_title"] == "Quality below the vault's bar"
    assert "justification" not in decision


INTERNAL = "Internal only: the hi-hat is a cleared sample, checked against the contract"


@pytest.fixture
def approved_flagged(artist, curator, make_stem, django_capture_on_commit_callbacks):
    from portal.stems.models import Verdict

    stem = make_stem(artist, title="Flagged groove", provenance_verdict=Verdict.FLAG)
    review_claim(stem=stem, curator=curator)
    with django_capture_on_commit_callbacks(execute=True):
        stem_decide(
            stem=stem,
            curator=curator,
            decision="approve",
            note="Lovely swing.",
            justification=INTERNAL,
        )
    return stem


def test_the_internal_justification_reaches_no_page_api_notice_or_email_of_the_artist(
    approved_flagged, artist, client_for, api_for, mailoutbox
):
    stem = approved_flagged
    browser, api = client_for(artist), api_for(artist)
    responses = {
        "history page": browser.get("/review/history/"),
        "stem page": browser.get(f"/stems/{stem.pk}/"),
        "changes page": browser.get(f"/stems/{stem.pk}/changes/"),
        "audit api": api.get("/api/v1/audit/"),
        "audit api for the stem": api.get(f"/api/v1/audit/?subject=stem:{stem.pk}"),
        "decisions api": api.get(f"/api/v1/review/decisions/?stem={stem.pk}"),
        "stem api": api.get(f"/api/v1/stems/{stem.pk}/"),
        "notifications api": api.get("/api/v1/notifications/"),
        "notifications page": browser.get("/notifications/"),
    }
    for where, response in responses.items():
        assert response.status_code == 200, where
        body = response.content.decode()
        assert INTERNAL not in body, where
        assert "justification" not in body, where
    # What the artist is meant to read still arrives.
    assert "Lovely swing." in responses["history page"].content.decode()
    assert "review.approved" in responses["audit api"].content.decode()
    [email] = mailoutbox
    assert "approved" in email.body and INTERNAL not in email.body + email.subject


def test_curators_and_staff_still_read_the_internal_justification(
    approved_flagged, curator, staff, client_for, api_for
):
    stem = approved_flagged
    assert INTERNAL in client_for(curator).get(f"/review/stems/{stem.pk}/").content.decode()
    [decision] = api_for(curator).get(f"/api/v1/review/stems/{stem.pk}/").json()["decisions"]
    assert decision["justification"] == INTERNAL
    entries = api_for(staff).get(f"/api/v1/audit/?subject=stem:{stem.pk}").json()["results"]
    approved = next(e for e in entries if e["action"] == "review.approved")
    assert approved["after"]["justification"] == INTERNAL
    assert INTERNAL in client_for(staff).get("/review/history/").content.decode()
