"""Background work for the catalogue: the "catalogue.preview" job kind."""

from __future__ import annotations

from typing import Any

from portal.catalogue.services.previews import PREVIEW_JOB_KIND, preview_render
from portal.jobs.registry import JobFailed, Progress, job_kind
from renderer.validate import AudioRejected


@job_kind(PREVIEW_JOB_KIND, max_attempts=3, time_limit_s=120)
def preview_job(*, job_id: int, progress: Progress, stem_id: int) -> dict[str, Any]:
    """Render one stem's audition file; a stem whose file cannot be decoded fails for good."""
    try:
        return preview_render(stem_id=stem_id)
    except AudioRejected as exc:
        raise JobFailed("audio_unreadable", str(exc)) from exc
