from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.jobs.selectors import job_get_for_user


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


class JobDetailApi(APIView):
    allowed_token_scopes = ("app",)

    @extend_schema(responses=JobOutputSerializer, summary="A background job's status and progress")
    def get(self, request: Request, job_id: int) -> Response:
        job = job_get_for_user(job_id=job_id, user=request.user)
        return Response(JobOutputSerializer(job).data)
