from __future__ import annotations

from typing import Any

from portal.audit.models import AuditEntry


def audit_record(
    *,
    actor: Any,
    action: str,
    subject: str,
    stem: Any = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    note: str = "",
) -> AuditEntry:
    """Append one entry. Call it inside the transaction of the change it records, so the entry
    and the change commit or roll back together."""
    return AuditEntry.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        subject=subject,
        stem=stem,
        before=before,
        after=after,
        note=note,
    )
