"""Reads for stems: who may see what."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import QuerySet

from portal.core.errors import NotFound
from portal.stems.models import LicenseTemplate, Stem


def can_view_any_stem(user: Any) -> bool:
    """Curators and staff read every stem (read-only); artists only their own."""
    return bool(
        getattr(user, "is_authenticated", False)
        and (getattr(user, "is_curator", False) or getattr(user, "is_platform_staff", False))
    )


def stem_list_for_artist(*, user: Any) -> QuerySet[Stem]:
    return (
        Stem.objects.filter(artist=user)
        .select_related("provenance_job")
        .order_by("-created_at", "-pk")
    )


def stem_get_for_user(*, stem_id: int, user: Any) -> Stem:
    """The stem if this user may see it; otherwise NotFound (others' stems do not exist)."""
    stem = (
        Stem.objects.filter(pk=stem_id)
        .select_related("artist", "submission__license", "provenance_job")
        .first()
    )
    if stem is None or not getattr(user, "is_authenticated", False):
        raise NotFound("stem_not_found", "No such stem among yours.")
    if stem.artist_id != user.pk and not can_view_any_stem(user):
        raise NotFound("stem_not_found", "No such stem among yours.")
    return stem


def receipt_shown(*, stem: Stem, viewer: Any) -> dict[str, Any] | None:
    """The stem's contribution receipt as `viewer` may read it.

    The IP address the contribution came from is the artist's own, and staff's for abuse
    handling (one person behind several accounts, a flood of uploads from one place); curators
    judge the sound and the attestations, and never read it. Everyone else reads the receipt
    without that field (the stored receipt keeps it)."""
    try:
        body = stem.receipt.body
    except ObjectDoesNotExist:
        return None
    if not isinstance(body, dict):
        body = {"receipt": body}
    if stem.artist_id == getattr(viewer, "pk", None) or getattr(viewer, "is_platform_staff", False):
        return body
    return {key: value for key, value in body.items() if key != "ip_address"}


def license_list() -> QuerySet[LicenseTemplate]:
    return LicenseTemplate.objects.order_by("-version")


def license_current() -> LicenseTemplate | None:
    return LicenseTemplate.objects.filter(is_current=True).order_by("-version").first()


def waveform_svg_path(peaks: list[list[float]]) -> str:
    """An SVG path (viewBox 0 0 N 2) of stored [min, max] peaks: the max envelope left to
    right, the min back. Used wherever a stem's waveform is drawn."""
    if not peaks:
        return ""
    top = " ".join(f"L{i},{1 - hi:.3f}" for i, (_, hi) in enumerate(peaks))
    bottom = " ".join(f"L{i},{1 - lo:.3f}" for i, (lo, _) in reversed(list(enumerate(peaks))))
    return f"M0,1 {top} {bottom} Z"
