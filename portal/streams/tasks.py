"""Background work of the live player: rendering ahead (render queue) and the idle timer."""

from __future__ import annotations

from typing import Any

from portal.jobs.registry import RENDER_QUEUE, Progress, job_kind
from portal.streams.services import rendering, sessions
from renderer.threads import pin_blas_threads


# Segments are short: a run of a few takes well under a second, so the limit is only there to
# free the thread of a render that hangs (its session's next playlist fetch sends a new one).
@job_kind(rendering.RENDER_JOB_KIND, max_attempts=5, time_limit_s=120, queue=RENDER_QUEUE)
def render_job(
    *, job_id: int, progress: Progress, session_id: str, generation: int
) -> dict[str, Any]:
    pin_blas_threads()
    return rendering.stream_render_ahead(
        session_id=session_id, generation=generation, progress=progress
    )


@job_kind(sessions.EXPIRE_JOB_KIND, max_attempts=5, time_limit_s=60)
def expire_job(*, job_id: int, progress: Progress, session_id: str) -> dict[str, Any]:
    return {"outcome": sessions.stream_expire_if_idle(session_id=session_id)}
