"""The main pages, under their Content-Security-Policy, in real Chromium: no console errors and
no refused scripts, styles or media (Chromium reports each refusal as a console error); the
player on /listen/ plays a few seconds of its stream on the way."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command

from portal.jobs.models import Job, JobStatus
from portal.mixes.models import Mix, RenderStatus
from portal.payouts.models import PayoutRun
from portal.royalties.models import Period
from portal.stems.models import Stem
from tests.conftest import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

DEMO_PASSWORD = "stemvault-demo"


def _tour() -> dict[str | None, list[str]]:
    """The pages to open, per demo login, with the demo's own objects in the detail pages."""
    stem = Stem.objects.filter(artist__username="ada").order_by("pk").first()
    # The demo's soundtracks are its client app's, requested by the app's developer gus.
    mix = Mix.objects.filter(requested_by__username="gus", status=RenderStatus.DONE).first()
    period = Period.objects.order_by("-month").first()
    run = PayoutRun.objects.order_by("-pk").first()
    assert stem and mix and period and run, "the demo seeds a stem, a mix, a period and a run"
    return {
        None: ["/", "/login/", "/signup/", "/password-reset/", "/api/docs/"],
        "ada": [
            "/dashboard/",
            "/contribute/",
            "/stems/",
            f"/stems/{stem.pk}/",
            "/catalogue/",
            "/soundtracks/",
            "/royalties/",
            f"/royalties/statements/{period.month}/",
            "/payouts/",
            "/listen/",  # before a page of the same login: leaving it ends its session
            "/account/",
            "/notifications/",
        ],
        "gus": ["/apps/", "/soundtracks/", f"/soundtracks/{mix.pk}/"],
        "cora": ["/dashboard/", "/review/", f"/review/stems/{stem.pk}/", "/vault/"],
        "sam": [
            "/dashboard/",
            "/royalties/periods/",
            "/payouts/runs/",
            f"/payouts/runs/{run.pk}/",
            "/audit/",
            "/staff/apps/",
            "/api/docs/",
        ],
    }


def _sign_in(page: Any, username: str) -> None:
    page.context.clear_cookies()
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/dashboard/")


def _stream_not_ready(message: Any) -> bool:
    """A fresh stream's playlist answers 404 (Retry-After) until its first segment is rendered,
    and the player retries (static/js/listen.js): Chromium logs each such answer."""
    url = (message.location or {}).get("url", "")
    return "/streams/" in url and url.endswith("/live.m3u8") and "status of 404" in message.text


def _play(page: Any) -> None:
    """/listen/ plays through hls.js (Media Source Extensions, fetches of the playlist and its
    segments): its policy must allow all of that, so the tour plays a few seconds there."""
    page.get_by_role("button", name="Play").click()
    try:
        page.wait_for_function(
            "() => document.querySelector('[data-listen-audio]').currentTime > 2.5",
            timeout=60_000,
        )
    except Exception as exc:
        status = page.inner_text("[data-listen-status]")
        raise AssertionError(f"/listen/ did not play: {status!r}") from exc
    page.get_by_role("button", name="Pause").click()


def test_the_main_pages_run_under_their_policy_without_console_errors(
    page, shot, settings, worker_process
):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("seed_demo", stdout=io.StringIO())
    worker_process()  # renders the stream /listen/ plays
    # The demo's own background work (provenance checks, preview renders on the render queue
    # the stream shares) done first, as on a `make run` somebody opens a while after the start.
    wait_for(
        lambda: not Job.objects.filter(status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).exists(),
        timeout=240,
    )
    problems: list[str] = []
    current = {"url": ""}
    page.on(
        "console",
        lambda message: (
            problems.append(f"{current['url']}: {message.text}")
            if message.type in ("error", "warning") and not _stream_not_ready(message)
            else None
        ),
    )
    page.on("pageerror", lambda exc: problems.append(f"{current['url']}: {exc}"))

    for username, urls in _tour().items():
        if username is not None:
            _sign_in(page, username)
        for url in urls:
            current["url"] = url
            response = page.goto(url)
            assert response is not None and response.status == 200, url
            assert "default-src 'self'" in response.headers["content-security-policy"], url
            page.wait_for_load_state("networkidle")
            if url == "/api/docs/":
                # Swagger UI builds the page from the schema; wait until it has.
                page.locator(".swagger-ui .info .title").wait_for()
                assert "Stemvault API" in page.inner_text(".swagger-ui .info .title")
            if url == "/listen/":
                _play(page)
            shot(page, f"{username or 'anonymous'}-{url.strip('/').replace('/', '-') or 'home'}")

    assert problems == [], "\n".join(problems)
