"""Checks every review write makes: who may review, the stem row locked, its state for audit."""

from __future__ import annotations

from typing import Any

from portal.core.errors import NotFound, PermissionDenied
from portal.stems.models import Credit, Stem


def require_reviewer(user: Any) -> None:
    if not (getattr(user, "is_curator", False) or getattr(user, "is_platform_staff", False)):
        raise PermissionDenied("not_a_curator", "Only curators and staff review stems.")


def require_not_credited(stem: Stem, curator: Any) -> None:
    # A curator judging their own work is the one conflict of interest the gate must refuse.
    if stem.artist_id == curator.pk or Credit.objects.filter(stem=stem, artist=curator).exists():
        raise PermissionDenied(
            "credited_on_stem",
            "You are credited on this stem, so another curator must review it.",
        )


def locked_stem(stem_id: int) -> Stem:
    try:
        return Stem.objects.select_for_update().get(pk=stem_id)
    except Stem.DoesNotExist:
        raise NotFound("not_found", "No such stem.") from None


def stem_state(stem: Stem) -> dict[str, Any]:
    return {"status": stem.status, "provenance_verdict": stem.provenance_verdict}
