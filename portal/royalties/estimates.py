"""The open month's estimate, cached until its inputs change.

`statements.statement_estimate` runs the close's own `period_compute` over every play of the
month: the whole month's rows, manifests and listening rules, for each page view. The
estimate is kept in the cache under a key that names its inputs, so the same inputs are
computed once and a new input is a new key:

- the plays that can enter the computation: those accounted in the month and in the months its
  volume-spike history reaches back to, up to the current month (a count and the latest
  `received_at`). Plays are append-only and a stream's listening arrives as plays too
  (streams.services.counting), so a new play or stream stretch always changes the key. A
  play for a closed month is accounted in an open one, so no closed month's count moves;
- staff's releases of the month's held plays (a count and the latest time);
- the pool basis (the latest closed month, its pool and currency): closing a month changes it
  and also records the held plays of that month, which the history reads;
- the listening rules' thresholds (settings).

Why a key of the inputs rather than a short TTL with the newest play: plays' ids are event
UUIDs (no order), and a TTL would show an estimate without the play just reported for up to
its length, which is the moment an artist watches it move. The key's own query is one
aggregate on the (accounting_period, mix) index, far less than the computation. A long TTL
still bounds what the key does not see (a stem or app renamed since), and `computed_at` says
how old the figures are. Each artist's statement is cached on its own: the whole month's
computation holds every play and would be a large entry.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from django.core.cache import cache
from django.db.models import Count, Max
from django.utils import timezone

from portal.accounts.models import User
from portal.royalties.computation import rule_thresholds
from portal.royalties.models import Period, Play, PlayRelease
from portal.royalties.periods import month_bounds, month_of, next_month, parse_month
from portal.royalties.statements import (
    Statement,
    estimate_month_check,
    statement_estimate,
    statement_for,
)

ESTIMATE_TTL_S = 3600
# The entry is a pickled Statement: bump the version when its fields change, so that a deploy
# never reads an entry of the old shape.
CACHE_PREFIX = "royalties:estimate:v1"


def _months(month: str) -> list[str]:
    """The months whose plays an estimate of `month` reads: its own and its history's (the
    volume-spike rule looks `spike_history_days` back), up to the current month."""
    start, _ = month_bounds(month)
    history_days = rule_thresholds().spike_history_days
    months = [month_of(start - timedelta(days=history_days + 1))]
    last = max(month, month_of(timezone.now()))
    while months[-1] < last:
        months.append(next_month(months[-1]))
    return months


def estimate_inputs_key(month: str) -> str:
    """A digest of everything the month's estimate is computed from (see the module's text)."""
    plays = Play.objects.filter(accounting_period__in=_months(month)).aggregate(
        n=Count("pk"), last=Max("received_at")
    )
    releases = PlayRelease.objects.filter(play__accounting_period=month).aggregate(
        n=Count("pk"), last=Max("released_at")
    )
    latest = Period.objects.order_by("-month").values_list("month", "pool_minor", "currency")
    inputs = (
        month,
        plays["n"],
        plays["last"],
        releases["n"],
        releases["last"],
        latest.first(),
        rule_thresholds(),
    )
    return hashlib.sha256(repr(inputs).encode()).hexdigest()[:32]


def cached_estimate(*, month: str, artist: User) -> Statement:
    """The open month's estimate for `artist` as statement_estimate computes it (the same
    NotFound for a closed or future month), from the cache while its inputs are unchanged."""
    # Checked on every read, cached or not: a month closed since has its statement instead.
    estimate_month_check(month, now=timezone.now())
    key = f"{CACHE_PREFIX}:{month}:{artist.pk}:{estimate_inputs_key(month)}"
    statement: Statement | None = cache.get(key)
    if statement is None:
        statement = statement_estimate(month=month, artist=artist)
        cache.set(key, statement, ESTIMATE_TTL_S)
    return statement


def statement_or_estimate(*, month: str, artist: User) -> Statement:
    """The page's statement: the closed month's, else the open month's estimate (cached)."""
    parse_month(month)
    if Period.objects.filter(month=month).exists():
        return statement_for(month=month, artist=artist)
    return cached_estimate(month=month, artist=artist)
