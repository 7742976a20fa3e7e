from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.core.errors import ApplicationError
from portal.royalties.selectors import money
from portal.royalties.services import period_close


class Command(BaseCommand):
    help = "Close a UTC month: allocate the artists' pool by attributed listening, post the ledger."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("month", help="YYYY-MM")
        parser.add_argument("--pool-minor", type=int, required=True, help="e.g. 50000 = 500.00")
        parser.add_argument("--currency", default="usd")
        parser.add_argument(
            "--force-reason",
            default="",
            help="Close before the month's late window has passed; the reason is audited.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            period = period_close(
                month=options["month"],
                pool_minor=options["pool_minor"],
                currency=options["currency"],
                actor=None,
                force_reason=options["force_reason"],
            )
        except ApplicationError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        self.stdout.write(
            f"{period.month} closed: {money(period.pool_minor, period.currency)} over "
            f"{period.plays_counted} qualifying plays ({period.plays_too_short} too short, "
            f"{period.plays_over_limit} over the daily limit, {period.plays_self} self-play, "
            f"{period.plays_held} held by the listening rules), "
            f"{period.lines.values('artist').distinct().count()} artists."
        )
