"""Renders have their own queue and their own worker threads: a flood of them never holds up
provenance checks, webhooks or payouts."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import dramatiq
import pytest
from django.utils import timezone

from portal.jobs.models import Job, JobStatus
from portal.jobs.registry import DEFAULT_QUEUE, RENDER_QUEUE, get_kind, job_kind
from portal.jobs.services import job_claim, job_enqueue, job_execute
from portal.jobs.sweeper import jobs_sweep
from tests.conftest import wait_for

RELEASE_RENDERS = threading.Event()


@job_kind("tests.long_render", max_attempts=1, time_limit_s=60, queue=RENDER_QUEUE)
def long_render_job(*, job_id: int, progress: Any) -> dict[str, bool]:
    """Stands for a render of minutes: it holds its thread until the test lets it go."""
    RELEASE_RENDERS.wait(timeout=30)
    return {"released": RELEASE_RENDERS.is_set()}


@job_kind("tests.quick_check", max_attempts=1, time_limit_s=60)
def quick_check_job(*, job_id: int, progress: Any) -> dict[str, bool]:
    """Stands for a provenance check or a webhook: quick, and waited for."""
    return {"ok": True}


def test_renders_run_on_their_own_queue_and_everything_else_on_the_default_one() -> None:
    assert get_kind("mixes.render").queue == RENDER_QUEUE == "renders"
    for kind in ("stems.provenance", "payouts.stripe_event", "payouts.run", "jobs.demo"):
        assert get_kind(kind).queue == DEFAULT_QUEUE, kind


def test_a_kind_on_a_queue_no_worker_serves_is_refused_at_registration() -> None:
    with pytest.raises(ValueError, match="queue must be one of"):
        job_kind("tests.nowhere", queue="elsewhere")


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, dict[str, Any]]]:
    """Every message handed to the broker: (queue, actor, options)."""
    broker = dramatiq.get_broker()
    messages: list[tuple[str, str, dict[str, Any]]] = []

    def record(message: Any, *, delay: int | None = None) -> Any:
        messages.append((message.queue_name, message.actor_name, dict(message.options)))
        return message

    monkeypatch.setattr(broker, "enqueue", record)
    return messages


@pytest.mark.django_db
def test_a_job_rings_on_its_kinds_queue_and_the_sweeper_rings_again_there(
    sent: list[tuple[str, str, dict[str, Any]]], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        render = job_enqueue(kind="tests.long_render")
        check = job_enqueue(kind="tests.quick_check")
    assert [(queue, actor) for queue, actor, _ in sent] == [
        ("renders", "run_render_job"),
        ("default", "run_job"),
    ]
    # The message whose broker lost it, and a job whose worker died: both ring on their queue.
    Job.objects.filter(pk=render.pk).update(enqueued_at=timezone.now() - timedelta(minutes=5))
    Job.objects.filter(pk=check.pk).update(
        status=JobStatus.RUNNING,
        claim_token="dead",
        attempts=0,
        heartbeat_at=timezone.now() - timedelta(minutes=5),
    )
    sent.clear()
    counts = jobs_sweep()
    assert counts["rerung"] == 1 and counts["requeued"] == 1
    assert sorted(queue for queue, _, _ in sent) == ["default", "renders"]


@pytest.mark.django_db
def test_a_doorbell_on_the_wrong_queue_does_not_run_the_job() -> None:
    # A render rung on the default queue (say, before renders had their own) must not take a
    # thread the default queue's jobs count on; its own doorbell, or the sweeper's, follows.
    render = job_enqueue(kind="tests.long_render")
    job_execute(render.pk, queue=DEFAULT_QUEUE)
    assert Job.objects.get(pk=render.pk).status == JobStatus.QUEUED
    assert job_claim(job_id=render.pk, queue=RENDER_QUEUE) is not None


@pytest.mark.slow
def test_a_flood_of_renders_never_delays_a_provenance_check(
    real_worker: Any, settings: Any
) -> None:
    settings.WORKER_RENDER_THREADS = 1
    RELEASE_RENDERS.clear()
    try:
        # One thread for the default queue: before renders had their own, it was taken by the
        # first render and the check waited behind every one of them.
        real_worker(threads=1)
        renders = [job_enqueue(kind="tests.long_render") for _ in range(10)]
        wait_for(lambda: Job.objects.filter(kind="tests.long_render", status="running").exists())
        check = job_enqueue(kind="tests.quick_check")
        done = wait_for(
            lambda: (job := Job.objects.get(pk=check.pk)).status == JobStatus.DONE and job,
            timeout=30,
        )
        assert done.result == {"ok": True}
        statuses = list(
            Job.objects.filter(pk__in=[r.pk for r in renders]).values_list("status", flat=True)
        )
        # The check finished while the renders were still there: one rendering on its own
        # thread, the rest waiting their turn.
        assert statuses.count(JobStatus.RUNNING) == 1
        assert statuses.count(JobStatus.QUEUED) == 9
    finally:
        RELEASE_RENDERS.set()
