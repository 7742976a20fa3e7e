"""Play ingestion: which reported plays are stored, which can earn, and which are refused."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models.fields.json import KeyTransform
from django.utils import timezone

from portal.clients.models import ClientApp
from portal.clients.services import refused_plays_record
from portal.core.errors import ApplicationError
from portal.mixes.models import Mix, RenderKind, RenderStatus
from portal.royalties.allocation import QUALIFYING_MS
from portal.royalties.computation import manifest_credited_artists, mix_duration_ms
from portal.royalties.models import Period, PlayReason
from portal.royalties.periods import first_open_month, month_of
from portal.royalties.services.events import EventRefused, PlayEvent, event_parse
from portal.royalties.services.play_rows import PlayRow, plays_insert_new
from portal.royalties.services.windows import clock_skew, late_window, plays_lock

MAX_EVENTS_PER_REQUEST = 500


@dataclass(frozen=True)
class Rejection:
    index: int
    event_id: str | None
    code: str
    message: str


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)


@dataclass(frozen=True)
class _MixFacts:
    duration_ms: int
    kind: str
    client_app_id: int | None
    created_at: datetime
    credited: frozenset[int]  # artists credited on its stems, as its signed manifest says


def _mix_facts(mix_ids: set[str]) -> dict[str, _MixFacts]:
    facts: dict[str, _MixFacts] = {}
    # Only the manifest's stems and their credits travel: its per-second attribution map is
    # most of its size and is not needed to decide what can earn.
    rows = (
        Mix.objects.filter(pk__in=mix_ids, status=RenderStatus.DONE)
        .annotate(manifest_stems=KeyTransform("stems", "manifest"))
        .values_list(
            "pk",
            "duration_ms",
            "duration_s",
            "kind",
            "client_app_id",
            "created_at",
            "manifest_stems",
        )
    )
    for pk, duration_ms, duration_s, kind, app_id, created_at, stems in rows:
        duration = mix_duration_ms(duration_ms, duration_s)
        if duration is None:
            continue
        if isinstance(stems, str):  # backends that hand the JSON back as text
            stems = json.loads(stems)
        facts[str(pk)] = _MixFacts(
            duration, kind, app_id, created_at, manifest_credited_artists({"stems": stems})
        )
    return facts


@transaction.atomic
def plays_ingest(*, events: Sequence[object], app: ClientApp) -> IngestResult:
    """Validate each event on its own and store the valid ones once each, as plays of `app`.

    What can earn is decided here, for each event: only a finished mix that this app requested
    (never a preview made for review), played after the mix existed and reported within the
    late window. A play through an app whose owner is credited in the mix is stored but never
    counts (self_play). A valid event whose event_id is already stored, or repeated earlier in
    the batch, is a duplicate: not stored again, not an error. A play qualifies at 30 s or the
    whole mix; the daily limit and the listening rules are applied when the period closes.
    """
    if not isinstance(events, list) or len(events) > MAX_EVENTS_PER_REQUEST:
        raise ApplicationError(
            "too_many_events", f"Send a list of at most {MAX_EVENTS_PER_REQUEST} events."
        )
    now = timezone.now()
    skew = clock_skew()
    oldest = now - late_window()
    result = IngestResult()
    parsed: list[tuple[int, PlayEvent]] = []
    for index, event in enumerate(events):
        try:
            parsed.append((index, event_parse(event, now=now, skew=skew, oldest=oldest)))
        except EventRefused as exc:
            raw = event.get("event_id") if isinstance(event, dict) else None
            result.rejected.append(
                Rejection(index, raw if isinstance(raw, str) else None, exc.code, exc.message)
            )
    facts = _mix_facts({p.mix_id for _, p in parsed})
    plays_lock("ROW EXCLUSIVE")
    closed = frozenset(Period.objects.values_list("month", flat=True))
    rows: list[PlayRow] = []
    seen: set[str] = set()
    self_play = app.owner_id
    for index, (event_id, mix_id, listener, started, ms, client) in parsed:
        mix = facts.get(mix_id)
        problem = _cannot_earn(mix, mix_id, app, started, ms, skew)
        if problem is not None:
            result.rejected.append(Rejection(index, event_id, *problem))
            continue
        assert mix is not None
        if event_id in seen:
            result.duplicates += 1
            continue
        seen.add(event_id)
        reason: str
        if self_play in mix.credited:
            counts, reason = False, PlayReason.SELF_PLAY
        else:
            counts = ms >= min(mix.duration_ms, QUALIFYING_MS)
            reason = "" if counts else PlayReason.TOO_SHORT
        rows.append(
            PlayRow(
                event_id,
                mix_id,
                listener,
                started,
                ms,
                client,
                first_open_month(month_of(started), closed),
                counts,
                reason,
                None,
                app.pk,
                now,
            )
        )
    inserted = plays_insert_new(rows)
    result.accepted = len(inserted)
    result.duplicates += len(rows) - len(inserted)
    result.rejected.sort(key=lambda r: r.index)
    refused_plays_record(app=app, codes=[r.code for r in result.rejected], received_at=now)
    return result


def _cannot_earn(
    mix: _MixFacts | None,
    mix_id: str,
    app: ClientApp,
    started: datetime,
    ms: int,
    skew: timedelta,
) -> tuple[str, str] | None:
    """(code, message) when this play of this mix can never earn anything; None when it can."""
    if mix is None:
        return "unknown_mix", f"No finished mix {mix_id}."
    if mix.kind == RenderKind.PREVIEW:
        return (
            "preview_mix",
            f"Mix {mix_id} is a preview made for review; previews never earn.",
        )
    if mix.client_app_id != app.pk:
        # The same answer whether the mix is another app's or nobody's: ids do not leak.
        return (
            "not_this_apps_mix",
            f"Mix {mix_id} was not requested by this app; an app reports plays of its own "
            "soundtracks only.",
        )
    if started < mix.created_at - skew:
        return (
            "before_mix_existed",
            f"started_at is before mix {mix_id} was requested ({mix.created_at.isoformat()}).",
        )
    if ms > mix.duration_ms:
        return (
            "longer_than_mix",
            f"ms_played {ms} is longer than the mix ({mix.duration_ms} ms).",
        )
    return None
