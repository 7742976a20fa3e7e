"""Completion webhooks: a client app hears that its soundtrack is done or failed, signed,
retried with backoff until its receiver answers, recorded, once per event; and never to a
private address in production."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest

from portal.clients.models import DeliveryStatus, WebhookDelivery
from portal.clients.webhooks import sign, verify_signature
from portal.jobs.models import Job
from portal.mixes.models import Mix
from portal.mixes.notify import soundtrack_outcome_announce
from portal.stems.models import Stem, StemStatus
from tests.factories.accounts import UserFactory
from tests.factories.stems import vault_of
from tests.helpers.sync_api import LIST_URL
from tests.helpers.webhooks import Receiver, webhook_receiver


@pytest.fixture
def local_receivers(settings: Any) -> None:
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True  # the receiver listens on 127.0.0.1


def _hook(api_for: Any, developer: Any, app: Any, receiver: Receiver) -> None:
    response = api_for(developer).put(
        f"/api/v1/apps/{app.pk}/webhook/", {"url": receiver.url}, format="json"
    )
    assert response.status_code == 200, response.content
    receiver.secret = response.json()["secret"]
    assert receiver.secret.startswith("whsec_")


def _request(app_api: Any, app: Any) -> str:
    response = app_api(app).post(LIST_URL, {"duration_s": 8, "mood": "calm"}, format="json")
    assert response.status_code == 202, response.content
    return str(response.json()["id"])


def test_a_done_render_is_posted_signed_to_the_apps_webhook(
    local_receivers: None,
    artist: Any,
    developer: Any,
    client_app: Any,
    api_for: Any,
    app_api: Any,
    run_jobs: Any,
) -> None:
    vault_of(artist)
    with webhook_receiver() as receiver:
        _hook(api_for, developer, client_app, receiver)
        mix_id = _request(app_api, client_app)
        run_jobs()
    assert len(receiver.received) == 1
    got = receiver.received[0]
    assert got.verified  # HMAC-SHA256 over "<t>." + body with the app's secret
    assert not verify_signature("whsec_another", got.signature, got.body)
    event = got.event
    assert event["type"] == "soundtrack.done" and event["id"] == got.event_id
    soundtrack = event["data"]["soundtrack"]
    assert soundtrack["id"] == mix_id and soundtrack["status"] == "done"
    assert soundtrack["audio_sha256"] == Mix.objects.get(pk=mix_id).audio_sha256
    assert soundtrack["url"].endswith(f"/api/v1/soundtracks/{mix_id}/")
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.attempts == 1
    assert delivery.last_status_code == 200 and delivery.delivered_at is not None
    listed = api_for(developer).get(f"/api/v1/apps/{client_app.pk}/webhook/").json()
    assert listed["deliveries"][0]["event_id"] == got.event_id
    # The same event announced again (a duplicated job) is neither stored nor sent twice.
    soundtrack_outcome_announce(mix_id=mix_id)
    run_jobs()
    assert WebhookDelivery.objects.count() == 1 and len(receiver.received) == 1


def test_a_receiver_that_fails_twice_gets_the_same_event_a_third_time_after_backoff(
    local_receivers: None,
    artist: Any,
    developer: Any,
    client_app: Any,
    api_for: Any,
    app_api: Any,
    run_jobs: Any,
    clock: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="portal.jobs.services")
    vault_of(artist)
    with webhook_receiver(answers=[500, 503, 200]) as receiver:
        _hook(api_for, developer, client_app, receiver)
        _request(app_api, client_app)
        run_jobs()
        assert len(receiver.received) == 1  # the retry waits for its backoff
        delivery = WebhookDelivery.objects.get()
        job = Job.objects.get(pk=delivery.job_id)
        assert job.status == "queued" and job.run_after > clock.now
        for _ in range(4):
            clock.advance(timedelta(seconds=30))
            run_jobs()
    assert [r.event_id for r in receiver.received] == [delivery.event_id] * 3
    assert all(r.verified for r in receiver.received)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.attempts == 3
    assert [a["status_code"] for a in delivery.attempt_log] == [500, 503, 200]
    # A receiver's 500 is the receiver's trouble, not ours: one warning line per failed
    # attempt, and no traceback in the worker's log.
    retries = [r for r in caplog.records if r.name == "portal.jobs.services"]
    assert [r.levelname for r in retries] == ["WARNING", "WARNING"]
    assert "HTTP 500" in retries[0].getMessage() and "HTTP 503" in retries[1].getMessage()
    assert all(r.exc_info is None for r in retries)


def test_a_receiver_that_does_not_answer_in_time_is_recorded_and_retried_then_given_up(
    local_receivers: None,
    settings: Any,
    artist: Any,
    developer: Any,
    client_app: Any,
    api_for: Any,
    app_api: Any,
    run_jobs: Any,
    clock: Any,
) -> None:
    settings.WEBHOOK_TIMEOUT_S = 0.3
    vault_of(artist)
    with webhook_receiver(delay_s=1.0) as receiver:
        _hook(api_for, developer, client_app, receiver)
        mix_id = _request(app_api, client_app)
        run_jobs()
        assert Mix.objects.get(pk=mix_id).status == "done"  # the render did not wait
        delivery = WebhookDelivery.objects.get()
        assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 1
        assert "timed out" in delivery.last_error and delivery.last_status_code is None
        for _ in range(12):
            clock.advance(timedelta(minutes=5))
            run_jobs()
    delivery.refresh_from_db()
    job = Job.objects.get(pk=delivery.job_id)
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts == job.max_attempts == len(delivery.attempt_log)
    assert len(receiver.received) == job.max_attempts


def test_a_failed_render_is_announced_too(
    local_receivers: None,
    artist: Any,
    developer: Any,
    client_app: Any,
    api_for: Any,
    app_api: Any,
    run_jobs: Any,
) -> None:
    vault_of(artist)
    with webhook_receiver() as receiver:
        _hook(api_for, developer, client_app, receiver)
        mix_id = _request(app_api, client_app)
        # Every stem leaves the vault before the render: nothing can play it any more.
        Stem.objects.update(status=StemStatus.WITHDRAWN)
        run_jobs()
    assert Mix.objects.get(pk=mix_id).status == "failed"
    (got,) = receiver.received
    assert got.verified and got.event["type"] == "soundtrack.failed"
    assert got.event["data"]["soundtrack"]["error"]


def test_an_app_without_a_webhook_gets_no_delivery(
    artist: Any, client_app: Any, app_api: Any, run_jobs: Any
) -> None:
    vault_of(artist)
    _request(app_api, client_app)
    run_jobs()
    assert not WebhookDelivery.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "https://127.0.0.1/hook",
        "https://10.1.2.3/hook",
        "https://192.168.0.7/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/hook",
        "https://localhost/hook",
        "http://93.184.215.14/hook",  # public, but not https
    ],
)
def test_production_refuses_webhooks_to_private_or_loopback_addresses(
    settings: Any, developer: Any, client_app: Any, api_for: Any, url: str
) -> None:
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    response = api_for(developer).put(
        f"/api/v1/apps/{client_app.pk}/webhook/", {"url": url}, format="json"
    )
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "webhook_url_refused"
    client_app.refresh_from_db()
    assert client_app.webhook_url == ""


def test_production_accepts_a_public_https_webhook(
    settings: Any, developer: Any, client_app: Any, api_for: Any
) -> None:
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    response = api_for(developer).put(
        f"/api/v1/apps/{client_app.pk}/webhook/", {"url": "https://93.184.215.14/h"}, format="json"
    )
    assert response.status_code == 200, response.content


def test_the_address_is_checked_again_before_each_delivery(
    settings: Any,
    artist: Any,
    developer: Any,
    client_app: Any,
    api_for: Any,
    app_api: Any,
    run_jobs: Any,
) -> None:
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
    vault_of(artist)
    with webhook_receiver() as receiver:
        _hook(api_for, developer, client_app, receiver)
        _request(app_api, client_app)
        settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
        run_jobs()
    assert receiver.received == []
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == 1
    assert "https://" in delivery.last_error  # refused by the guard, not by the receiver


def test_only_the_owner_sees_or_sets_an_apps_webhook(
    developer: Any, client_app: Any, api_for: Any
) -> None:
    stranger = api_for(UserFactory(username="eve"))
    url = f"/api/v1/apps/{client_app.pk}/webhook/"
    assert stranger.get(url).status_code == 404
    assert stranger.put(url, {"url": "https://93.184.215.14/h"}, format="json").status_code == 404


def test_a_signature_is_refused_when_stale_or_for_another_body() -> None:
    header = sign("whsec_x", 1_700_000_000, b'{"a":1}')
    assert verify_signature("whsec_x", header, b'{"a":1}', now=1_700_000_100)
    assert not verify_signature("whsec_x", header, b'{"a":2}', now=1_700_000_100)
    assert not verify_signature("whsec_x", header, b'{"a":1}', now=1_700_001_000)
    assert not verify_signature("whsec_x", "v1=abc", b'{"a":1}')


def test_the_owner_sets_the_webhook_on_the_apps_page(
    settings: Any, developer: Any, client_app: Any, client_for: Any
) -> None:
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    browser = client_for(developer)
    refused = browser.post(
        f"/apps/{client_app.pk}/webhook/", {"url": "https://10.0.0.1/h"}, follow=True
    )
    assert "private" in refused.content.decode()
    client_app.refresh_from_db()
    assert client_app.webhook_url == ""
    browser.post(f"/apps/{client_app.pk}/webhook/", {"url": "https://93.184.215.14/h"})
    client_app.refresh_from_db()
    assert client_app.webhook_url == "https://93.184.215.14/h"
    page = browser.get("/apps/").content.decode()
    assert client_app.webhook_secret in page and 'value="https://93.184.215.14/h"' in page
    stranger = client_for(UserFactory(username="eve"))
    stranger.post(f"/apps/{client_app.pk}/webhook/", {"url": ""})
    client_app.refresh_from_db()
    assert client_app.webhook_url == "https://93.184.215.14/h"


def test_the_deploy_check_warns_when_production_allows_private_webhooks(settings: Any) -> None:
    from django.core.checks import run_checks

    def ids() -> set[str]:
        return {m.id for m in run_checks(include_deployment_checks=True) if m.id}

    settings.DEBUG, settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False, True
    assert "stemvault.W041" in ids()
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    assert "stemvault.W041" not in ids()
