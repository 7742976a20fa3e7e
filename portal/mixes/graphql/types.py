"""What GraphQL shows of a soundtrack: the REST body's fields, its files and its credits."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import strawberry
import strawberry_django
from django.http import HttpRequest
from strawberry.scalars import JSON
from strawberry.types import Info

from portal.mixes.deliverables import cue_credits
from portal.mixes.download_apis import (
    soundtrack_audio_link,
    soundtrack_audio_url,
    soundtrack_files,
)
from portal.mixes.models import Mix, RenderStatus
from portal.mixes.selectors import mix_progress


def request_of(info: Info[Any, Any]) -> HttpRequest:
    request: HttpRequest = info.context.request
    return request


@strawberry.type(
    description="A file of a finished soundtrack, downloaded with the same credentials"
)
class SoundtrackFile:
    kind: str = strawberry.field(
        description="audio (the master), mp3, stems (when asked for), manifest, certificate "
        "or cue_sheet"
    )
    url: str
    content_type: str


@strawberry.type(
    description="One credited artist on one stem heard in the soundtrack, as on its cue sheet"
)
class Credit:
    artist: str
    stem_id: str
    stem_title: str
    stem_role: str
    split_bps: int = strawberry.field(description="The artist's split of the stem, in 1/10000")
    share_bps: int = strawberry.field(
        description="The artist's share of the whole soundtrack, in 1/10000 (they sum to 10000)"
    )
    license_version: str | None


def _done(mix: Mix) -> bool:
    return mix.status == RenderStatus.DONE and bool(mix.audio)


def _progress(root: strawberry.Parent[Mix]) -> int:
    return mix_progress(root)


def _manifest(root: strawberry.Parent[Mix]) -> JSON | None:
    return root.manifest if root.status == RenderStatus.DONE else None


def _audio_url(root: strawberry.Parent[Mix], info: Info[Any, Any]) -> str | None:
    return soundtrack_audio_url(request_of(info), root)


def _audio_link(root: strawberry.Parent[Mix], info: Info[Any, Any]) -> str | None:
    link = soundtrack_audio_link(request_of(info), root)
    return link[0] if link else None


def _audio_link_expires_at(root: strawberry.Parent[Mix], info: Info[Any, Any]) -> datetime | None:
    # The expiry of the link a query for audioLink returns alongside: the same second (links
    # are signed per second, so two taken in one query agree).
    link = soundtrack_audio_link(request_of(info), root)
    return datetime.fromtimestamp(link[1], tz=UTC) if link else None


def _family_id(root: strawberry.Parent[Mix]) -> str:
    return str(root.family_id or root.pk)


def _parent_id(root: strawberry.Parent[Mix]) -> str | None:
    return str(root.parent_id) if root.parent_id else None


def _files(root: strawberry.Parent[Mix], info: Info[Any, Any]) -> list[SoundtrackFile]:
    """The REST endpoints that serve this soundtrack's files (REST's `files`); none until done."""
    return [SoundtrackFile(**entry) for entry in soundtrack_files(request_of(info), root)]


def _credits(root: strawberry.Parent[Mix]) -> list[Credit]:
    """From the signed manifest, like the cue sheet (a credit edited later changes nothing)."""
    if root.status != RenderStatus.DONE:
        return []
    return [
        Credit(
            artist=c.artist,
            stem_id=c.stem_id,
            stem_title=c.stem_title,
            stem_role=c.stem_role,
            split_bps=c.split_bps,
            share_bps=c.share_bps,
            license_version=None if c.license_version is None else str(c.license_version),
        )
        for c in cue_credits(root.manifest)
    ]


@strawberry_django.type(
    Mix,
    name="Soundtrack",
    description="A soundtrack requested through the Sync API: poll it until status is done",
)
class SoundtrackType:
    id: strawberry.auto
    status: str = strawberry_django.field(description="queued, rendering, done or failed")
    request: JSON = strawberry_django.field(description="What was asked for, as checked")
    duration_s: strawberry.auto
    loudness_lufs: strawberry.auto
    true_peak_dbtp: strawberry.auto
    audio_sha256: strawberry.auto
    error: strawberry.auto
    created_at: strawberry.auto
    finished_at: strawberry.auto
    job_id: int | None = strawberry_django.field(
        description="Its render job (GET /api/v1/jobs/<id>/)"
    )
    progress: int = strawberry_django.field(resolver=_progress, description="0..100")
    audio_url: str | None = strawberry_django.field(
        resolver=_audio_url, description="The download URL once done (the REST body's audio_url)"
    )
    files: list[SoundtrackFile] = strawberry_django.field(resolver=_files)
    manifest: JSON | None = strawberry_django.field(
        resolver=_manifest, description="The signed provenance manifest once done"
    )
    credits: list[Credit] = strawberry_django.field(resolver=_credits)
    name: strawberry.auto
    notes: strawberry.auto
    parent_id: str | None = strawberry_django.field(
        resolver=_parent_id, description="The take this version was made from"
    )
    family_id: str = strawberry_django.field(
        resolver=_family_id, description="The family's first take"
    )
    changes: JSON = strawberry_django.field(description="What this version changed from its parent")
    audio_link: str | None = strawberry_django.field(
        resolver=_audio_link,
        description="A short-lived signed link for a player, no header needed, once done",
    )
    audio_link_expires_at: datetime | None = strawberry_django.field(
        resolver=_audio_link_expires_at, description="When audioLink expires"
    )


@strawberry.input(description="The REST request's fields (POST /api/v1/soundtracks/), same rules")
class SoundtrackRequestInput:
    duration_s: float
    mood: str = strawberry.field(
        description="One of the vocabulary's moods (GET /api/v1/vocabulary/)"
    )
    bpm: float | None = None
    key: str | None = strawberry.field(default=None, description='e.g. "A minor", "F#m"')
    hit_points: list[float] | None = strawberry.field(
        default=None, description="Seconds, increasing, at least 1 s apart and after the start"
    )
    intensity: float | None = strawberry.field(default=None, description="0 sparse .. 1 full (0.5)")
    loudness_preset: str | None = strawberry.field(
        default=None, description="streaming (the default), ebu_r128 or atsc_a85"
    )
    loudness_lufs: float | None = strawberry.field(
        default=None, description="A custom target instead of a preset (-30..-8)"
    )
    format: str | None = strawberry.field(
        default=None, description="The master: wav (the default) or flac; mp3 adds an MP3"
    )
    formats: list[str] | None = strawberry.field(
        default=None, description='Every format to deliver, e.g. ["wav", "mp3"]'
    )
    stems: bool | None = strawberry.field(
        default=None, description="Also deliver the stems: a zip, one WAV per role group"
    )
    seed: int | None = None
    pinned_stem_ids: list[int] | None = strawberry.field(
        default=None, description="Stems that must play (approved stems only)"
    )
    muted_stem_ids: list[int] | None = strawberry.field(
        default=None, description="Stems that must not play"
    )

    def as_rest_data(self) -> dict[str, Any]:
        """The REST body this input stands for: fields left out stay out, so the REST
        serializer's defaults and rules apply unchanged."""
        fields = (
            "duration_s", "mood", "bpm", "key", "hit_points", "intensity",
            "loudness_preset", "loudness_lufs", "format", "formats", "stems", "seed",
            "pinned_stem_ids", "muted_stem_ids",
        )  # fmt: skip
        return {name: getattr(self, name) for name in fields if getattr(self, name) is not None}


@strawberry.input(description="Mute `from`, pin `to`")
class SwapInput:
    from_: int = strawberry.field(name="from")
    to: int


@strawberry.input(
    description="A new version's changes (POST /api/v1/soundtracks/<id>/versions/), same rules"
)
class SoundtrackVersionInput:
    seed: int | None = None
    length_s: float | None = strawberry.field(default=None, description="Extend or shorten")
    pinned_stem_ids: list[int] | None = None
    muted_stem_ids: list[int] | None = None
    swap: SwapInput | None = None
    regenerate_section: int | None = strawberry.field(
        default=None, description="Re-draw this section (0-based)"
    )
    name: str | None = None
    notes: str | None = None

    def as_rest_data(self) -> dict[str, Any]:
        fields = ("seed", "length_s", "pinned_stem_ids", "muted_stem_ids",
                  "regenerate_section", "name", "notes")  # fmt: skip
        data = {name: getattr(self, name) for name in fields if getattr(self, name) is not None}
        if self.swap is not None:
            data["swap"] = {"from": self.swap.from_, "to": self.swap.to}
        return data
