"""/listen/ in real Chromium, against the live server and a real worker process: a signed-in
listener presses play, hls.js plays the session's FLAC-in-fMP4 segments, the controls and
feedback reach the server's session, and pausing stops the heartbeats, so the seconds the
server counts (and pays) stop with the music."""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest
from django.utils import timezone

from portal.clients.house import HOUSE_APP_NAME, house_listener_id
from portal.streams.models import StreamFeedback, StreamSession
from portal.streams.selectors import counted_seconds, listener_weights
from tests.conftest import wait_for
from tests.factories.accounts import PASSWORD
from tests.factories.stems import StemFactory, vault_of
from tests.helpers.browser import UNLABELLED

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

AUDIO = "document.querySelector('[data-listen-audio]')"
PHONE = {"width": 390, "height": 844}
# The tab hidden or shown, as the Page Visibility API reports it to the page.
HIDE = (
    "() => { Object.defineProperty(document, 'hidden', {configurable: true, get: () => STATE});"
    " document.dispatchEvent(new Event('visibilitychange')); }"
)


def _sign_in(page: Any, username: str) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/dashboard/")


def _current_time(page: Any) -> float:
    return float(page.evaluate(f"{AUDIO}.currentTime"))


def test_a_listener_plays_steers_and_pauses_the_stream_and_only_heard_seconds_count(
    page, shot, live_server, worker_process, artist, other_artist, outsider
):
    # Calm stems by alice, tense ones by bob: whose stems sound tells which mood is playing.
    calm = {s.pk for s in vault_of(artist, mood="calm")}
    tense = {
        StemFactory(artist=other_artist, role="drums", moods=["tense"]).pk,
        StemFactory(artist=other_artist, role="bass", musical_key="A minor", moods=["tense"]).pk,
    }
    worker_process()
    beats: list[str] = []
    page.on("request", lambda r: beats.append(r.url) if r.url.endswith("/heartbeat") else None)
    reloads: list[str] = []
    page.on("request", lambda r: reloads.append(r.url) if "/live.m3u8" in r.url else None)

    _sign_in(page, outsider.username)
    page.set_viewport_size(PHONE)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Listen").click()
    page.wait_for_url("**/listen/")
    assert page.evaluate(UNLABELLED) == []
    # Nothing wider than a 390 px phone: no sideways scrolling.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.get_by_label("Mood").select_option("calm")
    shot(page, "listen-before-play")

    page.get_by_role("button", name="Play").click()
    # Real decoding: the playhead moves through several 2 s segments.
    page.wait_for_function(f"() => {AUDIO}.currentTime > 5", timeout=60_000)
    # hls.js (lowLatencyMode) takes the playlist's CAN-BLOCK-RELOAD=YES: after the first load,
    # each reload asks for the segment after the last one it has, and the server holds it until
    # that segment is published, so the reloads come about one per segment, numbers rising.
    held = [int(m) for url in reloads for m in re.findall(r"[?&]_HLS_msn=(\d+)", url)]
    assert len(held) >= 2, reloads
    assert all(b >= a for a, b in itertools.pairwise(held)), held
    session = StreamSession.objects.get(pk=page.get_attribute("[data-listen]", "data-session-id"))
    assert session.app.name == HOUSE_APP_NAME
    assert session.listener_id == house_listener_id(outsider)
    assert session.controls["mood"] == "calm"
    assert float(page.evaluate(f"{AUDIO}.webkitAudioDecodedByteCount")) > 0

    # Now playing lists stems of the vault, with their artists.
    now_playing = page.locator("[data-listen-now] li[data-stem-id]")
    now_playing.first.wait_for()
    shown = {int(i) for i in now_playing.evaluate_all("els => els.map(e => e.dataset.stemId)")}
    assert shown and shown <= calm | tense

    # Heartbeats while playing: the server counts whole delivered segments as they are heard.
    wait_for(lambda: counted_seconds(session) >= 4, timeout=30)

    page.get_by_label("Mood").select_option("tense")
    wait_for(lambda: StreamSession.objects.get(pk=session.pk).controls["mood"] == "tense")
    # The change reaches the ear, and the now-playing list follows it: tense stems only (bob's).
    page.wait_for_function(
        "(ids) => { const shown = Array.from("
        "document.querySelectorAll('[data-listen-now] li[data-stem-id]'));"
        " return shown.length > 0 && shown.every(e => ids.includes(Number(e.dataset.stemId))); }",
        arg=sorted(tense),
        timeout=60_000,
    )
    assert "bob" in page.locator("[data-listen-now]").inner_text()
    shot(page, "listen-tense")

    page.get_by_label("Intensity").fill("0.8")
    wait_for(lambda: StreamSession.objects.get(pk=session.pk).controls["intensity"] == 0.8)
    assert page.locator("[data-listen-intensity-value]").inner_text() == "0.80"

    page.get_by_role("button", name="Like", exact=True).click()
    like = wait_for(lambda: StreamFeedback.objects.filter(session=session, event="like").first())
    assert like.stems and {int(s) for s in like.stems} <= calm | tense
    # A like raises the weight of exactly the stems heard when it was given, for this listener.
    assert set(listener_weights(session, timezone.now())) == {str(s) for s in like.stems}

    generation = StreamSession.objects.get(pk=session.pk).generation
    page.get_by_role("button", name="Skip").click()
    wait_for(lambda: StreamFeedback.objects.filter(session=session, event="skip").exists())
    # A skip replans from the next bar: what was rendered ahead is discarded.
    assert StreamSession.objects.get(pk=session.pk).generation > generation

    # A hidden tab sends no heartbeat, though the audio plays on.
    page.evaluate(HIDE.replace("STATE", "true"))
    page.wait_for_timeout(1000)  # a heartbeat sent just before lands
    beats_hidden, counted_hidden = len(beats), counted_seconds(session)
    hidden_at = _current_time(page)
    page.wait_for_function(f"() => {AUDIO}.currentTime > {hidden_at + 5}", timeout=30_000)
    assert len(beats) == beats_hidden and counted_seconds(session) == counted_hidden
    # In view again: the next heartbeat reports the playhead, confirming what played meanwhile.
    page.evaluate(HIDE.replace("STATE", "false"))
    wait_for(lambda: counted_seconds(session) >= counted_hidden + 4, timeout=30)

    played_to = _current_time(page)
    page.wait_for_function(f"() => {AUDIO}.currentTime > {played_to + 3}", timeout=30_000)
    page.get_by_role("button", name="Pause").click()
    page.wait_for_function(f"() => {AUDIO}.paused")
    # The pause sends one last heartbeat for what was played up to it; let it land.
    page.wait_for_function(
        "() => document.querySelector('[data-listen]').dataset.counted !== undefined"
    )
    page.wait_for_timeout(1500)
    beats_at_pause = len(beats)
    counted = counted_seconds(session)
    confirmed = StreamSession.objects.get(pk=session.pk).confirmed_s
    assert counted >= 8

    # Paused for three segments' time: no heartbeat, nothing more counted or confirmed.
    page.wait_for_timeout(6000)
    assert len(beats) == beats_at_pause
    assert counted_seconds(session) == counted
    assert StreamSession.objects.get(pk=session.pk).confirmed_s == confirmed
    # The page shows the seconds the server counted, not a client-side clock.
    assert float(page.get_attribute("[data-listen]", "data-counted")) == counted
    assert page.locator("[data-listen-counted]").inner_text() == f"{counted:.0f}"
    shot(page, "listen-paused")
