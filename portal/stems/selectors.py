"""Reads for stems: who may see what."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Prefetch, QuerySet

from portal.core.errors import NotFound
from portal.stems.details import split_percent
from portal.stems.models import Credit, CreditConsent, LicenseTemplate, Stem, StemStatus


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


# Stems whose credits can still be answered (and changed by the uploader): not yet approved,
# rejected or withdrawn.
OPEN_STATUSES = (StemStatus.PROCESSING, StemStatus.IN_REVIEW, StemStatus.CHANGES_REQUESTED)
CREDIT_FILTERS = ("pending", "declined", "accepted", "all")


def credits_given_to(*, user: Any, consent: str = "pending") -> QuerySet[Credit]:
    """Credits other artists gave this artist, with their stem and its whole split.

    `consent` "pending" or "declined": those still to answer (or to reconsider) on open stems;
    "accepted": every accepted one; "all": everything. Oldest request first."""
    if not getattr(user, "is_authenticated", False):
        return Credit.objects.none()
    credits = (
        Credit.objects.filter(artist=user)
        .exclude(stem__artist=user)
        .select_related("stem__artist", "artist")
        .prefetch_related(
            Prefetch(
                "stem__credits",
                queryset=Credit.objects.select_related("artist").order_by("-split_bps", "pk"),
            )
        )
        .order_by("consent_requested_at", "pk")
    )
    if consent in (CreditConsent.PENDING, CreditConsent.DECLINED):
        return credits.filter(consent=consent, stem__status__in=OPEN_STATUSES)
    if consent == CreditConsent.ACCEPTED:
        return credits.filter(consent=consent).order_by("-consent_decided_at", "-pk")
    return credits


@dataclass
class ConsentSummary:
    """Who has not accepted their share of a stem yet."""

    pending: list[Credit] = field(default_factory=list)
    declined: list[Credit] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.pending and not self.declined

    def sentence(self) -> str:
        parts = []
        if self.pending:
            names = ", ".join(_credit_label(c) for c in self.pending)
            parts.append(f"waiting for {names}")
        if self.declined:
            names = ", ".join(_credit_label(c) for c in self.declined)
            parts.append(f"declined by {names}")
        return "; ".join(parts)


def _credit_label(credit: Credit) -> str:
    return f"{credit.artist.display_name} (@{credit.artist.username}, {split_percent(credit.split_bps)})"


def consent_summary(credits: Iterable[Credit]) -> ConsentSummary:
    """From a stem's credits (prefetched ones are used as they are)."""
    summary = ConsentSummary()
    for credit in credits:
        if credit.consent == CreditConsent.PENDING:
            summary.pending.append(credit)
        elif credit.consent == CreditConsent.DECLINED:
            summary.declined.append(credit)
    return summary


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
