"""The reporting windows ingestion and the close agree on, and the lock that keeps them apart."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import connection

from portal.royalties.models import Play


def clock_skew() -> timedelta:
    """ROYALTIES_CLOCK_SKEW_S (default 120): how far in the future a started_at may be."""
    return timedelta(seconds=int(getattr(settings, "ROYALTIES_CLOCK_SKEW_S", 120)))


def late_window() -> timedelta:
    """ROYALTIES_LATE_WINDOW_DAYS (default 35): how old a play may be when it is reported.

    Older plays are refused (a batch "found" a month later is how invented plays get
    backdated), and a month is closed only once its late window has passed, so every play
    that may still arrive for it has."""
    return timedelta(days=int(getattr(settings, "ROYALTIES_LATE_WINDOW_DAYS", 35)))


def plays_lock(mode: str) -> None:
    """Lock the plays table in `mode` until the transaction ends (PostgreSQL; a no-op on
    SQLite, which serialises writers with BEGIN IMMEDIATE anyway)."""
    # The close and ingestion must not interleave: an event accounted to a month while that
    # month is being closed would be counted nowhere. Ingestion takes ROW EXCLUSIVE (concurrent
    # ingestion is fine), the close SHARE ROW EXCLUSIVE (waits for in-flight ingestion, blocks
    # new ingestion until it commits, and excludes a second close). Ingestion reads the closed
    # months only after it holds its lock.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {Play._meta.db_table} IN {mode} MODE")
