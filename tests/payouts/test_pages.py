"""Who sees what: artists their own payouts, staff the runs, curators nothing."""

from __future__ import annotations

from typing import Any

import pytest

from portal.jobs.models import Job
from portal.payouts.models import Payout, PayoutRun, PayoutStatus
from portal.payouts.services import runs
from tests.payouts.conftest import PERIOD, fund, onboard

pytestmark = pytest.mark.django_db

ARTISTS = {"artist", "other_artist", "outsider"}


@pytest.fixture
def paid_run(artist: Any, other_artist: Any, payable_artist: Any) -> PayoutRun:
    payable_artist(artist, 2_000)
    payable_artist(other_artist, 3_000)
    return runs.payout_run(period=PERIOD)


def test_payout_pages_by_role(paid_run: PayoutRun, any_role: Any, client_for: Any) -> None:
    role, user = any_role
    browser = client_for(user)
    pages = {
        "home": browser.get("/payouts/"),
        "runs": browser.get("/payouts/runs/"),
        "run": browser.get(f"/payouts/runs/{paid_run.pk}/"),
        "start": browser.post("/payouts/onboarding/start/"),
        "refresh": browser.post("/payouts/onboarding/refresh/"),
        "return": browser.post("/payouts/onboarding/return/"),
        "refresh_page": browser.get("/payouts/onboarding/refresh/"),
        "return_page": browser.get("/payouts/onboarding/return/"),
        "run_post": browser.post("/payouts/runs/", {"period": PERIOD}),
    }
    codes = {name: response.status_code for name, response in pages.items()}
    if role == "anonymous":
        assert set(codes.values()) == {302}
        assert all("/login/" in r["Location"] for r in pages.values())
    elif role == "curator":
        assert set(codes.values()) == {403}
    elif role == "staff":
        assert pages["home"]["Location"] == "/payouts/runs/"
        assert codes["runs"] == codes["run"] == 200
        assert codes["start"] == codes["refresh"] == codes["return"] == 403
        assert codes["refresh_page"] == codes["return_page"] == 403
        assert codes["run_post"] == 302
    else:
        assert codes["home"] == 200
        assert codes["runs"] == codes["run"] == codes["run_post"] == 403
        assert codes["start"] == codes["refresh"] == 302  # off to Stripe
        assert codes["refresh_page"] == codes["return_page"] == 200  # they post themselves
        text = pages["home"].content.decode()
        own = Payout.objects.filter(artist=user)
        others = Payout.objects.exclude(artist=user)
        for payout in own:
            assert payout.stripe_transfer_id in text
        for payout in others:
            assert payout.stripe_transfer_id not in text


def test_payouts_api_by_role(paid_run: PayoutRun, any_role: Any, api_for: Any) -> None:
    role, user = any_role
    response = api_for(user).get("/api/v1/payouts/")
    if role == "anonymous":
        assert response.status_code in (401, 403)
        return
    if role == "curator":
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "forbidden"
        return
    assert response.status_code == 200
    results = response.json()["results"]
    if role == "staff":
        expected = set(Payout.objects.values_list("pk", flat=True))
    else:
        expected = set(Payout.objects.filter(artist=user).values_list("pk", flat=True))
    assert {item["id"] for item in results} == expected
    assert all(item["status"] == "paid" for item in results)
    assert all(item["against_test_server"] is True for item in results)


def test_an_app_credential_of_the_artist_cannot_list_their_payouts(
    paid_run: PayoutRun, artist: Any, app_api: Any
) -> None:
    from tests.factories.clients import ClientAppFactory

    own_app = ClientAppFactory(owner=artist, name="Alice's player")
    assert app_api(own_app).get("/api/v1/payouts/").status_code == 403


def test_the_staff_button_runs_payouts_in_a_job(
    staff: Any, artist: Any, client_for: Any, run_jobs: Any, payable_artist: Any
) -> None:
    payable_artist(artist, 4_200)
    browser = client_for(staff)
    runs_page = browser.get("/payouts/runs/").content.decode()
    assert PERIOD in runs_page
    assert "Available platform balance: 10,000.00 USD" in runs_page

    response = browser.post("/payouts/runs/", {"period": PERIOD})

    run = PayoutRun.objects.get()
    assert response["Location"] == f"/payouts/runs/{run.pk}/"
    assert run.started_by == staff
    assert Job.objects.filter(kind="payouts.run").count() == 1
    assert browser.post("/payouts/runs/", {"period": PERIOD}, follow=True).status_code == 200
    assert PayoutRun.objects.count() == 1  # refused while the first one is running

    run_jobs()

    payout = Payout.objects.get()
    assert payout.status == PayoutStatus.PAID and payout.run == run
    page = browser.get(f"/payouts/runs/{run.pk}/").content.decode()
    assert "42.00 USD" in page and payout.stripe_transfer_id in page
    assert "local Stripe-compatible test server" in page


def test_the_staff_button_refuses_a_period_that_is_not_closed(
    stripe_server: Any, staff: Any, client_for: Any
) -> None:
    response = client_for(staff).post("/payouts/runs/", {"period": "2099-01"}, follow=True)
    assert "Choose a closed period" in response.content.decode()
    assert not PayoutRun.objects.exists()


def test_the_artist_page_explains_a_failed_payout(
    stripe_server: Any, artist: Any, closed_period: str, client_for: Any
) -> None:
    onboard(stripe_server, artist)
    fund(artist, 2_000)
    runs.payout_run(period=PERIOD)  # platform balance is 0: refused

    text = client_for(artist).get("/payouts/").content.decode()

    assert "Failed" in text and "20.00 USD" in text
    assert "The amount is back in your balance" in text
