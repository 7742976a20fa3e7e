"""Claims: a curator's hold on a stem in review, for REVIEW_CLAIM_MINUTES, so two curators do
not review the same stem at once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from portal.audit.services import audit_record
from portal.core.errors import Conflict, PermissionDenied
from portal.review.models import ReviewClaim
from portal.review.services.guards import locked_stem, require_not_credited, require_reviewer
from portal.stems.models import Stem, StemStatus


def claim_minutes() -> int:
    # Read at call time, so a deployment (or a test) can change it without a restart of imports.
    return int(getattr(settings, "REVIEW_CLAIM_MINUTES", 30))


def hhmm(moment: Any) -> str:
    return str(timezone.localtime(moment).strftime("%H:%M"))


def held_by_message(claim: ReviewClaim) -> str:
    return f"Claimed by {claim.curator.display_name} until {hhmm(claim.expires_at)}."


@transaction.atomic
def review_claim(*, stem: Stem, curator: Any) -> ReviewClaim:
    """Claim a stem in review for `REVIEW_CLAIM_MINUTES`; renewing one's own claim is allowed.

    Two curators claiming at once: the conditional UPDATE (only an expired or own claim) and the
    INSERT (the stem column is unique) each let exactly one writer through; the loser gets a
    409 naming the holder.
    """
    require_reviewer(curator)
    locked = locked_stem(stem.pk)
    if locked.status != StemStatus.IN_REVIEW:
        raise Conflict("not_in_review", f"This stem is {locked.get_status_display().lower()}.")
    require_not_credited(locked, curator)
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
            raise Conflict("claimed", held_by_message(holder)) from None
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
    require_reviewer(user)
    claims = ReviewClaim.objects.select_for_update().filter(stem_id=stem.pk)
    claim = claims.select_related("curator").first()
    if claim is None:
        return  # already free: releasing twice is a no-op
    if claim.curator_id != user.pk and not user.is_platform_staff:
        raise PermissionDenied("not_your_claim", held_by_message(claim))
    claim.delete()
    audit_record(
        actor=user,
        action="review.released",
        subject=f"stem:{stem.pk}",
        stem=stem,
        before={"curator": claim.curator.username, "expires_at": claim.expires_at.isoformat()},
        after=None,
    )
