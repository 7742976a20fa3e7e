"""Takedowns: staff remove an approved stem from the vault."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from portal.audit.services import audit_record
from portal.core.errors import ApplicationError, Conflict, PermissionDenied
from portal.review.models import NotificationKind, Takedown
from portal.review.notifications import notify
from portal.review.services.guards import locked_stem, stem_state
from portal.stems.models import Stem, StemStatus
from portal.stems.services.lifecycle import stem_transition


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
    locked = locked_stem(stem.pk)
    if locked.status != StemStatus.APPROVED:
        raise Conflict(
            "not_in_vault",
            f"Only an approved stem can be taken down; this one is "
            f"{locked.get_status_display().lower()}.",
        )
    before = stem_state(locked)
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
        after={**stem_state(locked), "reason": takedown.reason, "takedown_id": takedown.pk},
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
