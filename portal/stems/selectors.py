"""Reads for stems: who may see what."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import OuterRef, Prefetch, Q, QuerySet, Subquery

from portal.core.errors import NotFound
from portal.stems.details import split_percent
from portal.stems.models import (
    CheckName,
    Credit,
    CreditConsent,
    LicenseTemplate,
    ProvenanceCheck,
    Stem,
    StemStatus,
)
from renderer.dsp.svg import envelope_path


def can_view_any_stem(user: Any) -> bool:
    """Curators and staff read every stem (read-only); artists only their own."""
    return bool(
        getattr(user, "is_authenticated", False)
        and (getattr(user, "is_curator", False) or getattr(user, "is_platform_staff", False))
    )


def _credited_stem_ids(user: Any) -> QuerySet[Credit, Any]:
    """Stems another artist credited this one on: accepted or still to answer. A declined
    credit is not theirs (the uploader must correct it), so it leaves their list."""
    return (
        Credit.objects.filter(artist=user).exclude(consent=CreditConsent.DECLINED).values("stem_id")
    )


def stem_list_for_artist(*, user: Any) -> QuerySet[Stem]:
    """The artist's stems: those they contributed and those they are credited on, each with
    `my_share_bps` and `my_consent`, the artist's own credit (an uploader has one too)."""
    own_credit = Credit.objects.filter(stem=OuterRef("pk"), artist=user)
    return (
        Stem.objects.filter(Q(artist=user) | Q(pk__in=_credited_stem_ids(user)))
        .annotate(
            my_share_bps=Subquery(own_credit.values("split_bps")[:1]),
            my_consent=Subquery(own_credit.values("consent")[:1]),
        )
        .select_related("provenance_job", "artist")
        .order_by("-created_at", "-pk")
    )


def stem_get_for_user(*, stem_id: int, user: Any) -> Stem:
    """The stem if this user may see it: its uploader, an artist credited on it, curators and
    staff; otherwise NotFound (others' stems do not exist). Reading only: the services that
    change a stem check that the actor is its uploader."""
    stem = (
        Stem.objects.filter(pk=stem_id)
        .select_related("artist", "submission__license", "provenance_job")
        .first()
    )
    if stem is None or not getattr(user, "is_authenticated", False):
        raise NotFound("stem_not_found", "No such stem among yours.")
    if (
        stem.artist_id != user.pk
        and not can_view_any_stem(user)
        and not _credited_stem_ids(user).filter(stem_id=stem.pk).exists()
    ):
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


# What stands for another artist's stem that is not in the vault, in evidence an artist reads.
UNNAMED_STEM = "a stem already submitted to the vault"
# What a match says about the upload (how well and where it matched), not whose stem it is.
_MATCH_FIELDS_SHOWN = {
    "score",
    "matched_hashes",
    "upload_offset_s",
    "coverage",
    "explained_share",
    "overlap_share",
    "same_artist",
}


def _stem_ids(value: Any) -> set[int]:
    if isinstance(value, dict):
        found = {value["stem_id"]} if isinstance(value.get("stem_id"), int) else set()
        for key, child in value.items():
            if key == "matched_stem_ids" and isinstance(child, list):
                found |= {i for i in child if isinstance(i, int)}
            else:
                found |= _stem_ids(child)
        return found
    if isinstance(value, list):
        return set().union(*(_stem_ids(child) for child in value))
    return set()


def _withhold(value: Any, named: set[int]) -> Any:
    if isinstance(value, dict):
        stem_id = value.get("stem_id")
        if isinstance(stem_id, int) and stem_id not in named:
            return {
                "stem": UNNAMED_STEM,
                **{k: v for k, v in value.items() if k in _MATCH_FIELDS_SHOWN},
            }
        return {
            key: (
                [i if i in named else UNNAMED_STEM for i in child]
                if key == "matched_stem_ids" and isinstance(child, list)
                else _withhold(child, named)
            )
            for key, child in value.items()
        }
    if isinstance(value, list):
        return [_withhold(child, named) for child in value]
    return value


