"""Resubmission: the artist's corrections to a stem a curator sent back, and its new round."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from portal.audit.services import audit_record
from portal.core.errors import ApplicationError, Conflict, NotFound
from portal.review.services.decisions import review_round
from portal.review.services.guards import locked_stem
from portal.stems.models import Stem, StemStatus
from portal.stems.services.lifecycle import stem_transition, stem_update_metadata

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
    locked = locked_stem(stem.pk)
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
