"""`{% mix_view mix as view %}`: what templates/mixes/_player.html draws for a mix."""

from __future__ import annotations

from dataclasses import dataclass

from django import template
from django.urls import reverse

from portal.mixes.models import Mix, RenderStatus
from portal.mixes.selectors import Timeline, mix_timeline, previews_of_stem
from portal.stems.models import Stem
from renderer.dsp.svg import envelope_path

register = template.Library()

WAVEFORM_HEIGHT = 60


@dataclass(frozen=True)
class HitMark:
    """One hit point as the signed manifest says it landed, and where to draw it."""

    requested_s: float
    actual_s: float | None
    by: str  # "accent" (a one-shot on the exact sample) or "section" (a section change)
    error_ms: float | None
    x: float  # on the waveform's viewBox (one unit per peak)


def hit_marks(mix: Mix, points: int) -> list[HitMark]:
    duration = float(mix.duration_s or 0.0)
    marks = []
    for hit in (mix.manifest or {}).get("hits") or []:
        actual = hit.get("actual_s")
        where = float(actual if actual is not None else hit["requested_s"])
        marks.append(
            HitMark(
                requested_s=float(hit["requested_s"]),
                actual_s=float(actual) if actual is not None else None,
                by=str(hit.get("by") or ""),
                error_ms=hit.get("error_ms"),
                x=round(points * where / duration, 3) if duration > 0 else 0.0,
            )
        )
    return marks


@dataclass(frozen=True)
class MixView:
    mix: Mix
    ready: bool
    audio_url: str
    manifest_url: str
    waveform_points: int
    waveform_path: str
    timeline: Timeline
    hits: list[HitMark]


def waveform_path(peaks: list[float], height: int = WAVEFORM_HEIGHT) -> str:
    """An SVG path of the peaks' envelope, mirrored about the middle line."""
    return envelope_path([-float(p) for p in peaks], [float(p) for p in peaks], height=height)


@register.simple_tag
def mix_view(mix: Mix) -> MixView:
    ready = mix.status == RenderStatus.DONE and bool(mix.audio)
    peaks = list(mix.waveform or [])
    return MixView(
        mix=mix,
        ready=ready,
        audio_url=reverse("api:mixes-audio", args=[mix.pk]) if ready else "",
        manifest_url=reverse("api:mixes-manifest", args=[mix.pk]) if ready else "",
        waveform_points=max(1, len(peaks)),
        waveform_path=waveform_path(peaks),
        timeline=mix_timeline(mix) if ready else Timeline(seconds=1, rows=[]),
        hits=hit_marks(mix, max(1, len(peaks))) if ready else [],
    )


@register.simple_tag
def stem_preview(stem: Stem) -> Mix | None:
    """The stem heard in context (its finished preview render), for the stem page: stems stand
    below mixes, so the page asks through this tag rather than importing mixes."""
    return previews_of_stem(stem=stem).filter(status=RenderStatus.DONE).first()


@register.filter
def percent(value: float) -> str:
    return f"{100 * float(value):.0f}%"
