"""What the clearance lookup (portal.mixes.clearance) says of a live stream's audio in the
self-output index: which app played it, and that a stream is licensed for listening there only.
Registered from StreamsConfig.ready(), so mixes never imports streams."""

from __future__ import annotations

import uuid

from portal.mixes.clearance import RenderSource
from portal.streams.models import StreamSession


def stream_sources(keys: list[str]) -> dict[str, RenderSource]:
    """RenderSource per "stream:<session>:<chunk>" key whose session exists."""
    ids: dict[str, uuid.UUID] = {}
    for key in keys:
        try:
            ids[key] = uuid.UUID(key.split(":")[1])
        except (IndexError, ValueError):
            continue
    sessions = StreamSession.objects.select_related("app").in_bulk(list(ids.values()))
    found = {}
    for key, session_id in ids.items():
        session = sessions.get(session_id)
        if session is None:
            continue
        found[key] = RenderSource(
            render_id=key,
            kind="stream",
            client_app=session.app.name,
            note=f"A live stream played in the app “{session.app.name}”: licensed for listening "
            "there, not for use in other media.",
        )
    return found
