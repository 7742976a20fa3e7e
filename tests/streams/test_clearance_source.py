"""The clearance lookup names a live stream's audio by the app that played it, with no licence."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from portal.mixes.clearance import render_sources
from portal.streams.models import StreamSession


def test_a_stream_chunk_is_named_by_its_app_and_not_licensed(client_app: Any) -> None:
    now = timezone.now()
    session = StreamSession.objects.create(
        app=client_app,
        listener_id="listener-1",
        seed=1,
        initial_controls={},
        controls={},
        origin=now,
        last_activity_at=now,
    )
    key = f"stream:{session.pk}:3"
    source = render_sources([key, "stream:not-a-session:1"])
    assert source[key].kind == "stream" and source[key].client_app == client_app.name
    assert source[key].licensed is False and "listening" in source[key].note
    # Output nobody describes is still named as the platform's, never dropped.
    assert source["stream:not-a-session:1"].kind == "render"
