"""Routes under /api/v1/ for this domain."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from portal.jobs import apis

urlpatterns: list[URLPattern | URLResolver] = [
    path("jobs/<int:job_id>/", apis.JobDetailApi.as_view(), name="job_detail"),
]
