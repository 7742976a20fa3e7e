"""A render whose job the sweeper gave to another worker stores nothing: no file, no mix row,
no stem rows, no audit entry; the worker that holds the claim renders the mix once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from portal.audit.models import AuditEntry
from portal.jobs.models import Job, JobStatus
from portal.jobs.services import job_claim, job_execute
from portal.jobs.sweeper import jobs_sweep
from portal.mixes import rendering, services
from portal.mixes.models import Mix, MixStem, RenderStatus
from tests.factories.stems import vault_of
from tests.helpers.storage import mix_outputs

REQUEST = {"duration_s": 10, "mood": "calm", "seed": 7}


def _sweep_and_claim_again(job_id: int) -> None:
    """The first worker's heartbeat looks stale: the sweeper requeues, another worker claims."""
    Job.objects.filter(pk=job_id).update(heartbeat_at=timezone.now() - timedelta(minutes=5))
    assert jobs_sweep()["requeued"] == 1
    assert job_claim(job_id=job_id) is not None


@pytest.mark.parametrize(
    "lost_at",
    [
        "signed_manifest_for",  # mid-render: the next progress report stops it
        "output_name",  # after the last report, just before the commit: the commit refuses
    ],
)
def test_a_render_whose_claim_was_lost_stores_nothing(
    artist: Any, settings: Any, monkeypatch: pytest.MonkeyPatch, lost_at: str
) -> None:
    settings.JOB_HEARTBEAT_S = 60  # no heartbeat tick: the render's own checks are tested
    vault_of(artist)
    mix = services.soundtrack_request(user=artist, data=REQUEST)
    assert mix.job is not None
    job_id = mix.job.pk

    real_manifest = rendering.signed_manifest_for
    real_output_name = rendering.output_name
    stale_run = {"active": True}

    def manifest(plan: Any, result: Any, *, render_id: str) -> dict[str, Any]:
        signed = real_manifest(plan, result, render_id=render_id)
        if stale_run["active"]:
            if lost_at == "signed_manifest_for":
                _sweep_and_claim_again(job_id)
            return {**signed, "written_by": "the stale worker"}
        return signed

    def output_name(mix: Mix, fmt: str) -> str:
        if stale_run["active"] and lost_at == "output_name":
            _sweep_and_claim_again(job_id)
        return real_output_name(mix, fmt)

    monkeypatch.setattr(rendering, "signed_manifest_for", manifest)
    monkeypatch.setattr(rendering, "output_name", output_name)

    job_execute(job_id)  # the first worker
    stale_run["active"] = False

    mix.refresh_from_db()
    assert mix.status == RenderStatus.RENDERING  # what the second worker found and keeps
    assert not mix.audio and mix.manifest == {} and mix.audio_sha256 == ""
    assert mix_outputs(mix.pk) == []  # not the output, not its temporary file
    assert not MixStem.objects.filter(mix=mix).exists()
    assert not AuditEntry.objects.filter(action="mix.rendered", subject=f"mix:{mix.pk}").exists()
    job = Job.objects.get(pk=job_id)
    assert job.status == JobStatus.RUNNING and job.attempts == 2 and job.error == ""

    # The second worker dies too; the third renders the mix, once, with its own manifest.
    _sweep_and_claim_again(job_id)
    Job.objects.filter(pk=job_id).update(
        status=JobStatus.QUEUED, claim_token="", run_after=timezone.now()
    )
    job_execute(job_id)
    mix.refresh_from_db()
    assert mix.status == RenderStatus.DONE, mix.error
    assert "written_by" not in mix.manifest
    assert mix_outputs(mix.pk) == [f"mixes/{mix.pk}.wav"]
    assert AuditEntry.objects.filter(action="mix.rendered", subject=f"mix:{mix.pk}").count() == 1


def test_a_stale_render_worker_does_not_fail_the_mix_another_is_rendering(
    artist: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.JOB_HEARTBEAT_S = 60
    vault_of(artist)
    mix = services.soundtrack_request(user=artist, data=REQUEST)
    assert mix.job is not None
    job_id = mix.job.pk

    def broken_storage(*args: Any, **kwargs: Any) -> Any:
        # Storage fails in the stale worker after it lost its claim: its error handling must
        # not mark the mix failed (or queued) under the worker that holds the job now.
        _sweep_and_claim_again(job_id)
        raise OSError("the disk went away")

    monkeypatch.setattr(rendering, "_load_stem", broken_storage)
    job_execute(job_id)
    mix.refresh_from_db()
    assert mix.status == RenderStatus.RENDERING and mix.error == ""
    job = Job.objects.get(pk=job_id)
    assert job.status == JobStatus.RUNNING and job.error == ""
