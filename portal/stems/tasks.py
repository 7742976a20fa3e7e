"""Background work for stems: the provenance job."""

from __future__ import annotations

from typing import Any

from portal.jobs.registry import JobFailed, Progress, job_kind
from portal.stems.provenance_jobs import PROVENANCE_JOB_KIND, provenance_abandoned
from renderer.validate import AudioRejected

# The stages provenance_run reports (portal/stems/provenance.py): the figure each starts at.
PROVENANCE_STAGES = (
    (0, "starting"),
    (5, "reading the audio"),
    (15, "measuring loudness, tempo and quality"),
    (45, "fingerprinting the sound"),
    (60, "comparing with the vault and our renders"),
    (75, "judging and recording the verdict"),
    (95, "finishing"),
)


@job_kind(
    PROVENANCE_JOB_KIND,
    max_attempts=3,
    time_limit_s=300,
    on_give_up=provenance_abandoned,
    stages=PROVENANCE_STAGES,
)
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
