"""What royalties reads of the world: soundtracks with signed-manifest-shaped attribution, and
the play events client apps report.

The royalty code reads only a mix's status, duration and manifest, so a Mix row with a manifest
in the renderer's shape stands in for a render; its stems are real rows (statements link to
them) whose audio is a placeholder nobody opens (`StemFactory(samples=None)`, `PlayedStemFactory`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import factory

from portal.mixes.models import Mix
from portal.stems.models import Stem
from tests.factories.mixes import MixFactory
from tests.factories.stems import StemFactory

# When the tests' March 2024 mixes were requested: before the plays they report (a play dated
# before its mix existed is refused, before_mix_existed).
MIX_CREATED = datetime(2024, 1, 1, tzinfo=UTC)
# The tests' month is March 2024: the apps report its plays on April 1st (within the late
# window), and March can close without being forced once its window has passed.
REPORTED = datetime(2024, 4, 1, 12, 0, tzinfo=UTC)
MARCH_WINDOW_PASSED = datetime(2024, 5, 6, tzinfo=UTC)


class PlayedStemFactory(StemFactory):
    """An approved stem with no stored audio: royalties reads its rows, never its sound."""

    samples = None


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


def signed(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest signed with the platform key, as every render's is (verify_period checks)."""
    from portal.mixes.keys import signing_key_pem
    from renderer.signing import sign_manifest

    return sign_manifest(manifest, signing_key_pem())


def _even(mix: Any) -> list[dict[Stem, float]]:
    share = round(1 / len(mix.stems), 6)
    return [{stem: share for stem in mix.stems}] * mix.even_seconds


class PlayedMixFactory(MixFactory):
    """A soundtrack whose manifest attributes each second to `stems`: either `seconds=[{stem:
    share}, ...]` row by row, or every stem equally loud for `even_seconds`. Its duration is
    that many seconds unless `duration_ms` says otherwise; `credits={stem: [(user, bps)]}`
    overrides what the manifest copies from the stems' Credit rows; `client_app` is the app that
    requested it (only that app's plays of it can earn)."""

    class Params:
        stems: Sequence[Stem] = ()
        even_seconds = 0
        seconds = factory.LazyAttribute(_even)
        credits = None

    request = factory.LazyFunction(dict)
    manifest = factory.LazyAttribute(
        lambda mix: signed(manifest_for(mix.stems, mix.seconds, mix.credits))
    )
    duration_ms = factory.LazyAttribute(lambda mix: len(mix.seconds) * 1000)
    duration_s = factory.LazyAttribute(lambda mix: mix.duration_ms / 1000)


class EarlyMixFactory(PlayedMixFactory):
    """A PlayedMixFactory soundtrack requested at MIX_CREATED, before any play the tests report
    (one created at the clock's now would refuse earlier plays as before_mix_existed)."""

    created_at = MIX_CREATED


def event(
    mix: Mix,
    *,
    started_at: datetime | str,
    ms_played: int,
    listener: str = "listener-1",
    event_id: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One play event as a client app reports it."""
    return {
        "event_id": event_id or str(uuid.uuid4()),
        "mix_id": str(mix.pk),
        "listener_id": listener,
        "started_at": started_at if isinstance(started_at, str) else started_at.isoformat(),
        "ms_played": ms_played,
        **extra,
    }


def ingest(app: Any, events: list[dict[str, Any]]) -> Any:
    """Report plays as `app` does (through plays_ingest); every event must be accepted."""
    from portal.royalties.services import plays_ingest

    result = plays_ingest(events=events, app=app)
    assert not result.rejected, result.rejected
    return result
