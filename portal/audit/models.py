from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class AuditEntry(models.Model):
    """Append-only record of everything that happens to a stem (and other subjects).

    On PostgreSQL a trigger makes the database itself refuse UPDATE and DELETE on this table;
    elsewhere the model refuses them in Python.
    """

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(max_length=64, db_index=True)
    subject = models.CharField(max_length=80, db_index=True, help_text='e.g. "stem:42"')
    stem = models.ForeignKey(
        "stems.Stem", null=True, blank=True, on_delete=models.PROTECT, related_name="audit_entries"
    )
    # Django's encoder writes Decimals (tempos, splits) and datetimes as strings, so callers can
    # record field values as they are.
    before = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    after = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    note = models.TextField(blank=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-at", "-pk"]

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.pk is not None:
            raise RuntimeError("The audit log is append-only: entries cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("The audit log is append-only: entries cannot be deleted.")
