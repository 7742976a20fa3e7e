"""verify_period's check of stream listening (registered with royalties in apps.py): the rows
each paid stretch came from must still say what the close paid.

For every stream mix the month's plays name: its stretch and session exist and match the play
(listener, app, start, milliseconds); the counted segments that point at it are the ones its
signed manifest traces (index, first frame, frames, signature) and each still carries a valid
signed segment manifest that agrees with its row; rebuilding the stretch's attribution from
those segments gives the manifest's, second for second; and each segment was fetched before it
was confirmed. Over the month's counted segments of each listener: their wall-clock intervals
follow one another (one pair of ears) and no UTC day holds more than STREAM_DAILY_CAP_SECONDS.
Reads only; royalties never imports this module.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from itertools import pairwise
from typing import Any

from portal.mixes.keys import verification_key_pem
from portal.mixes.models import Mix, RenderKind
from portal.royalties.models import Play
from portal.royalties.verify_checks import CheckOutcome
from portal.streams import engine, schedule
from portal.streams.models import SegmentStatus, StreamSegment, StreamStretch
from portal.streams.services.counting import daily_cap_frames, overlap_slack, stretch_body
from renderer.signing import verify_manifest


def stream_listening_verify(month: str) -> CheckOutcome:
    outcome = CheckOutcome()
    plays = list(
        Play.objects.filter(accounting_period=month, mix__kind=RenderKind.STREAM).order_by("pk")
    )
    if not plays:
        outcome.checked.append("no stream listening this month")
        return outcome
    key = verification_key_pem()
    counted: list[StreamSegment] = []
    for play in plays:
        problems, segments = _stretch_problems(play, key)
        outcome.differences.extend(problems)
        counted.extend(segments)
    outcome.differences.extend(_listener_problems(counted))
    if not outcome.differences:
        outcome.checked.append(
            f"{len(plays)} stream plays match their {len(counted)} counted, signed segments"
        )
    return outcome


def _stretch_problems(play: Play, key: bytes) -> tuple[list[str], list[StreamSegment]]:
    mix = Mix.objects.get(pk=play.mix_id)
    stretch = StreamStretch.objects.filter(mix=mix).select_related("session").first()
    where = f"stream mix {mix.pk}"
    if stretch is None:
        return [f"{where}: no stream stretch was paid through it"], []
    session = stretch.session
    segments = list(
        StreamSegment.objects.filter(play_mix=mix).select_related("session").order_by("index")
    )
    problems: list[str] = []
    if play.listener_id != session.listener_id or play.app_id != session.app_id:
        problems.append(f"{where}: its play's listener is not the stream session's")
    frames = sum(int(s.frames) for s in segments)
    if play.ms_played != round(frames / engine.SAMPLE_RATE * 1000) or (
        mix.duration_ms != play.ms_played
    ):
        problems.append(
            f"{where}: paid {play.ms_played} ms, its counted segments last "
            f"{round(frames / engine.SAMPLE_RATE * 1000)} ms, the mix {mix.duration_ms} ms"
        )
    if segments and play.started_at != schedule.stream_time(
        session.origin, segments[0].start_frame
    ):
        problems.append(f"{where}: its play's start is not its first segment's")
    for segment in segments:
        problems.extend(_segment_problems(segment, session, stretch, key))
    manifest = mix.manifest or {}
    rebuilt = stretch_body(session, stretch, segments) if not problems else None
    if rebuilt is not None:
        for part in ("stream", "attribution"):
            if manifest.get(part) != rebuilt[part]:
                problems.append(f"{where}: its manifest's {part} is not its counted segments'")
        if [s.get("id") for s in manifest.get("stems") or []] != [
            s["id"] for s in rebuilt["stems"]
        ]:
            problems.append(f"{where}: its manifest's stems are not its counted segments'")
    return problems, segments


def _segment_problems(
    segment: StreamSegment, session: Any, stretch: StreamStretch, key: bytes
) -> list[str]:
    where = f"stream segment {segment.index} of session {session.pk}"
    problems: list[str] = []
    if not verify_manifest(segment.manifest or {}, key):
        problems.append(f"{where}: its manifest's signature does not verify")
    stream = (segment.manifest or {}).get("stream") or {}
    row = (str(segment.session_id), segment.index, segment.start_frame, segment.frames)
    signed = (
        stream.get("session_id"),
        stream.get("segment_index"),
        stream.get("start_frame"),
        stream.get("frames"),
    )
    if row != signed:
        problems.append(f"{where}: its row {row} is not its signed manifest's {signed}")
    size = schedule.stretch_segments()
    if segment.session_id != session.pk or segment.index // size != stretch.number:
        problems.append(f"{where}: it belongs to another stretch than the one that paid it")
    if segment.status != SegmentStatus.READY:
        problems.append(f"{where}: paid, but {segment.get_status_display().lower()}")
    if segment.fetched_at is None or segment.confirmed_at is None:
        problems.append(f"{where}: paid, but never both delivered and confirmed")
    elif segment.fetched_at > segment.confirmed_at:
        problems.append(f"{where}: confirmed before it was delivered")
    return problems


def _listener_problems(segments: list[StreamSegment]) -> list[str]:
    """One pair of ears and the daily cap, over each listener's counted segments."""
    by_listener: dict[tuple[int, str], list[StreamSegment]] = defaultdict(list)
    for segment in segments:
        by_listener[(segment.session.app_id, segment.session.listener_id)].append(segment)
    problems: list[str] = []
    slack = overlap_slack()
    cap = daily_cap_frames()
    for (app_id, listener_id), rows in sorted(by_listener.items()):
        timed: list[tuple[datetime, datetime, StreamSegment]] = []
        for r in rows:
            if r.heard_from is None or r.heard_until is None:
                problems.append(
                    f"listener {listener_id} of app {app_id}: segment {r.index} of session "
                    f"{r.session_id} paid with no wall-clock interval of listening"
                )
            else:
                timed.append((r.heard_from, r.heard_until, r))
        timed.sort(key=lambda t: (t[0], t[1], t[2].pk))
        per_day: dict[date, int] = defaultdict(int)
        for (_, until, before), (since, _, after) in pairwise(timed):
            if since < until - slack:
                problems.append(
                    f"listener {listener_id} of app {app_id}: segments {before.index} and "
                    f"{after.index} were paid as heard at the same time"
                )
        for since, _, r in timed:
            per_day[since.astimezone(UTC).date()] += int(r.frames)
        for day, frames in sorted(per_day.items()):
            if frames > cap:
                problems.append(
                    f"listener {listener_id} of app {app_id}: {frames // engine.SAMPLE_RATE} s "
                    f"paid on {day}, over the daily cap of {cap // engine.SAMPLE_RATE} s"
                )
    return problems
