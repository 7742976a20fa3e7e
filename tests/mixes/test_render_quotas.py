"""Render quotas: concurrent renders and render seconds per UTC day, per account and per app.
Over a quota the request answers 429 with the error shape and leaves no mix and no job."""

from __future__ import annotations

import contextlib
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from portal.core.errors import ApplicationError
from portal.jobs.models import Job
from portal.mixes import rendering, services
from portal.mixes.models import Mix, RenderKind, RenderStatus
from portal.mixes.tasks import on_stem_entered_review
from portal.stems.models import StemStatus
from tests.factories.stems import StemFactory, vault_of

LIST_URL = "/api/v1/soundtracks/"
REQUEST = {"duration_s": 10, "mood": "calm"}


def _renders() -> int:
    return Job.objects.filter(kind=services.RENDER_JOB_KIND).count()


def test_an_account_at_its_concurrent_render_limit_gets_429_and_no_mix(
    artist: Any, api_for: Any, run_jobs: Any, settings: Any
) -> None:
    settings.MIXES_MAX_CONCURRENT_RENDERS_PER_ACCOUNT = 2
    vault_of(artist)
    api = api_for(artist)
    for _ in range(2):
        assert api.post(LIST_URL, REQUEST, format="json").status_code == 202
    refused = api.post(LIST_URL, REQUEST, format="json")
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["code"] == "render_quota"
    assert "2 of 2" in error["message"] and "concurrent renders" in error["message"]
    assert Mix.objects.count() == 2 and _renders() == 2
    # A finished render frees its slot.
    run_jobs()
    assert Mix.objects.filter(status=RenderStatus.DONE).count() == 2
    assert api.post(LIST_URL, REQUEST, format="json").status_code == 202


def test_a_days_render_seconds_run_out_and_come_back_at_midnight_utc(
    artist: Any, api_for: Any, run_jobs: Any, settings: Any, clock: Any
) -> None:
    settings.MIXES_RENDER_SECONDS_PER_DAY_PER_ACCOUNT = 30
    clock.set(datetime(2026, 12, 2, 23, 50, tzinfo=UTC))
    vault_of(artist)
    api = api_for(artist)
    assert api.post(LIST_URL, {**REQUEST, "duration_s": 20}, format="json").status_code == 202
    refused = api.post(LIST_URL, {**REQUEST, "duration_s": 15}, format="json")
    assert refused.status_code == 429
    assert refused.json()["error"] == {
        "code": "render_quota",
        "message": "Daily render allowance reached: 20 of 30 s of your account's render "
        "seconds used today, and this request asks for 15 s more; resets at 00:00 UTC "
        "(2026-12-03).",
    }
    assert refused["Retry-After"] == "600"
    assert Mix.objects.count() == 1 and _renders() == 1
    # What is left of the day can still be used, exactly.
    assert api.post(LIST_URL, {**REQUEST, "duration_s": 10}, format="json").status_code == 202
    assert api.post(LIST_URL, {**REQUEST, "duration_s": 5}, format="json").status_code == 429
    clock.advance(timedelta(minutes=11))  # 00:01 UTC: a new day
    assert api.post(LIST_URL, {**REQUEST, "duration_s": 30}, format="json").status_code == 202


def test_a_failed_render_gives_its_seconds_back(artist: Any, settings: Any, run_jobs: Any) -> None:
    settings.MIXES_RENDER_SECONDS_PER_DAY_PER_ACCOUNT = 20
    vault_of(artist)
    mix = services.soundtrack_request(user=artist, data={**REQUEST, "duration_s": 20})
    with pytest.raises(ApplicationError) as over:
        services.soundtrack_request(user=artist, data=REQUEST)
    assert over.value.code == "render_quota" and over.value.status == 429
    rendering.mix_fail(mix_id=mix.pk, code="stem_missing", message="A stem vanished.")
    assert services.soundtrack_request(user=artist, data={**REQUEST, "duration_s": 20})


