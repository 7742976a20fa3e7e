"""Fixtures for the catalogue tests: fast passwords, a per-test storage folder, and a vault."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.fixtures import _cold_indexes  # noqa: F401 (an autouse fixture)


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _isolated_storage(settings: Any, tmp_path: Path) -> Iterator[None]:
    """Previews are stored files: each test stores into its own folder (local runs), so none is
    left behind and none is shared. On S3 (CI) the bucket is used as it is configured."""
    if not settings.AWS_STORAGE_BUCKET_NAME:
        settings.STORAGES = {
            **settings.STORAGES,
            "default": {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(tmp_path / "media"), "base_url": None},
            },
        }
    yield


@pytest.fixture
def vault(artist: Any, other_artist: Any) -> dict[str, Any]:
    """Approved stems of two artists, with tags, tempos, keys and lengths to filter on, and one
    stem in each state the catalogue must never show. No audio files (placeholders)."""
    from portal.stems.models import StemStatus
    from tests.factories.stems import StemFactory

    def stem(owner: Any, **fields: Any) -> Any:
        return StemFactory(artist=owner, samples=None, **fields)

    return {
        "kick": stem(
            artist, title="Kick groove", role="drums", bpm=90, moods=["Dark"], genres=["techno"]
        ),
        "bass": stem(
            artist,
            title="Deep bass",
            role="bass",
            bpm=124,
            musical_key="F#m",
            moods=["dark", "tense"],
            genres=["house"],
            duration_s=16.0,
            credits=[(artist, 7000), (other_artist, 3000)],
        ),
        "pad": stem(
            other_artist,
            title="Warm pad",
            role="harmony",
            kind="stem",
            bpm=None,
            musical_key="C",
            moods=["calm"],
            genres=["ambient"],
            duration_s=60.0,
            description="A slow evolving pad",
        ),
        "in_review": stem(artist, title="Pending bass", role="bass", status=StemStatus.IN_REVIEW),
        "rejected": stem(artist, title="Rejected bass", role="bass", status=StemStatus.REJECTED),
        "taken_down": stem(artist, title="Gone bass", role="bass", status=StemStatus.TAKEN_DOWN),
        "withdrawn": stem(artist, title="Withdrawn bass", role="bass", status=StemStatus.WITHDRAWN),
    }
