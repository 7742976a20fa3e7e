"""Fixtures for the stems tests: a license, stem_submit with defaults, isolated storage."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.factories.contributions import ATTESTED, meta
from tests.helpers.fixtures import _cold_indexes  # noqa: F401 (an autouse fixture)


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    # The role fixtures hash a password per user; the production hasher costs ~0.3 s each.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _isolated_storage(settings: Any, tmp_path: Path) -> Iterator[None]:
    """Local runs store into a per-test folder, so 'no file left behind' sees only this test's
    files; on S3 (CI) each test gets its own key prefix in the bucket, for the same reason."""
    if settings.AWS_STORAGE_BUCKET_NAME:
        default = settings.STORAGES["default"]
        location = f"tests/{uuid.uuid4().hex}"
        options = {**default["OPTIONS"], "location": location}
        settings.STORAGES = {**settings.STORAGES, "default": {**default, "OPTIONS": options}}
    else:
        settings.STORAGES = {
            **settings.STORAGES,
            "default": {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(tmp_path / "media"), "base_url": None},
            },
        }
    yield


@pytest.fixture
def license_v1(db: None) -> Any:
    from portal.stems.services.licenses import license_template_publish

    return license_template_publish(
        version=1, title="Stemvault standard license", terms="You grant Stemvault the right..."
    )


@pytest.fixture
def submit(license_v1: Any) -> Callable[..., list[Any]]:
    """stem_submit with sensible defaults; override any argument."""
    from portal.stems.services.submission import stem_submit

    def run(artist: Any, *files: Any, **overrides: Any) -> list[Any]:
        kwargs: dict[str, Any] = {
            "artist": artist,
            "files": list(files),
            "metadata": [meta() for _ in files],
            "credits": [{"artist": artist.username, "split_percent": Decimal("100")}],
            "license_version": 1,
            "attestations": dict(ATTESTED),
            "ip_address": "203.0.113.7",
        }
        kwargs.update(overrides)
        return stem_submit(**kwargs)

    return run
