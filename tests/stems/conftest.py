"""Fixtures for the stems tests: synthesised audio, a license, isolated storage."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from django.core.files.base import File
from django.core.files.uploadedfile import SimpleUploadedFile

RATE = 48000


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


@pytest.fixture(autouse=True)
def _cold_indexes() -> Iterator[None]:
    from portal.stems.fingerprint_indexes import reset_indexes

    reset_indexes()
    yield
    reset_indexes()


def stored_files() -> list[str]:
    """Every stored name under stems/, recursively."""
    from django.core.files.storage import default_storage

    found: list[str] = []

    def walk(prefix: str) -> None:
        try:
            dirs, files = default_storage.listdir(prefix)
        except FileNotFoundError:
            return
        found.extend(f"{prefix}/{name}" for name in files)
        for name in dirs:
            walk(f"{prefix}/{name}")

    walk("stems")
    return sorted(found)


def tone_loop(
    seconds: float = 4.0,
    *,
    seed: int = 0,
    rate: int = RATE,
    bpm: float = 120.0,
    level: float = 0.4,
) -> np.ndarray:
    """A short, unique, musical-ish stereo signal: plucked notes on the beat plus soft noise."""
    rng = np.random.default_rng(seed)
    frames = round(seconds * rate)
    t = np.arange(frames) / rate
    out = np.zeros(frames)
    beat = 60.0 / bpm
    starts = np.arange(0.0, seconds, beat / 2)
    for start in starts:
        freq = 110.0 * 2 ** (rng.integers(0, 24) / 12)
        length = min(frames - round(start * rate), round(beat * rate))
        tt = np.arange(length) / rate
        note = sum(np.sin(2 * np.pi * freq * k * tt) / k for k in (1, 2, 3, 5))
        begin = round(start * rate)
        out[begin : begin + length] += note * np.exp(-tt * 6.0)
    out += 0.02 * rng.standard_normal(frames)
    out *= level / np.max(np.abs(out))
    pan = 0.8 + 0.2 * np.sin(2 * np.pi * 0.25 * t)
    return np.stack([out * pan, out * (1.8 - pan) / 1.0], axis=1).astype(np.float32)


def encode(
    samples: np.ndarray, rate: int = RATE, fmt: str = "WAV", subtype: str = "PCM_24"
) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format=fmt, subtype=subtype)
    return buffer.getvalue()


def upload(data: bytes, name: str = "take.wav") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def raw_named(data: bytes, name: str) -> File:
    """A file whose name is passed through untouched (SimpleUploadedFile strips directories)."""
    return File(io.BytesIO(data), name=name)


ATTESTED = {
    "made_it_and_holds_rights": True,
    "no_uncleared_samples": True,
    "not_ai_generated": True,
    "accepts_terms_version": 1,
}


def meta(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": "Warm pluck",
        "kind": "stem",
        "role": "melody",
        "musical_key": "Am",
        "moods": ["calm"],
        "genres": ["ambient"],
        "description": "",
    }
    data.update(overrides)
    return data


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
