"""Decisions: a curator closes a stem's review round by approving, rejecting or requesting
changes, under the rules each of them has."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from portal.audit.services import audit_record
from portal.core.errors import ApplicationError, Conflict
from portal.review.models import (
    Decision,
    DecisionKind,
    NotificationKind,
    ReasonTemplate,
    ReviewClaim,
)
from portal.review.notifications import notify, notify_credited_of_approval
from portal.review.services.claims import held_by_message
from portal.review.services.guards import (
    locked_stem,
    require_not_credited,
    require_reviewer,
    stem_state,
)
from portal.stems.models import Credit, Stem, StemStatus, Verdict
from portal.stems.selectors import consent_summary
from portal.stems.services.lifecycle import stem_transition

DECIDED_STATUS = {
    DecisionKind.APPROVE: StemStatus.APPROVED,
    DecisionKind.REJECT: StemStatus.REJECTED,
    DecisionKind.REQUEST_CHANGES: StemStatus.CHANGES_REQUESTED,
}
DECISION_ACTION = {
    DecisionKind.APPROVE: "review.approved",
    DecisionKind.REJECT: "review.rejected",
    DecisionKind.REQUEST_CHANGES: "review.changes_requested",
}
DECISION_NOTICE = {
    DecisionKind.APPROVE: NotificationKind.APPROVED,
    DecisionKind.REJECT: NotificationKind.REJECTED,
    DecisionKind.REQUEST_CHANGES: NotificationKind.CHANGES_REQUESTED,
}


def review_round(stem: Stem) -> int:
    """The stem's current review round: 1, plus one per earlier request for changes (each of
    which sent it back to the artist and, on resubmission, into a new round)."""
    earlier = Decision.objects.filter(stem=stem, decision=DecisionKind.REQUEST_CHANGES).count()
    return earlier + 1


def _check_decision_rules(
    *,
    stem: Stem,
    decision: str,
    reason_template: ReasonTemplate | None,
    note: str,
    justification: str,
) -> None:
    if decision == DecisionKind.APPROVE:
        verdicts = set(stem.checks.values_list("verdict", flat=True)) | {stem.provenance_verdict}
        if Verdict.FAIL in verdicts:
            raise ApplicationError(
                "failed_check", "A stem with a failed provenance check cannot be approved."
            )
        if Verdict.FLAG in verdicts and not justification.strip():
            raise ApplicationError(
                "justification_required",
                "This stem is flagged: write why you approve it anyway.",
                fields={"justification": ["Required to approve a flagged stem."]},
            )
        # Royalties follow the credits, so every credited artist must have accepted their share.
        # Read under the stem's lock: credit answers and edits lock the stem first too.
        consent = consent_summary(Credit.objects.filter(stem=stem).select_related("artist"))
        if not consent.complete:
            raise ApplicationError(
                "credits_pending",
                "Every credited artist must accept their share before the stem can be approved: "
                f"{consent.sentence()}.",
                extra={
                    "pending": [c.artist.username for c in consent.pending],
                    "declined": [c.artist.username for c in consent.declined],
                },
            )
    elif decision == DecisionKind.REJECT:
        if reason_template is None:
            raise ApplicationError(
                "reason_required",
                "Choose the reason for the rejection; the artist will see it.",
                fields={"reason_template": ["Required to reject."]},
            )
    elif decision == DecisionKind.REQUEST_CHANGES:
        if not note.strip():
            raise ApplicationError(
                "note_required",
                "Tell the artist what to change.",
                fields={"note": ["Required to request changes."]},
            )
    else:
        raise ApplicationError(
            "invalid", f"Decision must be one of {', '.join(DecisionKind.values)}."
        )


@transaction.atomic
def stem_decide(
    *,
    stem: Stem,
    curator: Any,
    decision: str,
    reason_template: ReasonTemplate | None = None,
    note: str = "",
    justification: str = "",
) -> Decision:
    """Close the stem's review round with a decision, atomically and at most once.

    The stem row is locked and its status re-read under the lock, so of two curators deciding
    at once the second sees the first's outcome and gets a 409; the unique (stem, round) index
    backs that up at the database. Only the claim holder decides (staff may override a claim).
    """
    require_reviewer(curator)
    locked = locked_stem(stem.pk)
    if locked.status != StemStatus.IN_REVIEW:
        latest = Decision.objects.filter(stem=locked).select_related("curator").first()
        who = f" by {latest.curator.display_name}" if latest else ""
        raise Conflict(
            "already_decided",
            f"This stem is no longer in review: it is {locked.get_status_display().lower()}"
            f"{who}. Nothing was changed.",
        )
    require_not_credited(locked, curator)
    now = timezone.now()
    claim = ReviewClaim.objects.select_related("curator").filter(stem=locked).first()
    active = claim if claim is not None and claim.expires_at > now else None
    if not curator.is_platform_staff:
        if active is None:
            raise Conflict("claim_required", "Claim this stem before deciding on it.")
        if active.curator_id != curator.pk:
            raise Conflict("claimed", held_by_message(active))
    _check_decision_rules(
        stem=locked,
        decision=decision,
        reason_template=reason_template,
        note=note,
        justification=justification,
    )
    before = stem_state(locked)
    row = Decision(
        stem=locked,
        round=review_round(locked),
        curator=curator,
        decision=decision,
        reason_template=reason_template,
        reason_title=reason_template.title if reason_template else "",
        reason_text=reason_template.text if reason_template else "",
        note=note.strip(),
        justification=justification.strip(),
    )
    # The (stem, round) constraint is left to the database: checked here it would only be a
    # read that a concurrent writer can slip past, and its violation must read as a conflict.
    row.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        raise Conflict(
            "already_decided", "Another curator decided on this stem a moment ago."
        ) from None

    # The lifecycle move itself is the stems domain's (its transition table and audit entry);
    # this entry below records the decision that caused it.
    locked = stem_transition(
        stem=locked,
        to=DECIDED_STATUS[DecisionKind(decision)],
        actor=curator,
        reason=_reason_for_artist(row) if decision == DecisionKind.REJECT else "",
        note=f"Review round {row.round}",
    )
    if claim is not None:
        claim.delete()  # deciding ends the review, and with it the claim
    audit_record(
        actor=curator,
        action=DECISION_ACTION[DecisionKind(decision)],
        subject=f"stem:{locked.pk}",
        stem=locked,
        before=before,
        after={
            **stem_state(locked),
            "decision_id": row.pk,
            "round": row.round,
            "reason": reason_template.code if reason_template else None,
            "note": row.note,
            "justification": row.justification,
        },
    )
    notify(
        user=locked.artist,
        stem=locked,
        kind=DECISION_NOTICE[DecisionKind(decision)],
        text=_decision_text(locked, row),
        email_template="decision",
        context={"decision": row},
    )
    if decision == DecisionKind.APPROVE:
        notify_credited_of_approval(stem=locked, kind=DECISION_NOTICE[DecisionKind.APPROVE])
    return row


def _reason_for_artist(decision: Decision) -> str:
    parts = [decision.reason_title, decision.reason_text, decision.note]
    return "\n\n".join(part for part in parts if part)


def _decision_text(stem: Stem, decision: Decision) -> str:
    if decision.decision == DecisionKind.APPROVE:
        return f"“{stem.title}” was approved and is now in the vault."
    if decision.decision == DecisionKind.REJECT:
        return f"“{stem.title}” was rejected: {decision.reason_title}. {decision.note}".strip()
    return f"Changes were requested on “{stem.title}”: {decision.note}"
