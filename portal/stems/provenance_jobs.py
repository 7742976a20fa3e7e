"""Writes around the provenance job's life: when it is abandoned, and when staff run it again.

A provenance job that keeps failing (a decoder crash, storage down for longer than its retries)
is abandoned by the job system. Its stem stays in "processing": it has not been judged, so it
can neither go to curators nor be rejected. The artist sees that the checks could not finish;
staff see why and can run them again once the cause is fixed.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from portal.accounts.models import User
from portal.audit.services import audit_record
from portal.core.errors import Conflict, PermissionDenied
from portal.jobs.models import JobStatus
from portal.jobs.services import job_enqueue
from portal.stems.models import Stem, StemStatus

PROVENANCE_JOB_KIND = "stems.provenance"


def provenance_abandoned(*, job_id: int, message: str, stem_id: int, **_: Any) -> None:
    """The job system gave up on a stem's checks: record it where staff look (the audit log)."""
    with transaction.atomic():
        stem = Stem.objects.filter(pk=stem_id).first()
        if stem is None or stem.status != StemStatus.PROCESSING:
            return  # withdrawn meanwhile, or judged by a later run
        audit_record(
            actor=None,
            action="stem.provenance_abandoned",
            subject=f"stem:{stem.pk}",
            stem=stem,
            after={"job": job_id},
            note=message[:500],
        )


@transaction.atomic
def provenance_rerun(*, stem: Stem, actor: User) -> Stem:
    """Staff run the checks of a stem whose provenance job failed again, as a new job."""
    if not actor.is_platform_staff:
        raise PermissionDenied("staff_only", "Only platform staff can re-run provenance checks.")
    # Only the stem row is locked (its job is read after: FOR UPDATE cannot take an outer join).
    locked = Stem.objects.select_for_update().get(pk=stem.pk)
    if locked.status != StemStatus.PROCESSING:
        raise Conflict(
            "already_judged",
            f"This stem's checks have finished (it is {locked.get_status_display().lower()}).",
        )
    previous = locked.provenance_job
    if previous is not None and previous.status != JobStatus.FAILED:
        raise Conflict(
            "checks_running",
            "This stem's checks are still queued or running; re-run them only if they fail.",
        )
    job = job_enqueue(kind=PROVENANCE_JOB_KIND, args={"stem_id": locked.pk}, owner=locked.artist)
    locked.provenance_job = job
    locked.save(update_fields=["provenance_job", "updated_at"])
    audit_record(
        actor=actor,
        action="stem.provenance_rerun",
        subject=f"stem:{locked.pk}",
        stem=locked,
        before={"job": previous.pk if previous is not None else None},
        after={"job": job.pk},
    )
    return locked
