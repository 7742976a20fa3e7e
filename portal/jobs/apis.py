from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.jobs.models import Job
from portal.jobs.progress import JobProgress, job_progress
from portal.jobs.selectors import job_get_for_user


@dataclass(frozen=True)
class JobShown:
    """A job row with its stage and estimate beside it, as the API gives them."""

    job: Job
    progress_shown: JobProgress

    def __getattr__(self, name: str) -> Any:
        if name in ("stage", "elapsed_s", "eta_s"):
            return getattr(self.progress_shown, name)
        return getattr(self.job, name)


def job_shown(job: Job) -> JobShown:
    return JobShown(job, job_progress(job))


class JobOutputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.IntegerField()
    kind = serializers.CharField()
    status = serializers.CharField()
    progress = serializers.IntegerField()
    attempts = serializers.IntegerField()
    error = serializers.CharField()
    error_code = serializers.CharField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    stage = serializers.CharField(help_text="What the job is doing now, in words.")
    elapsed_s = serializers.IntegerField(
        allow_null=True, help_text="Seconds this attempt has run (null while queued)."
    )
    eta_s = serializers.IntegerField(
        allow_null=True,
        help_text="Estimated seconds left: elapsed time extrapolated by the fraction done; "
        "null while queued, finished, or too early to tell.",
    )


class JobDetailApi(APIView):
    allowed_token_scopes = ("app",)

    @extend_schema(responses=JobOutputSerializer, summary="A background job's status and progress")
    def get(self, request: Request, job_id: int) -> Response:
        job = job_get_for_user(job_id=job_id, user=request.user)
        return Response(JobOutputSerializer(job_shown(job)).data)
