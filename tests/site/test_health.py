from __future__ import annotations

import pytest
from django.test import override_settings

from portal.jobs.models import WorkerBeat
from portal.jobs.sweeper import jobs_sweep

pytestmark = pytest.mark.django_db


def test_healthz_is_ok_when_every_part_answers(client):
    jobs_sweep(worker_id="test-worker")  # a worker reports in
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "broker", "worker", "storage"}
    assert all(check["ok"] for check in body["checks"].values())


def test_healthz_is_503_when_no_worker_reports(client):
    WorkerBeat.objects.all().delete()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["worker"]["ok"] is False
    assert "no worker" in response.json()["checks"]["worker"]["error"]


def test_healthz_is_503_when_storage_is_unreachable(client):
    jobs_sweep(worker_id="test-worker")
    unreachable = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": "nowhere",
            "endpoint_url": "http://127.0.0.1:9",  # the discard port: nothing listens
            "access_key": "x",
            "secret_key": "y",
            "region_name": "us-east-1",
        },
    }
    from django.conf import settings

    # override_settings resets default_storage (Django's storages_changed receiver).
    with override_settings(STORAGES={**settings.STORAGES, "default": unreachable}):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["storage"]["ok"] is False
