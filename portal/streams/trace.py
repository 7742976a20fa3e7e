"""Reads and the page behind a live stream's line on an artist's statement: which session, which
segments, when they were heard and how much of each was the artist's stem.

Only through the artist's own statement: `royalties.drilldown.counted_play` finds the play among
those their line counted (404 otherwise), and the page names the session and the listener by
pseudonyms, never by their ids (a session id names the stream's endpoints, a listener id is the
app's own and may be anything)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from portal.accounts.models import User
from portal.core.errors import NotFound
from portal.core.pages import pages_speak_http
from portal.core.pseudonyms import pseudonym
from portal.mixes.models import Mix
from portal.royalties import selectors as earnings
from portal.royalties.computation import compile_mix
from portal.royalties.drilldown import PlayShare, counted_play
from portal.royalties.manifests import BPS, PPM
from portal.streams import engine
from portal.streams.models import StreamSegment, StreamStretch


@dataclass(frozen=True)
class TracedSegment:
    index: int
    seconds: int  # whole seconds (checks.py refuses other segment lengths)
    heard_from: datetime | None
    heard_until: datetime | None
    stem_weight_ns: int  # the stem's stem-ns in this segment, as the stretch's play paid it

    @property
    def stem_ms(self) -> str:
        whole = self.stem_weight_ns * BPS // (PPM * BPS // 1000)
        return f"{whole // 1000}.{whole % 1000:03d}"


@dataclass(frozen=True)
class StreamTrace:
    play: PlayShare
    session: str  # a pseudonym
    stretch: int
    segments: list[TracedSegment]


def stream_play_trace(*, month: str, artist: User, stem_id: int, event_id: str) -> StreamTrace:
    """A stream stretch's play behind the artist's line, down to its counted segments. The
    segments' stem figures come from the stretch's compiled manifest (the one the close paid),
    second by second over each segment's span, so they add up to the play's stem figure."""
    play = counted_play(month=month, artist=artist, stem_id=stem_id, event_id=event_id)
    stretch = (
        StreamStretch.objects.filter(mix_id=play.mix_id).select_related("session").first()
        if play.is_stream
        else None
    )
    if stretch is None:
        raise NotFound("not_found", f"Play {event_id} is not a live stream's.")
    mix = Mix.objects.get(pk=play.mix_id)
    compiled = compile_mix(mix)
    stem_key = str(stem_id)
    index = compiled.stems.index(stem_key) if stem_key in compiled.stems else -1
    mine = compiled.entry_stem == index
    seconds, ppm = compiled.entry_second[mine], compiled.entry_ppm[mine]
    segments = []
    placed = 0
    for segment in StreamSegment.objects.filter(play_mix=mix, confirmed_at__isnull=False).order_by(
        "index"
    ):
        # Laid back to back by frames, as the stretch's manifest places them (stretch_body).
        first = placed // engine.SAMPLE_RATE
        placed += int(segment.frames)
        last = placed // engine.SAMPLE_RATE
        span = (seconds >= first) & (seconds < last)
        heard_ms = (play.ms_played - seconds[span] * 1000).clip(0, 1000)
        segments.append(
            TracedSegment(
                index=segment.index,
                seconds=last - first,
                heard_from=segment.heard_from,
                heard_until=segment.heard_until,
                stem_weight_ns=int((heard_ms * ppm[span]).sum()),
            )
        )
    return StreamTrace(
        play=play,
        session=pseudonym("S", stretch.session_id),
        stretch=stretch.number,
        segments=segments,
    )


@login_required
@pages_speak_http
def statement_stream(request: HttpRequest, month: str, stem_id: int, event_id: str) -> HttpResponse:
    artist = earnings.earnings_subject(viewer=request.user, artist_id=request.GET.get("artist"))
    trace = stream_play_trace(month=month, artist=artist, stem_id=stem_id, event_id=str(event_id))
    return render(
        request,
        "streams/statement_stream.html",
        {
            "month": month,
            "stem_id": stem_id,
            "trace": trace,
            "artist_query": f"?artist={artist.pk}" if artist.pk != request.user.pk else "",
        },
    )
