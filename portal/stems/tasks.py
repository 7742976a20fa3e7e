"""Background work for stems: the provenance job."""

from __future__ import annotations

from typing import Any

from portal.jobs.registry import JobFailed, Progress, job_kind
from portal.stems.provenance_jobs import PROVENANCE_JOB_KIND, provenance_abandoned
from renderer.validate import AudioRejected


@job_kind(PROVENANCE_JOB_KIND, max_attempts=3, time_limit_s=300, on_give_up=provenance_abandoned)
def provenance_job(*, job_id: int, progress: Progress, stem_id: int) -> dict[str, Any]:
    from portal.stems.provenance import provenance_run

    try:
        return provenance_run(stem_id=stem_id, progress=progress)
    except FileNotFoundError:
        # The stored audio is gone: retrying will not bring it back.
        raise JobFailed("audio_missing", "The stem's stored audio file is missing.") from None
    except AudioRejected as exc:
        # The stored file no longer decodes within its kind's limits: a retry decodes the same
        # bytes, so the job fails at once and the stem stays unjudged for staff to see.
        raise JobFailed(
            f"audio_{exc.code}", f"The stored audio was refused: {exc.message}"
        ) from None