def test_an_apps_quota_is_its_own_not_its_owners(
    artist: Any, developer: Any, client_app: Any, app_api: Any, api_for: Any, settings: Any
) -> None:
    settings.MIXES_MAX_CONCURRENT_RENDERS_PER_APP = 2
    settings.MIXES_MAX_CONCURRENT_RENDERS_PER_ACCOUNT = 1
    vault_of(artist)
    app = app_api(client_app)
    # The app's owner has a per-account limit of 1; the app's own requests have 2.
    for _ in range(2):
        assert app.post(LIST_URL, REQUEST, format="json").status_code == 202
    refused = app.post(LIST_URL, REQUEST, format="json")
    assert refused.status_code == 429
    assert "2 of 2 of this app's" in refused.json()["error"]["message"]
    # The owner's own requests are counted apart from the app's.
    owner = api_for(developer)
    assert owner.post(LIST_URL, REQUEST, format="json").status_code == 202
    over = owner.post(LIST_URL, REQUEST, format="json")
    assert over.status_code == 429 and "1 of 1 of your account's" in over.json()["error"]["message"]
    assert Mix.objects.filter(client_app=client_app).count() == 2
    assert Mix.objects.filter(requested_by=developer, client_app=None).count() == 1


def test_the_soundtrack_page_answers_429_over_the_quota(
    artist: Any, client_for: Any, settings: Any
) -> None:
    settings.MIXES_MAX_CONCURRENT_RENDERS_PER_ACCOUNT = 1
    vault_of(artist)
    browser = client_for(artist)
    form = {"duration_s": 12, "mood": "calm", "format": "wav", "seed": 1}
    assert browser.post("/soundtracks/", form).status_code == 302
    refused = browser.post("/soundtracks/", form)
    assert refused.status_code == 429
    assert "1 of 1 of your account&#x27;s concurrent renders used" in refused.content.decode()
    assert Mix.objects.count() == 1 and _renders() == 1


def test_two_requests_for_the_last_free_slot_get_one_render(
    transactional_db: None, artist: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both requests count the holder's renders before either has saved its own. The row lock
    (PostgreSQL) or the write lock taken at BEGIN (SQLite) makes the second one wait for the
    first to commit, then count it."""
    settings.MIXES_MAX_CONCURRENT_RENDERS_PER_ACCOUNT = 1
    vault_of(artist)
    real_plan = services.plan_soundtrack
    # Each request, once counted, waits (up to 2 s) for the other to have counted too: without
    # a lock both get there and both would be let through.
    both_counted = threading.Barrier(2, timeout=2)

    def plan_after_the_other_counted(request: Any) -> Any:
        # Broken: the other one is waiting for our lock, as it should.
        with contextlib.suppress(threading.BrokenBarrierError):
            both_counted.wait()
        return real_plan(request)

    monkeypatch.setattr(services, "plan_soundtrack", plan_after_the_other_counted)
    outcomes: list[str] = []

    def request() -> None:
        from django.db import connection

        try:
            services.soundtrack_request(user=artist, data=REQUEST)
            outcomes.append("accepted")
        except ApplicationError as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=request) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["accepted", "render_quota"]
    assert Mix.objects.count() == 1 and _renders() == 1


def test_previews_ignore_the_artists_quota_and_come_once_per_plan(
    artist: Any, other_artist: Any, settings: Any
) -> None:
    settings.MIXES_MAX_CONCURRENT_RENDERS_PER_ACCOUNT = 1
    settings.MIXES_RENDER_SECONDS_PER_DAY_PER_ACCOUNT = 10
    vault_of(other_artist)
    services.soundtrack_request(user=artist, data=REQUEST)  # the artist is at both limits
    stem = StemFactory(
        artist=artist, role="melody", bpm=120, musical_key="A minor", status=StemStatus.IN_REVIEW
    )
    for _ in range(3):  # duplicate announcements of the stem entering review
        on_stem_entered_review(stem=stem)
    previews = Mix.objects.filter(kind=RenderKind.PREVIEW, preview_of=stem)
    assert previews.count() == 1 and previews.get().job is not None
    # A preview is the platform's: it takes nothing from the artist's quota either.
    rendering.mix_fail(
        mix_id=Mix.objects.get(kind=RenderKind.SOUNDTRACK).pk, code="x", message="failed"
    )
    assert services.soundtrack_request(user=artist, data=REQUEST)
