"""Background work for mixes: the "mixes.render" job kind, and queuing a preview whenever a
stem enters review."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from dramatiq.middleware import TimeLimitExceeded

from portal.jobs.models import Job
from portal.jobs.registry import RENDER_QUEUE, JobFailed, Progress, get_kind, job_kind
from portal.mixes import rendering, services
from portal.mixes.notify import soundtrack_outcome_announce
from portal.stems.signals import stem_entered_review
from renderer.threads import pin_blas_threads

logger = logging.getLogger(__name__)


def on_render_given_up(*, job_id: int, message: str, mix_id: str, **_: Any) -> None:
    rendering.mix_fail(
        mix_id=mix_id, code="render_abandoned", message=f"The render failed: {message}"
    )
    soundtrack_outcome_announce(mix_id=mix_id)


@job_kind(
    services.RENDER_JOB_KIND,
    max_attempts=3,
    time_limit_s=rendering.RENDER_TIME_LIMIT_S,
    on_give_up=on_render_given_up,
    queue=RENDER_QUEUE,
    # The figures portal/mixes/rendering.py mix_render reports (the engine's 0–100 % is 5–85).
    stages=(
        (0, "planning the mix"),
        (5, "rendering the audio"),
        (85, "writing the file and its credentials"),
        (88, "fingerprinting the render"),
        (92, "storing the render"),
        (99, "finishing"),
    ),
)
def render_job(*, job_id: int, progress: Progress, mix_id: str) -> dict[str, Any]:
    """Render one mix. Expected failures are recorded on the mix and the job and not retried;
    anything else is retried with backoff, and recorded on the mix once attempts run out."""
    # The engine spreads a render over RENDER_THREADS threads itself; BLAS gets one thread per
    # call inside them instead of a thread per core for each (renderer/threads.py).
    pin_blas_threads()
    try:
        result = rendering.mix_render(mix_id=mix_id, progress=progress)
    except rendering.RenderFailed as exc:
        rendering.mix_fail(mix_id=mix_id, code=exc.code, message=exc.message)
        soundtrack_outcome_announce(mix_id=mix_id)
        raise JobFailed(exc.code, exc.message) from exc
    except (Exception, TimeLimitExceeded) as exc:
        # TimeLimitExceeded is a BaseException (dramatiq's interruption, or the job's progress
        # callback past the deadline): named here so the mix says so too; job_execute records
        # it on the job and retries.
        job = Job.objects.filter(pk=job_id).only("attempts", "max_attempts").first()
        if isinstance(exc, TimeLimitExceeded):
            message = (
                f"time limit of {get_kind(services.RENDER_JOB_KIND).time_limit_s:g} s exceeded"
            )
        else:
            message = f"{type(exc).__name__}: {exc}"
        if job is None or job.attempts >= job.max_attempts:
            rendering.mix_fail(
                mix_id=mix_id, code="render_error", message=f"The render failed: {message}"
            )
            soundtrack_outcome_announce(mix_id=mix_id)
        else:
            rendering.mix_retry_later(mix_id=mix_id, message=message)
        raise
    # Once the outcome is committed, and after it: the app hears of it, the render never waits.
    soundtrack_outcome_announce(mix_id=mix_id)
    return result


def on_stem_entered_review(sender: Any = None, *, stem: Any, **kwargs: Any) -> None:
    """Queue the stem's preview mix. A preview is a courtesy to the curator: failing to plan one
    must never undo the stem's move into review, hence the savepoint and the broad except."""
    try:
        with transaction.atomic():
            services.mix_preview_request(stem=stem)
    except Exception:
        logger.exception("could not queue a preview mix for stem %s", getattr(stem, "pk", stem))


def connect_signals() -> None:
    """Listen for stems entering review (called once the app registry is ready)."""
    stem_entered_review.connect(
        on_stem_entered_review, dispatch_uid="mixes.preview_on_stem_entered_review"
    )
