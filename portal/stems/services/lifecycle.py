"""A stem's lifecycle: status moves (see TRANSITIONS), withdrawal by its artist, and edits of its
details (metadata and credits) before approval."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from portal.accounts.models import User
from portal.audit.services import audit_record
from portal.core.errors import Conflict, PermissionDenied
from portal.stems.checks import quality_recheck
from portal.stems.details import clean_credits, clean_metadata
from portal.stems.models import Credit, CreditConsent, Stem, StemStatus
from portal.stems.signals import credits_awaiting_consent, stem_entered_review, stem_entered_vault

logger = logging.getLogger(__name__)

# Statuses an artist may withdraw from, and the legal moves of the review lifecycle.
TRANSITIONS: dict[str, set[str]] = {
    StemStatus.PROCESSING: {StemStatus.IN_REVIEW, StemStatus.REJECTED, StemStatus.WITHDRAWN},
    StemStatus.IN_REVIEW: {
        StemStatus.APPROVED,
        StemStatus.REJECTED,
        StemStatus.CHANGES_REQUESTED,
        StemStatus.WITHDRAWN,
    },
    StemStatus.CHANGES_REQUESTED: {
        StemStatus.IN_REVIEW,
        StemStatus.REJECTED,
        StemStatus.WITHDRAWN,
    },
    StemStatus.APPROVED: {StemStatus.WITHDRAWN, StemStatus.TAKEN_DOWN},
    StemStatus.TAKEN_DOWN: {StemStatus.APPROVED},
    StemStatus.REJECTED: set(),
    StemStatus.WITHDRAWN: set(),
}


def _announce(signal: Any, name: str, stem: Stem) -> None:
    """Send `signal` with the stem after commit; a failing receiver is logged, never raised."""

    def send() -> None:
        for receiver, response in signal.send_robust(sender=Stem, stem=stem):
            if isinstance(response, Exception):
                logger.error(
                    "%s receiver %r failed for stem %s: %r", name, receiver, stem.pk, response
                )

    transaction.on_commit(send, robust=True)


def announce_review(stem: Stem) -> None:
    _announce(stem_entered_review, "stem_entered_review", stem)


def announce_credits(stem: Stem, credit_ids: Iterable[int]) -> None:
    """After commit, tell the listeners (review sends the notices) which credits wait for their
    artist's answer."""
    ids = list(credit_ids)
    if not ids:
        return

    def send() -> None:
        for receiver, response in credits_awaiting_consent.send_robust(
            sender=Stem, stem=stem, credit_ids=ids
        ):
            if isinstance(response, Exception):
                logger.error(
                    "credits_awaiting_consent receiver %r failed for stem %s: %r",
                    receiver,
                    stem.pk,
                    response,
                )

    transaction.on_commit(send, robust=True)


def credit_consent_fields(*, artist_id: int, uploader_id: int, now: datetime) -> dict[str, Any]:
    """A new (or changed) credit's consent: the uploader's own share is accepted as they write
    it; anyone else's waits for that artist's answer."""
    if artist_id == uploader_id:
        return {
            "consent": CreditConsent.ACCEPTED,
            "consent_requested_at": now,
            "consent_decided_at": now,
            "consent_message": "",
        }
    return {
        "consent": CreditConsent.PENDING,
        "consent_requested_at": now,
        "consent_decided_at": None,
        "consent_message": "",
    }


@transaction.atomic
def stem_transition(
    *,
    stem: Stem,
    to: str,
    actor: Any,
    reason: str = "",
    note: str = "",
    details: dict[str, Any] | None = None,
) -> Stem:
    """Move a stem along its lifecycle (see TRANSITIONS); a move to where it already is is a
    no-op. Entering in_review sends `stem_entered_review` after commit. `details` go into the
    audit entry's `after` (the provenance job's verdict and checks)."""
    locked = Stem.objects.select_for_update().get(pk=stem.pk)
    if locked.status == to:
        return locked
    if to not in TRANSITIONS.get(locked.status, set()):
        raise Conflict(
            "illegal_transition",
            f"A stem that is {locked.get_status_display().lower()} cannot become "
            f"{StemStatus(to).label.lower()}.",
        )
    before = {"status": locked.status}
    locked.status = to
    fields = ["status", "updated_at"]
    if to == StemStatus.REJECTED:
        locked.rejection_reason = reason
        fields.append("rejection_reason")
    if to == StemStatus.WITHDRAWN:
        locked.withdrawn_at = timezone.now()
        fields.append("withdrawn_at")
    locked.save(update_fields=fields)
    audit_record(
        actor=actor,
        action=f"stem.{to}",
        subject=f"stem:{locked.pk}",
        stem=locked,
        before=before,
        after={"status": to, **({"reason": reason} if reason else {}), **(details or {})},
        note=note,
    )
    if to == StemStatus.IN_REVIEW:
        announce_review(locked)
    if to == StemStatus.APPROVED:
        _announce(stem_entered_vault, "stem_entered_vault", locked)
    return locked


def stem_withdraw(*, stem: Stem, actor: User) -> Stem:
    """The artist takes their stem out of the vault. It leaves every future render; mixes that
    already used it keep their record (MixStem rows are not touched)."""
    if stem.artist_id != getattr(actor, "pk", None):
        raise PermissionDenied(
            "not_your_stem", "Only the artist who contributed a stem can withdraw it."
        )
    if stem.status in (StemStatus.REJECTED, StemStatus.TAKEN_DOWN):
        raise Conflict(
            "cannot_withdraw",
            f"This stem was {stem.get_status_display().lower()}; there is nothing to withdraw.",
        )
    return stem_transition(stem=stem, to=StemStatus.WITHDRAWN, actor=actor)


