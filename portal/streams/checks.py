"""System checks of the live player's settings, run at start-up (`manage.py check`, runserver,
the worker), so a setting the counting or the paid attribution cannot honour stops the portal
before any listening is counted with it."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from portal.streams import engine


@register()
def check_segment_seconds(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    # A paid stretch's attribution is its segments' per-second maps laid back to back (one row
    # per whole second, counting.stretch_manifest): with 2.5 s segments each map has 3 rows, the
    # third for half a second, and laying them end to end would pay seconds nobody heard and
    # shift every later second onto the wrong stems. A whole number of seconds also divides
    # into the FLAC blocks (1/12 s) and the playlist's integer target duration (RFC 8216 4.3.3.1).
    value = getattr(settings, "STREAM_SEGMENT_SECONDS", 2.0)
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = float("nan")
    if seconds >= 1 and seconds.is_integer() and seconds <= 60:
        return []
    return [
        Error(
            f"STREAM_SEGMENT_SECONDS is {value!r}: a stream segment must last a whole number of "
            "seconds, from 1 to 60, because paid stream listening is attributed second by "
            "second, segment after segment.",
            hint="Set STREAM_SEGMENT_SECONDS to 2 (the default) or another whole number, e.g. 4.",
            id="streams.E001",
        )
    ]


def segment_frames_whole_seconds(frames: int) -> bool:
    """True when a segment of `frames` lasts whole seconds (what stretch attribution needs)."""
    return frames > 0 and frames % engine.SAMPLE_RATE == 0
