"""The cache is shared by every process: Redis when configured, else a database table."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from django.core.cache import cache, caches
from django.core.cache.backends.db import DatabaseCache
from django.db import connection
from rest_framework.settings import api_settings
from rest_framework.throttling import UserRateThrottle

from portal.core.cache import CACHE_TABLE, PrefixedRedisCache
from tests.conftest import ROOT, need, test_database_url

SERVICE_VARS = {"BROKER_URL", "CACHE_URL", "DATABASE_URL", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"}


def _cache_settings(**env: str) -> dict[str, str]:
    """The default cache a fresh process would configure from this environment."""
    clean = {key: value for key, value in os.environ.items() if key not in SERVICE_VARS}
    script = (
        "import json; from django.conf import settings; "
        "print(json.dumps(settings.CACHES['default'], default=str))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "portal.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout)


def test_without_redis_the_cache_is_the_database_table_migrate_creates(db):
    config = _cache_settings()
    assert config["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"
    assert config["LOCATION"] == CACHE_TABLE
    assert CACHE_TABLE in connection.introspection.table_names()


def test_a_redis_broker_is_reused_for_the_cache_and_cache_url_wins():
    broker = _cache_settings(BROKER_URL="redis://127.0.0.1:6379/3")
    assert broker["BACKEND"] == "portal.core.cache.PrefixedRedisCache"
    assert broker["LOCATION"] == "redis://127.0.0.1:6379/3"
    explicit = _cache_settings(
        BROKER_URL="amqp://guest:guest@127.0.0.1:5672/", CACHE_URL="redis://cache.internal:6379/1"
    )
    assert explicit["LOCATION"] == "redis://cache.internal:6379/1"
    rabbit = _cache_settings(BROKER_URL="amqp://guest:guest@127.0.0.1:5672/")
    assert rabbit["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"


def test_the_test_session_never_runs_on_a_per_process_cache():
    backend = type(caches["default"])
    assert issubclass(backend, DatabaseCache | PrefixedRedisCache), backend


SECOND_PROCESS = """
import json, django
django.setup()
from django.test.utils import setup_test_environment
setup_test_environment()
from rest_framework.test import APIClient
api = APIClient()
api.credentials(HTTP_AUTHORIZATION="Bearer " + {token!r})
print(json.dumps([api.get("/api/v1/me/").status_code for _ in range(2)]))
"""


def test_two_processes_count_one_throttle(transactional_db, artist, api_for, monkeypatch):
    """Requests served by another process use up the same allowance: the attacker does not get
    the limit once per web process."""
    from portal.accounts.services import token_issue

    monkeypatch.setattr(
        UserRateThrottle, "THROTTLE_RATES", {**api_settings.DEFAULT_THROTTLE_RATES, "user": "3/min"}
    )
    token = token_issue(user=artist, name="two processes", scope="full").plain
    here = api_for(None)
    here.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert [here.get("/api/v1/me/").status_code for _ in range(2)] == [200, 200]

    env = {
        **{key: value for key, value in os.environ.items() if key != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DATABASE_URL": test_database_url(),
        "THROTTLE_USER": "3/min",
        "SECURE_SSL_REDIRECT": "0",
    }
    result = subprocess.run(
        [sys.executable, "-c", SECOND_PROCESS.format(token=token)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [200, 429]


def test_clearing_a_redis_cache_leaves_the_brokers_keys_alone():
    need(
        isinstance(caches["default"], PrefixedRedisCache),
        "the cache is not Redis (set BROKER_URL=redis://... or CACHE_URL)",
    )
    client = caches["default"]._cache.get_client(None, write=True)
    client.set("dramatiq:websec-test-queue", b"a queued message")
    try:
        cache.set("throttle_user_1", [1.0])
        cache.clear()
        assert cache.get("throttle_user_1") is None
        assert client.get("dramatiq:websec-test-queue") == b"a queued message"
    finally:
        client.delete("dramatiq:websec-test-queue")
