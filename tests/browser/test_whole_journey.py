"""The whole journey in real Chromium, from sign-up to payout, with a real worker process and
the local Stripe-compatible server over HTTP. Each step leaves a screenshot."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from portal.jobs.models import Job, JobStatus
from portal.mixes.models import Mix, RenderStatus
from portal.payouts.models import Payout
from portal.royalties.models import Period
from portal.stems.models import Stem, StemStatus
from tests.conftest import wait_for
from tests.factories.audio import encode, tone_loop
from tests.helpers.browser import input_file

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-unusual-passphrase"


def _login(page: Any, username: str, password: str) -> None:
    page.context.clear_cookies()
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/dashboard/")


def _contribute(page: Any, shot: Any, *, title: str, audio: bytes, role: str, name: str) -> Stem:
    page.goto("/contribute/")
    page.get_by_label("Audio files").set_input_files(files=[input_file(name, audio)])
    page.get_by_label("Title", exact=True).fill(title)
    page.get_by_label("Kind", exact=True).select_option("stem")
    page.get_by_label("Role", exact=True).select_option(role)
    page.get_by_label("Musical key", exact=True).fill("Am")
    page.get_by_label("Moods").fill("calm")
    for box in page.locator("input[type=checkbox]").all():
        box.check()
    page.get_by_role("button", name="Contribute").click()
    # The upload goes through XMLHttpRequest and shows its progress bar on the way.
    page.wait_for_url("**/stems/*/", timeout=60_000)
    stem = Stem.objects.get(title=title)
    shot(page, f"contributed-{role}")
    # The stem page polls the checks and reloads itself when they finish. Wait for that here:
    # it is what the artist sees, and navigating away meanwhile would race the page's reload.
    running = page.get_by_role("heading", name="Provenance checks are running")
    running.wait_for(state="detached", timeout=120_000)
    page.wait_for_load_state("load")
    assert "Exact duplicate" in page.inner_text("main")
    return stem


def test_from_sign_up_to_payout(page, shot, live_server, worker_process, settings, monkeypatch):
    from stripe_server import StripeTestServer
    from tests.factories.stems import vault_of

    webhook_secret = "whsec_browser_journey"
    stripe = StripeTestServer(
        api_key="sk_test_browser",
        webhook_url=f"{live_server.url}/stripe/webhook/",
        webhook_secret=webhook_secret,
    )
    stripe.start()
    try:
        stripe_env = {
            "STRIPE_SECRET_KEY": "sk_test_browser",
            "STRIPE_API_BASE": stripe.base_url,
            "STRIPE_WEBHOOK_SECRET": webhook_secret,
            "SITE_URL": live_server.url,
        }
        for key, value in stripe_env.items():
            monkeypatch.setenv(key, value)  # the worker process reads them at start
            setattr(settings, key, value)  # this process serves the pages
        worker_process()
        _journey(page, shot, live_server, stripe, vault_of)
    finally:
        stripe.stop()


def _journey(page: Any, shot: Any, live_server: Any, stripe: Any, vault_of: Any) -> None:
    from portal.accounts.services import user_create
    from portal.stems.services.licenses import license_template_publish

    license_template_publish(
        version=1, title="Stemvault vault license", terms="You license this sound to Stemvault."
    )
    # Transactional tests empty every table afterwards, data migrations' rows included; put back
    # one of the default rejection reasons if an earlier test removed them.
    from portal.review.models import ReasonTemplate

    ReasonTemplate.objects.get_or_create(
        code="quality",
        defaults={"title": "Quality below the vault's bar", "text": "The recording has problems."},
    )
    user_create(username="cora", role="curator", password=PASSWORD, email="cora@example.test")
    user_create(username="sam", role="staff", password=PASSWORD, email="sam@example.test")

    # 1. An artist signs up.
    page.goto("/")
    shot(page, "home")
    page.get_by_role("link", name="Join as an artist").first.click()
    page.get_by_label("Username").fill("lena")
    page.get_by_label("Email").fill("lena@example.test")
    page.get_by_label("Display name").fill("Lena Okoro")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password confirmation").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url("**/dashboard/")
    assert "no stems yet" in page.inner_text("main")
    shot(page, "dashboard-empty")

    # Her earlier, approved stems already sound in the vault (set up directly, not the point).
    from portal.accounts.models import User

    lena = User.objects.get(username="lena")
    vault_of(lena)

    # 2. She uploads two stems, watching the progress bar; provenance runs in the worker.
    first = _contribute(
        page,
        shot,
        title="Night harp",
        audio=encode(tone_loop(8.0, seed=1)),
        role="melody",
        name="harp.wav",
    )
    second = _contribute(
        page,
        shot,
        title="Dust choir",
        audio=encode(tone_loop(8.0, seed=2)),
        role="harmony",
        name="choir.wav",
    )
    for stem in (first, second):
        wait_for(
            lambda s=stem: Stem.objects.get(pk=s.pk).status == StemStatus.IN_REVIEW, timeout=120
        )
        page.goto(f"/stems/{stem.pk}/")
        text = page.inner_text("main")
        assert "Integrated" in text or "LUFS" in text
        assert "Exact duplicate" in text and "Platform" in text
        shot(page, f"stem-{stem.pk}-analysis-and-provenance")

    # 3. A curator claims, listens and decides: one approved, one rejected.
    _login(page, "cora", PASSWORD)
    page.goto("/review/")
    assert "Night harp" in page.inner_text("main")
    shot(page, "review-queue")
    for stem, decision in ((first, "Approve"), (second, "Reject")):
        page.goto(f"/review/stems/{stem.pk}/")
        page.get_by_role("button", name="Claim it").click()
        player = page.locator("audio[data-review-player]").first
        player.evaluate("a => { a.muted = true; return a.play(); }")
        wait_for(lambda p=player: p.evaluate("a => a.currentTime") > 0.2, timeout=30)
        if stem is first:
            # The preview mix, rendered by the worker when the stem entered review, plays too.
            wait_for(
                lambda s=stem: Mix.objects.filter(preview_of=s, status=RenderStatus.DONE).exists(),
                timeout=120,
            )
            page.reload()
            preview = page.get_by_label(f"Play the preview mix of {stem.title}")
            preview.evaluate("a => { a.muted = true; return a.play(); }")
            wait_for(lambda p=preview: p.evaluate("a => a.currentTime") > 0.2, timeout=30)
            shot(page, "review-page-preview-playing")
        page.get_by_label(decision, exact=True).check()
        if decision == "Reject":
            page.get_by_label("Reason").select_option(index=1)
            page.get_by_label("Note to the artist").fill("The choir clips in the last bar.")
        page.get_by_role("button", name="Record decision").click()
        page.wait_for_load_state()
        shot(page, f"decided-{decision.lower()}")
    assert Stem.objects.get(pk=first.pk).status == StemStatus.APPROVED
    assert Stem.objects.get(pk=second.pk).status == StemStatus.REJECTED

    # 4. The artist sees both outcomes, and the reason.
    _login(page, "lena", PASSWORD)
    page.goto(f"/stems/{second.pk}/")
    assert "The choir clips in the last bar." in page.inner_text("main")
    shot(page, "artist-sees-rejection")

    # 5. A soundtrack request renders and plays.
    page.goto("/soundtracks/")
    page.get_by_label("Length (seconds)").fill("40")
    page.get_by_label("Mood").select_option("calm")
    page.get_by_label("Hit points (seconds)").fill("12")
    page.get_by_role("button", name="Render it").click()
    page.wait_for_url("**/soundtracks/*/")
    shot(page, "soundtrack-rendering")
    mix = Mix.objects.filter(kind="soundtrack").latest("created_at")
    wait_for(lambda: Mix.objects.get(pk=mix.pk).status == RenderStatus.DONE, timeout=180)
    # The page polls the render and reloads itself when it is done; reloading it here too
    # would race that navigation (Chromium aborts one of the two), so wait for the page's own.
    soundtrack = page.locator("audio").first
    soundtrack.wait_for(state="attached", timeout=30_000)
    page.wait_for_load_state("load")
    soundtrack.evaluate("a => { a.muted = true; return a.play(); }")
    wait_for(lambda: soundtrack.evaluate("a => a.currentTime") > 0.2, timeout=30)
    assert page.locator("svg.attribution-timeline").count() == 1
    shot(page, "soundtrack-playing-with-attribution")

    # 6. A game (a client app of its developer, approved by staff) requests a soundtrack with
    # its credential and reports last month's plays of it.
    import requests

    from portal.clients.services import app_decide, app_register, credential_issue

    gus = user_create(username="gus", role="artist", password=PASSWORD, email="gus@example.test")
    game = app_register(owner=gus, name="Night Bus")
    app_decide(app_id=game.pk, actor=User.objects.get(username="sam"), status="approved")
    headers = {
        "Authorization": f"Bearer {credential_issue(app_id=game.pk, actor=gus, name='game').plain}"
    }
    asked = requests.post(
        f"{live_server.url}/api/v1/soundtracks/",
        json={"duration_s": 40, "mood": "calm", "seed": 3},
        headers=headers,
        timeout=30,
    )
    assert asked.status_code == 202, asked.text
    game_mix = Mix.objects.get(pk=asked.json()["id"])
    wait_for(lambda: Mix.objects.get(pk=game_mix.pk).status == RenderStatus.DONE, timeout=180)
    last_month = (datetime.now(UTC).replace(day=1) - timedelta(days=3)).replace(hour=12)
    # The journey has no past to wait through: the game requested it before last month's
    # plays (a play dated before its mix existed is refused).
    Mix.objects.filter(pk=game_mix.pk).update(created_at=last_month - timedelta(days=1))
    events = [
        {
            "event_id": str(uuid.uuid4()),
            "mix_id": str(game_mix.pk),
            "listener_id": f"listener-{n % 7}",
            "started_at": (last_month + timedelta(minutes=n)).isoformat(),
            "ms_played": 35_000 + 113 * n,
        }
        for n in range(40)
    ]
    response = requests.post(
        f"{live_server.url}/api/v1/plays/", json={"events": events}, headers=headers, timeout=30
    )
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 40
    mix = game_mix

    # 7. Staff close the month.
    _login(page, "sam", PASSWORD)
    page.goto("/royalties/periods/")
    page.get_by_label("Month (UTC)").fill(last_month.strftime("%Y-%m"))
    page.get_by_label("Artists' pool, in minor units").fill("250000")
    page.get_by_label("Currency").fill("usd")
    # Last month's late window is still open: closing now needs a reason, which is audited.
    page.get_by_label("Reason to close before the late window (only then)").fill(
        "Journey test: close last month now"
    )
    page.once("dialog", lambda dialog: dialog.accept())  # "This cannot be undone."
    page.get_by_role("button", name="Close the month").click()
    page.wait_for_load_state()
    closed = page.locator("main").inner_text()
    assert "No period has been closed yet" not in closed
    assert Period.objects.filter(month=last_month.strftime("%Y-%m")).exists()
    shot(page, "period-closed")

    # 8. The artist reads the statement and the chart, and onboards with Stripe.
    _login(page, "lena", PASSWORD)
    page.goto("/royalties/")
    assert page.locator("svg").count() >= 1
    shot(page, "earnings-chart")
    page.get_by_role("link", name=last_month.strftime("%Y-%m")).first.click()
    statement = page.inner_text("main")
    used_titles = set(mix.stems_used.values_list("stem__title", flat=True))
    assert any(title in statement for title in used_titles), statement
    # Money in the currency, and what plays and qualifying plays are, on the page itself.
    assert "minor units" not in statement and "What these numbers mean" in statement
    shot(page, "statement")
    page.goto("/payouts/")
    page.get_by_role("button", name="Set up payouts with Stripe").click()
    page.locator("#complete-onboarding").click()  # on the Stripe test server's page
    page.wait_for_url("**/payouts/**")

    def payouts_enabled() -> bool:
        page.reload()
        return "Payouts enabled" in page.inner_text("main")

    wait_for(payouts_enabled, timeout=60, interval=1)
    shot(page, "onboarded")

    # 9. Staff run the payouts; the artist sees the payout as paid.
    stripe.set_balance("usd", 10_000_000)
    _login(page, "sam", PASSWORD)
    page.goto("/payouts/runs/")
    page.get_by_role("button", name="Run payouts").first.click()
    wait_for(lambda: Payout.objects.filter(artist=lena, status="paid").exists(), timeout=120)
    shot(page, "payout-run")
    assert len(stripe.transfers()) == 1
    _login(page, "lena", PASSWORD)
    page.goto("/payouts/")
    assert "Paid" in page.inner_text("main") or "paid" in page.inner_text("main")
    shot(page, "artist-sees-payout-paid")
    assert (
        not Job.objects.filter(status=JobStatus.FAILED)
        .exclude(kind="payouts.stripe_event")
        .exists()
    )
