"""Writes for client apps: registration, staff decisions, credentials. Every move is audited."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from portal.accounts.models import User
from portal.accounts.services import hash_token
from portal.audit.services import audit_record
from portal.clients.models import AppCredential, AppStatus, ClientApp, RefusedPlays
from portal.core.errors import ApplicationError, Conflict, NotFound, PermissionDenied

CREDENTIAL_PREFIX = "sva_"  # tells an app credential from a personal token ("sv_") at a glance

# Which staff decision may move an app from which status.
_MOVES: dict[str, tuple[str, ...]] = {
    AppStatus.APPROVED: (AppStatus.PENDING, AppStatus.SUSPENDED),
    AppStatus.REJECTED: (AppStatus.PENDING,),
    AppStatus.SUSPENDED: (AppStatus.APPROVED,),
}


def _subject(app: ClientApp) -> str:
    return f"client_app:{app.pk}"


@transaction.atomic
def app_register(*, owner: User, name: str, website: str = "", description: str = "") -> ClientApp:
    """A new app waits for staff approval; until then its credentials authenticate nothing."""
    name = (name or "").strip()
    if not name:
        raise ApplicationError(
            "invalid", "Give the app a name.", fields={"name": ["This field is required."]}
        )
    if ClientApp.objects.filter(owner=owner, name__iexact=name).exists():
        raise Conflict("app_name_taken", f"You already have an app named {name!r}.")
    app = ClientApp(owner=owner, name=name, website=website, description=description)
    app.full_clean()
    app.save()
    audit_record(
        actor=owner, action="clients.app_registered", subject=_subject(app), after={"name": name}
    )
    return app


@transaction.atomic
def app_decide(*, app_id: int, actor: User, status: str, reason: str = "") -> ClientApp:
    """Staff approve, reject, suspend or reinstate (approve again) an app.

    Rejecting or suspending needs a reason: the owner sees it. Suspension takes effect at the
    next request of any of the app's credentials (authentication reads the status each time).
    """
    if not actor.is_platform_staff:
        raise PermissionDenied("staff_only", "Only staff decide on client apps.")
    app = ClientApp.objects.select_for_update().filter(pk=app_id).first()
    if app is None:
        raise NotFound("app_not_found", f"No client app {app_id}.")
    allowed_from = _MOVES.get(status)
    if allowed_from is None:
        raise ApplicationError("invalid_status", "An app can be approved, rejected or suspended.")
    if app.status == status:
        return app  # already so: a repeated click is not an error
    if app.status not in allowed_from:
        raise Conflict(
            "illegal_transition", f"A {app.get_status_display().lower()} app cannot be {status}."
        )
    reason = (reason or "").strip()
    if status in (AppStatus.REJECTED, AppStatus.SUSPENDED) and not reason:
        raise ApplicationError(
            "reason_required",
            "Say why: the app's owner sees the reason.",
            fields={"reason": ["This field is required."]},
        )
    before = app.status
    app.status = status
    app.status_reason = reason
    app.reviewed_by = actor
    app.reviewed_at = timezone.now()
    app.save(update_fields=["status", "status_reason", "reviewed_by", "reviewed_at"])
    audit_record(
        actor=actor,
        action=f"clients.app_{status}",
        subject=_subject(app),
        before={"status": before},
        after={"status": status},
        note=reason,
    )
    return app


@dataclass(frozen=True)
class IssuedCredential:
    credential: AppCredential
    plain: str  # shown once; never stored


@transaction.atomic
def credential_issue(*, app_id: int, actor: User, name: str) -> IssuedCredential:
    app = ClientApp.objects.filter(pk=app_id, owner=actor).first()
    if app is None:
        raise NotFound("app_not_found", "No such app of yours.")
    if not app.is_approved:
        raise Conflict(
            "app_not_approved",
            f"{app.name} is {app.get_status_display().lower()}: credentials are issued to "
            "approved apps only.",
        )
    plain = CREDENTIAL_PREFIX + secrets.token_urlsafe(32)
    credential = AppCredential(
        app=app,
        name=(name or "").strip() or "credential",
        prefix=plain[:12],
        key_hash=hash_token(plain),
        created_by=actor,
    )
    credential.full_clean()
    credential.save()
    audit_record(
        actor=actor,
        action="clients.credential_issued",
        subject=_subject(app),
        after={"credential": credential.pk, "prefix": credential.prefix},
    )
    return IssuedCredential(credential=credential, plain=plain)


@transaction.atomic
def credential_revoke(*, credential_id: int, actor: User) -> AppCredential:
    credential = (
        AppCredential.objects.select_related("app")
        .filter(pk=credential_id, app__owner=actor)
        .first()
    )
    if credential is None:
        raise NotFound("credential_not_found", "No such credential on your apps.")
    if credential.revoked_at is None:
        credential.revoked_at = timezone.now()
        credential.save(update_fields=["revoked_at"])
        audit_record(
            actor=actor,
            action="clients.credential_revoked",
            subject=_subject(credential.app),
            after={"credential": credential.pk},
        )
    return credential


def credential_authenticate(plain: str) -> AppCredential | None:
    """The credential, if it is live and its app approved and its owner active; else None."""
    credential = (
        AppCredential.objects.select_related("app", "app__owner")
        .filter(
            key_hash=hash_token(plain),
            revoked_at__isnull=True,
            app__status=AppStatus.APPROVED,
            app__owner__is_active=True,
        )
        .first()
    )
    if credential is not None:
        # One write a minute at most: last_used_at is for people, not an audit trail.
        now = timezone.now()
        if credential.last_used_at is None or (now - credential.last_used_at).total_seconds() > 60:
            AppCredential.objects.filter(pk=credential.pk).update(last_used_at=now)
    return credential


def refused_plays_record(*, app: ClientApp, codes: list[str], received_at: datetime) -> None:
    """Note a batch's refused events, by code, for staff (nothing for a batch without any)."""
    if not codes:
        return
    counts: dict[str, int] = {}
    for code in codes:
        counts[code] = counts.get(code, 0) + 1
    RefusedPlays.objects.create(app=app, received_at=received_at, counts=counts, total=len(codes))
