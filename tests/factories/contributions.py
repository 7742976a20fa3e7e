"""What an artist sends when contributing: files, per-file details, statements, the web form.

The stems tests pass these through `stem_submit` (the stems conftest's `submit` fixture) or the
contribute page, so the contribution runs as it does for a real artist, provenance included.
"""

from __future__ import annotations

import io
from typing import Any

from django.core.files.base import File
from django.core.files.uploadedfile import SimpleUploadedFile

# The statements stem_submit asks every contributor to make, for license version 1.
ATTESTED = {
    "made_it_and_holds_rights": True,
    "no_uncleared_samples": True,
    "not_ai_generated": True,
    "accepts_terms_version": 1,
}

# The contribute page's fields, filled in and ticked, for license version 1 (add the title,
# credits and audio_files).
FORM_OK = {
    "kind": "loop",
    "role": "bass",
    "bpm": "120",
    "bars": "2",
    "musical_key": "F#m",
    "moods": "dark, tense",
    "genres": "techno",
    "description": "Rolling sub bass.",
    "license_version": "1",
    "made_it_and_holds_rights": "on",
    "no_uncleared_samples": "on",
    "not_ai_generated": "on",
    "accept_terms": "on",
}


def upload(data: bytes, name: str = "take.wav") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def raw_named(data: bytes, name: str) -> File:
    """A file whose name is passed through untouched (SimpleUploadedFile strips directories)."""
    return File(io.BytesIO(data), name=name)


def meta(**overrides: Any) -> dict[str, Any]:
    """One file's details as stem_submit takes them; override any."""
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
