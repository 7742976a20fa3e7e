"""Blocking playlist reloads (RFC 8216bis 6.2.5.2), as hls.js in lowLatencyMode and Safari make
them: a reload asking for the next segment (`?_HLS_msn=N`) is held until N is published and
answered then; the hold is bounded; a request too far ahead is refused at once.

The view's sleep is the test clock's advance (portal/streams/playback.py's `_sleep`), so "held
until 1.5 s later" is what the clock says when the answer is made, not a timing measurement."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from portal.streams import engine, playback
from portal.streams.models import SegmentStatus, StreamSegment, StreamSession
from portal.streams.services.sessions import stream_end
from tests.conftest import run_queued_jobs
from tests.streams.conftest import open_stream, playback_path

pytestmark = pytest.mark.django_db
START = datetime(2024, 3, 5, 9, 0, tzinfo=UTC)
BAR_S = 4 * 60 / 120  # the fixture vault plays at 120 bpm


class Sleeper:
    """Stands in for the view's sleep: advances the test clock instead, and runs `hook` (a
    worker finishing, a session ending) once the clock has passed `hook_at` seconds of sleep."""

    def __init__(self, clock: Any) -> None:
        self.clock = clock
        self.slept = 0.0
        self.calls = 0
        self.hook: Callable[[], None] | None = None
        self.hook_at = 0.0

    def __call__(self, seconds: float) -> None:
        self.calls += 1
        self.slept += seconds
        self.clock.advance(timedelta(seconds=seconds))
        if self.hook is not None and self.slept >= self.hook_at:
            hook, self.hook = self.hook, None
            hook()


@pytest.fixture
def sleeper(clock: Any, monkeypatch: pytest.MonkeyPatch) -> Sleeper:
    clock.set(START)
    fake = Sleeper(clock)
    monkeypatch.setattr(playback, "_sleep", fake)
    return fake


def _listed(response: Any) -> list[int]:
    return [int(m) for m in re.findall(r"seg/(\d+)\.m4s", response.content.decode())]


def _opened(api: Any) -> tuple[dict[str, Any], str]:
    created = open_stream(api)
    run_queued_jobs()  # segments 0-4: the lead
    return created, playback_path(created) + "/live.m3u8"


def test_a_reload_for_the_next_segment_is_held_until_it_is_published(api, client, vault, sleeper):
    created, playlist = _opened(api)
    first = client.get(playlist)
    assert first.status_code == 200 and _listed(first) == [0]
    assert "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES" in first.content.decode()
    assert sleeper.calls == 0  # an ordinary reload is answered at once

    held = client.get(playlist, {"_HLS_msn": 1})
    assert held.status_code == 200
    assert _listed(held) == [0, 1]
    # Segment 1 plays from 2 s and is published 0.5 s before (STREAM_PUBLISH_AHEAD_S): the
    # answer was made then, 1.5 s after the request, in one sleep (no polling).
    assert sleeper.slept == pytest.approx(1.5)
    assert sleeper.calls == 1
    # What the answer lists may be fetched at once, and is counted as delivered.
    base = playback_path(created)
    assert client.get(f"{base}/seg/1.m4s").status_code == 200
    assert StreamSession.objects.get(pk=created["id"]).delivered_index == 1


def test_a_reload_for_a_listed_segment_or_an_ended_stream_is_not_held(api, client, vault, sleeper):
    created, playlist = _opened(api)
    sleeper.clock.advance(timedelta(seconds=2))  # segment 1 published too
    assert _listed(client.get(playlist, {"_HLS_msn": 1})) == [0, 1]
    assert _listed(client.get(playlist, {"_HLS_msn": 0, "_HLS_part": 0})) == [0, 1]
    assert sleeper.calls == 0
    assert api.post(f"/api/v1/streams/{created['id']}/end", {}, format="json").status_code == 200
    ended = client.get(playlist, {"_HLS_msn": 3})
    assert ended.status_code == 200 and sleeper.calls == 0
    text = ended.content.decode()
    assert text.rstrip().endswith("#EXT-X-ENDLIST")
    assert "EXT-X-SERVER-CONTROL" not in text


def test_a_segment_the_worker_stores_late_is_answered_when_it_is_stored(
    api, client, vault, sleeper
):
    created, playlist = _opened(api)
    # The worker has not stored segment 1 yet (as if its render were slow).
    StreamSegment.objects.filter(session_id=created["id"], index__gte=1).update(
        status=SegmentStatus.DISCARDED
    )
    StreamSession.objects.filter(pk=created["id"]).update(generation=2)
    sleeper.hook, sleeper.hook_at = run_queued_jobs, 1.7  # it renders 0.2 s after publication
    held = client.get(playlist, {"_HLS_msn": 1})
    assert held.status_code == 200 and _listed(held) == [0, 1]
    # Answered at the first look after the worker stored it: within one poll of 1.7 s.
    assert 1.7 <= sleeper.slept <= 1.7 + playback.LATE_POLL_S + 1e-9


def test_a_held_reload_times_out_after_three_target_durations_with_503(api, client, vault, sleeper):
    created, playlist = _opened(api)
    StreamSegment.objects.filter(session_id=created["id"], index__gte=1).update(
        status=SegmentStatus.DISCARDED
    )
    held = client.get(playlist, {"_HLS_msn": 1})  # nothing renders it: no worker runs
    assert held.status_code == 503
    assert held["Retry-After"] == "1"
    assert held["Cache-Control"] == "no-store"
    assert "Segment 1 is not ready" in held.content.decode()
    bound = playback.BLOCK_TARGET_DURATIONS * engine.target_duration()
    assert sleeper.slept == pytest.approx(bound)


def test_a_session_that_ends_while_a_reload_is_held_answers_it(api, client, vault, sleeper):
    created, playlist = _opened(api)
    StreamSegment.objects.filter(session_id=created["id"], index__gte=1).update(
        status=SegmentStatus.DISCARDED
    )
    sleeper.hook = lambda: stream_end(session=StreamSession.objects.get(pk=created["id"]))
    sleeper.hook_at = 2.0
    held = client.get(playlist, {"_HLS_msn": 1})
    assert held.status_code == 200
    assert held.content.decode().rstrip().endswith("#EXT-X-ENDLIST")
    assert sleeper.slept < playback.BLOCK_TARGET_DURATIONS * engine.target_duration()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"_HLS_msn": 3}, "more than 2 segments beyond the last one listed (0); ask for 1"),
        ({"_HLS_msn": "next"}, "_HLS_msn is a whole number >= 0"),
        ({"_HLS_msn": -1}, "_HLS_msn is a whole number >= 0"),
        ({"_HLS_msn": 1, "_HLS_part": "x"}, "_HLS_part is a whole number >= 0"),
        ({"_HLS_part": 0}, "_HLS_part needs _HLS_msn"),
    ],
)
def test_a_bad_delivery_directive_is_refused_at_once_saying_what_to_fix(
    api, client, vault, sleeper, query, message
):
    _, playlist = _opened(api)
    response = client.get(playlist, query)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert sleeper.calls == 0


def test_a_listener_on_held_reloads_hears_a_change_where_the_answer_says(
    api, client, vault, sleeper
):
    """A player that learns of segments only through held reloads, as hls.js does: a mood
    change is heard from the second the answer names, which lies after everything a reload
    could have listed at the POST and within a segment, a bar and the publish-ahead of it."""
    tense = {str(stem.pk) for stem in vault if "tense" in stem.moods}
    created, playlist = _opened(api)
    base = playback_path(created)
    got: dict[int, Any] = {}

    def reload_and_fetch() -> None:
        msn = max(got) + 1 if got else None
        response = client.get(playlist, {} if msn is None else {"_HLS_msn": msn})
        assert response.status_code == 200
        for index in _listed(response):
            if index not in got:
                assert client.get(f"{base}/seg/{index}.m4s").status_code == 200
                got[index] = StreamSegment.objects.get(
                    session_id=created["id"], index=index, status=SegmentStatus.READY
                )
        run_queued_jobs()  # the worker keeps the lead, as it would between reloads

    for _ in range(4):  # segments 0-3; the last answer came at segment 3's publication
        reload_and_fetch()
    sleeper.clock.advance(timedelta(seconds=0.3))
    posted_s = (sleeper.clock.now - START).total_seconds()
    answer = api.post(f"/api/v1/streams/{created['id']}/controls", {"mood": "tense"}, format="json")
    assert answer.status_code == 200, answer.content
    heard = answer.json()["heard_from_s"]
    held_end = (max(got) + 1) * engine.segment_seconds()
    assert held_end <= heard < held_end + BAR_S + 0.01
    assert heard - posted_s <= engine.segment_seconds() + BAR_S + 0.5
    run_queued_jobs()
    while max(got) * engine.segment_seconds() < heard + 6:
        reload_and_fetch()
    # The seconds of the segments the player received: no tense stem in a second before the
    # one the answer names, and one in every second from the next on.
    sounding: dict[float, bool] = {}
    for index, segment in got.items():
        for offset, second in enumerate(segment.manifest["attribution"]["seconds"]):
            sounding[index * engine.segment_seconds() + offset] = bool(
                tense & set(second["shares"])
            )
    assert not any(on for at, on in sounding.items() if at + 1 <= heard)
    assert all(on for at, on in sounding.items() if at >= heard + 1)
    assert any(at >= heard + 1 for at in sounding)
