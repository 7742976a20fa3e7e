from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.core.errors import ApplicationError
from portal.royalties.verification import period_verify


class Command(BaseCommand):
    help = (
        "Recompute a closed period from the raw play events and the mixes' manifests and compare "
        "it with the stored allocation and the ledger; exits 1 on any difference, even one cent."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("month", help="YYYY-MM")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = period_verify(month=options["month"])
        except ApplicationError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        for line in report.checked:
            self.stdout.write(f"ok    {line}")
        for line in report.differences:
            self.stdout.write(f"DIFF  {line}")
        if report.differences:
            raise CommandError(
                f"{options['month']}: {len(report.differences)} difference(s) between the "
                "recomputation and what is stored."
            )
        self.stdout.write(
            self.style.SUCCESS(f"{options['month']} verifies: every cent accounted for.")
        )
