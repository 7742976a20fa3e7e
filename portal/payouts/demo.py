"""Demo payouts: ada onboarded and paid for the demo's closed period; ben left to try it.

Without Stripe keys (the usual demo) the payout is made against the local Stripe-compatible
test server (the stdlib-only `stripe_server` package at the repository root), started in this
process on 127.0.0.1 just for the seeding, with the state file and key that `runportal` uses
after it (`local_stripe`): ada's account and transfer are there when the portal runs. Ben is not
onboarded, so a visitor can sign in as ben and go through onboarding on that server, and staff
can then pay his balance with a payout run. The run and the accounts are flagged, and every page
that shows them says so. With STRIPE_SECRET_KEY set, nothing is sent to Stripe from the seeder:
use run_payouts.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.test import override_settings

from portal.accounts.models import User
from portal.payouts import ledger_bridge, local_stripe
from portal.payouts.models import PayoutRun
from portal.payouts.services import onboarding, runs

DEMO_ARTISTS = ("ada",)  # onboarded by the seeder; ben onboards himself on the test server


def _demo_period() -> str | None:
    closed = ledger_bridge.closed_periods()
    return max(closed) if closed else None


def seed(*, out: Any) -> None:
    try:
        period = _demo_period()
    except Exception as exc:  # the royalties ledger is not there (yet)
        out.write(f"payouts: skipped, no royalties ledger to pay from ({exc})")
        return
    if period is None:
        out.write("payouts: skipped, no closed period to pay")
        return
    if PayoutRun.objects.filter(period=period).exists():
        return  # idempotent: this period was paid (or attempted) already
    if settings.STRIPE_SECRET_KEY:
        out.write(
            f"payouts: Stripe keys are set; pay {period} with `manage.py run_payouts {period}` "
            "(the seeder never calls Stripe itself)"
        )
        return

    artists = list(User.objects.filter(username__in=DEMO_ARTISTS).order_by("username"))
    key, webhook_secret = local_stripe.credentials()
    with (
        local_stripe.demo_server() as server,
        override_settings(
            STRIPE_SECRET_KEY=key,
            STRIPE_API_BASE=server.base_url,
            STRIPE_WEBHOOK_SECRET=webhook_secret,
            PAYOUT_CONCURRENCY=1,  # one artist: threads would only add connections
        ),
    ):
        currency = ledger_bridge.period_currency(period)
        if server.balance(currency) < local_stripe.DEMO_PLATFORM_BALANCE // 2:
            server.set_balance(currency, local_stripe.DEMO_PLATFORM_BALANCE)  # no one's money
        for artist in artists:
            account = onboarding.connected_account_ensure(artist=artist)
            assert account.stripe_account_id
            if account.stripe_account_id not in {a["id"] for a in server.accounts()}:
                # Made on a test server whose state file is gone (deleted by hand).
                out.write(f"payouts: {artist.username}'s demo account is stale; not paid")
                continue
            # What the artist does on Stripe's hosted onboarding page, then our return view.
            server.complete_onboarding(account.stripe_account_id)
            onboarding.connected_account_sync(artist=artist)
        run = runs.payout_run(period=period, against_test_server=True)
    summary = run.summary
    out.write(
        f"payouts: {period} paid on the local Stripe test server: {summary.get('paid', 0)} paid, "
        f"{summary.get('failed', 0)} failed (threshold {runs.payout_threshold()} minor units)"
    )
    out.write(
        "payouts: ben is not onboarded: sign in as ben and set up payouts on the local Stripe "
        "test server that runportal starts; staff (sam) then pay him from /payouts/runs/"
    )
