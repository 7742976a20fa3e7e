"""A render run reads the listener's feedback once and gives each segment the preferences as of
its own wall time: the same answer as reading them for that moment (listener_preferences)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from portal.streams import selectors
from portal.streams.models import FeedbackEvent, StreamFeedback, StreamSession
from tests.streams.conftest import open_stream

pytestmark = pytest.mark.django_db
START = datetime(2024, 3, 5, 9, 0, tzinfo=UTC)


def _feedback(session: StreamSession, event: str, stems: list[str]) -> None:
    StreamFeedback.objects.create(
        session=session, event=event, stems=stems, at_frame=0, heard_from_frame=0
    )


def test_each_moment_of_a_run_sees_the_feedback_given_before_it_and_still_kept(
    api, clock, vault, settings
):
    settings.STREAM_DISLIKE_SECONDS = 60
    settings.STREAM_LIKE_SECONDS = 600
    clock.set(START)
    session = StreamSession.objects.get(pk=open_stream(api)["id"])
    disliked, liked = str(vault[0].pk), str(vault[1].pk)
    clock.set(START + timedelta(seconds=10))
    _feedback(session, FeedbackEvent.DISLIKE, [disliked])
    clock.set(START + timedelta(seconds=20))
    _feedback(session, FeedbackEvent.LIKE, [liked])

    since = START + timedelta(seconds=5)
    history = selectors.listener_feedback(session, since)
    moments = {
        5: (set(), set()),  # before either
        15: ({disliked}, set()),  # the dislike counts from its moment on
        25: ({disliked}, {liked}),
        75: (set(), {liked}),  # the dislike kept 60 s, the like 600 s
        700: (set(), set()),
    }
    for seconds, (excluded, weighted) in moments.items():
        at = START + timedelta(seconds=seconds)
        preferences = history.at(at)
        assert set(preferences.excluded) == excluded, seconds
        assert set(preferences.weights) == weighted, seconds
        assert preferences == selectors.listener_preferences(session, at)
    with pytest.raises(ValueError, match="was read from"):
        history.at(since - timedelta(seconds=1))
