"""The simulated listeners of bench/stream_listeners.py: asyncio coroutines over keep-alive
HTTP/1.1, so that a few hundred of them cost the load generator little CPU.

Each listener opens a session through the API with the app's credential and a seed of its own,
then plays in real time as the /listen/ player does: once it holds a segment it asks for the
playlist with the next one as a blocking reload (`?_HLS_msn=N`, which the server holds until N
is published: hls.js's lowLatencyMode against a playlist with CAN-BLOCK-RELOAD=YES), fetches
every listed segment it has not yet, in order, and asks again at once; until its first segment,
and after a reload that brought nothing new, it waits half a segment before the next. It sends
a heartbeat with its playback position every segment length (listen.js). Playback starts when its first segment arrives; from then on segment k of the run
must have arrived by `start + stalled + k x segment length`. A segment that arrives later is an
underrun (a real player stalls: the listener waits for it, and the stall shifts the deadlines of
the segments after it, so one late segment is one underrun, not a cascade). A playlist that skips
a segment the listener never got is a gap; any 5xx, failed request or unexpected status is an
error. A run serves its listeners when it has no underrun, no gap and no error.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
from dataclasses import dataclass, field
from typing import Any

SEGMENT_RE = re.compile(rb"seg/(\d+)\.m4s")
SEQUENCE_RE = re.compile(rb"#EXT-X-MEDIA-SEQUENCE:(\d+)")
MOODS = ("calm", "uplifting")


class Connection:
    """One keep-alive HTTP/1.1 connection, opened again when the server closes it."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        payload = json.dumps(body).encode() if body is not None else b""
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if body is not None:
            lines.append("Content-Type: application/json")
        lines.append(f"Content-Length: {len(payload)}")
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + payload
        for attempt in range(2):
            if self.writer is None:
                await self._open()
            assert self.reader is not None and self.writer is not None
            try:
                self.writer.write(raw)
                await self.writer.drain()
                status_line = await self.reader.readline()
                if not status_line:
                    raise ConnectionResetError("closed by the server")
                status = int(status_line.split()[1])
                length, close = 0, False
                while (line := await self.reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    name = name.strip().lower()
                    if name == "content-length":
                        length = int(value)
                    elif name == "connection" and value.strip().lower() == "close":
                        close = True
                data = await self.reader.readexactly(length) if length else b""
                if close:
                    self.close()
                return status, data
            except (ConnectionError, asyncio.IncompleteReadError):
                self.close()  # a keep-alive connection the server dropped: once more, fresh
                if attempt:
                    raise
        raise AssertionError("unreachable")


@dataclass
class Outcome:
    listeners: int = 0
    started: int = 0  # listeners that got a first segment
    underruns: int = 0
    stalled_s: float = 0.0
    gaps: int = 0
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    segments: int = 0
    heartbeats: int = 0
    playlists: int = 0
    first_audio_s: list[float] = field(default_factory=list)
    worst_margin_s: float = math.inf  # least time a segment arrived before its play time

    @property
    def served(self) -> bool:
        return self.started == self.listeners and not (self.underruns or self.gaps or self.errors)

    def error(self, what: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(what)


async def listen(
    n: int,
    *,
    host: str,
    port: int,
    credential: str,
    seconds: float,
    delay: float,
    segment_s: float,
    out: Outcome,
    moods: tuple[str, ...] = MOODS,
) -> None:
    """One listener: wait `delay`, open a session, play it in real time for `seconds`."""
    await asyncio.sleep(delay)
    api, media = Connection(host, port), Connection(host, port)
    auth = {"Authorization": f"Bearer {credential}"}
    try:
        opened = time.monotonic()
        status, body = await api.request(
            "POST",
            "/api/v1/streams/",
            {
                "listener_id": f"bench-{n}",
                "mood": moods[n % len(moods)],
                "intensity": 0.5,
                "seed": n,
            },
            auth,
        )
        if status != 201:
            out.error(f"open: {status} {body[:120]!r}")
            return
        created = json.loads(body)
        base = re.sub(r"^https?://[^/]+", "", created["playlist_url"]).rsplit("/", 1)[0]
        beat_path = f"/api/v1/streams/{created['id']}/heartbeat"
        await _play(n, media, api, auth, base, beat_path, opened, seconds, segment_s, out)
    except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
        out.error(f"listener {n}: {type(exc).__name__}: {exc}")
    finally:
        api.close()
        media.close()


async def _play(
    n: int,
    media: Connection,
    api: Connection,
    auth: dict[str, str],
    base: str,
    beat_path: str,
    opened: float,
    seconds: float,
    segment_s: float,
    out: Outcome,
) -> None:
    stop_at = opened + seconds
    first: int | None = None
    last: int | None = None
    started = stalled = 0.0
    next_beat = 0.0

    def position() -> float:  # the playhead, in seconds of the stream
        assert first is not None
        return first * segment_s + max(0.0, time.monotonic() - started - stalled)

    while (now := time.monotonic()) < stop_at:
        progressed = False
        # Blocking reload for the segment after the last one held (RFC 8216bis 6.2.5.2).
        held = "" if last is None else f"?_HLS_msn={last + 1}"
        status, body = await media.request("GET", base + "/live.m3u8" + held)
        out.playlists += 1
        if status == 200:
            listed = [int(i) for i in SEGMENT_RE.findall(body)]
            sequence = SEQUENCE_RE.search(body)
            if not listed or sequence is None or int(sequence.group(1)) != listed[0]:
                out.error(f"listener {n}: malformed playlist")
            elif listed != list(range(listed[0], listed[-1] + 1)):
                out.gaps += 1  # the server lists only contiguous runs: this is a bug
            for index in listed:
                if last is not None and index <= last:
                    continue
                if last is not None and index > last + 1:
                    out.gaps += 1  # the window slid past segments this listener never got
                got, data = await media.request("GET", f"{base}/seg/{index}.m4s")
                if got == 404:
                    break  # listed but refused: retried at the next reload
                if got != 200 or not data:
                    out.error(f"listener {n}: segment {index}: {got}")
                    break
                arrived = time.monotonic()
                out.segments += 1
                if first is None:
                    first, started = index, arrived
                    out.started += 1
                    out.first_audio_s.append(arrived - opened)
                else:
                    due = started + stalled + (index - first) * segment_s
                    out.worst_margin_s = min(out.worst_margin_s, due - arrived)
                    if arrived > due:
                        out.underruns += 1
                        out.stalled_s += arrived - due
                        stalled += arrived - due
                last = index
                progressed = True
        elif status != 404:  # 404: no segment ready yet (a fresh session), retry
            out.error(f"listener {n}: playlist {status}")
        if first is not None and time.monotonic() >= next_beat:
            beat, _ = await api.request("POST", beat_path, {"position_s": position()}, auth)
            out.heartbeats += 1
            if beat != 200:
                out.error(f"listener {n}: heartbeat {beat}")
            next_beat = time.monotonic() + segment_s
        if not progressed:  # nothing new (or not started yet): no busy loop on the server
            await asyncio.sleep(max(0.0, now + segment_s / 2 - time.monotonic()))
    if first is not None and last is not None:
        # The playhead ran past the end of what arrived: a stall the loop did not see end.
        if time.monotonic() - started - stalled > (last - first + 1) * segment_s:
            out.underruns += 1
        end_path = beat_path.rsplit("/", 1)[0] + "/end"
        await api.request("POST", end_path, {"position_s": position()}, auth)


async def run_listeners(
    *,
    host: str,
    port: int,
    credential: str,
    count: int,
    seconds: float,
    ramp_s: float,
    seed0: int,
    segment_s: float,
    moods: tuple[str, ...] = MOODS,
) -> Outcome:
    """`count` listeners with seeds seed0.., started evenly over `ramp_s`, each playing
    `seconds`, the moods taken in turn."""
    out = Outcome(listeners=count)
    await asyncio.gather(
        *(
            listen(
                seed0 + i,
                host=host,
                port=port,
                credential=credential,
                seconds=seconds,
                delay=ramp_s * i / max(1, count),
                segment_s=segment_s,
                out=out,
                moods=moods,
            )
            for i in range(count)
        )
    )
    return out
