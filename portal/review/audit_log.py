"""The audit log as people read it: who did what to what, when, and what changed.

The log stores machine names (`review.approved`, `stem:42`, whole before/after states); this
turns them into a label, a link the viewer may follow, and the changed keys only."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Q, QuerySet
from django.urls import reverse

from portal.audit.models import AuditEntry
from portal.mixes.models import Mix
from portal.mixes.selectors import mix_visible_to
from portal.stems.models import StemStatus

ACTION_LABELS = {
    "stem.submitted": "submitted a stem",
    "stem.resubmitted": "resubmitted a stem",
    "stem.metadata_updated": "edited a stem's details",
    "stem.credits_updated": "changed a stem's credits",
    "stem.provenance_rerun": "re-ran the provenance checks",
    "stem.provenance_rejudged": "re-judged provenance",
    "stem.provenance_abandoned": "gave up the provenance checks",
    "review.claimed": "claimed a stem for review",
    "review.released": "released a review claim",
    "review.approved": "approved a stem",
    "review.rejected": "rejected a stem",
    "review.changes_requested": "requested changes to a stem",
    "vault.takedown": "took a stem down",
    "credit.accepted": "accepted a credit",
    "credit.declined": "declined a credit",
    "license.published": "published a license",
    "mix.requested": "requested a soundtrack",
    "mix.preview_requested": "requested a preview mix",
    "mix.rendered": "rendered a mix",
    "mix.failed": "had a mix fail",
    "clients.app_registered": "registered a client app",
    "clients.credential_issued": "issued an app credential",
    "clients.credential_revoked": "revoked an app credential",
    "clients.house_app_created": "created the house app",
    "royalties.period_closed": "closed a royalty period",
    "period.closed": "closed a royalty period",
    "royalties.plays_released": "released held plays",
    "payouts.account_requested": "asked for a payout account",
    "payouts.account_created": "created a payout account",
    "payouts.account_synced": "synced a payout account",
    "payouts.account_updated": "updated a payout account",
    "payouts.run_started": "started a payout run",
    "payouts.run_finished": "finished a payout run",
    # A stem's status moves (portal/stems/services/lifecycle.py records `stem.<status>`).
    **{
        f"stem.{status}": f"moved a stem to “{label.lower()}”"
        for status, label in StemStatus.choices
    },
}
_GROUPS = {
    "stem": "Stems",
    "review": "Review",
    "vault": "Vault",
    "credit": "Credits",
    "license": "Licenses",
    "mix": "Mixes",
    "clients": "Client apps",
    "royalties": "Royalties",
    "payouts": "Payouts",
    "period": "Periods",
}
_SUBJECT = re.compile(r"^(?P<kind>[a-z_]+):(?P<id>.+)$")


def action_label(action: str) -> str:
    """A verb phrase for the action; an unknown one reads as its name made readable."""
    if action in ACTION_LABELS:
        return ACTION_LABELS[action]
    return action.replace(".", ": ").replace("_", " ")


def action_choices() -> list[tuple[str, Any]]:
    """For the filter: each group as a whole (a prefix), then every labelled action in it."""
    choices: list[tuple[str, Any]] = [("", "Any action")]
    for prefix, group in _GROUPS.items():
        actions = sorted(
            (a, label) for a, label in ACTION_LABELS.items() if a.startswith(prefix + ".")
        )
        choices.append((group, [(f"{prefix}.", f"All: {group.lower()}"), *actions]))
    return choices


@dataclass(frozen=True)
class Change:
    key: str
    old: str
    new: str


def _shown(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def changes(before: Any, after: Any) -> list[Change]:
    """The keys whose value differs between before and after (old → new); a value that is not
    a mapping is one change of the whole."""
    if before == after:
        return []
    if isinstance(before, dict | type(None)) and isinstance(after, dict | type(None)):
        old, new = before or {}, after or {}
        return [
            Change(key.replace("_", " "), _shown(old.get(key)), _shown(new.get(key)))
            for key in sorted(set(old) | set(new), key=str)
            if old.get(key) != new.get(key)
        ]
    return [Change("value", _shown(before), _shown(after))]


def subject_link(entry: AuditEntry, *, viewer: Any) -> str | None:
    """The page of the entry's subject, when it is a stem, mix or payout run the viewer may
    open; None otherwise (the subject is then shown as text)."""
    match = _SUBJECT.match(entry.subject or "")
    if match is None:
        return None
    kind, ident = match["kind"], match["id"]
    staff = getattr(viewer, "is_platform_staff", False)
    if kind == "stem" and entry.stem_id is not None:
        if staff or getattr(viewer, "is_curator", False):
            return reverse("review:stem", args=[entry.stem_id])
        if entry.stem is not None and entry.stem.artist_id == getattr(viewer, "pk", None):
            return reverse("stems:detail", args=[entry.stem_id])
        return None
    if kind == "mix":
        mix = Mix.objects.filter(pk=ident).first() if _is_uuid(ident) else None
        if mix is not None and mix_visible_to(mix, viewer):
            return reverse("mixes:soundtrack_detail", args=[mix.pk])
        return None
    if kind == "payout_run" and staff and ident.isdigit():
        return reverse("payouts:run_detail", args=[int(ident)])
    return None


def _is_uuid(value: str) -> bool:
    return re.fullmatch(r"[0-9a-fA-F-]{32,36}", value) is not None


@dataclass(frozen=True)
class ReadableEntry:
    entry: AuditEntry
    who: str
    what: str
    subject: str
    link: str | None
    changes: list[Change]


def readable(entries: list[AuditEntry], *, viewer: Any) -> list[ReadableEntry]:
    """`entries` as already filtered for the viewer (audit_entries_shown)."""
    rows = []
    for entry in entries:
        actor = entry.actor
        who = actor.display_name if actor is not None else "Stemvault (automatic)"
        title = entry.stem.title if entry.stem is not None else ""
        rows.append(
            ReadableEntry(
                entry=entry,
                who=who,
                what=action_label(entry.action),
                subject=f"“{title}” ({entry.subject})" if title else entry.subject,
                link=subject_link(entry, viewer=viewer),
                changes=changes(entry.before, entry.after),
            )
        )
    return rows


def audit_filtered(
    entries: QuerySet[AuditEntry],
    *,
    actor: str = "",
    action: str = "",
    subject: str = "",
    since: date | None = None,
    until: date | None = None,
) -> QuerySet[AuditEntry]:
    """Narrow the log: the actor's username or display name contains `actor` ("system" finds
    the automatic entries); an action matches as a prefix ("review." is the whole group);
    dates are inclusive."""
    if actor:
        if actor.strip().lower() in ("system", "automatic"):
            entries = entries.filter(actor__isnull=True)
        else:
            entries = entries.filter(
                Q(actor__username__icontains=actor)
                | Q(actor__artist_profile__display_name__icontains=actor)
            )
    if action:
        entries = entries.filter(action__startswith=action)
    if subject:
        entries = entries.filter(subject=subject.strip())
    if since:
        entries = entries.filter(at__date__gte=since)
    if until:
        entries = entries.filter(at__date__lte=until)
    return entries
