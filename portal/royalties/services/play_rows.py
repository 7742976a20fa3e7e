"""Storing a batch of plays once each, in one statement, whatever was already stored."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import NamedTuple

from django.db import connection
from django.db.models import Field

from portal.royalties.models import Play

# The column values a row carries, as the database driver takes them.
SqlValue = bool | int | str | datetime | None


class PlayRow(NamedTuple):
    """One play to store, in the order of `_INSERT_COLUMNS`."""

    event_id: str
    mix_id: str
    listener_id: str
    started_at: datetime
    ms_played: int
    client: str
    accounting_period: str
    qualifies: bool
    reason: str
    reporter_id: int | None
    app_id: int
    received_at: datetime


_INSERT_COLUMNS = (
    "event_id",
    "mix",
    "listener_id",
    "started_at",
    "ms_played",
    "client",
    "accounting_period",
    "qualifies",
    "reason",
    "reporter",
    "app",
    "received_at",
)


def plays_insert_new(rows: list[PlayRow]) -> set[str]:
    """INSERT ... ON CONFLICT (event_id) DO NOTHING RETURNING event_id: one statement, and the
    returned ids are exactly the rows this call inserted (PostgreSQL, and SQLite >= 3.35)."""
    if not rows:
        return set()
    qn = connection.ops.quote_name
    fields: list[Field[object, object]] = []
    for name in _INSERT_COLUMNS:
        model_field = Play._meta.get_field(name)
        assert isinstance(model_field, Field)  # concrete columns, not reverse relations
        fields.append(model_field)
    columns = ", ".join(qn(f.column) for f in fields)
    returning = f" ON CONFLICT ({qn('event_id')}) DO NOTHING RETURNING {qn('event_id')}"
    table = qn(Play._meta.db_table)
    params: list[SqlValue]
    if connection.vendor == "postgresql":
        # The batch travels as one JSON parameter that PostgreSQL expands with
        # json_to_recordset: neither the driver nor the server parses a 500-row VALUES list
        # with 5,500 placeholders (measured: that parsing cost more than the insert itself).
        # reporter, app and received_at are the same for the whole batch.
        sql = (
            f"INSERT INTO {table} ({columns}) SELECT e, m, l, s, ms, c, p, q, r, %s, %s, %s FROM "
            "json_to_recordset(%s::json) AS t(e uuid, m uuid, l varchar, s timestamptz, "
            "ms integer, c varchar, p varchar, q boolean, r varchar)" + returning + "::text"
            # As text: PostgreSQL prints a uuid in the same canonical lowercase form as the
            # parsed event ids, so no UUID object is built for each of the returned rows.
        )
        batch = json.dumps(
            [
                {
                    "e": row.event_id,
                    "m": row.mix_id,
                    "l": row.listener_id,
                    "s": row.started_at.isoformat(),
                    "ms": row.ms_played,
                    "c": row.client,
                    "p": row.accounting_period,
                    "q": row.qualifies,
                    "r": row.reason,
                }
                for row in rows
            ]
        )
        first = rows[0]
        params = [first.reporter_id, first.app_id, first.received_at, batch]
    else:
        placeholder = "(" + ", ".join(["%s"] * len(fields)) + ")"
        sql = (
            f"INSERT INTO {table} ({columns}) VALUES "
            + ", ".join([placeholder] * len(rows))
            + returning
        )
        params = [
            model_field.get_db_prep_save(value, connection)
            for row in rows
            for model_field, value in zip(fields, row, strict=True)
        ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found: list[tuple[str]] = cursor.fetchall()
    if connection.vendor == "postgresql":
        return {value for (value,) in found}
    # SQLite stores a UUIDField as 32 hex digits without dashes.
    return {str(uuid.UUID(value)) for (value,) in found}
