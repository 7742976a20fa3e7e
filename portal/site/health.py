"""Liveness of the parts the portal depends on, for /healthz."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import dramatiq
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection
from django.utils import timezone


def check_database() -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"vendor": connection.vendor}


def check_broker() -> dict[str, Any]:
    broker = dramatiq.get_broker()
    if settings.BROKER_KIND == "redis":
        broker.client.ping()  # type: ignore[attr-defined]
    elif settings.BROKER_KIND == "rabbitmq":
        import pika

        params = pika.URLParameters(settings.BROKER_URL)
        params.socket_timeout = 2
        params.blocked_connection_timeout = 2
        pika.BlockingConnection(params).close()
    return {"kind": settings.BROKER_KIND}


def check_worker() -> dict[str, Any]:
    from portal.jobs.models import WorkerBeat

    horizon = timezone.now() - timedelta(seconds=max(15.0, 5 * settings.JOB_SWEEP_INTERVAL_S))
    alive = WorkerBeat.objects.filter(beat_at__gte=horizon).count()
    if not alive:
        raise RuntimeError("no worker has reported in the last seconds; start one")
    return {"workers": alive}


def check_storage() -> dict[str, Any]:
    # exists() is a HEAD on S3 and a stat locally: it proves reachability and credentials
    # without writing anything.
    default_storage.exists("healthz-probe")
    return {"backend": type(default_storage).__name__}


CHECKS: dict[str, Callable[[], dict[str, Any]]] = {
    "database": check_database,
    "broker": check_broker,
    "worker": check_worker,
    "storage": check_storage,
}


def health_report() -> tuple[bool, dict[str, Any]]:
    report: dict[str, Any] = {}
    healthy = True
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            detail = check()
            report[name] = {"ok": True, **detail}
        except Exception as exc:
            healthy = False
            report[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
        report[name]["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return healthy, report
