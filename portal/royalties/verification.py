"""verify_period: recompute a closed month from raw events and manifests, compare with storage.

The recomputation reads only plays (and, for the volume history, earlier periods' marks), mixes
(their manifests and durations), the apps' owners, staff's releases and the period's pool; it
never reads AllocationLine/AllocationDetail or the ledger to compute anything; late inputs
(other periods' plays for the volume history, staff releases) are read as they were when the
period closed. Then every stored figure is compared with it: the period's counts, each play's
mark (counted, too short, self-play, or the listening rule that held it), every
statement line and detail, and the ledger (both transactions of the close, any other allocation
posted for the month, and the balance of every transaction of the month). One cent off anywhere
is a difference.

The recomputation trusts the manifests it reads, so they are checked too: every mix the month's
plays name must carry a manifest that still verifies under the platform key (an attribution
edited before or after the close no longer does). Then the checks other domains registered
(verify_checks) compare the rows those plays came from, e.g. a stream's counted segments.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np

from portal.core.apportion import NothingToAllocate
from portal.mixes.keys import verification_key_pem
from portal.mixes.models import Mix
from portal.royalties import ledger, rules
from portal.royalties.computation import PeriodComputation, period_compute
from portal.royalties.marks import MARK_RULE, mark_text
from portal.royalties.models import AllocationDetail, AllocationLine, LedgerEntry, Play
from portal.royalties.selectors import closed_period
from portal.royalties.services import allocation_reference, funding_reference
from portal.royalties.verify_checks import verify_checks
from renderer.signing import verify_manifest

K = TypeVar("K")  # the key of two maps compared entry by entry


@dataclass
class VerifyReport:
    month: str
    checked: list[str] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences


def _compare(report: VerifyReport, what: str, expected: object, stored: object) -> None:
    if expected == stored:
        report.checked.append(what)
    else:
        report.differences.append(f"{what}: recomputed {expected!r}, stored {stored!r}")


def period_verify(*, month: str) -> VerifyReport:
    period = closed_period(month)
    report = VerifyReport(month=month)
    _compare_signatures(report, month)
    for name, check in verify_checks():
        outcome = check(month)
        report.checked.extend(f"{name}: {what}" for what in outcome.checked)
        report.differences.extend(f"{name}: {what}" for what in outcome.differences)
    try:
        computed: PeriodComputation | None = period_compute(
            month=month, pool_minor=period.pool_minor, as_of=period.closed_at
        )
    except NothingToAllocate:
        computed = None
        report.differences.append(
            f"the pool of {period.pool_minor} has no qualifying listening to go to any more"
        )
    if computed is None:
        return report
    allocation = computed.allocation
    _compare(
        report,
        "recomputed amounts sum to the pool",
        period.pool_minor,
        sum(allocation.artist_amounts.values()),
    )
    _compare(report, "qualifying plays", allocation.plays, period.plays_counted)
    _compare(report, "plays too short", computed.plays_too_short, period.plays_too_short)
    _compare(
        report, "plays over the daily limit", len(computed.over_limit_ids), period.plays_over_limit
    )
    _compare(report, "plays held by a listening rule", computed.plays_held, period.plays_held)
    _compare(report, "self-plays", computed.plays_self, period.plays_self)
    _compare(report, "total attributed weight", str(allocation.total_weight), period.total_weight)
    _compare_marks(report, computed)
    counted = Play.objects.filter(accounting_period=month, qualifies=True).count()
    _compare(report, "plays marked as qualifying", allocation.plays, counted)

    expected_lines = {
        (line.artist_id, int(line.stem_id)): (line.plays, str(line.weight), line.amount_minor)
        for line in allocation.lines
    }
    stored_lines = {
        (line.artist_id, line.stem_id): (line.plays, line.weight, line.amount_minor)
        for line in AllocationLine.objects.filter(period=period)
    }
    _compare_maps(
        report,
        "statement line (artist, stem) -> (plays, weight, amount)",
        expected_lines,
        stored_lines,
    )
    expected_details = {
        (d.artist_id, int(d.stem_id), d.mix_key): (d.plays, str(d.weight))
        for d in allocation.details()
    }
    stored_details = {
        (d.line.artist_id, d.line.stem_id, str(d.mix_id)): (d.plays, d.weight)
        for d in AllocationDetail.objects.filter(line__period=period).select_related("line")
    }
    _compare_maps(
        report,
        "statement detail (artist, stem, mix) -> (plays, weight)",
        expected_details,
        stored_details,
    )

    currency = period.currency
    expected_funding: dict[tuple[str, int | None, str], int] = {}
    expected_allocation: dict[tuple[str, int | None, str], int] = {}
    if period.pool_minor:
        expected_funding = {
            (ledger.PLATFORM, None, currency): -period.pool_minor,
            (ledger.POOL, None, currency): period.pool_minor,
        }
        expected_allocation = {(ledger.POOL, None, currency): -period.pool_minor}
        for artist_id, amount in allocation.artist_amounts.items():
            if amount:
                expected_allocation[(ledger.ARTIST_PAYABLE, artist_id, currency)] = amount
    _compare(
        report,
        "ledger: pool funding",
        expected_funding,
        ledger.transaction_amounts(funding_reference(month)),
    )
    _compare(
        report,
        "ledger: allocation",
        expected_allocation,
        ledger.transaction_amounts(allocation_reference(month)),
    )
    payable: dict[int, int] = defaultdict(int)
    for artist_id, amount in LedgerEntry.objects.filter(
        transaction__period=month,
        transaction__kind=ledger.KIND_ALLOCATION,
        account=ledger.ARTIST_PAYABLE,
    ).values_list("artist_id", "amount_minor"):
        payable[artist_id] += amount
    _compare(
        report,
        "ledger: every allocation posted for the month, per artist",
        {a: v for a, v in allocation.artist_amounts.items() if v},
        {a: v for a, v in payable.items() if v},
    )
    unbalanced = ledger.unbalanced_transactions(period=month)
    _compare(report, "ledger: every transaction of the month balances", [], unbalanced)
    return report


def _compare_signatures(report: VerifyReport, month: str) -> None:
    """Every manifest the month's plays are paid by carries the platform's valid signature."""
    mix_ids = Play.objects.filter(accounting_period=month).values("mix_id").distinct()
    key = verification_key_pem()
    broken = sorted(
        str(mix.pk)
        for mix in Mix.objects.filter(pk__in=mix_ids).only("pk", "manifest")
        if not verify_manifest(mix.manifest or {}, key)
    )
    for mix_id in broken[:20]:
        report.differences.append(
            f"mix {mix_id}: its manifest's signature does not verify (altered after signing)"
        )
    if len(broken) > 20:
        report.differences.append(f"... and {len(broken) - 20} more mixes whose manifests do not")
    if not broken:
        report.checked.append("manifest signatures of the month's mixes")


def _compare_marks(report: VerifyReport, computed: PeriodComputation) -> None:
    """Every play's stored mark (qualifies, reason, held_by) against the recomputed one: which
    rule held it, or why it did not count. A few plays are named per kind of difference."""
    differ = np.flatnonzero(computed.play_mark != computed.stored_mark)
    marked_over = sorted(
        computed.play_ids[i]
        for i in np.flatnonzero(computed.stored_mark == MARK_RULE + rules.code_of("daily_cap"))
    )
    _compare(report, "plays marked over the daily limit", computed.over_limit_ids, marked_over)
    if differ.size == 0:
        report.checked.append(f"play marks: {len(computed.play_ids)} match")
        return
    kinds: dict[tuple[int, int], list[str]] = defaultdict(list)
    for i in differ.tolist():
        key = (int(computed.play_mark[i]), int(computed.stored_mark[i]))
        kinds[key].append(str(computed.play_ids[i]))
    for (expected, stored), ids in sorted(kinds.items()):
        shown = ", ".join(sorted(ids)[:5]) + (" ..." if len(ids) > 5 else "")
        report.differences.append(
            f"play marks: {len(ids)} plays recomputed as {mark_text(expected)}, stored as "
            f"{mark_text(stored)}: {shown}"
        )


def _compare_maps(
    report: VerifyReport, what: str, expected: Mapping[K, object], stored: Mapping[K, object]
) -> None:
    before = len(report.differences)
    for key in sorted(set(expected) | set(stored), key=str):
        if expected.get(key) != stored.get(key):
            report.differences.append(
                f"{what} {key}: recomputed {expected.get(key)!r}, stored {stored.get(key)!r}"
            )
    if len(report.differences) == before:
        report.checked.append(f"{what}: {len(expected)} match")
