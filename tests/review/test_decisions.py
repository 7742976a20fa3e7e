from __future__ import annotations

import threading
from typing import Any

import pytest
from django.core import mail
from django.db import IntegrityError, connection, transaction

from portal.accounts.services import user_create
from portal.audit.models import AuditEntry
from portal.core.errors import ApplicationError, Conflict, PermissionDenied
from portal.review.models import Decision, Notification, ReviewClaim
from portal.review.services.claims import review_claim
from portal.review.services.decisions import stem_decide
from portal.stems.models import Stem, StemStatus, Verdict
from tests.factories.review import ReasonTemplateFactory


@pytest.fixture
def other_curator(db):
    return user_create(username="cyril", role="curator", password="x-long-enough-password")


def _claimed(stem: Stem, curator: Any) -> Stem:
    review_claim(stem=stem, curator=curator)
    return stem


@pytest.mark.django_db
class TestRules:
    def test_a_curator_cannot_decide_on_a_stem_they_are_credited_on(
        self, artist, curator, staff, make_stem
    ):
        stem = make_stem(artist, credits=[(artist, 5000), (staff, 5000)])
        with pytest.raises(PermissionDenied) as raised:
            stem_decide(stem=stem, curator=staff, decision="approve")
        assert raised.value.code == "credited_on_stem"
        assert not Decision.objects.exists()
        stem.refresh_from_db()
        assert stem.status == StemStatus.IN_REVIEW

    def test_a_stem_with_a_failed_check_cannot_be_approved(self, artist, curator, make_stem):
        stem = make_stem(
            artist,
            checks=[
                ("exact_duplicate", "pass", "Unique.", {}),
                ("self_output", "fail", "This is one of our renders.", {"key": "mix:x"}),
            ],
        )
        _claimed(stem, curator)
        with pytest.raises(ApplicationError) as raised:
            stem_decide(stem=stem, curator=curator, decision="approve", justification="I like it")
        assert raised.value.code == "failed_check"
        stem.refresh_from_db()
        assert stem.status == StemStatus.IN_REVIEW
        # Rejecting it is still possible.
        stem_decide(
            stem=stem, curator=curator, decision="reject", reason_template=ReasonTemplateFactory()
        )
        stem.refresh_from_db()
        assert stem.status == StemStatus.REJECTED

    def test_a_flagged_stem_needs_a_written_justification_to_be_approved(
        self, artist, curator, make_stem
    ):
        stem = _claimed(make_stem(artist, provenance_verdict=Verdict.FLAG), curator)
        with pytest.raises(ApplicationError) as raised:
            stem_decide(stem=stem, curator=curator, decision="approve", justification="   ")
        assert raised.value.code == "justification_required"
        assert "justification" in raised.value.fields
        decision = stem_decide(
            stem=stem,
            curator=curator,
            decision="approve",
            justification="The flagged tempo is a half-time feel, checked by ear.",
        )
        assert decision.justification.startswith("The flagged tempo")
        stem.refresh_from_db()
        assert stem.status == StemStatus.APPROVED

    def test_a_rejection_needs_a_reason_and_shows_it_with_the_note(
        self, artist, curator, make_stem
    ):
        stem = _claimed(make_stem(artist), curator)
        with pytest.raises(ApplicationError) as raised:
            stem_decide(stem=stem, curator=curator, decision="reject", note="Sorry")
        assert raised.value.code == "reason_required"
        template = ReasonTemplateFactory(code="uncleared-samples")
        stem_decide(
            stem=stem,
            curator=curator,
            decision="reject",
            reason_template=template,
            note="The vocal at 0:03 is from a known record.",
        )
        stem.refresh_from_db()
        assert stem.status == StemStatus.REJECTED
        assert template.title in stem.rejection_reason
        assert "The vocal at 0:03" in stem.rejection_reason

    def test_requesting_changes_needs_a_note(self, artist, curator, make_stem):
        stem = _claimed(make_stem(artist), curator)
        with pytest.raises(ApplicationError) as raised:
            stem_decide(stem=stem, curator=curator, decision="request_changes")
        assert raised.value.code == "note_required"
        stem_decide(stem=stem, curator=curator, decision="request_changes", note="Fix the bpm.")
        stem.refresh_from_db()
        assert stem.status == StemStatus.CHANGES_REQUESTED

    def test_only_the_claim_holder_decides(self, artist, curator, other_curator, make_stem):
        stem = make_stem(artist)
        with pytest.raises(Conflict) as raised:
            stem_decide(stem=stem, curator=curator, decision="approve")
        assert raised.value.code == "claim_required"
        review_claim(stem=stem, curator=curator)
        with pytest.raises(Conflict) as raised:
            stem_decide(stem=stem, curator=other_curator, decision="approve")
        assert raised.value.code == "claimed"
        assert f"Claimed by {curator.display_name}" in raised.value.message
        assert not Decision.objects.exists()

    def test_staff_may_decide_over_a_claim(self, artist, curator, staff, make_stem):
        stem = _claimed(make_stem(artist), curator)
        decision = stem_decide(stem=stem, curator=staff, decision="approve")
        assert decision.curator == staff

    def test_deciding_releases_the_claim(self, artist, curator, make_stem):
        stem = _claimed(make_stem(artist), curator)
        stem_decide(stem=stem, curator=curator, decision="approve")
        assert not ReviewClaim.objects.filter(stem=stem).exists()

    def test_a_second_decision_on_the_same_round_is_a_conflict(
        self, artist, curator, staff, make_stem, api_for
    ):
        stem = _claimed(make_stem(artist), curator)
        stem_decide(stem=stem, curator=curator, decision="approve")
        response = api_for(staff).post(
            f"/api/v1/review/stems/{stem.pk}/decision/",
            {"decision": "reject", "reason_template": "quality"},
            format="json",
        )
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "already_decided"
        assert "approved" in response.json()["error"]["message"]
        assert Decision.objects.filter(stem=stem).count() == 1
        stem.refresh_from_db()
        assert stem.status == StemStatus.APPROVED

    def test_the_database_refuses_two_decisions_for_one_round(self, artist, curator, make_stem):
        stem = make_stem(artist)
        Decision.objects.create(stem=stem, round=1, curator=curator, decision="approve")
        with pytest.raises(IntegrityError), transaction.atomic():
            Decision.objects.create(stem=stem, round=1, curator=curator, decision="reject")

    def test_the_round_constraint_turns_a_slipped_through_decision_into_a_conflict(
        self, artist, curator, make_stem
    ):
        # As if another writer had recorded round 1 without moving the status yet.
        stem = _claimed(make_stem(artist), curator)
        Decision.objects.create(stem=stem, round=1, curator=curator, decision="approve")
        with pytest.raises(Conflict) as raised:
            stem_decide(stem=stem, curator=curator, decision="approve")
        assert raised.value.code == "already_decided"
        assert Decision.objects.filter(stem=stem).count() == 1
        stem.refresh_from_db()
        assert stem.status == StemStatus.IN_REVIEW

    def test_a_decision_is_audited_with_before_and_after(self, artist, curator, make_stem):
        stem = _claimed(make_stem(artist, provenance_verdict=Verdict.FLAG), curator)
        decision = stem_decide(
            stem=stem, curator=curator, decision="approve", justification="Checked by ear."
        )
        entry = AuditEntry.objects.get(action="review.approved")
        assert entry.actor == curator
        assert entry.stem_id == stem.pk
        assert entry.before == {"status": "in_review", "provenance_verdict": "flag"}
        assert entry.after["status"] == "approved"
        assert entry.after["decision_id"] == decision.pk
        assert entry.after["justification"] == "Checked by ear."

    def test_a_rule_refusal_changes_nothing(self, artist, curator, make_stem):
        stem = _claimed(make_stem(artist, provenance_verdict=Verdict.FLAG), curator)
        with pytest.raises(ApplicationError):
            stem_decide(stem=stem, curator=curator, decision="approve")
        assert not AuditEntry.objects.filter(action__startswith="review.approved").exists()
        assert not Notification.objects.exists()
        assert ReviewClaim.objects.filter(stem=stem).exists()


