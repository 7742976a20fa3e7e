"""Credits the credited accept: the gate's side of a credit's consent.

The stems domain records the answer (stems.services.credits.credit_answer); review tells the
people concerned and, when a share is declined, hands the stem back to its uploader: a stem in
review moves to changes requested (the same correction page and resubmission as a curator's
request for changes) and the curator's claim ends, since the stem cannot be approved as it is.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from portal.review.models import NotificationKind, ReviewClaim
from portal.review.notifications import notify
from portal.stems.details import split_percent
from portal.stems.models import Credit, CreditConsent, Stem, StemStatus
from portal.stems.services.credits import credit_answer
from portal.stems.services.lifecycle import stem_transition
from portal.stems.signals import credits_awaiting_consent

logger = logging.getLogger(__name__)


def credits_url() -> str:
    return settings.SITE_URL + reverse("review:credits")


@transaction.atomic
def credit_accept(
    *, credit_id: int, artist: Any, message: str = "", split_bps: int | None = None
) -> Credit:
    """The credited artist accepts their share. Accepting twice is a no-op."""
    credit, _ = credit_answer(
        credit_id=credit_id,
        actor=artist,
        consent=CreditConsent.ACCEPTED,
        message=message,
        split_bps=split_bps,
    )
    return credit


@transaction.atomic
def credit_decline(
    *, credit_id: int, artist: Any, message: str = "", split_bps: int | None = None
) -> Credit:
    """The credited artist declines their share: the uploader is told (with the message) and
    the stem goes back to them to correct its credits. Declining twice is a no-op."""
    credit, changed = credit_answer(
        credit_id=credit_id,
        actor=artist,
        consent=CreditConsent.DECLINED,
        message=message,
        split_bps=split_bps,
    )
    if not changed:
        return credit
    stem = credit.stem
    if stem.status == StemStatus.IN_REVIEW:
        stem = stem_transition(
            stem=stem,
            to=StemStatus.CHANGES_REQUESTED,
            actor=artist,
            note=f"{artist.username} declined their {split_percent(credit.split_bps)} credit",
        )
        ReviewClaim.objects.filter(stem=stem).delete()
    said = f" They wrote: “{credit.consent_message}”" if credit.consent_message else ""
    notify(
        user=stem.artist,
        stem=stem,
        kind=NotificationKind.CREDIT_DECLINED,
        text=(
            f"{artist.display_name} declined their {split_percent(credit.split_bps)} credit on "
            f"“{stem.title}”.{said} Correct the credits so the stem can be approved."
        ),
        email_template="credit_declined",
        context={
            "credit": credit,
            "credited": artist,
            "share": split_percent(credit.split_bps),
            # The stem's edit page, which leads to the resubmission when changes are requested.
            "correct_url": settings.SITE_URL + reverse("stems:edit", args=[stem.pk]),
        },
    )
    return credit


def credits_request_notices(*, stem: Stem, credit_ids: list[int]) -> int:
    """Ask each credited artist (of these credits still pending) to accept their share: an
    in-app notice and an email. Returns how many were sent."""
    credits = Credit.objects.filter(
        pk__in=credit_ids, stem=stem, consent=CreditConsent.PENDING
    ).select_related("artist", "stem__artist")
    sent = 0
    for credit in credits:
        uploader = credit.stem.artist
        notify(
            user=credit.artist,
            stem=credit.stem,
            kind=NotificationKind.CREDIT_REQUESTED,
            text=(
                f"{uploader.display_name} credited you with {split_percent(credit.split_bps)} of the "
                f"royalties of “{credit.stem.title}”. Accept or decline it under Credits to "
                "confirm; the stem cannot enter the vault until you accept."
            ),
            email_template="credit_requested",
            context={
                "credit": credit,
                "uploader": uploader,
                "share": split_percent(credit.split_bps),
                "credits_url": credits_url(),
            },
        )
        sent += 1
    return sent


def on_credits_awaiting_consent(
    sender: Any = None, *, stem: Stem, credit_ids: list[int], **kwargs: Any
) -> None:
    # After the commit that created the credits: a notice that fails must not undo them (the
    # pending credit is listed on the artist's Credits to confirm page either way).
    try:
        with transaction.atomic():
            credits_request_notices(stem=stem, credit_ids=credit_ids)
    except Exception:
        logger.exception("could not send credit notices for stem %s", getattr(stem, "pk", stem))


def connect_signals() -> None:
    credits_awaiting_consent.connect(
        on_credits_awaiting_consent, dispatch_uid="review.notices_on_credits_awaiting_consent"
    )
