from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.core.errors import ApplicationError
from portal.payouts.models import Payout, PayoutRunStatus, PayoutStatus
from portal.payouts.services import runs


class Command(BaseCommand):
    help = (
        "Pay every artist whose payable balance reaches the threshold for a closed period. "
        "Safe to rerun after a crash or a timeout: open payouts are retried with their "
        "original idempotency keys, paid ones are skipped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("period", help="YYYY-MM")
        parser.add_argument("--currency", default=None, help="default: the period's currency")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            run = runs.payout_run(period=options["period"], currency=options["currency"])
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        summary = run.summary
        self.stdout.write(
            f"Run {run.pk} for {run.period} ({run.currency}): {summary.get('created', 0)} created, "
            f"{summary.get('retried', 0)} retried; period now {summary.get('paid', 0)} paid, "
            f"{summary.get('failed', 0)} failed, {summary.get('in_flight', 0)} in flight."
        )
        for payout in Payout.objects.filter(period=run.period).exclude(status=PayoutStatus.PAID):
            self.stdout.write(
                f"  {payout.idempotency_key}: {payout.status} {payout.error}".rstrip()
            )
        if run.status != PayoutRunStatus.DONE:
            raise CommandError(
                "Some payouts need attention (see above); fix the cause and run again."
            )
