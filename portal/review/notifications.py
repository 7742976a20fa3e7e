"""Review notices to artists: an in-app notification row, and an email sent only once the
decision's transaction has committed."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from portal.review.models import Notification
from portal.stems.details import split_percent
from portal.stems.models import CreditConsent, Stem

logger = logging.getLogger(__name__)


def notify(
    *,
    user: Any,
    stem: Stem,
    kind: str,
    text: str,
    email_template: str,
    context: dict[str, Any],
) -> Notification:
    notice = Notification(user=user, stem=stem, kind=kind, text=text)
    notice.full_clean()
    notice.save()
    if user.email:
        full = {
            **context,
            "stem": stem,
            "user": user,
            "site_url": settings.SITE_URL,
            "notifications_url": settings.SITE_URL + reverse("review:notifications"),
            "changes_url": settings.SITE_URL + reverse("review:stem-changes", args=[stem.pk]),
        }
        subject = " ".join(
            render_to_string(f"review/email/{email_template}_subject.txt", full).split()
        )
        body = render_to_string(f"review/email/{email_template}.txt", full)
        # After commit: a rolled-back decision must never have emailed anyone.
        transaction.on_commit(lambda: _send_email(subject, body, user.email))
    return notice


def notify_credited_of_approval(*, stem: Stem, kind: str) -> int:
    """Tell each artist credited on an approved stem, other than its uploader, that it is in the
    vault and earns for them from now on. Returns how many were told."""
    credits = (
        stem.credits.filter(consent=CreditConsent.ACCEPTED)
        .exclude(artist_id=stem.artist_id)
        .select_related("artist")
    )
    told = 0
    for credit in credits:
        share = split_percent(credit.split_bps)
        notify(
            user=credit.artist,
            stem=stem,
            kind=kind,
            text=(
                f"“{stem.title}” by {stem.artist.display_name}, on which you are credited with "
                f"{share}, was approved and is now in the vault: its plays pay you {share}."
            ),
            email_template="credited_approved",
            context={
                "share": share,
                "uploader": stem.artist,
                "stem_url": settings.SITE_URL + reverse("stems:detail", args=[stem.pk]),
            },
        )
        told += 1
    return told


def _send_email(subject: str, body: str, to: str) -> None:
    try:
        send_mail(subject, body, None, [to])
    except Exception:  # the decision stands; the in-app notice still tells the artist
        logger.exception("could not email a review notice to %s", to)


def notifications_mark_read(*, user: Any, ids: list[int] | None = None) -> int:
    """Mark the user's unread notices read (all of them, or only `ids`); returns how many."""
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=timezone.now())
