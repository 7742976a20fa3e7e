"""Writes for review: claims, decisions, resubmissions, takedowns and the notices they send.

Every write locks the stem row first and re-reads its status under the lock, so concurrent
curators serialise on the stem; the status moves themselves go through the stems domain's
`stem_transition` (its transition table and audit entry), and review adds its own entry for the
claim, decision or takedown that caused them, in the same transaction.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from portal.audit.services import audit_record
from portal.core.errors import ApplicationError, Conflict, NotFound, PermissionDenied
from portal.review.models import (
    Decision,
    DecisionKind,
    NotificationKind,
    ReasonTemplate,
    ReviewClaim,
    Takedown,
)
from portal.review.notifications import notify
from portal.stems.models import Credit, Stem, StemStatus, Verdict
from portal.stems.selectors import consent_summary
from portal.stems.services.lifecycle import stem_transition, stem_update_metadata

logger = logging.getLogger(__name__)

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
METADATA_FIELDS = (
    "title",
    "role",
    "bpm",
    "bars",
    "musical_key",
    "moods",
    "genres",
    "description",
)


def claim_minutes() -> int:
    # Read at call time, so a deployment (or a test) can change it without a restart of imports.
    return int(getattr(settings, "REVIEW_CLAIM_MINUTES", 30))


def _hhmm(moment: Any) -> str:
    return str(timezone.localtime(moment).strftime("%H:%M"))


def _require_reviewer(user: Any) -> None:
    if not (getattr(user, "is_curator", False) or getattr(user, "is_platform_staff", False)):
        raise PermissionDenied("not_a_curator", "Only curators and staff review stems.")


def _require_not_credited(stem: Stem, curator: Any) -> None:
    # A curator judging their own work is the one conflict of interest the gate must refuse.
    if stem.artist_id == curator.pk or Credit.objects.filter(stem=stem, artist=curator).exists():
        raise PermissionDenied(
            "credited_on_stem",
            "You are credited on this stem, so another curator must review it.",
        )


def _locked_stem(stem_id: int) -> Stem:
    try:
        return Stem.objects.select_for_update().get(pk=stem_id)
    except Stem.DoesNotExist:
        raise NotFound("not_found", "No such stem.") from None


def _stem_state(stem: Stem) -> dict[str, Any]:
    return {"status": stem.status, "provenance_verdict": stem.provenance_verdict}


def _held_by_message(claim: ReviewClaim) -> str:
    return f"Claimed by {claim.curator.display_name} until {_hhmm(claim.expires_at)}."


# --- Claims --------------------------------------------------------------------------------------
@transaction.atomic
def review_claim(*, stem: Stem, curator: Any) -> ReviewClaim:
    """Claim a stem in review for `REVIEW_CLAIM_MINUTES`; renewing one's own claim is allowed.

    Two curators claiming at once: the conditional UPDATE (only an expired or own claim) and the
    INSERT (the stem column is unique) each let exactly one writer through; the loser gets a
    409 naming the holder.
    """
    _require_reviewer(curator)
    locked = _locked_stem(stem.pk)
    if locked.status != StemStatus.IN_REVIEW:
        raise Conflict("not_in_review", f"This stem is {locked.get_status_display().lower()}.")
    _require_not_credited(locked, curator)
    now = timezone.now()
    expires_at = now + timedelta(minutes=claim_minutes())
    previous = ReviewClaim.objects.select_related("curator").filter(stem=locked).first()
    taken = ReviewClaim.objects.filter(
        Q(expires_at__lte=now) | Q(curator=curator), stem=locked
    ).update(curator=curator, claimed_at=now, expires_at=expires_at)
    if not taken:
        try:
            with transaction.atomic():
                ReviewClaim.objects.create(
                    stem=locked, curator=curator, claimed_at=now, expires_at=expires_at
                )
        except IntegrityError:
            holder = ReviewClaim.objects.select_related("curator").get(stem=locked)
            raise Conflict("claimed", _held_by_message(holder)) from None
    claim = ReviewClaim.objects.select_related("curator").get(stem=locked)
    audit_record(
        actor=curator,
        action="review.claimed",
        subject=f"stem:{locked.pk}",
        stem=locked,
        before=(
            {"curator": previous.curator.username, "expires_at": previous.expires_at.isoformat()}
            if previous
            else None
        ),
        after={"curator": curator.username, "expires_at": expires_at.isoformat()},
    )
    return claim


@transaction.atomic
def review_release(*, stem: Stem, user: Any) -> None:
    """Give a claim back. The holder may release it; staff may release anyone's."""
    _require_reviewer(user)
    claims = ReviewClaim.objects.select_for_update().filter(stem_id=stem.pk)
    claim = claims.select_related("curator").first()
    if claim is None:
        return  # already free: releasing twice is a no-op
    if claim.curator_id != user.pk and not user.is_platform_staff:
        raise PermissionDenied("not_your_claim", _held_by_message(claim))
    claim.delete()
    audit_record(
        actor=user,
        action="review.released",
        subject=f"stem:{stem.pk}",
        stem=stem,
        before={"curator": claim.curator.username, "expires_at": claim.expires_at.isoformat()},
        after=None,
    )


