"""What a music supervisor files beside a soundtrack: the licence certificate and the cue sheet,
both read from the render's signed manifest (never from the stems as they are now: a credit
edited after the render does not change what was licensed).

Shares on the cue sheet are of the whole cue: a stem's share is its mean share of the energy
over the seconds where anything is heard (the same per-second shares plays are paid by, for a
full-length play), times each credited artist's split. They are given in basis points summed
by largest remainder to exactly 10000, so the column adds up to 100.00% as a performing-rights
organisation expects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from portal.core.apportion import percent_shares
from portal.mixes.models import Mix
from portal.stems.models import LicenseTemplate

CUE_USAGE = "BI"  # background instrumental, the usual cue-sheet code for underscore music
CUE_USAGE_LABEL = "Background instrumental"
ARTIST_ROLE = "Composer"  # every credited artist wrote and recorded their stem
CUE_SHEET_HEADER = (
    "cue_number",
    "title",
    "render_id",
    "duration",
    "usage",
    "artist",
    "artist_role",
    "stem",
    "stem_role",
    "stem_id",
    "split_percent",
    "share_percent",
    "licence_version",
)


@dataclass(frozen=True)
class CueCredit:
    artist: str
    stem_id: str
    stem_title: str
    stem_role: str
    split_bps: int  # of the stem
    share_bps: int  # of the whole cue
    license_version: Any

    @property
    def share_percent(self) -> str:
        return f"{self.share_bps / 100:.2f}"

    @property
    def split_percent(self) -> str:
        return f"{self.split_bps / 100:.2f}"


def stem_shares(manifest: dict[str, Any]) -> dict[str, float]:
    """Each stem's mean share over the audible seconds of the render (0..1, summing to 1)."""
    seconds = [s.get("shares") or {} for s in manifest.get("attribution", {}).get("seconds", [])]
    audible = [shares for shares in seconds if shares]
    totals: dict[str, float] = {}
    for shares in audible:
        for stem_id, share in shares.items():
            totals[stem_id] = totals.get(stem_id, 0.0) + float(share)
    return {stem_id: total / len(audible) for stem_id, total in totals.items()}


def _split_bps(credit: dict[str, Any]) -> int:
    if credit.get("split_bps") is not None:
        return int(credit["split_bps"])
    return round(float(credit["split_percent"]) * 100)


def cue_credits(manifest: dict[str, Any]) -> list[CueCredit]:
    """One entry per credited artist per stem heard, in manifest order."""
    shares = stem_shares(manifest)
    entries: list[tuple[dict[str, Any], dict[str, Any]]] = [
        (stem, credit)
        for stem in manifest.get("stems", [])
        for credit in stem.get("credits", [])
        if shares.get(str(stem["id"]), 0.0) > 0.0
    ]
    weights = [shares[str(stem["id"])] * _split_bps(credit) for stem, credit in entries]
    # Exact fractions of the float shares: the same split the statements use, without float error.
    cue_bps = percent_shares([Fraction(w) for w in weights])
    return [
        CueCredit(
            artist=str(credit["artist"]),
            stem_id=str(stem["id"]),
            stem_title=str(stem.get("title") or f"Stem {stem['id']}"),
            stem_role=str(stem.get("role") or ""),
            split_bps=_split_bps(credit),
            share_bps=bps,
            license_version=stem.get("license_version"),
        )
        for (stem, credit), bps in zip(entries, cue_bps, strict=True)
    ]


def cue_title(mix: Mix) -> str:
    mood = str(mix.request.get("mood") or "").capitalize()
    return f"{mood} soundtrack {str(mix.pk)[:8]}".strip()


def _clock(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def cue_sheet_rows(mix: Mix) -> list[list[Any]]:
    """The cue sheet's rows under CUE_SHEET_HEADER: one per credited artist per stem."""
    manifest = mix.manifest
    duration = _clock(float(manifest.get("audio", {}).get("duration_s") or mix.duration_s or 0))
    return [
        [
            1,
            cue_title(mix),
            manifest.get("render_id", str(mix.pk)),
            duration,
            CUE_USAGE,
            entry.artist,
            ARTIST_ROLE,
            entry.stem_title,
            entry.stem_role,
            entry.stem_id,
            entry.split_percent,
            entry.share_percent,
            entry.license_version,
        ]
        for entry in cue_credits(manifest)
    ]


def permitted_uses(licences: Sequence[LicenseTemplate]) -> list[str]:
    """The uses every stem's licence grants, in the order the oldest licence lists them.

    A soundtrack may be used only as each of its stems may be: one stem under a narrower
    licence narrows the whole soundtrack.
    """
    if not licences:
        return []
    granted = [list(licence.permitted_uses) for licence in licences]
    return [use for use in granted[0] if all(use in uses for uses in granted[1:])]


def certificate_context(mix: Mix) -> dict[str, Any]:
    """What the licence certificate page shows."""
    manifest = mix.manifest
    versions = sorted(
        {s.get("license_version") for s in manifest.get("stems", []) if s.get("license_version")}
    )
    licences = list(LicenseTemplate.objects.filter(version__in=versions).order_by("version"))
    licensee = mix.requested_by
    signature = manifest.get("signature") or {}
    return {
        "mix": mix,
        "title": cue_title(mix),
        "licensee": getattr(licensee, "display_name", "") or getattr(licensee, "email", ""),
        "client_app": mix.client_app,
        "render_id": manifest.get("render_id", str(mix.pk)),
        "issued": mix.finished_at,
        "duration": _clock(float(manifest.get("audio", {}).get("duration_s") or 0)),
        "audio_sha256": manifest.get("audio_sha256", mix.audio_sha256),
        "key_id": signature.get("key_id", ""),
        "permitted_uses": permitted_uses(licences),
        "usage_label": f"{CUE_USAGE_LABEL} ({CUE_USAGE})",
        "licences": licences,
        "credits": cue_credits(manifest),
    }