def checks_shown(*, stem: Stem, viewer: Any) -> list[ProvenanceCheck]:
    """The stem's provenance checks in CheckName order, their evidence as `viewer` may read it.

    Curators and staff read the evidence whole. The artist reads it without the title, id or
    artist of another artist's stem that is not in the vault (in review, rejected, withdrawn):
    such a match reads as UNNAMED_STEM, with how well and where it matched the upload. A stem
    of their own, or one in the vault (public), stays named. Judged at reading time, so a stem
    named once is unnamed again when it leaves the vault. The checks returned are for display:
    their evidence is replaced in memory and they are never saved.
    """
    order = list(CheckName.values)
    checks = sorted(stem.checks.all(), key=lambda c: order.index(c.check_name))
    if can_view_any_stem(viewer):
        return checks
    ids = set().union(*(_stem_ids(check.evidence) for check in checks))
    named = set(
        Stem.objects.filter(pk__in=ids)
        .filter(Q(artist_id=getattr(viewer, "pk", None)) | Q(status=StemStatus.APPROVED))
        .values_list("pk", flat=True)
    )
    for check in checks:
        check.evidence = _withhold(check.evidence, named)
    return checks


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
    return envelope_path([lo for lo, _ in peaks], [hi for _, hi in peaks], height=2.0)


# --- Analysis as people read it ------------------------------------------------------------------
# (key, human label, format with its unit): the artist's stem page and the curator's review page
# both show the measurements through this one table.
ANALYSIS_ROWS = [
    ("duration_s", "Duration", "{:.2f} s"),
    ("sample_rate", "Sample rate", "{} Hz"),
    ("channels", "Channels", "{}"),
    ("bit_depth", "Bit depth", "{} bit"),
    ("integrated_lufs", "Integrated loudness", "{:.1f} LUFS"),
    ("loudness_range_lu", "Loudness range", "{:.1f} LU"),
    ("true_peak_dbtp", "True peak", "{:.1f} dBTP"),
    ("sample_peak_dbfs", "Sample peak", "{:.1f} dBFS"),
    ("clipping_ratio", "Clipped samples", "{:.4%}"),
    ("dc_offset", "DC offset", "{:+.4f}"),
    ("silence_ratio", "Silence", "{:.0%}"),
    ("cutoff_hz", "Spectral cutoff", "{:.0f} Hz"),
    ("bpm_estimate", "Measured tempo", "{:.1f} BPM"),
]
# What the provenance checks add for the curator (portal/stems/checks.py).
REVIEW_ANALYSIS_ROWS = [
    *ANALYSIS_ROWS,
    ("declared_bpm", "Declared tempo", "{:.1f} BPM"),
    ("bpm_matches_declared", "Tempo matches the declaration", "yesno"),
]
# Drawn or listed elsewhere on the page, never as a row.
_ANALYSIS_NOT_ROWS = {"waveform_peaks", "problems"}


def _analysis_value(key: str, value: Any, fmt: str) -> str:
    if value is None:
        return "none" if key == "cutoff_hz" else "—"
    if fmt == "yesno":
        return "yes" if value else "no"
    try:
        return fmt.format(value)
    except (TypeError, ValueError):
        return str(value)


def analysis_rows(
    analysis: dict[str, Any], *, rows: list[tuple[str, str, str]] | None = None, rest: bool = False
) -> list[tuple[str, str]]:
    """(label, value with its unit) for each known measurement; with `rest`, any other stored
    figure follows under its key made readable, so a new measurement is never hidden."""
    table = ANALYSIS_ROWS if rows is None else rows
    shown = [(label, _analysis_value(key, analysis.get(key), fmt)) for key, label, fmt in table]
    if rest:
        known = {key for key, _, _ in table} | _ANALYSIS_NOT_ROWS
        for key in sorted(set(analysis) - known):
            value = analysis[key]
            text = f"{value:.4g}" if isinstance(value, float) else _analysis_value(key, value, "{}")
            shown.append((key.replace("_", " ").capitalize(), text))
    return shown
