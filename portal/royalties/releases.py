"""Writes: staff release plays a listening rule holds. A release is an input of the period's
computation (a released play counts, and no rule holds it), so it is allowed only while the
month is open: a closed month's statements and ledger are published and verify_period must
reproduce them."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from django.db import transaction
from django.utils import timezone

from portal.accounts.models import User
from portal.audit.services import audit_record
from portal.core.errors import ApplicationError, Conflict, PermissionDenied
from portal.royalties import rules
from portal.royalties.computation import period_compute
from portal.royalties.held import NO_APP
from portal.royalties.marks import MARK_RULE
from portal.royalties.models import Period, PlayRelease
from portal.royalties.periods import parse_month

# The ingestion and close lock (services.plays_lock): a release must not slip in while the
# month is being closed, or the close would have computed without it.
from portal.royalties.services import plays_lock

MAX_REASON = 1000


@dataclass(frozen=True)
class ReleaseResult:
    released: int
    already: int  # released before: nothing to do
    by_rule: dict[str, int]


def _parse_ids(play_ids: Iterable[object]) -> list[uuid.UUID]:
    out = []
    for value in play_ids:
        try:
            out.append(uuid.UUID(str(value)))
        except ValueError:
            raise ApplicationError(
                "invalid_play_id", f"{str(value)[:64]!r} is not a play's event id."
            ) from None
    return out


@transaction.atomic
def play_release(
    *,
    month: str,
    actor: User,
    reason: str,
    play_ids: Iterable[object] | None = None,
    rule: str = "",
    app_id: int | None = None,
) -> ReleaseResult:
    """Release held plays of an open month: the listed plays, or every play `rule` holds from
    the app `app_id` (0: plays without an app). Every listed play must be held now; nothing is
    written otherwise. Staff only, with a reason, audited. Releasing twice is not an error."""
    parse_month(month)
    if actor is None or not actor.is_platform_staff:
        raise PermissionDenied("staff_only", "Only staff release held plays.")
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(
            "reason_required",
            "Say why these plays are genuine listening: a release is audited.",
            fields={"reason": ["This field is required."]},
        )
    if len(reason) > MAX_REASON:
        raise ApplicationError("invalid", f"A reason is at most {MAX_REASON} characters.")
    if (play_ids is None) == (not rule):
        raise ApplicationError(
            "invalid",
            "Release either a list of plays (play_ids) or a group (rule and app), not both.",
        )
    if rule and (rule not in rules.RULES or app_id is None):
        raise ApplicationError(
            "invalid_rule",
            f"A group is a rule ({', '.join(rules.RULES)}) and an app id (0 for no app).",
        )
    plays_lock("ROW EXCLUSIVE")
    if Period.objects.filter(month=month).exists():
        raise Conflict(
            "period_closed",
            f"{month} is closed: its held plays stay held, because its statements and ledger "
            "are published and verify_period reproduces them. Releases apply to open months.",
        )
    now = timezone.now()
    computed = period_compute(month=month, pool_minor=0, as_of=now)
    position = {play_id: i for i, play_id in enumerate(computed.play_ids)}
    released_before = set(computed.released_ids)
    wanted: list[uuid.UUID]
    if play_ids is not None:
        wanted = sorted(set(_parse_ids(play_ids)))
        if not wanted:
            raise ApplicationError("invalid", "List at least one play to release.")
        not_held = [
            str(p)
            for p in wanted
            if p not in released_before
            and (p not in position or computed.play_mark[position[p]] < MARK_RULE)
        ]
        if not_held:
            shown = ", ".join(not_held[:5]) + (" ..." if len(not_held) > 5 else "")
            raise ApplicationError(
                "not_held",
                f"{len(not_held)} of these plays are not held in {month} (not plays of the "
                f"month, or no rule holds them): {shown}. Nothing was released.",
            )
    else:
        target_app = None if app_id == NO_APP else app_id
        app_index = computed.app_ids.index(target_app) if target_app in computed.app_ids else -1
        members = np.flatnonzero(
            (computed.play_mark == MARK_RULE + rules.code_of(rule))
            & (computed.play_app == app_index)
        )
        wanted = sorted(computed.play_ids[i] for i in members)
        if not wanted:
            raise ApplicationError(
                "nothing_held", f"{rule} holds no play of app {app_id} in {month} now."
            )
    fresh = [p for p in wanted if p not in released_before]
    by_rule: Counter[str] = Counter()
    releases = []
    for play_id in fresh:
        held_by = rules.rule_of(int(computed.play_mark[position[play_id]]) - MARK_RULE)
        by_rule[held_by] += 1
        releases.append(
            PlayRelease(play_id=play_id, rule=held_by, reason=reason, released_by=actor)
        )
    # Two staff releasing the same play at once: the second insert is a no-op, not an error.
    PlayRelease.objects.bulk_create(releases, batch_size=500, ignore_conflicts=True)
    if fresh:
        audit_record(
            actor=actor,
            action="royalties.plays_released",
            subject=f"period:{month}",
            after={
                "plays": len(fresh),
                "by_rule": dict(sorted(by_rule.items())),
                "group": {"rule": rule, "app": app_id} if rule else None,
                "play_ids": [str(p) for p in fresh[:100]],
            },
            note=reason,
        )
    return ReleaseResult(
        released=len(fresh), already=len(wanted) - len(fresh), by_rule=dict(by_rule)
    )
