"""Reads for review: the queue, one stem's review dossier, the vault, decisions and notices."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db import connection
from django.db.models import Case, IntegerField, Prefetch, Q, QuerySet, Value, When
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from portal.mixes.models import Mix, RenderKind, RenderStatus
from portal.review.models import Decision, Notification, ReasonTemplate, ReviewClaim
from portal.stems.models import Credit, ProvenanceCheck, Stem, StemStatus, Verdict
from portal.stems.selectors import REVIEW_ANALYSIS_ROWS, receipt_shown
from portal.stems.selectors import analysis_rows as stem_analysis_rows

# The fingerprint index keys stems "stem:<id>:<pcm hash prefix>" and renders "mix:<uuid>".
_STEM_KEY = re.compile(r"^stem:(\d+)(?::[0-9a-fA-F]+)?$")
_MIX_KEY = re.compile(r"^mix:([0-9a-fA-F-]{32,36})$")
_STEM_ID_KEYS = {"stem", "stem_id", "stem_ids", "matched_stem_id", "matched_stem_ids"}
_MIX_ID_KEYS = {"mix", "mix_id", "mix_ids", "matched_mix_id", "matched_mix_ids"}


def _json_list_contains(field_name: str, value: str) -> Q:
    """`moods` holds a JSON list of strings: match one element, on every database we run on."""
    if connection.vendor == "postgresql":
        return Q(**{f"{field_name}__contains": [value]})
    # SQLite has no JSON containment; the quoted element inside the list's JSON text is exact
    # enough (JSONField stores with json.dumps, so the quoting is the same on both sides).
    return Q(**{f"{field_name}__icontains": json.dumps(value)})


def _credits_prefetch() -> Prefetch:  # type: ignore[type-arg]
    return Prefetch(
        "credits",
        queryset=Credit.objects.select_related("artist__artist_profile").order_by("-split_bps"),
    )


# --- Queue ---------------------------------------------------------------------------------------
def review_queue(
    *, role: str = "", kind: str = "", mood: str = "", flag: str = ""
) -> QuerySet[Stem]:
    """Stems in review: flagged ones first (they need the closest listen), then oldest first."""
    stems = (
        Stem.objects.filter(status=StemStatus.IN_REVIEW)
        .select_related("artist__artist_profile", "review_claim__curator")
        # With the credits, so the queue shows whose consent the stem still waits for.
        .prefetch_related(_credits_prefetch())
        .annotate(
            flag_rank=Case(
                When(provenance_verdict=Verdict.FLAG, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .order_by("flag_rank", "created_at", "pk")
    )
    if role:
        stems = stems.filter(role=role)
    if kind:
        stems = stems.filter(kind=kind)
    if mood:
        stems = stems.filter(_json_list_contains("moods", mood))
    if flag == "flag":
        stems = stems.filter(provenance_verdict=Verdict.FLAG)
    elif flag == "pass":
        stems = stems.filter(provenance_verdict=Verdict.PASS)
    return stems


def active_claim(stem: Stem) -> ReviewClaim | None:
    """The stem's claim if it has not expired yet (an expired claim is free for anyone)."""
    try:
        claim = stem.review_claim  # type: ignore[attr-defined,unused-ignore]
    except ObjectDoesNotExist:
        return None
    return claim if claim.expires_at > timezone.now() else None


def next_in_queue(*, after: Stem, curator: Any) -> Stem | None:
    """The stem a curator reviews next: the first one in queue order, other than this one,
    that nobody else holds (their own claim is fine)."""
    now = timezone.now()
    free = Q(review_claim__isnull=True) | Q(review_claim__expires_at__lte=now)
    free |= Q(review_claim__curator_id=getattr(curator, "pk", None))
    return review_queue().exclude(pk=after.pk).filter(free).first()


def reason_templates() -> QuerySet[ReasonTemplate]:
    return ReasonTemplate.objects.filter(is_active=True)


# --- One stem's dossier --------------------------------------------------------------------------
def stem_for_review(*, stem_id: int) -> Stem | None:
    return (
        Stem.objects.select_related(
            "artist__artist_profile", "submission__license", "review_claim__curator"
        )
        .prefetch_related(_credits_prefetch(), "checks")
        .filter(pk=stem_id)
        .first()
    )


