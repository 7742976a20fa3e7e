"""STREAM_SEGMENT_SECONDS must be whole seconds: a stretch's attribution lays its segments'
per-second maps back to back, which only lines up when every segment ends on a second."""

from __future__ import annotations

import pytest
from django.core.checks import run_checks

from portal.core.errors import ApplicationError
from portal.streams.models import StreamSegment, StreamSession, StreamStretch
from portal.streams.services.counting import stretch_manifest


def stream_errors() -> list[str]:
    return [m.msg for m in run_checks() if m.id == "streams.E001"]


@pytest.mark.parametrize("value", [2.5, 0.5, 1.001, 0, -2, 120, "two"])
def test_start_up_refuses_a_segment_length_that_is_not_whole_seconds(settings, value):
    settings.STREAM_SEGMENT_SECONDS = value
    errors = stream_errors()
    assert len(errors) == 1
    assert repr(value) in errors[0] and "whole number of seconds" in errors[0]


@pytest.mark.parametrize("value", [1, 2.0, 4, 6.0])
def test_whole_seconds_pass_the_check(settings, value):
    settings.STREAM_SEGMENT_SECONDS = value
    assert stream_errors() == []


def test_a_stretch_refuses_to_attribute_a_segment_that_is_not_whole_seconds():
    """Rows rendered under another setting never reach a paid manifest misaligned."""
    session = StreamSession(seed=1)
    stretch = StreamStretch(session=session, number=0)
    whole = StreamSegment(index=0, start_frame=0, frames=96_000, manifest={})
    half = StreamSegment(index=1, start_frame=96_000, frames=120_000, manifest={})
    with pytest.raises(ApplicationError) as error:
        stretch_manifest(session, stretch, [whole, half])
    assert error.value.code == "segment_not_whole_seconds" and "Segment 1" in error.value.message
