"""What a client is shown of a catalogue stem, for the API and the page alike: its details,
accepted credits with shares, waveform peaks, a short-lived preview link and how to pin it."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from portal.catalogue.models import StemPreview
from portal.catalogue.selectors import previews_for
from portal.core.stored_files import signed_link
from portal.stems.details import split_percent
from portal.stems.models import Stem

# The Sync API's field that pins stems into a soundtrack request (mixes' soundtrack request).
PIN_FIELD = "pinned_stem_ids"
# A link to a preview is valid this long: enough to audition a page of results, short enough
# that a copied link does not become a permanent download.
PREVIEW_LINK_SECONDS = 900
LIST_WAVEFORM_POINTS = 50
CONTRIBUTOR, COLLABORATOR = "contributor", "collaborator"


def request_form_url(stem_ids: list[int]) -> str:
    """The site's soundtrack request form with these stems pinned (`?pin=` repeats)."""
    query = "&".join(f"pin={int(pk)}" for pk in stem_ids)
    return f"{reverse('mixes:soundtrack_list')}?{query}"


def preview_info(
    request: HttpRequest | None, stem: Stem, preview: StemPreview | None
) -> dict[str, Any] | None:
    """The preview's link (no header needed: <audio src=...>), its expiry and what it is."""
    if preview is None:
        return None
    url, expires_at = signed_link(
        request,
        preview.audio,
        content_type=preview.content_type,
        filename=f"stem-{stem.pk}-preview.mp3",
        expires_s=PREVIEW_LINK_SECONDS,
    )
    return {
        "url": url,
        "expires_at": expires_at,
        "content_type": preview.content_type,
        "bitrate_bps": preview.bitrate_bps,
        "duration_s": preview.duration_s,
    }


def _peaks(stem: Stem, points: int | None) -> list[list[float]]:
    peaks = list((stem.analysis or {}).get("waveform_peaks") or [])
    if points is None or len(peaks) <= points:
        return peaks
    # Merge neighbouring slices: [min of mins, max of maxes] keeps every peak visible.
    step = len(peaks) / points
    merged = []
    for i in range(points):
        chunk = peaks[int(i * step) : max(int((i + 1) * step), int(i * step) + 1)]
        merged.append([min(p[0] for p in chunk), max(p[1] for p in chunk)])
    return merged


def stem_card(
    request: HttpRequest | None,
    stem: Stem,
    preview: StemPreview | None,
    *,
    detail: bool = False,
) -> dict[str, Any]:
    artist = stem.artist
    card: dict[str, Any] = {
        "id": stem.pk,
        "title": stem.title,
        "kind": stem.kind,
        "role": stem.role,
        "bpm": float(stem.bpm) if stem.bpm is not None else None,
        "bars": stem.bars,
        "key": stem.musical_key,
        "moods": list(stem.moods or []),
        "genres": list(stem.genres or []),
        "duration_s": round(stem.duration_s, 3),
        "artist": {"username": artist.username, "display_name": artist.display_name},
        "credits": [
            {
                "username": credit.artist.username,
                "display_name": credit.artist.display_name,
                "share_bps": credit.split_bps,
                "share": split_percent(credit.split_bps),
                # Credits carry no role of their own: the one who contributed the file, and
                # the collaborators they credited (each accepted their share).
                "role": CONTRIBUTOR if credit.artist_id == stem.artist_id else COLLABORATOR,
            }
            for credit in stem.credits.all()
        ],
        "license": {
            "version": stem.submission.license.version,
            "title": stem.submission.license.title,
        },
        "waveform_peaks": _peaks(stem, None if detail else LIST_WAVEFORM_POINTS),
        "preview": preview_info(request, stem, preview),
        "preview_status": "ready" if preview is not None else "preparing",
        "is_favourite": bool(getattr(stem, "is_favourite", False)),
        "use_in_soundtrack": {
            "field": PIN_FIELD,
            "request_api": reverse("api:mixes-soundtrack-list"),
            "request_form": request_form_url([stem.pk]),
            "example": {PIN_FIELD: [stem.pk]},
        },
    }
    if detail:
        card["description"] = stem.description
        card["created_at"] = stem.created_at.isoformat()
        # What a soundtrack using this stem may be used for, as its licence version grants
        # (the licence certificate prints the same list).
        card["license"]["permitted_uses"] = list(stem.submission.license.permitted_uses or [])
    return card


def stem_cards(
    request: HttpRequest | None, stems: list[Stem], *, detail: bool = False
) -> list[dict[str, Any]]:
    """The cards of these stems, with their stored previews read in one query (REST's list and
    detail, and GraphQL's, all come through here)."""
    previews = previews_for(stems)
    return [stem_card(request, s, previews.get(s.pk), detail=detail) for s in stems]
