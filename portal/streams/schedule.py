"""The publication schedule: which segment of a session is public at a given wall-clock moment.

Stateless on purpose: every web process and worker derives the live edge from the session's
origin and the clock, so no process keeps per-listener state. Segment i is published from
`origin + (i - STREAM_PUBLISH_AHEAD_SEGMENTS) x segment length`: the player may buffer that many
segments beyond real time, and never more (a fetch further ahead is refused and counts nothing).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from django.conf import settings

from portal.streams.engine import SAMPLE_RATE, segment_frames, segment_seconds


def publish_ahead() -> int:
    return int(getattr(settings, "STREAM_PUBLISH_AHEAD_SEGMENTS", 1))


def lead_segments() -> int:
    """How many segments beyond the published edge are kept rendered (STREAM_LEAD_SEGMENTS)."""
    return int(getattr(settings, "STREAM_LEAD_SEGMENTS", 3))


def playlist_window() -> int:
    return max(3, int(getattr(settings, "STREAM_PLAYLIST_WINDOW", 6)))


def idle_after() -> timedelta:
    return timedelta(seconds=int(getattr(settings, "STREAM_IDLE_SECONDS", 60)))


def elapsed_s(origin: datetime, now: datetime) -> float:
    return max(0.0, (now - origin).total_seconds())


def published_edge(origin: datetime, now: datetime) -> int:
    """The highest published segment index at `now`."""
    return math.floor(elapsed_s(origin, now) / segment_seconds()) + publish_ahead()


def publish_time(origin: datetime, index: int) -> datetime:
    return origin + timedelta(seconds=(index - publish_ahead()) * segment_seconds())


def stream_time(origin: datetime, frame: int) -> datetime:
    """The wall-clock moment a real-time player starting at the origin hears `frame`."""
    return origin + timedelta(seconds=frame / SAMPLE_RATE)


def frame_of_index(index: int) -> int:
    return index * segment_frames()


def stretch_segments() -> int:
    """Segments per paid stretch (STREAM_PLAY_SECONDS of listening, whole segments)."""
    seconds = int(getattr(settings, "STREAM_PLAY_SECONDS", 300))
    return max(1, round(seconds / segment_seconds()))


def self_output_segments() -> int:
    """Segments per self-output index entry (STREAM_SELF_OUTPUT_SECONDS of audio)."""
    seconds = int(getattr(settings, "STREAM_SELF_OUTPUT_SECONDS", 30))
    return max(1, round(seconds / segment_seconds()))