def stem_audio_url(stem_id: int) -> str:
    """The stems API's authorised audio URL (the artist, curators and staff may fetch it)."""
    return reverse("api:stems-audio", args=[stem_id])


def mix_audio_url(mix_id: Any) -> str | None:
    try:
        return reverse("api:mixes-audio", args=[mix_id])
    except NoReverseMatch:
        return None


@dataclass
class PreviewMix:
    mix: Any = None
    url: str | None = None
    rendering: bool = False


def preview_mix_for(stem: Stem) -> PreviewMix:
    """The latest finished preview of the stem in context, or whether one is on its way."""
    previews = Mix.objects.filter(kind=RenderKind.PREVIEW, preview_of=stem)
    done = previews.filter(status=RenderStatus.DONE).order_by("-created_at").first()
    if done is not None:
        url = mix_audio_url(done.pk)
        if url:
            return PreviewMix(mix=done, url=url)
    pending = previews.filter(status__in=[RenderStatus.QUEUED, RenderStatus.RENDERING]).exists()
    return PreviewMix(rendering=pending or done is not None)


def _walk(value: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for child_key, child in value.items():
            yield from _walk(child, str(child_key))
    elif isinstance(value, list):
        for child in value:
            yield from _walk(child, key)
    else:
        yield key, value


def evidence_references(evidence: Any) -> tuple[list[int], list[str]]:
    """Vault stems and rendered mixes a check's evidence points at, in order of appearance.

    Evidence is free-form JSON written by the provenance checks; matches appear as keys like
    "stem:42" / "mix:<uuid>" (the fingerprint index's keys) or as ids under stem_id / mix_id.
    """
    stem_ids: list[int] = []
    mix_ids: list[str] = []
    for key, value in _walk(evidence):
        if isinstance(value, str):
            if match := _STEM_KEY.match(value):
                stem_ids.append(int(match.group(1)))
            elif match := _MIX_KEY.match(value):
                mix_ids.append(match.group(1))
            elif key in _MIX_ID_KEYS:
                mix_ids.append(value)
            elif key in _STEM_ID_KEYS and value.isdigit():
                stem_ids.append(int(value))
        elif isinstance(value, int) and not isinstance(value, bool) and key in _STEM_ID_KEYS:
            stem_ids.append(value)
    valid_mixes = []
    for mix_id in mix_ids:
        try:
            valid_mixes.append(str(uuid.UUID(mix_id)))
        except ValueError:
            continue
    return list(dict.fromkeys(stem_ids)), list(dict.fromkeys(valid_mixes))


@dataclass
class MatchedItem:
    label: str
    audio_url: str | None
    detail: str = ""


@dataclass
class CheckView:
    check: ProvenanceCheck
    evidence_json: str
    matches: list[MatchedItem] = field(default_factory=list)


def provenance_report(stem: Stem) -> list[CheckView]:
    """Each check with its evidence, and the matched stems and mixes ready to play."""
    checks = list(stem.checks.all())
    references = {check.pk: evidence_references(check.evidence) for check in checks}
    all_stems = {sid for ids, _ in references.values() for sid in ids}
    all_mixes = {mid for _, ids in references.values() for mid in ids}
    stems = {s.pk: s for s in Stem.objects.filter(pk__in=all_stems).select_related("artist")}
    mixes: dict[str, Any] = {}
    if all_mixes:
        mixes = {str(m.pk): m for m in Mix.objects.filter(pk__in=all_mixes)}
    report = []
    for check in checks:
        stem_ids, mix_ids = references[check.pk]
        matches = []
        for sid in stem_ids:
            matched = stems.get(sid)
            if matched is None:
                matches.append(MatchedItem(label=f"Stem #{sid} (no longer exists)", audio_url=None))
                continue
            matches.append(
                MatchedItem(
                    label=f"“{matched.title}” by {matched.artist.display_name} (#{sid})",
                    audio_url=stem_audio_url(sid),
                    detail=matched.get_status_display(),
                )
            )
        for mid in mix_ids:
            mix = mixes.get(mid)
            matches.append(
                MatchedItem(
                    label=f"Rendered mix {mid[:8]}",
                    audio_url=mix_audio_url(mid) if mix is not None and mix.audio else None,
                    detail=mix.get_kind_display() if mix is not None else "not found",
                )
            )
        report.append(
            CheckView(
                check=check,
                evidence_json=json.dumps(check.evidence, indent=2, sort_keys=True),
                matches=matches,
            )
        )
    return report


def stem_receipt(stem: Stem, *, viewer: Any) -> dict[str, Any] | None:
    """The receipt as the stems domain shows it to `viewer` (curators never read the IP)."""
    return receipt_shown(stem=stem, viewer=viewer)


def analysis_rows(stem: Stem) -> list[tuple[str, str]]:
    """The analysis with the artist page's human labels and units, plus what the checks add;
    the long display arrays are drawn, not listed."""
    return stem_analysis_rows(stem.analysis or {}, rows=REVIEW_ANALYSIS_ROWS, rest=True)


def artist_history(stem: Stem) -> dict[str, Any]:
    """The artist's other stems with their status, and every decision on any of their stems."""
    others = (
        Stem.objects.filter(artist_id=stem.artist_id)
        .exclude(pk=stem.pk)
        .order_by("-created_at")[:50]
    )
    decisions = (
        Decision.objects.filter(stem__artist_id=stem.artist_id)
        .select_related("stem", "curator")
        .order_by("-created_at")[:100]
    )
    return {"stems": list(others), "decisions": list(decisions)}


# --- Vault ---------------------------------------------------------------------------------------
def _decimal(value: str) -> Decimal | None:
    try:
        return Decimal(value) if value not in ("", None) else None
    except (InvalidOperation, TypeError):
        return None


def vault_stems(
    *,
    role: str = "",
    kind: str = "",
    bpm_min: str | Decimal | None = None,
    bpm_max: str | Decimal | None = None,
    key: str = "",
    mood: str = "",
    genre: str = "",
    q: str = "",
) -> QuerySet[Stem]:
    """Approved stems (the only ones renders use), with license and credits, filtered."""
    stems = (
        Stem.objects.filter(status=StemStatus.APPROVED)
        .select_related("artist__artist_profile", "submission__license")
        .prefetch_related(_credits_prefetch())
        .order_by("-created_at", "-pk")
    )
    if role:
        stems = stems.filter(role=role)
    if kind:
        stems = stems.filter(kind=kind)
    low = _decimal(str(bpm_min)) if bpm_min is not None else None
    high = _decimal(str(bpm_max)) if bpm_max is not None else None
    if low is not None:
        stems = stems.filter(bpm__gte=low)
    if high is not None:
        stems = stems.filter(bpm__lte=high)
    if key:
        stems = stems.filter(musical_key__iexact=key.strip())
    if mood:
        stems = stems.filter(_json_list_contains("moods", mood.strip()))
    if genre:
        stems = stems.filter(_json_list_contains("genres", genre.strip()))
    if q:
        stems = stems.filter(title__icontains=q.strip())
    return stems


# --- Decisions, notices --------------------------------------------------------------------------
def decisions_for(*, user: Any) -> QuerySet[Decision]:
    """Staff see every decision; an artist the decisions on their own stems; a curator the
    ones they made (their history page)."""
    decisions = Decision.objects.select_related("stem", "curator").order_by("-created_at", "-pk")
    if getattr(user, "is_platform_staff", False):
        return decisions
    if getattr(user, "is_artist", False):
        return decisions.filter(stem__artist=user)
    if getattr(user, "is_curator", False):
        return decisions.filter(curator=user)
    return decisions.none()


def decisions_for_stem(*, stem: Stem) -> QuerySet[Decision]:
    """For the stem's own page: its decisions, newest first (reason and note are the artist's
    to read; the curator's justification is internal)."""
    return Decision.objects.filter(stem=stem).select_related("curator").order_by("-round")


def notifications_for(*, user: Any) -> QuerySet[Notification]:
    return Notification.objects.filter(user=user).select_related("stem")


def unread_count(*, user: Any) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(user=user, read_at__isnull=True).count()
