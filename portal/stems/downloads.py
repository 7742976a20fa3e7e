"""Authorised downloads of stored stem audio: a short-lived signed URL on S3, a stream otherwise."""

from __future__ import annotations

from typing import Any

from django.core.files.storage import default_storage
from django.http import FileResponse, HttpResponseBase, HttpResponseRedirect

from portal.stems.models import Stem

CONTENT_TYPES = {"WAV": "audio/wav", "FLAC": "audio/flac", "AIFF": "audio/aiff"}
SIGNED_URL_SECONDS = 120


def download_name(stem: Stem) -> str:
    ext = stem.audio.name.rsplit(".", 1)[-1] if "." in stem.audio.name else "audio"
    return f"stemvault-stem-{stem.pk}.{ext}"


def audio_response(stem: Stem) -> HttpResponseBase:
    """The caller has already checked the user may hear this stem."""
    storage: Any = default_storage  # S3Storage.url takes parameters/expire; the stubs do not know
    if hasattr(storage, "bucket"):
        # S3: hand the browser a URL that expires in two minutes instead of proxying the bytes.
        url = storage.url(
            stem.audio.name,
            parameters={
                "ResponseContentDisposition": f'inline; filename="{download_name(stem)}"',
                "ResponseContentType": CONTENT_TYPES.get(stem.audio_format, "audio/wav"),
            },
            expire=SIGNED_URL_SECONDS,
        )
        response: HttpResponseBase = HttpResponseRedirect(url)
    else:
        response = FileResponse(
            storage.open(stem.audio.name, "rb"),
            content_type=CONTENT_TYPES.get(stem.audio_format, "application/octet-stream"),
            filename=download_name(stem),
        )
    response["Cache-Control"] = "private, no-store"
    return response