@pytest.mark.django_db
class TestNotices:
    def test_the_artist_gets_an_email_and_a_notice_after_commit(
        self, artist, curator, make_stem, django_capture_on_commit_callbacks
    ):
        stem = _claimed(make_stem(artist, title="Dusty break"), curator)
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            stem_decide(
                stem=stem,
                curator=curator,
                decision="reject",
                reason_template=ReasonTemplateFactory(code="duplicate"),
                note="Too close to “Old break”.",
            )
        assert mail.outbox == []  # nothing is sent before the decision commits
        for callback in callbacks:
            callback()
        assert len(mail.outbox) == 1
        message = mail.outbox[0]
        assert message.to == [artist.email]
        assert "Dusty break" in message.subject
        assert "Duplicate of existing material" in message.body
        assert "Too close to “Old break”." in message.body
        notice = Notification.objects.get(user=artist)
        assert notice.kind == "rejected" and notice.read_at is None
        assert "Too close" in notice.text

    def test_a_request_for_changes_email_links_to_the_changes_page(
        self, artist, curator, make_stem, django_capture_on_commit_callbacks
    ):
        stem = _claimed(make_stem(artist), curator)
        with django_capture_on_commit_callbacks(execute=True):
            stem_decide(stem=stem, curator=curator, decision="request_changes", note="Key is D.")
        assert f"/stems/{stem.pk}/changes/" in mail.outbox[0].body
        assert "Key is D." in mail.outbox[0].body


