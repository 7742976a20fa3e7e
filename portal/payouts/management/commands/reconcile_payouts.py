from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.core.errors import ApplicationError
from portal.payouts.reconcile import payouts_reconcile
from portal.payouts.services.runs import period_validate
from portal.payouts.services.transfers import payout_flag_duplicate
from portal.payouts.stripe_gateway import StripeFailure


class Command(BaseCommand):
    help = (
        "Compare Stripe's transfers with our payouts and ledger; exit 1 on any difference. "
        "A payout that Stripe paid twice is also flagged for staff on the payouts page."
    )

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
            if difference.payout_id is not None and difference.transfer is not None:
                payout_flag_duplicate(payout_id=difference.payout_id, transfer=difference.transfer)
        if differences:
            raise CommandError(f"{len(differences)} difference(s) between Stripe and Stemvault.")
        self.stdout.write("Stripe and Stemvault agree.")
