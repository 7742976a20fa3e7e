"""Stems, mixes with signed-manifest-shaped attribution, and play events, created directly.

The royalty code reads only a mix's status, duration and manifest, so a Mix row with a manifest
in the renderer's shape stands in for a render; its stems are real rows (statements link to
them) whose audio name is a placeholder nobody opens.
"""

from __future__ import annotations

import hashlib
import itertools
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from portal.mixes.models import Mix, RenderKind, RenderStatus
from portal.stems.models import Credit, LicenseTemplate, Stem, StemStatus, Submission

_counter = itertools.count(1)


def make_stem(
    artist: Any, *, title: str | None = None, credits: Sequence[tuple[Any, int]] = ()
) -> Stem:
    n = next(_counter)
    license_template, _ = LicenseTemplate.objects.get_or_create(
        version=1,
        defaults={"title": "Stemvault licence", "terms": "terms", "terms_sha256": "0" * 64},
    )
    submission = Submission.objects.create(artist=artist, license=license_template)
    stem = Stem.objects.create(
        submission=submission,
        artist=artist,
        title=title or f"Stem {n}",
        kind="loop",
        role="drums",
        status=StemStatus.APPROVED,
        audio=f"stems/placeholder-{n}.wav",
        original_filename="placeholder.wav",
        size_bytes=1,
        file_sha256=hashlib.sha256(f"file-{n}-{uuid.uuid4()}".encode()).hexdigest(),
        pcm_sha256=hashlib.sha256(f"pcm-{n}-{uuid.uuid4()}".encode()).hexdigest(),
        audio_format="wav",
        sample_rate=48000,
        channels=1,
        duration_s=4.0,
    )
    for user, bps in credits or [(artist, 10000)]:
        Credit.objects.create(stem=stem, artist=user, split_bps=bps, consent="accepted")
    return stem


def _stored_credits(stem: Stem) -> list[tuple[Any, int]]:
    """What the renderer copies into the manifest: the stem's Credit rows, by artist id."""
    return [
        (c.artist, c.split_bps) for c in stem.credits.select_related("artist").order_by("artist_id")
    ]


def manifest_for(
    stems: Sequence[Stem],
    seconds: Sequence[Mapping[Stem, float]],
    credits: Mapping[Stem, Sequence[tuple[Any, int]]] | None = None,
) -> dict[str, Any]:
    """The renderer's manifest shape: stems with credits (artist_id, split_bps) and a
    per-second attribution map of shares."""
    credits = credits or {}
    return {
        "schema": "stemvault.manifest/1",
        "stems": [
            {
                "id": str(stem.pk),
                "content_sha256": stem.file_sha256,
                "license_version": 1,
                "credits": [
                    {"artist_id": user.pk, "artist": user.display_name, "split_bps": bps}
                    for user, bps in credits.get(stem) or _stored_credits(stem)
                ],
            }
            for stem in stems
        ],
        "attribution": {
            "resolution_s": 1,
            "seconds": [
                {"t": t, "shares": {str(stem.pk): share for stem, share in row.items()}}
                for t, row in enumerate(seconds)
            ],
        },
    }


# When the tests' March 2024 mixes were requested: before the plays they report (a play dated
# before its mix existed is refused, before_mix_existed).
MIX_CREATED = datetime(2024, 1, 1, tzinfo=UTC)


def make_mix(
    stems: Sequence[Stem],
    seconds: Sequence[Mapping[Stem, float]],
    *,
    duration_ms: int | None = None,
    credits: Mapping[Stem, Sequence[tuple[Any, int]]] | None = None,
    status: str = RenderStatus.DONE,
    app: Any = None,
    created_at: datetime | None = None,
) -> Mix:
    """A mix; `app` is the client app that requested it (only its plays of it can earn), at
    `created_at` (default: now, by the clock)."""
    duration = len(seconds) * 1000 if duration_ms is None else duration_ms
    mix = Mix.objects.create(
        kind=RenderKind.SOUNDTRACK,
        status=status,
        duration_ms=duration,
        duration_s=duration / 1000,
        manifest=manifest_for(stems, seconds, credits),
        client_app=app,
    )
    if created_at is not None:
        Mix.objects.filter(pk=mix.pk).update(created_at=created_at)  # auto_now_add on create
        mix.created_at = created_at
    return mix


def even_mix(stems: Sequence[Stem], n_seconds: int, **kwargs: Any) -> Mix:
    """Every stem equally loud for the whole mix."""
    share = round(1 / len(stems), 6)
    row = {stem: share for stem in stems}
    return make_mix(stems, [row] * n_seconds, **kwargs)


def event(
    mix: Mix,
    *,
    started_at: datetime | str,
    ms_played: int,
    listener: str = "listener-1",
    event_id: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "event_id": event_id or str(uuid.uuid4()),
        "mix_id": str(mix.pk),
        "listener_id": listener,
        "started_at": started_at if isinstance(started_at, str) else started_at.isoformat(),
        "ms_played": ms_played,
        **extra,
    }


def ingest(app: Any, events: list[dict[str, Any]]) -> Any:
    """Report plays as `app` does (the real ingestion); every event must be accepted."""
    from portal.royalties.services import plays_ingest

    result = plays_ingest(events=events, app=app)
    assert not result.rejected, result.rejected
    return result
