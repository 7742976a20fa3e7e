"""A change of the controls, as a listener's player lives it: the answer names the moment the
change is heard, that moment follows the first bar line after what the player holds, and the
music really changes there (the stems paid per second show it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from portal.streams import engine
from portal.streams.models import SegmentStatus, StreamSegment
from tests.conftest import run_queued_jobs

pytestmark = pytest.mark.django_db
START = datetime(2024, 3, 5, 9, 0, tzinfo=UTC)
BAR_S = 4 * 60 / 120  # the fixture vault plays at 120 bpm


def _seconds_with(session_id: str, stems: set[str], until: float) -> dict[int, bool]:
    """For each whole second of the stream before `until`: does one of `stems` sound in it?"""
    sounding: dict[int, bool] = {}
    segments = StreamSegment.objects.filter(session_id=session_id, status=SegmentStatus.READY)
    for segment in segments.order_by("index"):
        first = round(segment.start_frame / engine.SAMPLE_RATE)
        for offset, second in enumerate(segment.manifest["attribution"]["seconds"]):
            if first + offset < until:
                sounding[first + offset] = bool(stems & set(second["shares"]))
    return sounding


@pytest.mark.parametrize("at", [6.3, 7.2, 7.9])
def test_a_mood_change_is_heard_where_the_answer_says_within_a_segment_and_a_bar(
    player, clock, api, vault, at
):
    tense = {str(stem.pk) for stem in vault if "tense" in stem.moods}
    clock.set(START)
    p = player()
    fetched: set[int] = set()
    position = 0.0
    while position < at:  # a real-time player, fetching each segment as it is published
        p.fetch_due(position, fetched)
        step = min(0.5, at - position)
        clock.advance(timedelta(seconds=step))
        position += step
    p.fetch_due(position, fetched)
    delivered_end = (max(fetched) + 1) * engine.segment_seconds()

    answer = api.post(f"/api/v1/streams/{p.id}/controls", {"mood": "tense"}, format="json")
    assert answer.status_code == 200, answer.content
    heard = answer.json()["heard_from_s"]
    # After everything the player holds, at the first bar line after it: within a segment and
    # a bar of the playhead (the target of stream_control_latency_s).
    assert delivered_end <= heard < delivered_end + BAR_S + 0.01
    assert heard - position <= engine.segment_seconds() + BAR_S

    while position < heard + 8:  # play on past the change
        p.fetch_due(position, fetched)
        clock.advance(timedelta(seconds=0.5))
        position += 0.5
        run_queued_jobs()
    sounding = _seconds_with(p.id, tense, until=position)
    # No tense stem sounds before the second the answer names, and they do from it on.
    assert not any(on for second, on in sounding.items() if second + 1 <= heard)
    assert all(on for second, on in sounding.items() if second >= heard + 1)
    assert any(second >= heard + 1 for second in sounding)
