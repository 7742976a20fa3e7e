"""One reported play event, checked on its own: the fields an app sends and what each must be."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import NamedTuple

MAX_LISTENER_ID = 128
MAX_CLIENT = 64

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class EventRefused(Exception):
    """An event that cannot be stored, with the code and sentence the app is answered with."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


class PlayEvent(NamedTuple):
    """A valid event's fields, ids as canonical lowercase UUID text."""

    event_id: str
    mix_id: str
    listener_id: str
    started_at: datetime
    ms_played: int
    client: str


def _uuid(value: object, code: str, what: str) -> str:
    """The canonical lowercase text of a UUID given in its canonical 8-4-4-4-12 form (a regex,
    not uuid.UUID(): this runs twice per event, 1,000 times a request)."""
    if not isinstance(value, str) or not _UUID.match(value):
        shown = value[:64] if isinstance(value, str) else value
        raise EventRefused(code, f"{what} {shown!r} is not a UUID (8-4-4-4-12 hex digits).")
    return value.lower()


def event_parse(event: object, *, now: datetime, skew: timedelta, oldest: datetime) -> PlayEvent:
    """The event's fields, or EventRefused saying which one is wrong and how."""
    if not isinstance(event, dict):
        raise EventRefused("invalid_event", "An event is a JSON object.")
    event_id = _uuid(event.get("event_id"), "invalid_event_id", "event_id")
    mix_id = _uuid(event.get("mix_id"), "unknown_mix", "mix_id")
    listener = event.get("listener_id")
    if not isinstance(listener, str) or not listener or len(listener) > MAX_LISTENER_ID:
        raise EventRefused("invalid_listener_id", "listener_id is a string of 1 to 128 characters.")
    raw_started = event.get("started_at")
    try:
        started = datetime.fromisoformat(raw_started) if isinstance(raw_started, str) else None
    except ValueError:
        started = None
    if started is None:
        raise EventRefused("invalid_started_at", "started_at is an ISO 8601 date and time.")
    if started.tzinfo is None:
        raise EventRefused(
            "invalid_started_at", "started_at needs a UTC offset, e.g. ...T12:00:00Z."
        )
    if started > now + skew:
        raise EventRefused("started_at_in_future", "started_at is in the future.")
    if started < oldest:
        raise EventRefused(
            "too_late",
            f"started_at is more than {(now - oldest).days} days ago: plays are reported "
            "within the late window (ROYALTIES_LATE_WINDOW_DAYS) or not at all.",
        )
    ms = event.get("ms_played")
    if isinstance(ms, bool) or not isinstance(ms, int):
        raise EventRefused("invalid_ms_played", "ms_played is a whole number of milliseconds.")
    if ms < 0:
        raise EventRefused("negative_ms_played", "ms_played cannot be negative.")
    client = event.get("client") or ""
    if not isinstance(client, str) or len(client) > MAX_CLIENT:
        raise EventRefused("invalid_client", "client is a string of up to 64 characters.")
    return PlayEvent(event_id, mix_id, listener, started, ms, client)
