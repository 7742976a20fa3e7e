"""Background work for the catalogue: the "catalogue.preview" job kind, queued when a stem
enters the vault."""

from __future__ import annotations

import logging
from typing import Any

from portal.catalogue.services.previews import PREVIEW_JOB_KIND, preview_render, previews_request
from portal.jobs.registry import JobFailed, Progress, job_kind
from portal.stems.signals import stem_entered_vault
from renderer.validate import AudioRejected

logger = logging.getLogger(__name__)


@job_kind(PREVIEW_JOB_KIND, max_attempts=3, time_limit_s=120)
def preview_job(*, job_id: int, progress: Progress, stem_id: int) -> dict[str, Any]:
    """Render one stem's audition file; a stem whose file is missing or cannot be decoded
    fails for good."""
    try:
        return preview_render(stem_id=stem_id)
    except AudioRejected as exc:
        raise JobFailed("audio_unreadable", str(exc)) from exc
    except FileNotFoundError as exc:  # the stem's file is gone from storage: retrying won't help
        raise JobFailed("audio_missing", f"The stem's audio file is missing: {exc}") from exc


def on_stem_entered_vault(sender: Any = None, *, stem: Any, **kwargs: Any) -> None:
    """Queue the preview of a stem that just entered the vault, so its first catalogue view
    already has one. Sent after commit; a failure here is logged, and `manage.py
    catalogue_previews` queues whatever is missing."""
    try:
        previews_request(stems=[stem])
    except Exception:
        logger.exception("could not queue a catalogue preview for stem %s", stem.pk)


def connect_signals() -> None:
    stem_entered_vault.connect(on_stem_entered_vault, dispatch_uid="catalogue.preview_on_vault")