@pytest.mark.django_db
def test_the_decision_form_records_a_decision_and_shows_refusals(
    artist, curator, make_stem, client_for
):
    stem = _claimed(make_stem(artist, provenance_verdict=Verdict.FLAG), curator)
    browser = client_for(curator)
    response = browser.post(
        f"/review/stems/{stem.pk}/decide/", {"decision": "approve"}, follow=True
    )
    assert "write why you approve it anyway" in response.content.decode()
    response = browser.post(
        f"/review/stems/{stem.pk}/decide/",
        {"decision": "approve", "justification": "Heard it; fine."},
    )
    assert response.status_code == 302
    stem.refresh_from_db()
    assert stem.status == StemStatus.APPROVED


# --- Two curators at the same moment ------------------------------------------------------------
def _race(stem_id: int, deciders: list[tuple[Any, str]]) -> list[Any]:
    barrier = threading.Barrier(len(deciders))
    results: list[Any] = [None] * len(deciders)

    def decide(index: int, user: Any, decision: str) -> None:
        from django.db import connections

        try:
            barrier.wait(timeout=10)
            stem = Stem.objects.get(pk=stem_id)
            kwargs = {"reason_template": ReasonTemplateFactory()} if decision == "reject" else {}
            results[index] = stem_decide(stem=stem, curator=user, decision=decision, **kwargs)
        except Exception as exc:
            results[index] = exc
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=decide, args=(i, user, decision))
        for i, (user, decision) in enumerate(deciders)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.mark.django_db(transaction=True)
def test_two_curators_deciding_at_once_make_exactly_one_decision(artist, curator, staff, make_stem):
    """The claim holder approves while staff rejects, at the same instant: one wins, the other
    gets a 409, and the stem has exactly one decision and the winner's status."""
    stem = _claimed(make_stem(artist), curator)
    ReasonTemplateFactory()
    if connection.vendor == "postgresql":
        results = _race(stem.pk, [(curator, "approve"), (staff, "reject")])
    else:
        # SQLite has one writer at a time and no row locks to race on; run the loser second,
        # which is what the row lock makes the race look like on PostgreSQL.
        results = []
        for user, decision in [(curator, "approve"), (staff, "reject")]:
            try:
                kwargs = (
                    {"reason_template": ReasonTemplateFactory()} if decision == "reject" else {}
                )
                results.append(stem_decide(stem=stem, curator=user, decision=decision, **kwargs))
            except Exception as exc:
                results.append(exc)
    winners = [r for r in results if isinstance(r, Decision)]
    losers = [r for r in results if isinstance(r, Exception)]
    assert len(winners) == 1, results
    assert len(losers) == 1 and isinstance(losers[0], Conflict), results
    assert losers[0].code == "already_decided"
    assert Decision.objects.filter(stem_id=stem.pk).count() == 1
    stem.refresh_from_db()
    expected = StemStatus.APPROVED if winners[0].decision == "approve" else StemStatus.REJECTED
    assert stem.status == expected
    assert (
        AuditEntry.objects.filter(action__startswith="review.", stem=stem)
        .exclude(action="review.claimed")
        .count()
        == 1
    )
