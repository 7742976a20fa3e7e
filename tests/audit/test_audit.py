from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

from portal.audit.models import AuditEntry
from portal.audit.selectors import audit_entries_for
from portal.audit.services import audit_record

pytestmark = pytest.mark.django_db


def test_entries_cannot_be_changed_or_deleted_through_the_model(artist):
    entry = audit_record(actor=artist, action="stem.submitted", subject="stem:1", after={"a": 1})
    entry.note = "rewritten"
    with pytest.raises(RuntimeError, match="append-only"):
        entry.save()
    with pytest.raises(RuntimeError, match="append-only"):
        entry.delete()


def test_postgresql_itself_refuses_update_and_delete(artist):
    if connection.vendor != "postgresql":
        pytest.skip("the database-level guard is PostgreSQL's (SQLite relies on the model)")
    audit_record(actor=artist, action="stem.submitted", subject="stem:1")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.update(note="x")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.count() == 1


def test_only_staff_see_everything_and_curators_see_nothing_here(artist, curator, staff):
    audit_record(actor=staff, action="period.closed", subject="period:2026-10")
    assert audit_entries_for(user=staff).count() == 1
    assert audit_entries_for(user=curator).count() == 0
    assert audit_entries_for(user=artist).count() == 0