# --- Decisions -----------------------------------------------------------------------------------
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
    _require_reviewer(curator)
    locked = _locked_stem(stem.pk)
    if locked.status != StemStatus.IN_REVIEW:
        latest = Decision.objects.filter(stem=locked).select_related("curator").first()
        who = f" by {latest.curator.display_name}" if latest else ""
        raise Conflict(
            "already_decided",
            f"This stem is no longer in review: it is {locked.get_status_display().lower()}"
            f"{who}. Nothing was changed.",
        )
    _require_not_credited(locked, curator)
    now = timezone.now()
    claim = ReviewClaim.objects.select_related("curator").filter(stem=locked).first()
    active = claim if claim is not None and claim.expires_at > now else None
    if not curator.is_platform_staff:
        if active is None:
            raise Conflict("claim_required", "Claim this stem before deciding on it.")
        if active.curator_id != curator.pk:
            raise Conflict("claimed", _held_by_message(active))
    _check_decision_rules(
        stem=locked,
        decision=decision,
        reason_template=reason_template,
        note=note,
        justification=justification,
    )
    before = _stem_state(locked)
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
            **_stem_state(locked),
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


# --- Resubmission ------------------------------------------------------------------------------
@transaction.atomic
def stem_resubmit(
    *, stem: Stem, artist: Any, credits: list[dict[str, Any]] | None = None, **metadata: Any
) -> Stem:
    """The artist's corrected metadata (and credits, when given), sent back to review in a new
    round.

    Only metadata and credits change here; new audio is a new submission (and new provenance
    checks). The edit and the move back to in_review are the stems domain's services, so the
    metadata and credit rules and the `stem_entered_review` signal are the same as for any stem;
    a changed share asks its artist again.
    """
    locked = _locked_stem(stem.pk)
    if locked.artist_id != artist.pk:
        raise NotFound("not_found", "No such stem.")  # never confirm someone else's stem exists
    if locked.status != StemStatus.CHANGES_REQUESTED:
        raise Conflict(
            "not_changes_requested",
            f"Only a stem with changes requested can be resubmitted; this one is "
            f"{locked.get_status_display().lower()}.",
        )
    unknown = set(metadata) - set(METADATA_FIELDS)
    if unknown:
        raise ApplicationError("invalid", f"Cannot edit {', '.join(sorted(unknown))} here.")
    before = {field: getattr(locked, field) for field in METADATA_FIELDS}
    before["status"] = locked.status
    if credits is not None:
        metadata["credits"] = credits
    locked = stem_update_metadata(stem=locked, actor=artist, **metadata)
    locked = stem_transition(stem=locked, to=StemStatus.IN_REVIEW, actor=artist)
    after = {field: getattr(locked, field) for field in METADATA_FIELDS}
    after["status"] = locked.status
    audit_record(
        actor=artist,
        action="stem.resubmitted",
        subject=f"stem:{locked.pk}",
        stem=locked,
        before=before,
        after=after,
        note=f"Review round {review_round(locked)}",
    )
    return locked


# --- Takedown ------------------------------------------------------------------------------------
@transaction.atomic
def stem_takedown(*, stem: Stem, staff: Any, reason: str) -> Takedown:
    """Remove an approved stem from the vault: it leaves every future render (renders select
    approved stems only); what was already rendered keeps its record."""
    if not getattr(staff, "is_platform_staff", False):
        raise PermissionDenied("not_staff", "Only staff can take a stem down.")
    if not reason.strip():
        raise ApplicationError(
            "reason_required",
            "Give the reason for the takedown.",
            fields={"reason": ["Required."]},
        )
    locked = _locked_stem(stem.pk)
    if locked.status != StemStatus.APPROVED:
        raise Conflict(
            "not_in_vault",
            f"Only an approved stem can be taken down; this one is "
            f"{locked.get_status_display().lower()}.",
        )
    before = _stem_state(locked)
    takedown = Takedown(stem=locked, staff=staff, reason=reason.strip())
    takedown.full_clean()
    takedown.save()
    locked = stem_transition(
        stem=locked, to=StemStatus.TAKEN_DOWN, actor=staff, note=takedown.reason
    )
    takedown.stem = locked
    audit_record(
        actor=staff,
        action="vault.takedown",
        subject=f"stem:{locked.pk}",
        stem=locked,
        before=before,
        after={**_stem_state(locked), "reason": takedown.reason, "takedown_id": takedown.pk},
    )
    notify(
        user=locked.artist,
        stem=locked,
        kind=NotificationKind.TAKEN_DOWN,
        text=f"“{locked.title}” was taken down from the vault: {takedown.reason}",
        email_template="takedown",
        context={"takedown": takedown},
    )
    return takedown
