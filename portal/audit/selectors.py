from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from portal.audit.models import AuditEntry


def audit_entries_for(*, user: Any) -> QuerySet[AuditEntry]:
    """Staff see everything; an artist sees the entries about their own stems; others nothing."""
    entries = AuditEntry.objects.select_related("actor", "stem")
    if getattr(user, "is_platform_staff", False):
        return entries
    if getattr(user, "is_artist", False):
        return entries.filter(stem__artist=user)
    return entries.none()
