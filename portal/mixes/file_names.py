"""Where a render's files are named in storage, and how a finished file is moved into place.

Every name is fixed by the mix id, so a retried render job overwrites its own files and never
leaves a second copy: the master at `output_name`, and the files asked for beside it at
`extra_name` (an MP3 of the master, the stems zip). All of them go through Django's default
storage (a private folder in development, S3 in CI and production).
"""

from __future__ import annotations

import os
from typing import Any

from django.core.files.storage import default_storage

# Files delivered beside the master, when the request asks for them: kind -> (content type,
# the storage name's ending after the mix id).
EXTRA_FILES = {"mp3": ("audio/mpeg", ".mp3"), "stems": ("application/zip", "-stems.zip")}


def output_name(mix: Any, fmt: str) -> str:
    return f"mixes/{mix.pk}.{fmt}"


def extra_name(mix: Any, kind: str) -> str:
    return f"mixes/{mix.pk}{EXTRA_FILES[kind][1]}"


def requested_extras(request: dict[str, Any]) -> list[str]:
    """The extra files a soundtrack request asks for, in EXTRA_FILES order."""
    wanted = {"mp3"} if "mp3" in (request.get("formats") or []) else set()
    if request.get("stems"):
        wanted.add("stems")
    return [kind for kind in EXTRA_FILES if kind in wanted]


def storage_move(source: str, target: str) -> None:
    """Move a stored object to `target`, replacing what is there.

    On a local disk this is one rename (atomic: readers see the old file or the new one,
    never a half-written one). On object storage each PUT is atomic already; the stale target
    is removed first because S3 storage would otherwise pick a different name.
    """
    try:
        source_path, target_path = default_storage.path(source), default_storage.path(target)
    except NotImplementedError:
        source_path = target_path = ""
    if source_path and target_path:
        os.makedirs(os.path.dirname(target_path), exist_ok=True)
        os.replace(source_path, target_path)
        return
    if default_storage.exists(target):
        default_storage.delete(target)
    with default_storage.open(source, "rb") as handle:
        saved = default_storage.save(target, handle)
    if saved != target:
        default_storage.delete(saved)
        raise RuntimeError(f"storage saved the render as {saved!r}, not {target!r}")
    default_storage.delete(source)
