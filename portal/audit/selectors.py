from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from django.db.models import QuerySet

from portal.audit.models import AuditEntry

# Keys of an entry's before/after that only staff read, wherever they appear: a curator's
# internal justification for approving a flagged stem, and client IP addresses (kept for abuse
# handling, which is staff's). The log itself keeps them; only what is shown is filtered.
INTERNAL_KEYS = frozenset({"justification", "internal_note", "ip_address"})


def audit_entries_for(*, user: Any) -> QuerySet[AuditEntry]:
    """Staff see everything; an artist sees the entries about their own stems; others nothing.

    Rows, for filtering and paging: pass what is shown through `audit_entries_shown`."""
    entries = AuditEntry.objects.select_related("actor", "stem")
    if getattr(user, "is_platform_staff", False):
        return entries
    if getattr(user, "is_artist", False):
        return entries.filter(stem__artist=user)
    return entries.none()


def audit_entries_by(*, actor: Any) -> QuerySet[AuditEntry]:
    """What one person did (a curator's history page: their claims, decisions, takedowns)."""
    return AuditEntry.objects.select_related("actor", "stem").filter(actor=actor)


def _without_internal(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: _without_internal(child)
            for key, child in value.items()
            if key not in INTERNAL_KEYS
        }
    if isinstance(value, list):
        return [_without_internal(child) for child in value]
    return value


def audit_entries_shown(entries: Iterable[AuditEntry], *, viewer: Any) -> list[AuditEntry]:
    """The entries as `viewer` may read them: staff read them whole; anyone else reads copies
    whose before/after lack the INTERNAL_KEYS. The copies are never saved (AuditEntry refuses
    to save an existing row), so the log keeps every field."""
    if getattr(viewer, "is_platform_staff", False):
        return list(entries)
    shown = []
    for entry in entries:
        visible = copy.copy(entry)
        visible.before = _without_internal(entry.before)
        visible.after = _without_internal(entry.after)
        shown.append(visible)
    return shown
