"""The publication schedule: which segment of a session is public at a given wall-clock moment.

Stateless on purpose: every web process and worker derives the live edge from the session's
origin and the clock, so no process keeps per-listener state. Segment i plays from
`origin + i x segment length` for a player playing in real time from the origin, and is
published (listed, fetchable) STREAM_PUBLISH_AHEAD_S before that: the player may buffer that
much beyond real time plus the segment it fetches, and never more (a fetch further ahead is
refused and counts nothing).

The lead is half a second by default. A change of the controls is heard only from the first
bar line after everything a player may hold, so the shorter the lead the sooner a change is
heard (2 s made it 2 to 4 s plus up to a bar; 0.5 s makes it 0.5 to 2.5 s plus up to a bar).
What sets the floor is how soon a player learns of a segment: one that polls the live playlist
every target duration (RFC 8216 6.3.4) can learn of it up to that long after its publication,
so with 0.5 s a polling listener stalled (5 of 20 segments, 2026-12-04). Players therefore hold
a blocking reload open for the next segment (`_HLS_msn`, RFC 8216bis 6.2.5.2, answered by
portal/streams/playback.py at the segment's publication time), which leaves them the lead less
one round trip to fetch it. Measured (2026-12-04, load average ~6): control latency 2.3 s
median, 4.3 s p95 (4.0 / 5.4 s publishing 2 s ahead); listeners on held reloads over HTTP
(bench/stream_listeners.py) served 8, 12 and 13 at a time for 60 s with no stall. Rendering
runs STREAM_LEAD_SEGMENTS ahead of publication, not of the playhead, so at 0.5 s it runs 1.5 s
less ahead of the playhead than at 2 s: that much less slack for a slow render.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from django.conf import settings

from portal.streams.engine import SAMPLE_RATE, segment_frames, segment_seconds


def publish_ahead_s() -> float:
    """Seconds before its play time a segment is published (STREAM_PUBLISH_AHEAD_S)."""
    return float(getattr(settings, "STREAM_PUBLISH_AHEAD_S", 0.5))


def lead_segments() -> int:
    """How many segments beyond the published edge are kept rendered (STREAM_LEAD_SEGMENTS)."""
    return int(getattr(settings, "STREAM_LEAD_SEGMENTS", 3))


def render_batch() -> int:
    """Segments a render run adds at least once it starts (STREAM_RENDER_BATCH): a run starts
    when the lead is short of STREAM_LEAD_SEGMENTS and renders up to that many more, so the lead
    never drops under STREAM_LEAD_SEGMENTS and a worker pays a job's own reads (the claim, the
    session, its last state, its timeline) once per batch instead of once per segment."""
    return max(1, int(getattr(settings, "STREAM_RENDER_BATCH", 2)))


def playlist_window() -> int:
    return max(3, int(getattr(settings, "STREAM_PLAYLIST_WINDOW", 6)))


def idle_after() -> timedelta:
    return timedelta(seconds=int(getattr(settings, "STREAM_IDLE_SECONDS", 60)))


def elapsed_s(origin: datetime, now: datetime) -> float:
    return max(0.0, (now - origin).total_seconds())


def published_edge(origin: datetime, now: datetime) -> int:
    """The highest published segment index at `now`."""
    return math.floor((elapsed_s(origin, now) + publish_ahead_s()) / segment_seconds())


def publish_time(origin: datetime, index: int) -> datetime:
    return origin + timedelta(seconds=index * segment_seconds() - publish_ahead_s())


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
