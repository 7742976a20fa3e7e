"""A render that runs past its time limit says so, on its job and on its mix."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from django.utils import timezone

from portal.jobs import registry
from portal.jobs.models import Job, JobStatus
from portal.jobs.services import job_execute
from portal.mixes import services
from portal.mixes.models import RenderStatus
from tests.factories.stems import vault_of


def test_a_render_past_its_time_limit_is_retried_then_failed_with_the_reason(
    artist: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    kind = registry.get_kind(services.RENDER_JOB_KIND)
    monkeypatch.setitem(registry._KINDS, kind.name, dataclasses.replace(kind, time_limit_s=0.001))
    vault_of(artist)
    mix = services.soundtrack_request(user=artist, data={"duration_s": 10, "mood": "calm"})
    assert mix.job is not None
    job_execute(mix.job.pk)
    job = Job.objects.get(pk=mix.job.pk)
    mix.refresh_from_db()
    assert job.status == JobStatus.QUEUED and job.error_code == "time_limit"
    assert job.error == "time limit of 0.001 s exceeded"
    assert mix.status == RenderStatus.QUEUED
    assert mix.error == "Retrying after an error: time limit of 0.001 s exceeded"
    assert not mix.audio
    for _ in range(2):
        Job.objects.filter(pk=job.pk).update(run_after=timezone.now())
        job_execute(job.pk)
    job.refresh_from_db()
    mix.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.attempts == 3
    assert mix.status == RenderStatus.FAILED
    assert mix.error == "The render failed: Failed after 3 attempts: time limit of 0.001 s exceeded"
