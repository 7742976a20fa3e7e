"""A provenance job that keeps failing leaves its stem unjudged; staff can run the checks again."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from portal.audit.models import AuditEntry
from portal.core.errors import Conflict, PermissionDenied
from portal.jobs.models import Job, JobStatus
from portal.jobs.services import job_execute
from portal.stems import provenance
from portal.stems.models import Stem, StemStatus
from portal.stems.provenance_jobs import provenance_rerun
from tests.factories.audio import encode, tone_loop
from tests.factories.contributions import upload


def _exhaust(job_id: int) -> Job:
    """Run the job until the job system gives up on it (skipping the retry backoff)."""
    for _ in range(10):
        Job.objects.filter(pk=job_id).update(run_after=timezone.now())
        job_execute(job_id)
        job = Job.objects.get(pk=job_id)
        if job.status == JobStatus.FAILED:
            return job
    raise AssertionError("the job never gave up")


def test_an_abandoned_check_is_audited_shown_and_can_be_run_again_by_staff(
    artist: Any, staff: Any, submit: Any, client_for: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = provenance.provenance_run
    monkeypatch.setattr(
        provenance,
        "provenance_run",
        lambda **_: (_ for _ in ()).throw(RuntimeError("decoder crashed")),
    )
    (stem,) = submit(artist, upload(encode(tone_loop(seed=41))))
    job = _exhaust(stem.provenance_job_id)
    assert job.error_code == "gave_up" and job.attempts == job.max_attempts
    stem.refresh_from_db()
    assert stem.status == StemStatus.PROCESSING  # unjudged: neither in review nor rejected
    entry = AuditEntry.objects.get(action="stem.provenance_abandoned", subject=f"stem:{stem.pk}")
    assert "decoder crashed" in entry.note

    # The artist sees that the checks could not finish, and no re-run button.
    page = client_for(artist).get(reverse("stems:detail", args=[stem.pk]))
    html = page.content.decode()
    assert "could not finish" in html and "decoder crashed" in html
    assert reverse("stems:rerun-provenance", args=[stem.pk]) not in html
    refused = client_for(artist).post(reverse("stems:rerun-provenance", args=[stem.pk]))
    assert refused.status_code == 302
    assert Stem.objects.get(pk=stem.pk).provenance_job_id == job.pk  # nothing queued

    # Staff see the button; once the cause is fixed, the new job judges the stem.
    monkeypatch.setattr(provenance, "provenance_run", real)
    staff_client = client_for(staff)
    html = staff_client.get(reverse("stems:detail", args=[stem.pk])).content.decode()
    assert reverse("stems:rerun-provenance", args=[stem.pk]) in html
    response = staff_client.post(reverse("stems:rerun-provenance", args=[stem.pk]))
    assert response.status_code == 302
    stem.refresh_from_db()
    assert stem.provenance_job_id != job.pk
    job_execute(stem.provenance_job_id)
    stem.refresh_from_db()
    assert stem.status == StemStatus.IN_REVIEW
    assert AuditEntry.objects.filter(
        action="stem.provenance_rerun", subject=f"stem:{stem.pk}", actor=staff
    ).exists()


def test_a_rerun_is_refused_while_checks_run_after_a_verdict_and_for_non_staff(
    artist: Any, staff: Any, curator: Any, submit: Any, run_jobs: Any
) -> None:
    (stem,) = submit(artist, upload(encode(tone_loop(seed=42))))
    with pytest.raises(Conflict) as running:
        provenance_rerun(stem=stem, actor=staff)  # its first job is still queued
    assert running.value.code == "checks_running"
    for who in (artist, curator):
        with pytest.raises(PermissionDenied):
            provenance_rerun(stem=stem, actor=who)
    run_jobs()
    stem.refresh_from_db()
    assert stem.status == StemStatus.IN_REVIEW
    with pytest.raises(Conflict) as judged:
        provenance_rerun(stem=stem, actor=staff)
    assert judged.value.code == "already_judged"
    assert Job.objects.filter(kind="stems.provenance").count() == 1
