"""Writes of the royalties domain: play ingestion (`ingestion`, checking each event in `events`
and storing the batch in `play_rows`) and the period close (`close`), which share the reporting
windows and the plays lock (`windows`). Import from here."""

from __future__ import annotations

from portal.royalties.services.close import (
    allocation_reference,
    earliest_open_month_before,
    funding_reference,
    period_close,
)
from portal.royalties.services.ingestion import (
    MAX_EVENTS_PER_REQUEST,
    IngestResult,
    Rejection,
    plays_ingest,
)
from portal.royalties.services.windows import clock_skew, late_window, plays_lock

__all__ = [
    "MAX_EVENTS_PER_REQUEST",
    "IngestResult",
    "Rejection",
    "allocation_reference",
    "clock_skew",
    "earliest_open_month_before",
    "funding_reference",
    "late_window",
    "period_close",
    "plays_ingest",
    "plays_lock",
]
