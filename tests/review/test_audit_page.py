"""The audit log page reads as who did what to what, when, with the changed fields only;
filtered by actor, action, subject and dates, and paged. A curator has a history page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from portal.audit.models import AuditEntry
from portal.audit.services import audit_record
from portal.review.audit_log import action_label, changes
from portal.review.services.claims import review_claim
from portal.review.services.decisions import stem_decide

pytestmark = pytest.mark.django_db


def test_changes_lists_only_the_changed_keys_old_to_new():
    diff = changes(
        {"status": "in_review", "title": "Kick", "bpm": 120},
        {"status": "approved", "title": "Kick", "bpm": 121},
    )
    assert [(c.key, c.old, c.new) for c in diff] == [
        ("bpm", "120", "121"),
        ("status", "in_review", "approved"),
    ]
    assert [(c.key, c.old, c.new) for c in changes(None, {"consent": "accepted"})] == [
        ("consent", "—", "accepted")
    ]
    assert changes({"a": 1}, {"a": 1}) == []
    assert [(c.old, c.new) for c in changes("x", "y")] == [("x", "y")]


def test_every_action_the_code_records_has_a_label():
    assert action_label("review.approved") == "approved a stem"
    assert action_label("stem.taken_down") == "moved a stem to “taken down”"
    assert action_label("brand.new_thing") == "brand: new thing"


def _decided(artist, curator, make_stem):
    stem = make_stem(artist, title="Audited loop")
    review_claim(stem=stem, curator=curator)
    stem_decide(stem=stem, curator=curator, decision="approve")
    return stem


def test_the_audit_page_says_who_did_what_to_what(artist, curator, staff, make_stem, client_for):
    stem = _decided(artist, curator, make_stem)
    page = client_for(staff).get("/audit/").content.decode()
    assert "Approved a stem" in page and "Claimed a stem for review" in page
    assert curator.display_name in page
    # The subject links to the page staff may open, with the stem's title.
    assert f'<a href="/review/stems/{stem.pk}/">“Audited loop” (stem:{stem.pk})</a>' in page
    # The diff: the status moved, old → new; unchanged keys are not listed.
    approved = AuditEntry.objects.get(action="review.approved", stem=stem)
    for key in approved.after or {}:
        if (approved.before or {}).get(key) == approved.after[key]:
            assert (
                f'<span class="diff-key">{key.replace("_", " ")}</span>'
                not in page.split("Approved a stem")[1].split("</tr>")[0]
            )
    assert "<del>in_review</del> → <ins>approved</ins>" in page


def test_the_audit_page_filters_by_actor_action_subject_and_dates(
    artist, other_artist, curator, staff, make_stem, client_for
):
    mine = _decided(artist, curator, make_stem)
    other = make_stem(other_artist, title="Other loop")
    audit_record(
        actor=other_artist, action="stem.submitted", subject=f"stem:{other.pk}", stem=other
    )
    browser = client_for(staff)

    by_curator = browser.get("/audit/", {"actor": curator.username}).content.decode()
    assert "Approved a stem" in by_curator and "Submitted a stem" not in by_curator
    by_action = browser.get("/audit/", {"action": "review.approved"}).content.decode()
    assert "Approved a stem" in by_action and "Claimed a stem" not in by_action
    by_subject = browser.get("/audit/", {"subject": f"stem:{other.pk}"}).content.decode()
    assert "Other loop" in by_subject and "Audited loop" not in by_subject
    today = timezone.localdate()
    tomorrow = (today + timedelta(days=1)).isoformat()
    assert (
        "No entries with these filters"
        in browser.get("/audit/", {"since": tomorrow}).content.decode()
    )
    upto = browser.get("/audit/", {"until": today.isoformat(), "subject": f"stem:{mine.pk}"})
    assert "Approved a stem" in upto.content.decode()


def test_the_audit_page_is_paged(staff, client_for):
    for i in range(55):
        audit_record(actor=staff, action="license.published", subject=f"license:{i}")
    first = client_for(staff).get("/audit/", {"action": "license."}).content.decode()
    assert "Page 1 of 2" in first and "action=license." in first
    second = client_for(staff).get("/audit/", {"action": "license.", "page": 2}).content.decode()
    assert second.count("Published a license") == 5


def test_a_curator_has_a_history_of_their_own_reviews(
    artist, curator, staff, make_stem, client_for
):
    stem = _decided(artist, curator, make_stem)
    other = make_stem(artist, title="Not mine")
    review_claim(stem=other, curator=staff)
    response = client_for(curator).get("/review/history/")
    page = response.content.decode()
    assert response.status_code == 200
    assert f'<a href="/review/stems/{stem.pk}/">Audited loop</a>' in page
    assert "Approved a stem" in page and "Not mine" not in page
