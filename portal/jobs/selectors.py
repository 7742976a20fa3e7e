from __future__ import annotations

from typing import Any

from portal.core.errors import NotFound
from portal.jobs.models import Job


def job_get_for_user(*, job_id: int, user: Any) -> Job:
    job = Job.objects.filter(pk=job_id).first()
    if job is None or not (getattr(user, "is_platform_staff", False) or job.owner_id == user.pk):
        raise NotFound("job_not_found", "No such job among yours.")
    return job
