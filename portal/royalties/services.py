"""Writes: play ingestion and the period close."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models.fields.json import KeyTransform
from django.utils import timezone

from portal.accounts.models import User
from portal.audit.services import audit_record
from portal.clients.models import ClientApp
from portal.clients.services import refused_plays_record
from portal.core.errors import ApplicationError, Conflict, PermissionDenied
from portal.mixes.models import Mix, RenderKind, RenderStatus
from portal.royalties import ledger
from portal.royalties.allocation import QUALIFYING_MS, NothingToAllocate
from portal.royalties.computation import (
    PeriodComputation,
    manifest_credited_artists,
    mark_fields,
    mix_duration_ms,
    period_compute,
)
from portal.royalties.models import (
    AllocationDetail,
    AllocationLine,
    Period,
    Play,
    PlayReason,
)
from portal.royalties.periods import (
    first_open_month,
    month_bounds,
    month_of,
    next_month,
    parse_month,
)
from portal.stems.models import Stem

MAX_EVENTS_PER_REQUEST = 500
MAX_LISTENER_ID = 128
MAX_CLIENT = 64
_CURRENCY = re.compile(r"^[a-z]{3}$")
_WEIGHT_PER_MS = 1_000_000 * 10_000  # stem-ns x bps in one millisecond of listening


def clock_skew() -> timedelta:
    """ROYALTIES_CLOCK_SKEW_S (default 120): how far in the future a started_at may be."""
    return timedelta(seconds=int(getattr(settings, "ROYALTIES_CLOCK_SKEW_S", 120)))


def late_window() -> timedelta:
    """ROYALTIES_LATE_WINDOW_DAYS (default 35): how old a play may be when it is reported.

    Older plays are refused (a batch "found" a month later is how invented plays get
    backdated), and a month is closed only once its late window has passed, so every play
    that may still arrive for it has."""
    return timedelta(days=int(getattr(settings, "ROYALTIES_LATE_WINDOW_DAYS", 35)))


# --- ingestion ---------------------------------------------------------------------------------


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


class _Reject(Exception):
    def __init__(self, code: str, message: str) -> None:
        self.code, self.message = code, message


_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def _uuid(value: Any, code: str, what: str) -> str:
    """The canonical lowercase text of a UUID given in its canonical 8-4-4-4-12 form (a regex,
    not uuid.UUID(): this runs twice per event, 1,000 times a request)."""
    if not isinstance(value, str) or not _UUID.match(value):
        shown = value[:64] if isinstance(value, str) else value
        raise _Reject(code, f"{what} {shown!r} is not a UUID (8-4-4-4-12 hex digits).")
    return value.lower()


def _parse_event(event: Any, now: datetime, skew: timedelta, oldest: datetime) -> tuple[Any, ...]:
    """(event_id, mix_id, listener_id, started_at, ms_played, client), or _Reject."""
    if not isinstance(event, dict):
        raise _Reject("invalid_event", "An event is a JSON object.")
    event_id = _uuid(event.get("event_id"), "invalid_event_id", "event_id")
    mix_id = _uuid(event.get("mix_id"), "unknown_mix", "mix_id")
    listener = event.get("listener_id")
    if not isinstance(listener, str) or not listener or len(listener) > MAX_LISTENER_ID:
        raise _Reject("invalid_listener_id", "listener_id is a string of 1 to 128 characters.")
    raw_started = event.get("started_at")
    try:
        started = datetime.fromisoformat(raw_started) if isinstance(raw_started, str) else None
    except ValueError:
        started = None
    if started is None:
        raise _Reject("invalid_started_at", "started_at is an ISO 8601 date and time.")
    if started.tzinfo is None:
        raise _Reject("invalid_started_at", "started_at needs a UTC offset, e.g. ...T12:00:00Z.")
    if started > now + skew:
        raise _Reject("started_at_in_future", "started_at is in the future.")
    if started < oldest:
        raise _Reject(
            "too_late",
            f"started_at is more than {(now - oldest).days} days ago: plays are reported "
            "within the late window (ROYALTIES_LATE_WINDOW_DAYS) or not at all.",
        )
    ms = event.get("ms_played")
    if isinstance(ms, bool) or not isinstance(ms, int):
        raise _Reject("invalid_ms_played", "ms_played is a whole number of milliseconds.")
    if ms < 0:
        raise _Reject("negative_ms_played", "ms_played cannot be negative.")
    client = event.get("client") or ""
    if not isinstance(client, str) or len(client) > MAX_CLIENT:
        raise _Reject("invalid_client", "client is a string of up to 64 characters.")
    return event_id, mix_id, listener, started, ms, client


def _lock_plays(mode: str) -> None:
    # The close and ingestion must not interleave: an event accounted to a month while that
    # month is being closed would be counted nowhere. Ingestion takes ROW EXCLUSIVE (concurrent
    # ingestion is fine), the close SHARE ROW EXCLUSIVE (waits for in-flight ingestion, blocks
    # new ingestion until it commits, and excludes a second close). Ingestion reads the closed
    # months only after it holds its lock. SQLite serialises writers (BEGIN IMMEDIATE) anyway.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {Play._meta.db_table} IN {mode} MODE")


_INSERT_COLUMNS = (
    "event_id",
    "mix",
    "listener_id",
    "started_at",
    "ms_played",
    "client",
    "accounting_period",
    "qualifies",
    "reason",
    "reporter",
    "app",
    "received_at",
)


def _insert_ignoring_duplicates(rows: list[tuple[Any, ...]]) -> set[str]:
    """INSERT ... ON CONFLICT (event_id) DO NOTHING RETURNING event_id: one statement, and the
    returned ids are exactly the rows this call inserted (PostgreSQL, and SQLite >= 3.35).

    Rows are (event_id, mix_id, listener_id, started_at, ms_played, client, accounting_period,
    qualifies, reason, reporter_id, app_id, received_at).
    """
    if not rows:
        return set()
    qn = connection.ops.quote_name
    fields: list[Any] = [Play._meta.get_field(name) for name in _INSERT_COLUMNS]
    columns = ", ".join(qn(f.column) for f in fields)
    returning = f" ON CONFLICT ({qn('event_id')}) DO NOTHING RETURNING {qn('event_id')}"
    table = qn(Play._meta.db_table)
    if connection.vendor == "postgresql":
        # The batch travels as one JSON parameter that PostgreSQL expands with
        # json_to_recordset: neither the driver nor the server parses a 500-row VALUES list
        # with 5,500 placeholders (measured: that parsing cost more than the insert itself).
        # reporter, app and received_at are the same for the whole batch.
        sql = (
            f"INSERT INTO {table} ({columns}) SELECT e, m, l, s, ms, c, p, q, r, %s, %s, %s FROM "
            "json_to_recordset(%s::json) AS t(e uuid, m uuid, l varchar, s timestamptz, "
            "ms integer, c varchar, p varchar, q boolean, r varchar)" + returning + "::text"
            # As text: PostgreSQL prints a uuid in the same canonical lowercase form as the
            # parsed event ids, so no UUID object is built for each of the returned rows.
        )
        batch = json.dumps(
            [
                {
                    "e": row[0],
                    "m": row[1],
                    "l": row[2],
                    "s": row[3].isoformat(),
                    "ms": row[4],
                    "c": row[5],
                    "p": row[6],
                    "q": row[7],
                    "r": row[8],
                }
                for row in rows
            ]
        )
        params: list[Any] = [rows[0][9], rows[0][10], rows[0][11], batch]
    else:
        placeholder = "(" + ", ".join(["%s"] * len(fields)) + ")"
        sql = (
            f"INSERT INTO {table} ({columns}) VALUES "
            + ", ".join([placeholder] * len(rows))
            + returning
        )
        params = [
            model_field.get_db_prep_save(value, connection)
            for row in rows
            for model_field, value in zip(fields, row, strict=True)
        ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    if connection.vendor == "postgresql":
        return {value for (value,) in found}
    # SQLite stores a UUIDField as 32 hex digits without dashes.
    return {str(uuid.UUID(value)) for (value,) in found}


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
def plays_ingest(*, events: list[Any], app: ClientApp) -> IngestResult:
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
    parsed: list[tuple[int, tuple[Any, ...]]] = []
    for index, event in enumerate(events):
        try:
            parsed.append((index, _parse_event(event, now, skew, oldest)))
        except _Reject as exc:
            raw = event.get("event_id") if isinstance(event, dict) else None
            result.rejected.append(
                Rejection(index, raw if isinstance(raw, str) else None, exc.code, exc.message)
            )
    facts = _mix_facts({p[1][1] for p in parsed})
    _lock_plays("ROW EXCLUSIVE")
    closed = frozenset(Period.objects.values_list("month", flat=True))
    rows: list[tuple[Any, ...]] = []
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
            (
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
    inserted = _insert_ignoring_duplicates(rows)
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


# --- period close -------------------------------------------------------------------------------


@transaction.atomic
def period_close(
    *,
    month: str,
    pool_minor: int,
    currency: str,
    actor: User | None,
    force_reason: str = "",
) -> Period:
    """Close a UTC month: allocate `pool_minor` to the artists in proportion to attributed
    listening and post it to the ledger (platform -> pool -> each artist's payable).

    Refused for a month that has not ended, a month already closed (also by the unique
    constraint, should two closes race), a month after one that is still open (periods close
    in order), and a positive pool with nothing to allocate it to. Until the month's late
    window has passed (plays may still be reported for it) it closes only when staff force it
    with a reason, which is audited.
    """
    parse_month(month)
    currency = (currency or "").lower()
    if not _CURRENCY.match(currency):
        raise ApplicationError("invalid_currency", "A currency is three letters, e.g. usd.")
    if isinstance(pool_minor, bool) or not isinstance(pool_minor, int) or pool_minor < 0:
        raise ApplicationError(
            "invalid_pool", "The pool is a whole, non-negative number of minor units."
        )
    _, end = month_bounds(month)
    now = timezone.now()
    if now < end:
        raise ApplicationError("period_not_over", f"{month} has not ended yet (UTC).")
    if Period.objects.filter(month=month).exists():
        raise Conflict("period_closed", f"{month} is already closed; a period closes once.")
    force_reason = (force_reason or "").strip()
    late_until = end + late_window()
    if now < late_until:
        if not force_reason:
            raise ApplicationError(
                "late_window_open",
                f"Plays of {month} may still be reported until {late_until:%Y-%m-%d %H:%M} UTC "
                "(the late window); close it after that, or force it now with a reason.",
            )
        if actor is not None and not actor.is_platform_staff:
            raise PermissionDenied("staff_only", "Only staff may force a close early.")
    _lock_plays("SHARE ROW EXCLUSIVE")
    earlier = earliest_open_month_before(month)
    if earlier is not None:
        raise Conflict(
            "earlier_period_open",
            f"{earlier} is still open: periods close in order, so close {earlier} first.",
        )
    try:
        computed = period_compute(month=month, pool_minor=pool_minor, as_of=now)
    except NothingToAllocate as exc:
        raise ApplicationError(
            "nothing_to_allocate",
            f"{month} has no qualifying listening to divide a pool of {pool_minor} by: "
            "close it with a pool of 0, or wait for plays.",
        ) from exc
    allocation = computed.allocation
    try:
        with transaction.atomic():
            period = Period(
                month=month,
                currency=currency,
                pool_minor=pool_minor,
                plays_counted=allocation.plays,
                plays_too_short=computed.plays_too_short,
                plays_over_limit=len(computed.over_limit_ids),
                plays_held=computed.plays_held,
                plays_self=computed.plays_self,
                total_weight=str(allocation.total_weight),
                closed_by=actor,
                # The computation's as_of: verify reads late inputs (other periods' plays,
                # releases) as they were at this moment.
                closed_at=now,
            )
            period.full_clean()
            period.save()
    except IntegrityError as exc:
        raise Conflict(
            "period_closed", f"{month} is already closed; a period closes once."
        ) from exc

    _store_lines(period, computed)
    _store_marks(computed)
    if pool_minor:
        ledger.ledger_post(
            kind=ledger.KIND_POOL_FUNDING,
            reference=funding_reference(month),
            entries=[(ledger.PLATFORM, None, -pool_minor), (ledger.POOL, None, pool_minor)],
            currency=currency,
            period=month,
            memo=f"Artists' pool for {month}",
        )
        entries: list[ledger.EntrySpec] = [(ledger.POOL, None, -pool_minor)]
        entries += [
            (ledger.ARTIST_PAYABLE, artist_id, amount)
            for artist_id, amount in allocation.artist_amounts.items()
            if amount
        ]
        ledger.ledger_post(
            kind=ledger.KIND_ALLOCATION,
            reference=allocation_reference(month),
            entries=entries,
            currency=currency,
            period=month,
            memo=f"Allocation of {month} to {len(entries) - 1} artists",
        )
    audit_record(
        actor=actor,
        action="royalties.period_closed",
        subject=f"period:{month}",
        after={
            "pool_minor": pool_minor,
            "currency": currency,
            "plays_counted": allocation.plays,
            "plays_over_limit": len(computed.over_limit_ids),
            "plays_self": computed.plays_self,
            "plays_held": {rule: len(ids) for rule, ids in computed.held_ids.items() if ids},
            "plays_released": len(computed.released_ids),
            "artists": len(allocation.artist_amounts),
            "forced_before_late_window": bool(force_reason) and now < late_until,
        },
        note=force_reason,
    )
    return period


def earliest_open_month_before(month: str) -> str | None:
    """The earliest month before `month` that has plays accounted to it and is not closed, or
    that lies between two closed months: either would close out of order."""
    closed = set(Period.objects.values_list("month", flat=True))
    first_played = (
        Play.objects.filter(accounting_period__lt=month)
        .exclude(accounting_period__in=closed)
        .order_by("accounting_period")
        .values_list("accounting_period", flat=True)
        .first()
    )
    first_closed = min(closed) if closed else None
    starts = [m for m in (first_played, first_closed) if m is not None and m < month]
    if not starts:
        return None
    candidate = min(starts)
    while candidate < month:
        if candidate not in closed:
            return candidate
        candidate = next_month(candidate)
    return None


def funding_reference(month: str) -> str:
    return f"period:{month}:pool_funding"


def allocation_reference(month: str) -> str:
    return f"period:{month}:allocation"


def _store_marks(computed: PeriodComputation) -> None:
    """Write each play's computed mark (qualifies, reason, held_by) where the stored one
    differs: held plays are kept and say which rule held them; verify compares them all."""
    differ = np.flatnonzero(computed.play_mark != computed.stored_mark)
    by_mark: dict[int, list[Any]] = {}
    for i in differ.tolist():
        by_mark.setdefault(int(computed.play_mark[i]), []).append(computed.play_ids[i])
    for mark, ids in sorted(by_mark.items()):
        qualifies, reason, held_by = mark_fields(mark)
        for start in range(0, len(ids), 500):
            Play.objects.filter(pk__in=ids[start : start + 500]).update(
                qualifies=qualifies, reason=reason, held_by=held_by
            )


def _store_lines(period: Period, computed: Any) -> None:
    allocation = computed.allocation
    stem_ids: set[int] = set()
    for line in allocation.lines:
        if not line.stem_id.isdigit():
            raise ApplicationError("unknown_stem", f"A manifest names stem {line.stem_id!r}.")
        stem_ids.add(int(line.stem_id))
    missing_stems = stem_ids - set(
        Stem.objects.filter(pk__in=stem_ids).values_list("pk", flat=True)
    )
    artist_ids = {line.artist_id for line in allocation.lines}
    missing_artists = artist_ids - set(
        User.objects.filter(pk__in=artist_ids).values_list("pk", flat=True)
    )
    if missing_stems or missing_artists:
        raise ApplicationError(
            "unknown_credit",
            f"Manifests credit stems {sorted(missing_stems)} / artists {sorted(missing_artists)} "
            "that do not exist.",
        )
    lines = AllocationLine.objects.bulk_create(
        [
            AllocationLine(
                period=period,
                artist_id=line.artist_id,
                stem_id=int(line.stem_id),
                plays=line.plays,
                weight=str(line.weight),
                attributed_ms=line.weight // _WEIGHT_PER_MS,
                amount_minor=line.amount_minor,
            )
            for line in allocation.lines
        ],
        batch_size=500,
    )
    if any(line.pk is None for line in lines):  # backends without RETURNING on bulk insert
        lines = list(AllocationLine.objects.filter(period=period))
    by_key = {(line.artist_id, str(line.stem_id)): line for line in lines}
    AllocationDetail.objects.bulk_create(
        [
            AllocationDetail(
                line=by_key[(detail.artist_id, detail.stem_id)],
                mix_id=detail.mix_key,
                plays=detail.plays,
                weight=str(detail.weight),
                attributed_ms=detail.weight // _WEIGHT_PER_MS,
            )
            for detail in allocation.details()
        ],
        batch_size=500,
    )