_UNCHANGED: Any = object()
EDITABLE_STATUSES = {StemStatus.PROCESSING, StemStatus.IN_REVIEW, StemStatus.CHANGES_REQUESTED}


@transaction.atomic
def stem_update_metadata(
    *,
    stem: Stem,
    actor: User,
    title: Any = _UNCHANGED,
    role: Any = _UNCHANGED,
    bpm: Any = _UNCHANGED,
    bars: Any = _UNCHANGED,
    musical_key: Any = _UNCHANGED,
    moods: Any = _UNCHANGED,
    genres: Any = _UNCHANGED,
    description: Any = _UNCHANGED,
    credits: Any = _UNCHANGED,
) -> Stem:
    """Edit what the artist said about a stem (for a resubmission after changes were requested).

    Only the contributing artist (or platform staff) may edit, and only before approval; credits
    (None: unchanged) only the contributing artist (see stem_update_credits). The status is left alone: the review
    domain moves the stem back to in_review (stem_transition).
    """
    locked = Stem.objects.select_for_update().get(pk=stem.pk)
    if locked.artist_id != actor.pk and not actor.is_platform_staff:
        raise PermissionDenied("not_your_stem", "Only the stem's artist can edit its details.")
    if locked.status not in EDITABLE_STATUSES:
        raise Conflict(
            "not_editable",
            f"A stem that is {locked.get_status_display().lower()} can no longer be edited.",
        )
    current = {
        "title": locked.title,
        "kind": locked.kind,
        "role": locked.role,
        "bpm": locked.bpm,
        "bars": locked.bars,
        "musical_key": locked.musical_key,
        "moods": locked.moods,
        "genres": locked.genres,
        "description": locked.description,
    }
    changes = {
        key: value
        for key, value in {
            "title": title,
            "role": role,
            "bpm": bpm,
            "bars": bars,
            "musical_key": musical_key,
            "moods": moods,
            "genres": genres,
            "description": description,
        }.items()
        if value is not _UNCHANGED
    }
    clean = clean_metadata({**current, **changes})
    before = {key: current[key] for key in changes}
    for key in changes:
        setattr(locked, key, clean[key])
    locked.full_clean(validate_unique=False, validate_constraints=False)
    locked.save()
    if "bpm" in changes:
        # The declared tempo feeds the quality check; re-judge it from the stored analysis.
        quality_recheck(stem=locked)
    audit_record(
        actor=actor,
        action="stem.metadata_updated",
        subject=f"stem:{locked.pk}",
        stem=locked,
        before=before,
        after={key: clean[key] for key in changes},
    )
    if credits is not _UNCHANGED and credits is not None:
        locked = stem_update_credits(stem=locked, actor=actor, credits=credits)
    return locked


def _splits(rows: Iterable[tuple[Any, int]]) -> dict[str, int]:
    return {user.username: bps for user, bps in rows}


@transaction.atomic
def stem_update_credits(*, stem: Stem, actor: User, credits: Sequence[dict[str, Any]]) -> Stem:
    """Correct a stem's credits before approval (the same rules as when contributing; none means
    the uploader, 100%). Only the uploader may: the credits route money.

    A credit whose share is unchanged keeps its artist's answer; a changed or new one asks its
    artist again (a new notice, after commit), and a removed one is deleted. No change at all is
    a no-op."""
    locked = Stem.objects.select_for_update().get(pk=stem.pk)
    if locked.artist_id != actor.pk:
        raise PermissionDenied(
            "not_your_stem", "Only the artist who contributed a stem can change its credits."
        )
    if locked.status not in EDITABLE_STATUSES:
        raise Conflict(
            "not_editable",
            f"A stem that is {locked.get_status_display().lower()} can no longer have its "
            "credits changed.",
        )
    wanted = clean_credits(credits, artist=locked.artist)
    existing = {
        credit.artist_id: credit
        for credit in Credit.objects.select_for_update()
        .filter(stem=locked)
        .select_related("artist")
        .order_by("pk")
    }
    wanted_ids = {user.pk for user, _ in wanted}
    removed = [credit for artist_id, credit in existing.items() if artist_id not in wanted_ids]
    now = timezone.now()
    asked: list[int] = []
    asked_names: list[str] = []
    changed: list[str] = []
    for gone in removed:
        gone.delete()
    for user, bps in wanted:
        current = existing.get(user.pk)
        if current is not None and current.split_bps == bps:
            continue  # same share, same answer
        consent = credit_consent_fields(artist_id=user.pk, uploader_id=locked.artist_id, now=now)
        if current is None:
            credit = Credit(stem=locked, artist=user, split_bps=bps, **consent)
        else:
            credit = current
            credit.split_bps = bps
            for key, value in consent.items():
                setattr(credit, key, value)
        credit.full_clean(validate_unique=False, validate_constraints=False)
        credit.save()
        changed.append(user.username)
        if credit.consent == CreditConsent.PENDING:
            asked.append(credit.pk)
            asked_names.append(user.username)
    if not removed and not changed:
        return locked
    audit_record(
        actor=actor,
        action="stem.credits_updated",
        subject=f"stem:{locked.pk}",
        stem=locked,
        before={
            "credits": _splits((c.artist, c.split_bps) for c in existing.values()),
            "consent": {c.artist.username: c.consent for c in existing.values()},
        },
        after={
            "credits": _splits(wanted),
            "changed": sorted(changed),
            "consent_asked": sorted(asked_names),
            "removed": sorted(c.artist.username for c in removed),
        },
    )
    announce_credits(locked, asked)
    return locked
