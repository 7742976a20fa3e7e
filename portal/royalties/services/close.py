"""The period close: a month's pool divided among the artists and posted to the ledger."""

from __future__ import annotations

import re
import uuid

import numpy as np
from django.db import IntegrityError, transaction
from django.utils import timezone

from portal.accounts.models import User
from portal.audit.services import audit_record
from portal.core.apportion import NothingToAllocate
from portal.core.errors import ApplicationError, Conflict, PermissionDenied
from portal.royalties import ledger
from portal.royalties.computation import PeriodComputation, period_compute
from portal.royalties.marks import mark_fields
from portal.royalties.models import AllocationDetail, AllocationLine, Period, Play
from portal.royalties.periods import month_bounds, next_month, parse_month
from portal.royalties.services.windows import late_window, plays_lock
from portal.stems.models import Stem

_CURRENCY = re.compile(r"^[a-z]{3}$")
_WEIGHT_PER_MS = 1_000_000 * 10_000  # stem-ns x bps in one millisecond of listening


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
    plays_lock("SHARE ROW EXCLUSIVE")
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
    by_mark: dict[int, list[uuid.UUID]] = {}
    for i in differ.tolist():
        by_mark.setdefault(int(computed.play_mark[i]), []).append(computed.play_ids[i])
    for mark, ids in sorted(by_mark.items()):
        qualifies, reason, held_by = mark_fields(mark)
        for start in range(0, len(ids), 500):
            Play.objects.filter(pk__in=ids[start : start + 500]).update(
                qualifies=qualifies, reason=reason, held_by=held_by
            )


def _store_lines(period: Period, computed: PeriodComputation) -> None:
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
