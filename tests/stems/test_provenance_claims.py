"""A provenance check whose job the sweeper gave to another worker records no verdict."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from portal.audit.models import AuditEntry
from portal.jobs.models import Job, JobStatus
from portal.jobs.services import job_claim, job_execute
from portal.jobs.sweeper import jobs_sweep
from portal.stems import provenance
from portal.stems.models import ProvenanceCheck, Stem, StemStatus
from tests.factories.audio import encode, tone_loop
from tests.factories.contributions import upload


def test_a_stale_provenance_worker_records_no_verdict(
    artist: Any, submit: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.JOB_HEARTBEAT_S = 60
    (stem,) = submit(artist, upload(encode(tone_loop(seed=43))))
    job_id = stem.provenance_job_id
    real_quality = provenance.check_quality
    taken: list[str] = []

    def quality_then_taken_over(analysis: Any) -> Any:
        if not taken:
            # The checks ran long enough for the sweeper to think the worker dead.
            Job.objects.filter(pk=job_id).update(heartbeat_at=timezone.now() - timedelta(minutes=5))
            assert jobs_sweep()["requeued"] == 1
            claim = job_claim(job_id=job_id)
            assert claim is not None
            taken.append(claim[1])
        return real_quality(analysis)

    monkeypatch.setattr(provenance, "check_quality", quality_then_taken_over)
    job_execute(job_id)

    stem.refresh_from_db()
    assert stem.status == StemStatus.PROCESSING and stem.provenance_verdict == "pending"
    assert not stem.fingerprint
    assert not ProvenanceCheck.objects.filter(stem=stem).exists()
    assert not AuditEntry.objects.filter(subject=f"stem:{stem.pk}", action="stem.in_review")
    job = Job.objects.get(pk=job_id)
    assert job.status == JobStatus.RUNNING and job.claim_token == taken[0]

    # The worker that holds the job now judges the stem (here it dies too, and a third does).
    Job.objects.filter(pk=job_id).update(
        status=JobStatus.QUEUED, claim_token="", run_after=timezone.now()
    )
    job_execute(job_id)
    assert Stem.objects.get(pk=stem.pk).status == StemStatus.IN_REVIEW
    assert ProvenanceCheck.objects.filter(stem=stem).count() == 6
