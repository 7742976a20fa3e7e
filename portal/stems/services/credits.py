"""A credited artist's answer to their credit: accept or decline the share the uploader gave them.

Credits route royalties, so a share counts only once its artist has said yes (review refuses to
approve a stem before every credit is accepted). Only the credited artist answers for their
credit; the current answer is on the Credit row and every answer is in the audit log."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from portal.accounts.models import User
from portal.audit.services import audit_record
from portal.core.errors import ApplicationError, Conflict, NotFound, PermissionDenied
from portal.stems.details import split_percent
from portal.stems.models import Credit, CreditConsent, Stem, StemStatus
from portal.stems.services.lifecycle import EDITABLE_STATUSES

MAX_MESSAGE_LENGTH = 2000
# In the vault: the answer that let the stem in stands (a change is a takedown matter for staff).
SETTLED_STATUSES = {StemStatus.APPROVED, StemStatus.TAKEN_DOWN}


def _credit_for_answer(*, credit_id: int, actor: User) -> tuple[Stem, Credit]:
    """The credit and its stem, both locked (stem first, as every write on a stem's credits
    does); NotFound unless the actor is the credited artist or the uploader."""
    not_found = NotFound("credit_not_found", "No such credit among yours.")
    stem_id = Credit.objects.filter(pk=credit_id).values_list("stem_id", flat=True).first()
    if stem_id is None:
        raise not_found
    stem = Stem.objects.select_for_update().select_related("artist").get(pk=stem_id)
    credit = (
        Credit.objects.select_for_update().select_related("artist").filter(pk=credit_id).first()
    )
    if credit is None:  # the uploader removed it while we waited for the lock
        raise not_found
    if credit.artist_id != getattr(actor, "pk", None):
        if stem.artist_id == getattr(actor, "pk", None):
            # The uploader knows the credit exists; they still cannot answer for its artist.
            raise PermissionDenied(
                "not_your_credit",
                f"Only {credit.artist.display_name} can accept or decline their credit.",
            )
        raise not_found  # never confirm someone else's credit exists
    return stem, credit


@transaction.atomic
def credit_answer(
    *,
    credit_id: int,
    actor: User,
    consent: str,
    message: str = "",
    split_bps: int | None = None,
) -> tuple[Credit, bool]:
    """Record the credited artist's answer (accepted or declined) on their credit; returns the
    credit and whether anything changed.

    `split_bps`, when given, is the share the artist read: if the uploader changed it meanwhile
    the answer is refused, so nobody accepts a share they did not see. Giving the same answer
    again is a no-op; changing one's mind is allowed until the stem is approved. A stem that was
    rejected or withdrawn has nothing left to answer.
    """
    if consent not in (CreditConsent.ACCEPTED, CreditConsent.DECLINED):
        raise ApplicationError("invalid", "Answer a credit with accepted or declined.")
    message = (message or "").strip()
    if len(message) > MAX_MESSAGE_LENGTH:
        raise ApplicationError(
            "invalid",
            f"The message is longer than {MAX_MESSAGE_LENGTH} characters.",
            fields={"message": [f"At most {MAX_MESSAGE_LENGTH} characters."]},
        )
    stem, credit = _credit_for_answer(credit_id=credit_id, actor=actor)
    if credit.artist_id == stem.artist_id:
        raise Conflict(
            "own_credit",
            "Your own credit on your stem counts as accepted; change the credits on the stem's "
            "page instead.",
        )
    if split_bps is not None and split_bps != credit.split_bps:
        raise Conflict(
            "credit_changed",
            f"{stem.artist.display_name} changed your share on “{stem.title}” to "
            f"{split_percent(credit.split_bps)} since you read it ({split_percent(split_bps)}); read it "
            "again before answering.",
        )
    if stem.status not in EDITABLE_STATUSES and stem.status not in SETTLED_STATUSES:
        raise Conflict(
            "stem_closed",
            f"“{stem.title}” was {stem.get_status_display().lower()}; there is no credit "
            "left to answer.",
        )
    if credit.consent == consent:
        return credit, False  # the same answer twice: nothing new to record or tell anyone
    if stem.status in SETTLED_STATUSES:
        raise Conflict(
            "consent_final",
            f"“{stem.title}” is already in the vault with your accepted share; the answer can "
            "no longer change. Ask staff if it must.",
        )
    before = {
        "artist": credit.artist.username,
        "split_bps": credit.split_bps,
        "consent": credit.consent,
    }
    credit.consent = consent
    credit.consent_decided_at = timezone.now()
    credit.consent_message = message
    credit.full_clean(validate_unique=False, validate_constraints=False)
    credit.save(update_fields=["consent", "consent_decided_at", "consent_message"])
    audit_record(
        actor=actor,
        action=f"credit.{consent}",
        subject=f"stem:{stem.pk}",
        stem=stem,
        before=before,
        after={**before, "consent": consent, "credit_id": credit.pk},
        note=message,
    )
    credit.stem = stem
    return credit, True
