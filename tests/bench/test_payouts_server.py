"""The payouts benchmark runs the Stripe test server in its own process, as Stripe would be."""

from __future__ import annotations

import requests

from bench import payouts


def test_the_payouts_bench_starts_its_own_stripe_test_server_with_the_platform_balance() -> None:
    proc, base_url = payouts._start_server(balance=4_321)
    try:
        response = requests.get(
            f"{base_url}/v1/balance",
            headers={"Authorization": f"Bearer {payouts.API_KEY}"},
            timeout=10,
        )
        assert response.json()["available"][0]["amount"] == 4_321
        other_key = requests.get(
            f"{base_url}/v1/balance", headers={"Authorization": "Bearer sk_test_other"}, timeout=10
        )
        assert other_key.status_code == 401  # only the bench's key is accepted
    finally:
        proc.terminate()
        proc.wait(timeout=10)
