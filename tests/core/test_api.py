from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core.management import call_command
from rest_framework.settings import api_settings

from tests.conftest import ROOT

pytestmark = pytest.mark.django_db


def test_an_unknown_api_url_answers_the_error_shape(client):
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "not_found", "message": "No such endpoint or resource."}
    }


def test_anonymous_api_calls_get_401_in_the_error_shape(client):
    response = client.get("/api/v1/me/")
    assert response.status_code in (401, 403)
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == "not_authenticated"


def test_validation_errors_name_the_fields(artist, api_for):
    response = api_for(artist).post("/api/v1/tokens/", {"scope": "root"}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert set(error["fields"]) == {"name", "scope"}
    assert "Invalid input" in error["message"]


def test_throttling_answers_429_in_the_error_shape(artist, api_for, monkeypatch):
    from rest_framework.throttling import UserRateThrottle

    monkeypatch.setattr(
        UserRateThrottle, "THROTTLE_RATES", {**api_settings.DEFAULT_THROTTLE_RATES, "user": "3/min"}
    )
    api = api_for(artist)
    responses = [api.get("/api/v1/me/") for _ in range(4)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert responses[3].json()["error"]["code"] == "throttled"


def test_an_invented_x_forwarded_for_does_not_escape_the_anonymous_throttle(client, monkeypatch):
    from rest_framework.throttling import AnonRateThrottle

    monkeypatch.setattr(
        AnonRateThrottle, "THROTTLE_RATES", {**api_settings.DEFAULT_THROTTLE_RATES, "anon": "2/min"}
    )
    statuses = [
        client.get("/api/v1/mixes/public-key/", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}").status_code
        for n in range(3)
    ]
    assert statuses == [200, 200, 429]


def test_the_openapi_schema_validates_without_warnings(client):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")
    response = client.get("/api/schema/")
    assert response.status_code == 200
    assert b"openapi: 3" in response.content


def test_the_api_docs_page_is_served(client):
    assert client.get("/api/docs/").status_code == 200


def test_production_settings_pass_the_deploy_check(tmp_path):
    # A fresh process: the test session itself relaxes the HTTPS redirect for its client.
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    env["SECRET_KEY"] = "x" * 30 + "production-only-random-enough-key-for-the-check"
    # With a broker (workers elsewhere) the machines must share the manifest signing key too.
    env["BROKER_URL"] = env.get("BROKER_URL") or "redis://127.0.0.1:6379/0"
    env["STEMVAULT_SIGNING_KEY"] = str(tmp_path / "signing.pem")
    # ...and Content Credentials need a configured certificate chain.
    env["C2PA_CERT_CHAIN_PEM"] = str(tmp_path / "c2pa-chain.pem")
    env["C2PA_PRIVATE_KEY_PEM"] = str(tmp_path / "c2pa-key.pem")
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
