from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.core.errors import ApplicationError
from portal.payouts.reconcile import payouts_reconcile
from portal.payouts.services.runs import period_validate
from portal.payouts.stripe_gateway import StripeFailure


class Command(BaseCommand):
    help = "Compare Stripe's transfers with our payouts and ledger; exit 1 on any difference."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--period", default=None, help="YYYY-MM (default: everything)")

    def handle(self, *args: Any, **options: Any) -> None:
        period = options["period"]
        try:
            if period:
                period_validate(period)
            differences = payouts_reconcile(period=period)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        except StripeFailure as exc:
            raise CommandError(f"Could not list Stripe's transfers: {exc.describe()}") from exc
        for difference in differences:
            self.stdout.write(str(difference))
        if differences:
            raise CommandError(f"{len(differences)} difference(s) between Stripe and Stemvault.")
        self.stdout.write("Stripe and Stemvault agree.")
